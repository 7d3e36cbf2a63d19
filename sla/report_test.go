package sla_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"datashare/apptest"
	"datashare/calendar"
	"datashare/errs"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/sla"
	"datashare/workflow"
)

// fxClockWant is the stored clock of one fixture request.
type fxClockWant struct {
	ref                   string
	state                 string
	due, warn             string // RFC 3339, "" for none
	elapsed               float64
	submitted, clar, appr float64
	running               bool
}

// The hand-worked figures of fxReportRecords (see the comments there).
var fxClockWants = []fxClockWant{
	{ref: "RPT-01-met", state: "fulfilled", due: "2025-01-15T13:15:00+08:00", warn: "2025-01-13T13:15:00+08:00", elapsed: 4.0, submitted: 3.0, appr: 1.0},
	{ref: "RPT-02-rejected-in-time", state: "rejected", due: "2025-02-13T09:27:00+08:00", warn: "2025-02-11T09:27:00+08:00", elapsed: 2.7, submitted: 2.7},
	{ref: "RPT-03-fulfilled-late", state: "fulfilled", due: "2025-01-31T13:00:00+08:00", warn: "2025-01-27T13:15:00+08:00", elapsed: 9.0, submitted: 3.0, appr: 6.0},
	{ref: "RPT-04-submitted-on-cny", state: "fulfilled", due: "2025-02-10T18:00:00+08:00", warn: "2025-02-06T18:00:00+08:00", elapsed: 3.5, submitted: 2.5, appr: 1.0},
	{ref: "RPT-05-submitted-on-saturday", state: "fulfilled", due: "2025-03-11T18:00:00+08:00", warn: "2025-03-07T17:30:00+08:00", elapsed: 5.1, submitted: 1.5, appr: 3.6},
	{ref: "RPT-06-withdrawn-before-due", state: "withdrawn", due: "2025-03-19T13:15:00+08:00", warn: "2025-03-17T13:15:00+08:00", elapsed: 3.0, submitted: 3.0},
	{ref: "RPT-07-withdrawn-after-due", state: "withdrawn", due: "2025-02-19T13:15:00+08:00", warn: "2025-02-17T13:15:00+08:00", elapsed: 15.0, submitted: 15.0},
	{ref: "RPT-08-open-past-due", state: "approved", due: "2025-03-26T13:15:00+08:00", warn: "2025-03-24T13:15:00+08:00", submitted: 1.0, running: true},
	{ref: "RPT-09-paused", state: "fulfilled", due: "2025-04-22T13:15:00+08:00", warn: "2025-04-17T13:15:00+08:00", elapsed: 6.6, submitted: 4.0, clar: 3.0, appr: 2.6},
	{ref: "RPT-10-open-at-risk", state: "submitted", due: "2025-07-01T13:15:00+08:00", warn: "2025-06-27T13:00:00+08:00", running: true},
	{ref: "RPT-11-open-on-track", state: "submitted", due: "2025-07-07T13:15:00+08:00", warn: "2025-07-03T13:15:00+08:00", running: true},
	{ref: "RPT-12-rejected-late", state: "rejected", due: "2025-04-03T13:15:00+08:00", warn: "2025-04-01T13:15:00+08:00", elapsed: 8.6, submitted: 8.6},
	{ref: "RPT-13-open-paused", state: "clarification_requested", elapsed: 1.0, submitted: 1.0},
	{ref: "RPT-14-draft", state: "draft"},
	{ref: "RPT-15-withdrawn-draft", state: "withdrawn"},
	{ref: "RPT-16-fulfilled-before-dawn", state: "fulfilled", due: "2025-04-07T13:15:00+08:00", warn: "2025-04-03T13:15:00+08:00", elapsed: 2.5, submitted: 0.9, appr: 1.6},
}

