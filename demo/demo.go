// Package demo seeds a new database with agencies, users, requests in
// every state and SLA status, and cross-agency projects, so that a person
// can try the service at once, and prints an API token for each demo user.
package demo

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"datashare/accounts"
	"datashare/calendar"
	"datashare/errs"
	"datashare/imports"
	"datashare/models"
	"datashare/projects"
	"datashare/sla"
	"datashare/workflow"
)

// Domain is the email domain of every demo user.
const Domain = "demo.gov.sg"

// Agencies are the demo agencies.
var Agencies = []models.Agency{
	{Code: "GOVTECH", Name: "Government Technology Agency"},
	{Code: "HDB", Name: "Housing & Development Board"},
	{Code: "IRAS", Name: "Inland Revenue Authority of Singapore"},
	{Code: "LTA", Name: "Land Transport Authority"},
	{Code: "MOE", Name: "Ministry of Education"},
	{Code: "MOH", Name: "Ministry of Health"},
	{Code: "MSF", Name: "Ministry of Social and Family Development"},
}

// people is one user per role per agency, and a second approver so that
// restricted and confidential requests can be approved.
var people = []struct{ key, name string }{
	{"requester", "Requester"},
	{"approver", "Approver"},
	{"approver2", "Second Approver"},
	{"manager", "Manager"},
	{"admin", "Admin"},
}

func email(agency, key string) string {
	return strings.ToLower(agency) + "." + key + "@" + Domain
}

type seeder struct {
	acc   *accounts.Service
	wf    *workflow.Service
	users map[string]models.User // by email
}

func (s *seeder) actor(agency, key string) workflow.Actor {
	return accounts.ActorOf(s.users[email(agency, key)])
}

// Run seeds when the database holds no requests and no demo users, then
// issues a fresh token for every demo user, revoking those of earlier
// starts, and prints them to w. On a database that holds other data it
// seeds nothing and says so. The demo's late requests and projects are
// late by clock, the deployment's SLA settings; its projects are created
// through pr, whose workflow must be wf.
func Run(ctx context.Context, acc *accounts.Service, wf *workflow.Service, pr *projects.Service, im *imports.Importer, cal *calendar.Calendar, clock sla.Settings, now time.Time, w io.Writer) error {
	s := &seeder{acc: acc, wf: wf, users: map[string]models.User{}}
	_, err := acc.UserByEmail(ctx, email("MOH", "requester"))
	switch {
	case err == nil:
		// Seeded on an earlier start; only new tokens are needed.
	case errs.Is(err, errs.NotFound):
		admin := workflow.Actor{Roles: []workflow.Role{workflow.Admin}}
		page, _, err := wf.List(ctx, admin, workflow.Filter{Limit: 1})
		if err != nil {
			return err
		}
		if len(page) > 0 {
			fmt.Fprintln(w, "demo: the database already holds requests; no demo data added")
			return nil
		}
		// History first, so that the live requests are the newest in lists.
		if err := s.people(ctx); err != nil {
			return err
		}
		if err := s.history(ctx, im, cal, now); err != nil {
			return err
		}
		if err := s.projects(ctx, pr, cal, clock, now); err != nil {
			return err
		}
		if err := s.inProgress(ctx, im, cal, clock, now); err != nil {
			return err
		}
		if err := s.requests(ctx); err != nil {
			return err
		}
	default:
		return err
	}
	return s.printTokens(ctx, w)
}

// people creates the demo agencies and their users.
func (s *seeder) people(ctx context.Context) error {
	for _, a := range Agencies {
		if err := s.acc.EnsureAgency(ctx, a.Code, a.Name); err != nil {
			return err
		}
		for _, p := range people {
			role := strings.TrimSuffix(p.key, "2")
			u, err := s.acc.CreateUserUnchecked(ctx, accounts.NewUser{
				Email: email(a.Code, p.key), Name: a.Code + " " + p.name, Agency: a.Code, Roles: []string{role},
			})
			if err != nil {
				return err
			}
			s.users[u.Email] = u
		}
	}
	return nil
}

