package sla_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
	"datashare/sla"
)

// fxStatusInstants are instants to judge generated requests at: spread over
// their history, and exactly at some of their due, warning and closing
// instants, where a comparison that is off by one way fails.
func fxStatusInstants(rs []models.Request, rng *rand.Rand, n int) []time.Time {
	first, span := fxStatusFirst(), fxNow.Sub(fxStatusFirst())
	var out []time.Time
	for i := 0; i < n; i++ {
		out = append(out, first.Add(time.Duration(rng.Int64N(int64(span)))).UTC().Truncate(time.Microsecond))
		r := rs[rng.IntN(len(rs))]
		for _, t := range []*time.Time{r.SLA.DueAt, r.SLA.WarnAt, r.ClosedAt} {
			if t != nil {
				out = append(out, t.UTC())
			}
		}
	}
	return out
}

func fxStatusFirst() time.Time { return time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC) }

// The SQL of each status and Evaluate come from one rule; they must agree
// on every request the workflow can produce, at every instant, and exactly
// one status must hold for each.
func TestStatusSQLAgreesWithEvaluateOnGeneratedRequests(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		_, keeper := fxBenchKeeperOver(t, db)
		fxSeedReportData(t, db, keeper, 3000)
		var rs []models.Request
		if err := db.Gorm.Order("id").Find(&rs).Error; err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(7, 30))
		for _, now := range fxStatusInstants(rs, rng, 25) {
			want := map[string][]int64{}
			for i := range rs {
				st := keeper.Evaluate(&rs[i], now).Status
				if !slices.Contains(sla.Statuses, st) {
					t.Fatalf("request %d at %s: status %q", rs[i].ID, now, st)
				}
				want[st] = append(want[st], rs[i].ID)
			}
			seen := map[int64]string{}
			for _, st := range sla.Statuses {
				ids := mustIDsInStatus(t, db, st, now)
				for _, id := range ids {
					if other, dup := seen[id]; dup {
						t.Errorf("request %d at %s is both %s and %s in SQL", id, now, other, st)
					}
					seen[id] = st
				}
				if !slices.Equal(ids, want[st]) {
					t.Errorf("%s at %s: SQL gives %d requests, Evaluate %d", st, now, len(ids), len(want[st]))
				}
			}
			if len(seen) != len(rs) {
				t.Errorf("at %s SQL gives a status to %d of %d requests", now, len(seen), len(rs))
			}
		}
	})
}

// fxDirect is the compliance report of DESIGN.md computed from every row
// in Go, independently of the report's queries.
type fxDirect struct {
	met, missed   map[string]int
	finished      []float64
	daysSubmitted float64
}

func fxDirectReport(rs []models.Request, from, to, now time.Time, key func(models.Request, time.Time) string, agency string) fxDirect {
	d := fxDirect{met: map[string]int{}, missed: map[string]int{}}
	in := func(t *time.Time) bool { return t != nil && !t.Before(from) && t.Before(to) }
	for _, r := range rs {
		if agency != "" && r.OwnerAgency != agency && r.RequestingAgency != agency {
			continue
		}
		done := r.State == "fulfilled" || r.State == "rejected"
		due := r.SLA.DueAt
		if done && in(r.ClosedAt) {
			d.finished = append(d.finished, r.SLA.Elapsed)
			d.daysSubmitted += r.SLA.DaysSubmitted
			if due != nil && !r.ClosedAt.After(*due) {
				d.met[key(r, *r.ClosedAt)]++
			}
		}
		if in(due) && !due.After(now) && (r.ClosedAt == nil || r.ClosedAt.After(*due)) {
			d.missed[key(r, *due)]++
		}
	}
	sort.Float64s(d.finished)
	return d
}

func fxDirectQuantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	v := sorted[lo]
	if lo+1 < len(sorted) {
		v += (sorted[lo+1] - v) * (pos - float64(lo))
	}
	return math.Round(v*1000) / 1000
}

// The report's index walks must count what a direct reading of every row
// counts, for every grouping, with and without an agency, over windows of
// several lengths.
func TestReportEqualsDirectCountsOnGeneratedRequests(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		_, keeper := fxBenchKeeperOver(t, db)
		fxSeedReportData(t, db, keeper, 4000)
		var rs []models.Request
		if err := db.Gorm.Order("id").Find(&rs).Error; err != nil {
			t.Fatal(err)
		}
		reporter := sla.NewReporter(db, keeper)
		loc := keeper.Calendar().Location()
		keys := map[string]func(models.Request, time.Time) string{
			"":                     func(models.Request, time.Time) string { return "" },
			sla.ByOwnerAgency:      func(r models.Request, _ time.Time) string { return r.OwnerAgency },
			sla.ByRequestingAgency: func(r models.Request, _ time.Time) string { return r.RequestingAgency },
			sla.ByMonth:            func(_ models.Request, at time.Time) string { return at.In(loc).Format("2006-01") },
		}
		windows := [][2]string{{"2024-01-01", "2025-01-01"}, {"2025-01-01", "2025-04-01"}, {"2025-02-11", "2025-02-12"}, {"2019-01-01", "2025-07-01"}}
		for _, w := range windows {
			for by, key := range keys {
				for _, agency := range []string{"", "MOH", "MCCY"} {
					q := fxQ(w[0], w[1], by, agency)
					got, err := reporter.Compute(context.Background(), q, fxNow)
					if err != nil {
						t.Fatal(err)
					}
					from := time.Date(q.From.Year, q.From.Month, q.From.Day, 0, 0, 0, 0, loc)
					to := time.Date(q.To.Year, q.To.Month, q.To.Day, 0, 0, 0, 0, loc)
					fxCheckDirect(t, q, got, fxDirectReport(rs, from, to, fxNow, key, agency))
				}
			}
		}
	})
}