func fxCheckInstant(t *testing.T, name string, got *time.Time, want string) {
	t.Helper()
	switch {
	case want == "" && got != nil:
		t.Errorf("%s: got %s, want none", name, fxFmtT(got))
	case want != "" && (got == nil || !got.Equal(apptest.Time(want))):
		t.Errorf("%s: got %s, want %s", name, fxFmtT(got), want)
	}
}

// The report reads these columns; pin them first so that a wrong figure
// below can be told apart from a wrong input.
func TestImportedFixtureHasHandWorkedClocks(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := fxNewEnv(t, db, fxNow)
		e.fxImport(t, fxReportRecords)
		for _, w := range fxClockWants {
			t.Run(w.ref, func(t *testing.T) {
				r := fxByRef(t, db, w.ref)
				c := r.SLA
				if r.State != w.state {
					t.Errorf("state: got %s, want %s", r.State, w.state)
				}
				fxCheckInstant(t, "due_at", c.DueAt, w.due)
				fxCheckInstant(t, "warn_at", c.WarnAt, w.warn)
				for _, f := range []struct {
					name      string
					got, want float64
				}{
					{"elapsed", c.Elapsed, w.elapsed},
					{"days_submitted", c.DaysSubmitted, w.submitted},
					{"days_clarification_requested", c.DaysClarification, w.clar},
					{"days_approved", c.DaysApproved, w.appr},
				} {
					if !fxClose(f.got, f.want) {
						t.Errorf("%s: got %v, want %v", f.name, f.got, f.want)
					}
				}
				if (c.RunningSince != nil) != w.running {
					t.Errorf("running since: got %s, want running=%v", fxFmtT(c.RunningSince), w.running)
				}
				if w.state == "draft" || w.ref == "RPT-15-withdrawn-draft" {
					if c.Target != nil {
						t.Errorf("sla_target: got %v, want none (never submitted)", *c.Target)
					}
				} else if c.Target == nil || *c.Target != 7 {
					t.Errorf("sla_target: got %s, want 7", fxFmtF(c.Target))
				}
			})
		}
	})
}

// fxReportWant is every figure of one report.
type fxReportWant struct {
	met, missed     int
	rate            *float64
	finished        int
	median, p90     *float64
	sub, clar, appr float64 // time_in_state_working_days averages
	open            sla.Open
	groups          []sla.Group
	csv             string
}

func fxG(key string, met, missed int, rate *float64) sla.Group {
	return sla.Group{Key: key, Met: met, Missed: missed, ComplianceRate: rate}
}

