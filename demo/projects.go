package demo

import (
	"context"
	"fmt"
	"time"

	"datashare/calendar"
	"datashare/projects"
	"datashare/sla"
	"datashare/workflow"
)

// demoProject is a cross-agency project of the demo and the requests its
// lead and partner filed, with what happened to each.
type demoProject struct {
	code, name, lead, partner, description string
	// age is how many working days before now the first request was
	// submitted.
	age      float64
	requests []demoRequest
	close    bool // closed by its lead once its data were in
}

type demoRequest struct {
	from, to, title, purpose, data string
	events                         []demoEvent
}

// demoEvent is one action on a project request, at a number of working
// days after the project's first submission.
type demoEvent struct {
	action  workflow.Action
	after   float64
	comment string
}

// demoProjects are the demo's projects. Times count in working days from
// each project's first submission and scale with the deployment's target,
// so that each ends with the same outcome whatever the SLA settings and
// whichever day the demo is first started: ELDERCARE-CAPACITY-2026,
// SCHOOL-TRANSPORT-2026 and HEALTHIER-SG-RENTAL-2026 met (the last with
// one request rejected in time), DIGITAL-INCLUSION-2026 missed,
// FAMILY-HOUSING-2026 partial (one request refused after the due
// instant), and STUDENT-WELLBEING-2026 open and at risk, waiting on HDB.
// No request is LTA's to answer, whose compliance rate the browser test
// watches change.
func demoProjects(clock sla.Settings) []demoProject {
	t := clock.Target
	submit := func(after float64) demoEvent { return demoEvent{action: workflow.Submit, after: after} }
	approve := func(after float64) demoEvent { return demoEvent{action: workflow.Approve, after: after} }
	fulfil := func(after float64) demoEvent {
		return demoEvent{action: workflow.Fulfil, after: after, comment: "Shared through the secure exchange."}
	}
	return []demoProject{
		{code: "DIGITAL-INCLUSION-2026", name: "Digital inclusion of lower-income households", lead: "GOVTECH", partner: "MSF",
			description: "Find the households that need a subsidised device or broadband line, and reach them through their family service centre.",
			age:         95 + t, close: true,
			requests: []demoRequest{
				{"GOVTECH", "HDB", "Rental households without a broadband line", "Size the subsidised broadband offer for rental estates.",
					"Count of rental flats without a fixed broadband line, by block, 2025.",
					[]demoEvent{submit(0), approve(0.3 * t), fulfil(0.6 * t)}},
				{"MSF", "MOE", "Students without a computer at home", "Lend devices to the students who have none at home.",
					"Count of students who declared no computer at home, by school and level, 2026.",
					[]demoEvent{submit(0.05 * t),
						{workflow.RequestClarification, 0.3 * t, "Student-level data or counts by school? We can share counts only."},
						{workflow.Respond, 0.3*t + 1, "Counts by school and level are enough."},
						approve(t), fulfil(t + 2)}},
			}},
		{code: "ELDERCARE-CAPACITY-2026", name: "Eldercare capacity planning", lead: "MSF", partner: "MOH",
			description: "Plan eldercare centres and home-care places by town for the seniors who will need them by 2030.",
			age:         75 + t, close: true,
			requests: []demoRequest{
				{"MSF", "HDB", "Seniors living alone by block", "Place eldercare centres within walking distance of seniors who live alone.",
					"Count of residents aged 65+ living alone, by HDB block, 2025.",
					[]demoEvent{submit(0), approve(0.2 * t), fulfil(0.4 * t)}},
				{"MSF", "IRAS", "Income bands of households with seniors", "Estimate how many seniors qualify for subsidised home care.",
					"Household income band (not amount) of households with a resident aged 65+, by town, latest year of assessment.",
					[]demoEvent{submit(0),
						{workflow.RequestClarification, 0.1 * t, "Which year of assessment do you need?"},
						{workflow.Respond, 0.2 * t, "The latest one, 2025."},
						approve(0.4 * t), fulfil(0.7 * t)}},
				{"MOH", "HDB", "Flats with eldercare fittings near polyclinics", "Match home-care nurses to seniors who can stay at home.",
					"Flats with grab bars and ramps installed under EASE, within 2 km of each polyclinic.",
					[]demoEvent{submit(0.1 * t), approve(0.3 * t), fulfil(0.5 * t)}},
			}},
		{code: "SCHOOL-TRANSPORT-2026", name: "School transport for students with special needs", lead: "MOE", partner: "LTA",
			description: "Plan dedicated school bus routes for students of special education schools.",
			age:         55 + t, close: true,
			requests: []demoRequest{
				{"MOE", "HDB", "Students' home blocks by special education school", "Draw bus routes from the blocks where the students live.",
					"Count of students of each special education school, by HDB block, 2026.",
					[]demoEvent{submit(0), approve(0.3 * t), fulfil(0.5 * t)}},
				{"LTA", "MSF", "ComCare households with students of special education schools", "Offer free transport to the students of lower-income families.",
					"Count of ComCare households with a student of a special education school, by town.",
					[]demoEvent{submit(0.1 * t), approve(0.4 * t), fulfil(0.8 * t)}},
				{"LTA", "MOE", "School start and end times", "Time the routes to the school day.",
					"Start and end times of each special education school, by day of the week, 2026.",
					[]demoEvent{submit(0.02 * t), approve(0.1 * t), fulfil(0.3 * t)}},
			}},
		{code: "HEALTHIER-SG-RENTAL-2026", name: "Healthier SG outreach in rental estates", lead: "MOH", partner: "HDB",
			description: "Enrol residents of rental estates with a family doctor under Healthier SG.",
			age:         35 + t, close: true,
			requests: []demoRequest{
				{"MOH", "HDB", "Rental households by block", "Plan door-to-door Healthier SG enrolment in rental estates.",
					"Count of households and residents aged 40+ per rental block, 2026.",
					[]demoEvent{submit(0), approve(0.2 * t), fulfil(0.6 * t)}},
				{"HDB", "MSF", "Rental tenants known to family service centres", "Visit first the tenants who already have a social worker.",
					"List of rental tenants with an open case at a family service centre.",
					[]demoEvent{submit(0.1 * t), {workflow.Reject, 0.3 * t, "Case records cannot be shared for outreach; the counts per town are on the MSF dashboard."}}},
				{"MOH", "IRAS", "Income bands of rental households", "Target the subsidised health screening at lower incomes.",
					"Household income band (not amount) of rental households, by town, latest year of assessment.",
					[]demoEvent{submit(0.01 * t), approve(0.4 * t), fulfil(0.9 * t)}},
			}},
		{code: "FAMILY-HOUSING-2026", name: "Housing support for young families", lead: "HDB", partner: "MSF",
			description: "Size the priority schemes for first-time applicants with young children.",
			age:         15 + t, close: true,
			requests: []demoRequest{
				{"HDB", "IRAS", "Household income of first-time applicants", "Check the income ceilings of the family schemes against real incomes.",
					"Income band (not amount) of first-time flat applicants' households, latest year of assessment.",
					[]demoEvent{submit(0), approve(0.3 * t), fulfil(0.6 * t)}},
				{"HDB", "MOE", "Primary school registrations by address", "Place new flats for young families near primary schools with places.",
					"Primary 1 registrations by home address, 2024–2026.",
					[]demoEvent{submit(0.02 * t), {workflow.Reject, t + 1, "Registrations by address cannot be released; the counts by school are on data.gov.sg."}}},
				{"MSF", "MOH", "Families with newborns by town", "Estimate demand for infant care near new estates.",
					"Count of births by mother's town of residence, by month, 2025.",
					[]demoEvent{submit(0.1 * t), approve(0.4 * t), fulfil(0.7 * t)}},
			}},
		{code: "STUDENT-WELLBEING-2026", name: "Student mental well-being support", lead: "MOE", partner: "MSF",
			description: "Bring counselling and family support to the schools whose students need them most.",
			age:         (clock.Warn + t) / 2,
			requests: []demoRequest{
				{"MOE", "MOH", "Mental-health referrals of school-age children", "Place school counsellors where referrals are most frequent.",
					"Count of polyclinic mental-health referrals of children aged 7–18, by school district, 2025.",
					[]demoEvent{submit(0), approve(0.2 * t), fulfil(0.4 * t)}},
				{"MSF", "HDB", "Families with school-age children in rental flats", "Offer family support beside the counselling.",
					"Count of rental households with a child aged 7–18, by town, 2026.",
					[]demoEvent{submit(0.3 * t), approve(0.5 * t)}},
			}},
	}
}