func fxCheckDirect(t *testing.T, q sla.Query, got *sla.Report, want fxDirect) {
	t.Helper()
	name := q.From.String() + ".." + q.To.String() + " by " + q.GroupBy + " agency " + q.Agency
	sum := func(m map[string]int) int {
		n := 0
		for _, v := range m {
			n += v
		}
		return n
	}
	if got.Met != sum(want.met) || got.Missed != sum(want.missed) || got.Finished != len(want.finished) {
		t.Errorf("%s: got met %d, missed %d, finished %d; want %d, %d, %d", name, got.Met, got.Missed, got.Finished, sum(want.met), sum(want.missed), len(want.finished))
	}
	if q.GroupBy != "" {
		for _, g := range got.Groups {
			if g.Met != want.met[g.Key] || g.Missed != want.missed[g.Key] {
				t.Errorf("%s: group %s: got %d met, %d missed; want %d, %d", name, g.Key, g.Met, g.Missed, want.met[g.Key], want.missed[g.Key])
			}
		}
		if q.GroupBy != sla.ByMonth {
			counted := map[string]bool{}
			for k, n := range want.met {
				counted[k] = counted[k] || n > 0
			}
			for k, n := range want.missed {
				counted[k] = counted[k] || n > 0
			}
			if len(got.Groups) != len(counted) {
				t.Errorf("%s: got %d groups, want %d", name, len(got.Groups), len(counted))
			}
		}
	}
	if len(want.finished) == 0 {
		if got.Elapsed.Median != nil {
			t.Errorf("%s: got a median over no finished request", name)
		}
		return
	}
	if got.Elapsed.Median == nil || *got.Elapsed.Median != fxDirectQuantile(want.finished, 0.5) ||
		got.Elapsed.P90 == nil || *got.Elapsed.P90 != fxDirectQuantile(want.finished, 0.9) {
		t.Errorf("%s: got median %s, p90 %s; want %v, %v", name, fxFmtF(got.Elapsed.Median), fxFmtF(got.Elapsed.P90),
			fxDirectQuantile(want.finished, 0.5), fxDirectQuantile(want.finished, 0.9))
	}
	if avg := math.Round(want.daysSubmitted/float64(len(want.finished))*1000) / 1000; !fxClose(got.TimeInState["submitted"], avg) {
		t.Errorf("%s: got %v days submitted on average, want %v", name, got.TimeInState["submitted"], avg)
	}
}

// A median halfway between two thousandths is where reading elapsed days
// to a billionth could round the wrong way; the report must then give what
// the exact values give.
func TestReportPercentilesAtARoundingBoundaryAreExact(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		_, keeper := fxBenchKeeperOver(t, db)
		fxSeedReportData(t, db, keeper, 2000)
		q := fxQ("2024-01-01", "2025-01-01", "", "")
		loc := keeper.Calendar().Location()
		from, to := time.Date(2024, 1, 1, 0, 0, 0, 0, loc).UTC(), time.Date(2025, 1, 1, 0, 0, 0, 0, loc).UTC()
		var ids []int64
		if err := db.Gorm.Model(&models.Request{}).Where("state IN ? AND closed_at >= ? AND closed_at < ?", []string{"fulfilled", "rejected"}, from, to).
			Order("id").Pluck("id", &ids).Error; err != nil {
			t.Fatal(err)
		}
		if len(ids) < 10 {
			t.Fatalf("only %d finished requests in the window", len(ids))
		}
		if len(ids)%2 == 1 {
			// An even count, so that the median is the mean of two values.
			if err := db.Gorm.Model(&models.Request{}).Where("id = ?", ids[0]).Update("state", "withdrawn").Error; err != nil {
				t.Fatal(err)
			}
			ids = ids[1:]
		}
		// Half at 0.333 and half at 0.334: the median is 0.3335 to an ulp.
		for i, id := range ids {
			v := 0.333
			if i >= len(ids)/2 {
				v = 0.334
			}
			if err := db.Gorm.Model(&models.Request{}).Where("id = ?", id).Update("sla_elapsed", v).Error; err != nil {
				t.Fatal(err)
			}
		}
		var rs []models.Request
		if err := db.Gorm.Order("id").Find(&rs).Error; err != nil {
			t.Fatal(err)
		}
		want := fxDirectReport(rs, from, to, fxNow, func(models.Request, time.Time) string { return "" }, "")
		got, err := sla.NewReporter(db, keeper).Compute(context.Background(), q, fxNow)
		if err != nil {
			t.Fatal(err)
		}
		if got.Elapsed.Median == nil || *got.Elapsed.Median != fxDirectQuantile(want.finished, 0.5) {
			t.Errorf("got median %s, want %v", fxFmtF(got.Elapsed.Median), fxDirectQuantile(want.finished, 0.5))
		}
	})
}