func fxCheckReport(t *testing.T, q sla.Query, got *sla.Report, w fxReportWant) {
	t.Helper()
	if got.From != q.From.String() || got.To != q.To.String() {
		t.Errorf("from, to: got %s, %s, want %s, %s", got.From, got.To, q.From, q.To)
	}
	if got.TargetWorkingDays != 7 {
		t.Errorf("target_working_days: got %v, want 7", got.TargetWorkingDays)
	}
	if (q.Agency == "") != (got.Agency == nil) || (got.Agency != nil && *got.Agency != q.Agency) {
		t.Errorf("agency: got %v, want %q", got.Agency, q.Agency)
	}
	if (q.GroupBy == "") != (got.GroupBy == nil) || (got.GroupBy != nil && *got.GroupBy != q.GroupBy) {
		t.Errorf("group_by: got %v, want %q", got.GroupBy, q.GroupBy)
	}
	if got.Met != w.met || got.Missed != w.missed {
		t.Errorf("met, missed: got %d, %d, want %d, %d", got.Met, got.Missed, w.met, w.missed)
	}
	if !fxSameF(got.ComplianceRate, w.rate) {
		t.Errorf("compliance_rate: got %s, want %s", fxFmtF(got.ComplianceRate), fxFmtF(w.rate))
	}
	if got.Finished != w.finished {
		t.Errorf("finished: got %d, want %d", got.Finished, w.finished)
	}
	if !fxSameF(got.Elapsed.Median, w.median) {
		t.Errorf("elapsed median: got %s, want %s", fxFmtF(got.Elapsed.Median), fxFmtF(w.median))
	}
	if !fxSameF(got.Elapsed.P90, w.p90) {
		t.Errorf("elapsed p90: got %s, want %s", fxFmtF(got.Elapsed.P90), fxFmtF(w.p90))
	}
	wantTIS := map[string]float64{"submitted": w.sub, "clarification_requested": w.clar, "approved": w.appr}
	if len(got.TimeInState) != len(wantTIS) {
		t.Errorf("time_in_state_working_days: got keys %v, want submitted, clarification_requested, approved", got.TimeInState)
	}
	for k, v := range wantTIS {
		g, ok := got.TimeInState[k]
		if !ok || !fxClose(g, v) {
			t.Errorf("time_in_state_working_days[%s]: got %v (present %v), want %v", k, g, ok, v)
		}
	}
	if got.Open != w.open {
		t.Errorf("open: got %+v, want %+v", got.Open, w.open)
	}
	if w.groups == nil {
		w.groups = []sla.Group{}
	}
	sameGroups := len(got.Groups) == len(w.groups)
	for i := 0; sameGroups && i < len(w.groups); i++ {
		g, x := got.Groups[i], w.groups[i]
		sameGroups = g.Key == x.Key && g.Met == x.Met && g.Missed == x.Missed && fxSameF(g.ComplianceRate, x.ComplianceRate)
	}
	if !sameGroups {
		t.Errorf("groups:\n got %s\nwant %s", fxFmtGroups(got.Groups), fxFmtGroups(w.groups))
	}
	if csv := got.CSV(); csv != w.csv {
		t.Errorf("CSV:\n got %q\nwant %q", csv, w.csv)
	}
}

func fxFmtGroups(gs []sla.Group) string {
	s := "["
	for _, g := range gs {
		s += fmt.Sprintf(" {%s met %d missed %d rate %s}", g.Key, g.Met, g.Missed, fxFmtF(g.ComplianceRate))
	}
	return s + " ]"
}

