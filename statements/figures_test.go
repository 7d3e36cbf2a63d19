package statements_test

import (
	"strconv"
	"testing"
	"time"

	"datashare/apptest"
	"datashare/calendar"
	"datashare/sla"
	"datashare/statements"
)

func TestStatementsAreDueOnTheFirstWorkingDayAfterTheMonth(t *testing.T) {
	cal, err := calendar.New(apptest.SGT, calendar.DefaultHours(), calendar.SingaporeHolidays())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		month statements.Month
		at    string
		want  bool
	}{
		{statements.Month{Year: 2025, Month: time.May}, "2025-05-31T23:59:00+08:00", false},
		{statements.Month{Year: 2025, Month: time.May}, "2025-06-01T09:00:00+08:00", false}, // a Sunday
		{statements.Month{Year: 2025, Month: time.May}, "2025-06-02T00:00:00+08:00", true},  // Monday
		{statements.Month{Year: 2025, Month: time.May}, "2025-06-20T09:00:00+08:00", true},
		// 1 January 2026 is New Year's Day, a Thursday: due on the 2nd.
		{statements.Month{Year: 2025, Month: time.December}, "2026-01-01T12:00:00+08:00", false},
		{statements.Month{Year: 2025, Month: time.December}, "2026-01-02T08:30:00+08:00", true},
	} {
		if got := statements.Due(c.month, apptest.Time(c.at), cal); got != c.want {
			t.Errorf("Due(%s, %s): got %v, want %v", c.month, c.at, got, c.want)
		}
	}
}

func f64(v float64) *float64 { return &v }

func TestCompareListsWhatMoved(t *testing.T) {
	base := statements.Figures{
		Month: "2025-05", Met: 2, Missed: 1, ComplianceRate: f64(2.0 / 3), Finished: 2,
		TimeInState:   map[string]float64{"submitted": 1.5},
		ByOwnerAgency: []sla.Group{{Key: "MOH", Met: 2, Missed: 0, ComplianceRate: f64(1)}},
		MetRequests:   []int64{1, 3}, MissedRequests: []int64{2},
		Open: sla.Open{Total: 4},
	}
	moved := base
	moved.Met, moved.ComplianceRate, moved.MetRequests = 3, f64(0.75), []int64{1, 3, 7}
	late := base
	late.Met, late.Missed, late.MetRequests, late.MissedRequests = 1, 2, []int64{1}, []int64{2, 3}
	late.ComplianceRate = f64(1.0 / 3)
	reopened := base
	reopened.Open = sla.Open{Total: 9}
	for _, c := range []struct {
		name string
		now  statements.Figures
		want []string // field: was → now
	}{
		{"nothing moved", base, nil},
		{"open requests at the end", reopened, []string{"open_at_end/total: 4 → 9"}},
		{"a request added", moved, []string{"met: 2 → 3", "compliance_rate: 0.6667 → 0.7500", "request 7: not counted → met"}},
		{"a request turned missed", late, []string{"met: 2 → 1", "missed: 1 → 2", "compliance_rate: 0.6667 → 0.3333", "request 3: met → missed"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, ch := range statements.Compare(base, c.now) {
				if ch.Request != nil {
					got = append(got, "request "+itoa(*ch.Request)+": "+ch.Was+" → "+ch.Now)
				} else {
					got = append(got, ch.Field+": "+ch.Was+" → "+ch.Now)
				}
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("change %d: got %q, want %q", i, got[i], c.want[i])
				}
			}
		})
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestTheCanonicalTextIsFixed(t *testing.T) {
	agency := "MOH"
	f := statements.Figures{
		Month: "2025-05", From: "2025-05-01", To: "2025-06-01", Agency: &agency, TargetWorkingDays: 7,
		Met: 2, Missed: 1, ComplianceRate: f64(2.0 / 3), Finished: 2,
		Elapsed:            sla.Percentiles{Median: f64(1.5), P90: f64(2.25)},
		TimeInState:        map[string]float64{"submitted": 1.25, "approved": 0.5, "clarification_requested": 0},
		Open:               sla.Open{Total: 3, AtRisk: 1, Breached: 1},
		ByOwnerAgency:      []sla.Group{{Key: "MOM", Met: 0, Missed: 1, ComplianceRate: f64(0)}, {Key: "MOH", Met: 2, ComplianceRate: f64(1)}},
		ByRequestingAgency: []sla.Group{{Key: "MSF", Met: 2, Missed: 1, ComplianceRate: f64(2.0 / 3)}},
		MetRequests:        []int64{1, 3}, MissedRequests: []int64{2},
	}
	got := statements.Canonical(f, 1, time.Date(2025, 6, 2, 1, 0, 0, 0, time.UTC), "sha256:0123456789abcdef")
	want := `field,value
format,datashare statement v1
month,2025-05
from,2025-05-01
to,2025-06-01
agency,MOH
revision,1
generated_at,2025-06-02T01:00:00Z
calendar_version,sha256:0123456789abcdef
target_working_days,7.000
met,2
missed,1
compliance_rate,0.6667
finished,2
elapsed_working_days/median,1.500
elapsed_working_days/p90,2.250
time_in_state_working_days/approved,0.500
time_in_state_working_days/clarification_requested,0.000
time_in_state_working_days/submitted,1.250
group/owner_agency/MOH/met,2
group/owner_agency/MOH/missed,0
group/owner_agency/MOH/compliance_rate,1.0000
group/owner_agency/MOM/met,0
group/owner_agency/MOM/missed,1
group/owner_agency/MOM/compliance_rate,0.0000
group/requesting_agency/MSF/met,2
group/requesting_agency/MSF/missed,1
group/requesting_agency/MSF/compliance_rate,0.6667
met_requests,1 3
missed_requests,2
open_at_end/total,3
open_at_end/at_risk,1
open_at_end/breached,1
`
	if got != want {
		t.Errorf("canonical text:\ngot:\n%s\nwant:\n%s", got, want)
	}
}
