package demo_test

import (
	"context"
	"io"
	"testing"
	"time"

	"datashare/apptest"
	"datashare/calendar"
	"datashare/demo"
	"datashare/models"
	"datashare/models/modelstest"
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

// demoReport seeds the demo as if started at now, checks the SLA as the
// start does, and reports on the twelve months up to the end of now's
// month, as the README's examples ask.
func demoReport(t *testing.T, now time.Time) *sla.Report {
	t.Helper()
	ctx := context.Background()
	db := modelstest.MustOpen(t, models.SQLite)
	a := apptest.Wire(t, db, apptest.Options{Now: func() time.Time { return now.UTC() }})
	if err := demo.Run(ctx, a.Accounts, a.Workflow, a.Importer, a.Holidays.Current(), sla.DefaultSettings(), now.UTC(), io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Checker.RunExclusive(ctx, now.UTC()); err != nil {
		t.Fatal(err)
	}
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