func fxDate(s string) calendar.Date {
	d, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func fxQ(from, to, groupBy, agency string) sla.Query {
	return sla.Query{From: fxDate(from), To: fxDate(to), GroupBy: groupBy, Agency: agency}
}

// Open requests now (Mon 30 Jun 2025 12:00): RPT-08 (breached), RPT-10 (at
// risk), RPT-11 (on track), RPT-13 (paused).
var fxOpenAll = sla.Open{Total: 4, AtRisk: 1, Breached: 1}

// fxReportCases: windows are Singapore dates, from inclusive, to exclusive.
// Outcomes by window (see fxReportRecords):
//
//	January:  met 01 (10 Jan); missed 03 (due 31 Jan). Finished: 01 (4.0).
//	February: met 02 (6 Feb), 04 (5 Feb); missed 07 (due 19 Feb). 03 was
//	          fulfilled 4 Feb but counts in January. Finished: 02 (2.7),
//	          03 (9.0), 04 (3.5).
//	March:    met 05 (10 Mar); missed 08 (due 26 Mar, open). 06 withdrawn
//	          before due: nothing. Finished: 05 (5.1).
//	April:    met 09 (22 Apr), 16 (1 Apr, 07:30 SGT); missed 12 (due 3 Apr).
//	          Finished: 09 (6.6), 12 (8.6), 16 (2.5).
//
// Percentiles interpolate between closest ranks: position q·(n−1).
var fxReportCases = []struct {
	name string
	q    sla.Query
	want fxReportWant
}{
	{
		// One finished: median = p90 = 4.0; time in state that of 01.
		name: "january by owner agency: late fulfilment missed at its due date",
		q:    fxQ("2025-01-01", "2025-02-01", sla.ByOwnerAgency, ""),
		want: fxReportWant{
			met: 1, missed: 1, rate: fxF(0.5), finished: 1, median: fxF(4.0), p90: fxF(4.0),
			sub: 3.0, appr: 1.0, open: fxOpenAll,
			groups: []sla.Group{fxG("MOH", 1, 1, fxF(0.5))},
			csv:    "group,met,missed,compliance_rate\nMOH,1,1,0.5000\ntotal,1,1,0.5000\n",
		},
	},
	{
		// Elapsed 2.7, 3.5, 9.0: median rank 1 = 3.5; p90 position 1.8 =
		// 3.5 + 0.8·5.5 = 7.9. Submitted (2.7 + 3.0 + 2.5)/3 = 2.733,
		// approved (0 + 6.0 + 1.0)/3 = 2.333.
		name: "february ungrouped: late fulfilment not counted again",
		q:    fxQ("2025-02-01", "2025-03-01", "", ""),
		want: fxReportWant{
			met: 2, missed: 1, rate: fxF(2.0 / 3), finished: 3, median: fxF(3.5), p90: fxF(7.9),
			sub: 2.733, appr: 2.333, open: fxOpenAll,
			csv: "group,met,missed,compliance_rate\ntotal,2,1,0.6667\n",
		},
	},
	{
		name: "february by owner agency",
		q:    fxQ("2025-02-01", "2025-03-01", sla.ByOwnerAgency, ""),
		want: fxReportWant{
			met: 2, missed: 1, rate: fxF(2.0 / 3), finished: 3, median: fxF(3.5), p90: fxF(7.9),
			sub: 2.733, appr: 2.333, open: fxOpenAll,
			groups: []sla.Group{fxG("MOH", 1, 1, fxF(0.5)), fxG("MOM", 1, 0, fxF(1))},
			csv:    "group,met,missed,compliance_rate\nMOH,1,1,0.5000\nMOM,1,0,1.0000\ntotal,2,1,0.6667\n",
		},
	},
	{
		// 05 met (MSF), 08 missed (HDB); 16 was fulfilled on 1 April in
		// Singapore (still 31 March in UTC) and is not March's.
		name: "march by requesting agency: open request missed at due, withdrawn before due not counted",
		q:    fxQ("2025-03-01", "2025-04-01", sla.ByRequestingAgency, ""),
		want: fxReportWant{
			met: 1, missed: 1, rate: fxF(0.5), finished: 1, median: fxF(5.1), p90: fxF(5.1),
			sub: 1.5, appr: 3.6, open: fxOpenAll,
			groups: []sla.Group{fxG("HDB", 0, 1, fxF(0)), fxG("MSF", 1, 0, fxF(1))},
			csv:    "group,met,missed,compliance_rate\nHDB,0,1,0.0000\nMSF,1,0,1.0000\ntotal,1,1,0.5000\n",
		},
	},
	{
		// Elapsed 2.5, 6.6, 8.6: median 6.6, p90 position 1.8 = 6.6 +
		// 0.8·2.0 = 8.2. Submitted (4.0 + 8.6 + 0.9)/3 = 4.5, clarification
		// 3.0/3 = 1.0, approved (2.6 + 0 + 1.6)/3 = 1.4.
		name: "april by month: paused request met, late rejection missed",
		q:    fxQ("2025-04-01", "2025-05-01", sla.ByMonth, ""),
		want: fxReportWant{
			met: 2, missed: 1, rate: fxF(2.0 / 3), finished: 3, median: fxF(6.6), p90: fxF(8.2),
			sub: 4.5, clar: 1.0, appr: 1.4, open: fxOpenAll,
			groups: []sla.Group{fxG("2025-04", 2, 1, fxF(2.0/3))},
			csv:    "group,met,missed,compliance_rate\n2025-04,2,1,0.6667\ntotal,2,1,0.6667\n",
		},
	},
	{
		// Met 01, 02, 04, 05; missed 03, 07, 08. Elapsed 2.7, 3.5, 4.0, 5.1,
		// 9.0: median 4.0, p90 position 3.6 = 5.1 + 0.6·3.9 = 7.44.
		// Submitted (3.0 + 2.7 + 3.0 + 2.5 + 1.5)/5 = 2.54, approved (1.0 +
		// 0 + 6.0 + 1.0 + 3.6)/5 = 2.32.
		name: "first quarter by month",
		q:    fxQ("2025-01-01", "2025-04-01", sla.ByMonth, ""),
		want: fxReportWant{
			met: 4, missed: 3, rate: fxF(4.0 / 7), finished: 5, median: fxF(4.0), p90: fxF(7.44),
			sub: 2.54, appr: 2.32, open: fxOpenAll,
			groups: []sla.Group{fxG("2025-01", 1, 1, fxF(0.5)), fxG("2025-02", 2, 1, fxF(2.0/3)), fxG("2025-03", 1, 1, fxF(0.5))},
			csv:    "group,met,missed,compliance_rate\n2025-01,1,1,0.5000\n2025-02,2,1,0.6667\n2025-03,1,1,0.5000\ntotal,4,3,0.5714\n",
		},
	},
	{
		// Met 01, 02, 04, 05, 09, 16; missed 03, 07, 08, 12. Elapsed 2.5,
		// 2.7, 3.5, 4.0, 5.1, 6.6, 8.6, 9.0: median position 3.5 = (4.0 +
		// 5.1)/2 = 4.55, p90 position 6.3 = 8.6 + 0.3·0.4 = 8.72. Submitted
		// (3.0+2.7+3.0+2.5+1.5+4.0+8.6+0.9)/8 = 26.2/8 = 3.275,
		// clarification 3.0/8 = 0.375, approved
		// (1.0+0+6.0+1.0+3.6+2.6+0+1.6)/8 = 15.8/8 = 1.975.
		// MOH owns 01, 03, 04, 07, 12: met 2, missed 3. MOM owns 02, 05, 08,
		// 09, 16: met 4, missed 1.
		name: "january to april by owner agency",
		q:    fxQ("2025-01-01", "2025-05-01", sla.ByOwnerAgency, ""),
		want: fxReportWant{
			met: 6, missed: 4, rate: fxF(0.6), finished: 8, median: fxF(4.55), p90: fxF(8.72),
			sub: 3.275, clar: 0.375, appr: 1.975, open: fxOpenAll,
			groups: []sla.Group{fxG("MOH", 2, 3, fxF(0.4)), fxG("MOM", 4, 1, fxF(0.8))},
			csv:    "group,met,missed,compliance_rate\nMOH,2,3,0.4000\nMOM,4,1,0.8000\ntotal,6,4,0.6000\n",
		},
	},
	{
		// HDB filed 02 (met), 08, 12 (missed); MOM filed 04 (met); MSF filed
		// 01, 05, 09, 16 (met), 03, 07 (missed).
		name: "january to april by requesting agency",
		q:    fxQ("2025-01-01", "2025-05-01", sla.ByRequestingAgency, ""),
		want: fxReportWant{
			met: 6, missed: 4, rate: fxF(0.6), finished: 8, median: fxF(4.55), p90: fxF(8.72),
			sub: 3.275, clar: 0.375, appr: 1.975, open: fxOpenAll,
			groups: []sla.Group{fxG("HDB", 1, 2, fxF(1.0/3)), fxG("MOM", 1, 0, fxF(1)), fxG("MSF", 4, 2, fxF(4.0/6))},
			csv:    "group,met,missed,compliance_rate\nHDB,1,2,0.3333\nMOM,1,0,1.0000\nMSF,4,2,0.6667\ntotal,6,4,0.6000\n",
		},
	},
	{
		name: "january to april by month",
		q:    fxQ("2025-01-01", "2025-05-01", sla.ByMonth, ""),
		want: fxReportWant{
			met: 6, missed: 4, rate: fxF(0.6), finished: 8, median: fxF(4.55), p90: fxF(8.72),
			sub: 3.275, clar: 0.375, appr: 1.975, open: fxOpenAll,
			groups: []sla.Group{fxG("2025-01", 1, 1, fxF(0.5)), fxG("2025-02", 2, 1, fxF(2.0/3)), fxG("2025-03", 1, 1, fxF(0.5)), fxG("2025-04", 2, 1, fxF(2.0/3))},
			csv:    "group,met,missed,compliance_rate\n2025-01,1,1,0.5000\n2025-02,2,1,0.6667\n2025-03,1,1,0.5000\n2025-04,2,1,0.6667\ntotal,6,4,0.6000\n",
		},
	},
	{
		// 15 Jan to 15 Mar: January part has only 03's miss (01 was met on
		// 10 Jan); March part 05's met (10 Mar). Finished: 03 (4 Feb), 04,
		// 02, 05: elapsed 2.7, 3.5, 5.1, 9.0: median 3.5 + 0.5·1.6 = 4.3, p90
		// position 2.7 = 5.1 + 0.7·3.9 = 7.83. Submitted (2.7 + 3.0 + 2.5 +
		// 1.5)/4 = 2.425, approved (0 + 6.0 + 1.0 + 3.6)/4 = 2.65.
		name: "mid-month window by month: partial months",
		q:    fxQ("2025-01-15", "2025-03-15", sla.ByMonth, ""),
		want: fxReportWant{
			met: 3, missed: 2, rate: fxF(0.6), finished: 4, median: fxF(4.3), p90: fxF(7.83),
			sub: 2.425, appr: 2.65, open: fxOpenAll,
			groups: []sla.Group{fxG("2025-01", 0, 1, fxF(0)), fxG("2025-02", 2, 1, fxF(2.0/3)), fxG("2025-03", 1, 0, fxF(1))},
			csv:    "group,met,missed,compliance_rate\n2025-01,0,1,0.0000\n2025-02,2,1,0.6667\n2025-03,1,0,1.0000\ntotal,3,2,0.6000\n",
		},
	},
	{
		// The day 03 was due: its miss, nothing else.
		name: "one day holding a due instant",
		q:    fxQ("2025-01-31", "2025-02-01", "", ""),
		want: fxReportWant{
			missed: 1, rate: fxF(0), open: fxOpenAll,
			csv: "group,met,missed,compliance_rate\ntotal,0,1,0.0000\n",
		},
	},
	{
		name: "empty window by owner agency: rate and percentiles null",
		q:    fxQ("2024-01-01", "2025-01-01", sla.ByOwnerAgency, ""),
		want: fxReportWant{
			open: fxOpenAll,
			csv:  "group,met,missed,compliance_rate\ntotal,0,0,\n",
		},
	},
	{
		name: "empty window by month: one empty group per month",
		q:    fxQ("2024-10-01", "2025-01-01", sla.ByMonth, ""),
		want: fxReportWant{
			open:   fxOpenAll,
			groups: []sla.Group{fxG("2024-10", 0, 0, nil), fxG("2024-11", 0, 0, nil), fxG("2024-12", 0, 0, nil)},
			csv:    "group,met,missed,compliance_rate\n2024-10,0,0,\n2024-11,0,0,\n2024-12,0,0,\ntotal,0,0,\n",
		},
	},
	{
		// MOM as owner (02, 05, 08, 09, 16) or requester (04): met 02, 04,
		// 05, 09, 16; missed 08. Elapsed 2.5, 2.7, 3.5, 5.1, 6.6: median
		// 3.5, p90 position 3.6 = 5.1 + 0.6·1.5 = 6.0. Submitted (2.7 + 2.5
		// + 1.5 + 4.0 + 0.9)/5 = 2.32, clarification 3.0/5 = 0.6, approved
		// (0 + 1.0 + 3.6 + 2.6 + 1.6)/5 = 1.76. Open: 08 (breached, owner)
		// and 13 (paused, requester).
		name: "scoped to MOM as owner or requester, by owner agency",
		q:    fxQ("2025-01-01", "2025-05-01", sla.ByOwnerAgency, "MOM"),
		want: fxReportWant{
			met: 5, missed: 1, rate: fxF(5.0 / 6), finished: 5, median: fxF(3.5), p90: fxF(6.0),
			sub: 2.32, clar: 0.6, appr: 1.76, open: sla.Open{Total: 2, Breached: 1},
			groups: []sla.Group{fxG("MOH", 1, 0, fxF(1)), fxG("MOM", 4, 1, fxF(0.8))},
			csv:    "group,met,missed,compliance_rate\nMOH,1,0,1.0000\nMOM,4,1,0.8000\ntotal,5,1,0.8333\n",
		},
	},
	{
		// HDB filed 02 (met), 08 and 12 (missed), 06 (withdrawn before
		// due), 11 (open), 15 (draft withdrawn). Elapsed 2.7, 8.6: median
		// 5.65, p90 2.7 + 0.9·5.9 = 8.01; submitted (2.7 + 8.6)/2 = 5.65.
		name: "scoped to HDB, by requesting agency",
		q:    fxQ("2025-01-01", "2025-05-01", sla.ByRequestingAgency, "HDB"),
		want: fxReportWant{
			met: 1, missed: 2, rate: fxF(1.0 / 3), finished: 2, median: fxF(5.65), p90: fxF(8.01),
			sub: 5.65, open: sla.Open{Total: 2, Breached: 1},
			groups: []sla.Group{fxG("HDB", 1, 2, fxF(1.0/3))},
			csv:    "group,met,missed,compliance_rate\nHDB,1,2,0.3333\ntotal,1,2,0.3333\n",
		},
	},
	{
		// Of the open requests MSF filed only 10 (at risk). Nothing in 2024.
		name: "scoped to MSF, empty window",
		q:    fxQ("2024-01-01", "2025-01-01", "", "MSF"),
		want: fxReportWant{
			open: sla.Open{Total: 1, AtRisk: 1},
			csv:  "group,met,missed,compliance_rate\ntotal,0,0,\n",
		},
	},
}

func TestReportFiguresForWindowsAndGroupings(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := fxNewEnv(t, db, fxNow)
		e.fxImport(t, fxReportRecords)
		for _, c := range fxReportCases {
			t.Run(c.name, func(t *testing.T) {
				got, err := e.reporter.Compute(context.Background(), c.q, fxNow)
				if err != nil {
					t.Fatalf("compute: %v", err)
				}
				fxCheckReport(t, c.q, got, c.want)
			})
		}
	})
}