// projects creates the demo's projects through the projects service, as
// the lead agency's manager, and files their requests as they happened,
// replayed at their past times; the finished ones are then closed.
func (s *seeder) projects(ctx context.Context, pr *projects.Service, cal *calendar.Calendar, clock sla.Settings, now time.Time) error {
	for _, p := range demoProjects(clock) {
		lead := s.actor(p.lead, "manager")
		if _, err := pr.Create(ctx, lead, projects.NewProject{
			Code: p.code, Name: p.name, Description: p.description, Partners: []string{p.partner},
		}); err != nil {
			return fmt.Errorf("demo project %s: %w", p.code, err)
		}
		start := workingDaysAgo(cal, now, p.age)
		for i, r := range p.requests {
			if err := s.projectRequest(ctx, p.code, i+1, r, cal, start); err != nil {
				return fmt.Errorf("demo project %s: %q: %w", p.code, r.title, err)
			}
		}
		if p.close {
			closed := projects.Closed
			if _, err := pr.Update(ctx, lead, p.code, projects.Patch{State: &closed}); err != nil {
				return fmt.Errorf("demo project %s: close: %w", p.code, err)
			}
		}
	}
	return nil
}

func (s *seeder) projectRequest(ctx context.Context, code string, n int, r demoRequest, cal *calendar.Calendar, start time.Time) error {
	requester, approver := s.actor(r.from, "requester"), s.actor(r.to, "approver")
	at := func(after float64) time.Time { return cal.Due(start, after) }
	created := at(r.events[0].after)
	req, err := s.wf.CreateImported(ctx, requester, workflow.NewRequest{
		Title: r.title, Purpose: r.purpose, DataDescription: r.data,
		Classification: "official-closed", OwnerAgency: r.to, ProjectCode: &code,
	}, created, fmt.Sprintf("%s-%d", code, n))
	if err != nil {
		return err
	}
	for _, ev := range r.events {
		who := approver
		if ev.action == workflow.Submit || ev.action == workflow.Respond || ev.action == workflow.Withdraw {
			who = requester
		}
		if _, err := s.wf.Replay(ctx, who, req.ID, ev.action, ev.comment, at(ev.after)); err != nil {
			return err
		}
	}
	return nil
}