// requests files a dozen requests and moves them into every state.
func (s *seeder) requests(ctx context.Context) error {
	type step struct {
		agency, who string
		action      workflow.Action
		comment     string
	}
	stories := []struct {
		from, to, classification, title, purpose, data string
		steps                                          []step
	}{
		{"MOH", "HDB", "official-closed", "Household size by block for vaccination outreach",
			"Plan door-to-door vaccination outreach for seniors living alone.",
			"Number of residents aged 65+ per HDB block, 2025, with postal code.", nil},
		{"MOE", "IRAS", "restricted", "Household income bands for bursary eligibility",
			"Pre-qualify students for bursaries without asking families for payslips.",
			"Income band (not amount) per household of enrolled students, latest year of assessment.",
			[]step{{"MOE", "requester", workflow.Submit, ""}}},
		{"LTA", "MOH", "restricted", "Clinic locations and opening hours",
			"Route late-night bus services past clinics that open after 22:00.",
			"Geocoded list of CHAS clinics with opening hours.",
			[]step{{"LTA", "requester", workflow.Submit, ""}, {"MOH", "approver", workflow.Approve, ""}}},
		{"MSF", "MOE", "official-closed", "School attendance of children in ComCare families",
			"Find families who need early help before children drop out.",
			"Monthly attendance rate per student in ComCare households, 2024–2025.",
			[]step{{"MSF", "requester", workflow.Submit, ""}, {"MOE", "approver", workflow.RequestClarification, "Which legal basis allows MSF to receive student-level attendance? Please cite it."}}},
		{"HDB", "LTA", "official-open", "Bus stop ridership near new BTO estates",
			"Size the feeder bus network for estates completing in 2027.",
			"Daily tap-ins per bus stop within 1 km of Tengah and Bidadari, 2025.",
			[]step{{"HDB", "requester", workflow.Submit, ""}, {"LTA", "approver", workflow.Approve, ""}}},
		{"MOH", "MSF", "official-closed", "Caregivers registered for respite care",
			"Match caregivers with home-care support after hospital discharge.",
			"List of registered caregivers with the care recipient's NRIC hash.",
			[]step{{"MOH", "requester", workflow.Submit, ""}, {"MSF", "approver", workflow.Approve, ""}, {"MSF", "approver", workflow.Fulfil, "Shared through the secure file exchange, folder MSF-2026-118."}}},
		{"IRAS", "MOH", "confidential", "Medical leave certificates for tax relief audit",
			"Verify claims for handicapped dependant relief.",
			"Confirmation (yes/no) of certified disability for a list of NRIC hashes.",
			[]step{{"IRAS", "requester", workflow.Submit, ""}, {"MOH", "approver", workflow.Approve, ""}, {"MOH", "approver2", workflow.Approve, ""}, {"MOH", "approver", workflow.Fulfil, "Results returned as a hashed list."}}},
		{"GOVTECH", "IRAS", "official-closed", "Full taxpayer register for a chatbot pilot",
			"Train a question-answering pilot on real taxpayer records.",
			"All individual taxpayer records, 2020–2025.",
			[]step{{"GOVTECH", "requester", workflow.Submit, ""}, {"IRAS", "approver", workflow.Reject, "Identifiable taxpayer data cannot be used for model training; please use the synthetic data set."}}},
		{"MOE", "HDB", "official-open", "Rental flat locations near schools",
			"Study travel time to school for students in rental flats.",
			"Block-level list of public rental flats with coordinates.",
			[]step{{"MOE", "requester", workflow.Submit, ""}, {"MOE", "requester", workflow.Withdraw, "The data is already on data.gov.sg."}}},
		{"LTA", "MSF", "official-open", "Senior citizen concession card holders by town",
			"Estimate demand for senior-friendly bus stops.",
			"Count of concession card holders aged 60+ by planning area.",
			[]step{{"LTA", "requester", workflow.Withdraw, "Filed by mistake."}}},
		{"MOH", "LTA", "official-closed", "Ambulance response times by road segment",
			"Find road segments where congestion delays emergency response.",
			"Average speed by road segment, 07:00–10:00, weekdays, 2025.",
			[]step{{"MOH", "requester", workflow.Submit, ""}, {"LTA", "approver", workflow.RequestClarification, "Do you need all segments or only expressways?"}, {"MOH", "requester", workflow.Respond, "Arterial roads and expressways only."}}},
		{"MSF", "HDB", "restricted", "Flat transfers after divorce",
			"Support parents who must move with their children after a divorce.",
			"Monthly count of flat transfers recorded after a divorce, by town.",
			[]step{{"MSF", "requester", workflow.Submit, ""}, {"HDB", "approver", workflow.Approve, ""}, {"HDB", "approver2", workflow.Approve, ""}}},
	}
	for _, st := range stories {
		r, err := s.wf.Create(ctx, s.actor(st.from, "requester"), workflow.NewRequest{
			Title: st.title, Purpose: st.purpose, DataDescription: st.data,
			Classification: st.classification, OwnerAgency: st.to,
		})
		if err != nil {
			return err
		}
		for _, sp := range st.steps {
			if _, err := s.wf.Apply(ctx, s.actor(sp.agency, sp.who), r.ID, sp.action, sp.comment, 0); err != nil {
				return fmt.Errorf("demo request %q: %w", st.title, err)
			}
		}
	}
	return nil
}

func (s *seeder) printTokens(ctx context.Context, w io.Writer) error {
	var ids []int64
	for _, a := range Agencies {
		for _, p := range people {
			if u, err := s.acc.UserByEmail(ctx, email(a.Code, p.key)); err == nil {
				ids = append(ids, u.ID)
			}
		}
	}
	password, err := newPassword()
	if err != nil {
		return err
	}
	if err := s.acc.SetPasswordsUnchecked(ctx, ids, password); err != nil {
		return fmt.Errorf("demo password: %w", err)
	}
	fmt.Fprintf(w, "Demo password for every demo user below (new at each start): %s\n", password)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(w, "Demo users and fresh API tokens (use as: curl -H \"Authorization: Bearer <token>\" ...):")
	fmt.Fprintln(tw, "EMAIL\tROLES\tTOKEN")
	for _, a := range Agencies {
		for _, p := range people {
			u, err := s.acc.UserByEmail(ctx, email(a.Code, p.key))
			if err != nil {
				if errs.Is(err, errs.NotFound) {
					continue
				}
				return err
			}
			tok, err := s.acc.IssueDemoToken(ctx, u.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Email, u.Roles, tok)
		}
	}
	return tw.Flush()
}

// newPassword is 16 random letters and digits, in groups of four so that a
// person can type it.
func newPassword() (string, error) {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	var out strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			out.WriteByte('-')
		}
		out.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return out.String(), nil
}