// The JSON form says null, not 0, for a rate and percentiles of nothing.
func TestReportJSONHasNullsForAnEmptyWindow(t *testing.T) {
	db := modelstest.MustOpen(t, models.SQLite)
	e := fxNewEnv(t, db, fxNow)
	e.fxImport(t, fxReportRecords)
	rep, err := e.reporter.Compute(context.Background(), fxQ("2024-01-01", "2025-01-01", "", ""), fxNow)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if v, ok := m["compliance_rate"]; !ok || v != nil {
		t.Errorf("compliance_rate: got %v (present %v), want null", v, ok)
	}
	el, _ := m["elapsed_working_days"].(map[string]any)
	for _, k := range []string{"median", "p90"} {
		if v, ok := el[k]; !ok || v != nil {
			t.Errorf("elapsed_working_days.%s: got %v (present %v), want null", k, v, ok)
		}
	}
	if g, ok := m["groups"].([]any); !ok || len(g) != 0 {
		t.Errorf("groups: got %v, want []", m["groups"])
	}
}

// The report reads stored columns only: running the check, which writes
// flags and history rows, changes no figure.
func TestReportDoesNotDependOnTheCheck(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := fxNewEnv(t, db, fxNow)
		e.fxImport(t, fxReportRecords)
		ctx := context.Background()
		var before []*sla.Report
		for _, c := range fxReportCases {
			rep, err := e.reporter.Compute(ctx, c.q, fxNow)
			if err != nil {
				t.Fatal(err)
			}
			before = append(before, rep)
		}
		res, err := e.checker.Check(ctx, fxNow)
		if err != nil {
			t.Fatalf("check: %v", err)
		}
		// 08 (past warn and due), 10 (past warn): two at risk, one breached.
		if res.AtRisk != 2 || res.Breached != 1 {
			t.Errorf("check: got at_risk %d, breached %d, want 2, 1", res.AtRisk, res.Breached)
		}
		for i, c := range fxReportCases {
			after, err := e.reporter.Compute(ctx, c.q, fxNow)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(before[i], after) {
				b, _ := json.Marshal(before[i])
				a, _ := json.Marshal(after)
				t.Errorf("%s: after the check got %s, want %s", c.name, a, b)
			}
		}
	})
}

