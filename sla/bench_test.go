package sla_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/calendar"
	"datashare/holidays"
	"datashare/models"
	"datashare/sla"
)

// fxCPU returns the CPU time (user + system) the process has used so far.
// The benchmarks report it per operation beside ns/op, since wall time on a
// shared machine depends on what else runs there.
func fxCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fxTimedCPU accumulates the CPU time spent while the benchmark timer runs.
type fxTimedCPU struct {
	total time.Duration
	since time.Duration
}

func (c *fxTimedCPU) start() { c.since = fxCPU() }
func (c *fxTimedCPU) stop()  { c.total += fxCPU() - c.since }
func (c *fxTimedCPU) report(b *testing.B) {
	b.ReportMetric(c.total.Seconds()/float64(b.N), "cpu-s/op")
}

// fxBenchKeeper opens (or creates) the database at path, migrates it,
// loads the Singapore calendar and returns a Keeper over it.
func fxBenchKeeper(tb testing.TB, path string) (*models.DB, *sla.Keeper) {
	tb.Helper()
	db, err := models.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.Migrate(context.Background(), nil); err != nil {
		tb.Fatal(err)
	}
	return fxBenchKeeperOver(tb, db)
}

// fxBenchKeeperOver loads the Singapore calendar of db and returns a Keeper
// over it.
func fxBenchKeeperOver(tb testing.TB, db *models.DB) (*models.DB, *sla.Keeper) {
	tb.Helper()
	hol := holidays.NewService(db, apptest.SGT, calendar.DefaultHours(), func() time.Time { return fxNow })
	if err := hol.Load(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return db, sla.NewKeeper(hol, sla.DefaultSettings())
}

// BenchmarkCheck100k times one check over 100,000 open requests that are
// all past due (and so past their warning): each loop flags 200,000 times.
// The flags are cleared between loops, outside the timer; history rows are
// append-only and pile up, as they would in production.
func BenchmarkCheck100k(b *testing.B) { fxBenchCheck(b, 100_000, 0) }

// BenchmarkCheckTick100k times the usual tick: 100,000 open requests, of
// which 1,000 have newly passed their due time (and warning) since the last
// check; the rest are on track and must merely be passed over.
func BenchmarkCheckTick100k(b *testing.B) { fxBenchCheck(b, 1_000, 99_000) }

// fxBenchCheck times checks over due requests past their due time and
// onTrack requests submitted an hour before fxNow.
func fxBenchCheck(b *testing.B, due, onTrack int) {
	db, keeper := fxBenchKeeper(b, filepath.Join(b.TempDir(), "check.db"))
	defer db.Close()
	ctx := context.Background()
	acc := accounts.NewService(db, func() time.Time { return fxNow })
	for _, a := range []string{"MOH", "MSF"} {
		if err := acc.EnsureAgency(ctx, a, a); err != nil {
			b.Fatal(err)
		}
	}
	req, err := acc.CreateUserUnchecked(ctx, accounts.NewUser{Email: "req@msf.gov.sg", Name: "r", Agency: "MSF", Roles: []string{"requester"}})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	var submitted []time.Time
	for d := 0; d < 30; d++ {
		submitted = append(submitted, apptest.Time("2025-04-01T09:00:00+08:00").Add(time.Duration(d)*24*time.Hour+time.Duration(d*37)*time.Minute))
	}
	for done := 0; done < due; done += 10_000 {
		fxInsertSubmitted(b, db, keeper, req, "MOH", min(10_000, due-done), submitted...)
	}
	for done := 0; done < onTrack; done += 10_000 {
		fxInsertSubmitted(b, db, keeper, req, "MOH", min(10_000, onTrack-done), fxNow.Add(-time.Hour))
	}
	b.Logf("inserted %d open requests (%d past due) in %s", due+onTrack, due, time.Since(start).Round(time.Millisecond))
	checker := sla.NewChecker(db, keeper, nil, nil)
	var cpu fxTimedCPU
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := db.Gorm.Exec("UPDATE requests SET sla_at_risk_flagged_at = NULL, sla_breached_flagged_at = NULL").Error; err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cpu.start()
		res, err := checker.Check(ctx, fxNow)
		cpu.stop()
		if err != nil {
			b.Fatal(err)
		}
		if res.Checked != due+onTrack || res.AtRisk != due || res.Breached != due {
			b.Fatalf("check: got %+v, want %d checked and %d at risk and breached", res, due+onTrack, due)
		}
	}
	cpu.report(b)
}
