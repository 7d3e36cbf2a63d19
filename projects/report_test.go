package projects_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"datashare/apptest"
	"datashare/calendar"
	"datashare/holidays"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/projects"
	"datashare/sla"
)

// oracle counts the report of q at now in Go, row by row, from the stored
// clocks: the rule of the report's statements written a second way.
func oracle(rows []models.Project, partners map[string][]string, q projects.ReportQuery, now time.Time, loc *time.Location) string {
	from, to := q.From.Start(loc), q.To.Start(loc)
	in := func(t *time.Time) bool { return t != nil && !t.Before(from) && t.Before(to) }
	type g struct{ met, missed, partial int }
	groups := map[string]*g{}
	if q.GroupBy == projects.ByMonth {
		for m := time.Date(q.From.Year, q.From.Month, 1, 0, 0, 0, 0, loc); m.Before(to); m = m.AddDate(0, 1, 0) {
			groups[m.Format("2006-01")] = &g{}
		}
	}
	var total g
	var elapsed []float64
	waited := map[string]int{}
	var open, atRisk, breached int
	for _, p := range rows {
		if q.Agency != "" && p.LeadAgency != q.Agency && !slices.Contains(partners[p.Code], q.Agency) {
			continue
		}
		c := p.Clock
		if c.Status == projects.Open {
			open++
			switch projects.StoredStatus(c, now) {
			case sla.AtRisk:
				atRisk++
			case sla.Breached:
				breached++
			}
		}
		if in(c.ClosedAt) && c.Status != sla.Excluded && c.Status != projects.Open && c.Status != sla.NotStarted {
			elapsed = append(elapsed, c.Elapsed)
			if c.LastOwner != nil {
				waited[*c.LastOwner]++
			}
		}
		key := func(at time.Time) *g {
			k := ""
			switch q.GroupBy {
			case projects.ByLeadAgency:
				k = p.LeadAgency
			case projects.ByMonth:
				k = at.In(loc).Format("2006-01")
			default:
				return &g{}
			}
			if groups[k] == nil {
				groups[k] = &g{}
			}
			return groups[k]
		}
		switch {
		case c.Status == sla.Met && in(c.ClosedAt):
			total.met++
			key(*c.ClosedAt).met++
		case in(c.DueAt) && !c.DueAt.After(now) && (c.ClosedAt == nil || c.ClosedAt.After(*c.DueAt)):
			if c.Status == projects.Partial {
				total.partial++
				key(*c.DueAt).partial++
			} else {
				total.missed++
				key(*c.DueAt).missed++
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "met %d missed %d partial %d finished %d %v open %d %d %d\n", total.met, total.missed, total.partial,
		len(elapsed), pct(sla.PercentilesOf(elapsed)), open, atRisk, breached)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range groups {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %d %d %d\n", k, groups[k].met, groups[k].missed, groups[k].partial)
	}
	var ws []projects.Waited
	for a, n := range waited {
		ws = append(ws, projects.Waited{Agency: a, Projects: n})
	}
	slices.SortFunc(ws, func(a, b projects.Waited) int {
		return cmp.Or(cmp.Compare(b.Projects, a.Projects), strings.Compare(a.Agency, b.Agency))
	})
	fmt.Fprintf(&b, "waiting %v", ws)
	return b.String()
}

func describe(rep *projects.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "met %d missed %d partial %d finished %d %v open %d %d %d\n", rep.Met, rep.Missed, rep.Partial,
		rep.Finished, pct(rep.Elapsed), rep.Open.Total, rep.Open.AtRisk, rep.Open.Breached)
	for _, g := range rep.Groups {
		fmt.Fprintf(&b, "%s %d %d %d\n", g.Key, g.Met, g.Missed, g.Partial)
	}
	ws := rep.WaitingOn
	if len(ws) == 0 {
		ws = nil
	}
	fmt.Fprintf(&b, "waiting %v", ws)
	return b.String()
}

// The report's statements agree with the rule counted row by row, over
// 1,500 generated projects, for windows, groupings, scopes and instants.
func TestReportAgreesWithTheRuleRowByRow(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		hol := holidays.NewService(db, apptest.SGT, calendar.DefaultHours(), func() time.Time { return benchNow })
		if err := hol.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		keeper := sla.NewKeeper(hol, sla.DefaultSettings())
		seedProjects(t, db, keeper, 1500, 4)
		// Partners, so that an agency's scope holds projects it does not lead.
		for i := 0; i < 1500; i += 7 {
			if err := db.Gorm.Create(&models.ProjectPartner{ProjectCode: fmt.Sprintf("P-%05d", i), Agency: "MOH"}).Error; err != nil {
				t.Fatal(err)
			}
		}
		var rows []models.Project
		if err := db.Gorm.Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		var pps []models.ProjectPartner
		if err := db.Gorm.Find(&pps).Error; err != nil {
			t.Fatal(err)
		}
		partners := map[string][]string{}
		for _, pp := range pps {
			partners[pp.ProjectCode] = append(partners[pp.ProjectCode], pp.Agency)
		}
		svc := projects.NewService(db, keeper, func() time.Time { return benchNow })
		d := func(y int, m time.Month, day int) calendar.Date { return calendar.Date{Year: y, Month: m, Day: day} }
		windows := [][2]calendar.Date{{d(2024, 7, 1), d(2025, 7, 1)}, {d(2025, 1, 15), d(2025, 3, 3)}, {d(2023, 1, 1), d(2026, 1, 1)}}
		nows := []time.Time{benchNow, apptest.Time("2025-02-10T09:00:00+08:00"), apptest.Time("2025-06-27T17:00:00+08:00")}
		checked := 0
		for _, w := range windows {
			for _, by := range []string{"", projects.ByLeadAgency, projects.ByMonth} {
				for _, agency := range []string{"", "MOH", "MCCY"} {
					for _, now := range nows {
						q := projects.ReportQuery{From: w[0], To: w[1], GroupBy: by, Agency: agency}
						rep, err := svc.Report(context.Background(), q, now)
						if err != nil {
							t.Fatal(err)
						}
						if got, want := describe(rep), oracle(rows, partners, q, now, apptest.SGT); got != want {
							t.Fatalf("%+v at %s:\ngot  %s\nwant %s", q, now, got, want)
						}
						checked += rep.Met + rep.Missed + rep.Partial
					}
				}
			}
		}
		if checked < 1000 {
			t.Fatalf("only %d outcomes counted over every query: the data hold too little to compare", checked)
		}
	})
}

func pct(p sla.Percentiles) string {
	if p.Median == nil {
		return "none"
	}
	return fmt.Sprintf("median %v p90 %v", *p.Median, *p.P90)
}