func TestReportRejectsBadQueries(t *testing.T) {
	db := modelstest.MustOpen(t, models.SQLite)
	e := fxNewEnv(t, db, fxNow)
	for _, c := range []struct {
		name  string
		q     sla.Query
		field string
	}{
		{"no from", sla.Query{To: fxDate("2025-01-01")}, "from"},
		{"no to", sla.Query{From: fxDate("2025-01-01")}, "to"},
		{"to equals from", fxQ("2025-01-01", "2025-01-01", "", ""), "to"},
		{"to before from", fxQ("2025-02-01", "2025-01-01", "", ""), "to"},
		{"window too long", fxQ("2014-01-01", "2025-01-02", "", ""), "to"},
		{"unknown grouping", fxQ("2025-01-01", "2025-02-01", "classification", ""), "group_by"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.reporter.Compute(context.Background(), c.q, fxNow)
			var ee *errs.Error
			if !errors.As(err, &ee) || ee.Code != errs.Invalid || ee.Field != c.field {
				t.Errorf("got %v, want invalid on field %s", err, c.field)
			}
		})
	}
}

func TestAuthorizeScopesReports(t *testing.T) {
	actor := func(agency string, roles ...workflow.Role) workflow.Actor {
		return workflow.Actor{ID: 1, Agency: agency, Roles: roles}
	}
	for _, c := range []struct {
		name      string
		actor     workflow.Actor
		asked     string
		want      string
		forbidden bool
	}{
		{"manager, no agency asked: own agency", actor("MOH", workflow.Manager), "", "MOH", false},
		{"manager asking for own agency", actor("MOH", workflow.Manager), "MOH", "MOH", false},
		{"manager asking for another agency", actor("MOH", workflow.Manager), "MOM", "", true},
		{"requester", actor("MOH", workflow.Requester), "", "", true},
		{"requester asking for own agency", actor("MOH", workflow.Requester), "MOH", "", true},
		{"approver", actor("MOH", workflow.Approver), "MOH", "", true},
		{"admin, all agencies", actor("GOVTECH", workflow.Admin), "", "", false},
		{"admin asking for any agency", actor("GOVTECH", workflow.Admin), "MOM", "MOM", false},
		{"manager and requester asking for another agency", actor("MOH", workflow.Requester, workflow.Manager), "HDB", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := sla.Authorize(c.actor, c.asked)
			switch {
			case c.forbidden && !errs.Is(err, errs.Forbidden):
				t.Errorf("got scope %q, error %v; want forbidden", got, err)
			case !c.forbidden && (err != nil || got != c.want):
				t.Errorf("got scope %q, error %v; want %q", got, err, c.want)
			}
		})
	}
}
