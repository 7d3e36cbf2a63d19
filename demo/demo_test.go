package demo_test

import (
	"context"
	"io"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"datashare/apptest"
	"datashare/calendar"
	"datashare/demo"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/projects"
	"datashare/sla"
)

// The README shows the demo's compliance figures as they are: they must not
// depend on the day the demo is first started (only the months they fall
// in move), or the README's examples would hold on one day and not the
// next.
func TestDemoFiguresDoNotDependOnTheDay(t *testing.T) {
	nows := []time.Time{
		time.Date(2026, 12, 2, 9, 15, 0, 0, apptest.SGT),  // a Wednesday morning
		time.Date(2026, 12, 5, 23, 0, 0, 0, apptest.SGT),  // Saturday night
		time.Date(2027, 2, 8, 14, 0, 0, 0, apptest.SGT),   // after Chinese New Year
		time.Date(2027, 8, 11, 17, 59, 0, 0, apptest.SGT), // after National Day
	}
	var first *sla.Report
	for _, now := range nows {
		rep := demoReport(t, now)
		if rep.Met < 20 || rep.Missed == 0 || rep.Open.AtRisk == 0 || rep.Open.Breached == 0 {
			t.Errorf("demo started %s: met %d, missed %d, at risk %d, breached %d: want some of each", now, rep.Met, rep.Missed, rep.Open.AtRisk, rep.Open.Breached)
		}
		if first == nil {
			first = rep
			continue
		}
		if rep.Met != first.Met || rep.Missed != first.Missed || rep.Open != first.Open ||
			*rep.Elapsed.Median != *first.Elapsed.Median || *rep.Elapsed.P90 != *first.Elapsed.P90 {
			t.Errorf("demo started %s: met %d, missed %d, open %+v, median %v, p90 %v; started %s: met %d, missed %d, open %+v, median %v, p90 %v",
				now, rep.Met, rep.Missed, rep.Open, *rep.Elapsed.Median, *rep.Elapsed.P90,
				nows[0], first.Met, first.Missed, first.Open, *first.Elapsed.Median, *first.Elapsed.P90)
		}
	}
}

// mustDemo seeds the demo into db as if started at now, and checks the SLA
// as the start does.
func mustDemo(t *testing.T, db *models.DB, now time.Time) *apptest.App {
	t.Helper()
	ctx := context.Background()
	a := apptest.Wire(t, db, apptest.Options{Now: func() time.Time { return now.UTC() }})
	if err := demo.Run(ctx, a.Accounts, a.Workflow, a.Projects, a.Importer, a.Holidays.Current(), sla.DefaultSettings(), now.UTC(), io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Checker.RunExclusive(ctx, now.UTC()); err != nil {
		t.Fatal(err)
	}
	return a
}

// demoReport seeds the demo as if started at now, checks the SLA as the
// start does, and reports on the twelve months up to the end of now's
// month, as the README's examples ask.
func demoReport(t *testing.T, now time.Time) *sla.Report {
	t.Helper()
	ctx := context.Background()
	a := mustDemo(t, modelstest.MustOpen(t, models.SQLite), now)
	y, m, _ := now.Date()
	from := calendar.Date{Year: y - 1, Month: m, Day: 1}
	to := calendar.Date{Year: y, Month: m + 1, Day: 1}
	if m == time.December {
		to = calendar.Date{Year: y + 1, Month: time.January, Day: 1}
	}
	rep, err := a.Reporter.Compute(ctx, sla.Query{From: from, To: to}, now.UTC())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// The demo's projects end as they are meant to, whichever day the demo is
// first started: three met, one missed, one partial and one open at risk,
// each with requests of its lead and its partner to several owner
// agencies, all inside the twelve months a project report looks back on.
func TestDemoProjectsHaveTheirOutcomesWhateverTheDay(t *testing.T) {
	want := map[string]string{
		"DIGITAL-INCLUSION-2026":   sla.Missed,
		"ELDERCARE-CAPACITY-2026":  sla.Met,
		"FAMILY-HOUSING-2026":      projects.Partial,
		"HEALTHIER-SG-RENTAL-2026": sla.Met,
		"SCHOOL-TRANSPORT-2026":    sla.Met,
		"STUDENT-WELLBEING-2026":   sla.AtRisk,
	}
	nows := []time.Time{
		time.Date(2026, 12, 2, 9, 15, 0, 0, apptest.SGT),  // a Wednesday morning
		time.Date(2026, 12, 5, 23, 0, 0, 0, apptest.SGT),  // Saturday night
		time.Date(2026, 12, 7, 8, 0, 0, 0, apptest.SGT),   // a Monday before opening
		time.Date(2026, 12, 28, 10, 0, 0, 0, apptest.SGT), // the Monday after Christmas
		time.Date(2027, 2, 9, 14, 0, 0, 0, apptest.SGT),   // after Chinese New Year
		time.Date(2027, 8, 10, 17, 59, 0, 0, apptest.SGT), // after National Day
	}
	for _, now := range nows {
		t.Run(now.Format("2006-01-02T15:04"), func(t *testing.T) {
			modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
				a := mustDemo(t, db, now)
				ps, err := a.Projects.List(context.Background(), apptest.Admin)
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]string{}
				for _, listed := range ps {
					got[listed.Code] = listed.Clock.Status
					// The list reads the stored clock; the project's own
					// answer counts it from the histories.
					p, err := a.Projects.Get(context.Background(), apptest.Admin, listed.Code)
					if err != nil {
						t.Fatal(err)
					}
					mustAgree(t, listed, p)
					mustBeCrossAgency(t, p)
					if c := p.Clock; c.StartedAt == nil || c.StartedAt.Before(now.AddDate(-1, 0, 0)) {
						t.Errorf("%s started at %v, want within the twelve months before %s", p.Code, c.StartedAt, now)
					}
					if open := p.Clock.Status == sla.AtRisk; open == (p.State == projects.Closed) {
						t.Errorf("%s is %s with clock %s; want the finished projects closed and the open one active", p.Code, p.State, p.Clock.Status)
					}
				}
				if !maps.Equal(got, want) {
					t.Errorf("demo projects as admin: got %v, want %v", got, want)
				}
				if p := find(ps, "STUDENT-WELLBEING-2026"); p != nil && !slices.Equal(p.Clock.WaitingOn, []string{"HDB"}) {
					t.Errorf("STUDENT-WELLBEING-2026 waits on %v, want [HDB]", p.Clock.WaitingOn)
				}
			})
		})
	}
}

// mustAgree checks that the listed clock of a project is the clock of its
// own answer.
func mustAgree(t *testing.T, listed, p *projects.Project) {
	t.Helper()
	l, c := listed.Clock, p.Clock
	if l.Status != c.Status || !sameTime(l.DueAt, c.DueAt) || !sameTime(l.StartedAt, c.StartedAt) || !sameTime(l.StoppedAt, c.StoppedAt) ||
		math.Abs(l.Elapsed-c.Elapsed) > 1e-6 || !slices.Equal(l.WaitingOn, c.WaitingOn) {
		t.Errorf("%s listed: %s, %.4f days, due %v, started %v, stopped %v, waiting on %v; its own answer: %s, %.4f days, due %v, started %v, stopped %v, waiting on %v",
			p.Code, l.Status, l.Elapsed, l.DueAt, l.StartedAt, l.StoppedAt, l.WaitingOn, c.Status, c.Elapsed, c.DueAt, c.StartedAt, c.StoppedAt, c.WaitingOn)
	}
}

func sameTime(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }

// mustBeCrossAgency checks that p holds requests of its lead and of every
// partner, asking at least two owner agencies.
func mustBeCrossAgency(t *testing.T, p *projects.Project) {
	t.Helper()
	from, owners := map[string]bool{}, map[string]bool{}
	for _, r := range p.Requests {
		from[r.RequestingAgency], owners[r.OwnerAgency] = true, true
	}
	for _, a := range append([]string{p.LeadAgency}, p.Partners...) {
		if !from[a] {
			t.Errorf("%s: no request of %s among %d; want requests of the lead and of each partner", p.Code, a, len(p.Requests))
		}
	}
	if len(p.Partners) == 0 || len(owners) < 2 {
		t.Errorf("%s: partners %v, owner agencies %v; want a partner and at least two owners", p.Code, p.Partners, owners)
	}
}

func find(ps []*projects.Project, code string) *projects.Project {
	for _, p := range ps {
		if p.Code == code {
			return p
		}
	}
	return nil
}
