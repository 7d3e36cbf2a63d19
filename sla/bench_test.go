package sla_test

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"datashare/apptest"
	"datashare/calendar"
	"datashare/holidays"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/notifications"
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

// The check benchmarks run once per dialect: SQLite always, PostgreSQL when
// DATASHARE_TEST_POSTGRES_URL is set, e.g.
//
//	go test -run '^$' -bench 'Check100k$' -benchtime 1x ./sla/

// BenchmarkCheck100k times one check over 100,000 open requests that are
// all past due (and so past their warning): each loop flags 200,000 times
// and writes as many events for notifications, per batch size. Between
// loops, outside the timer, the flags, events and messages are cleared;
// history rows are append-only and pile up, as they would in production.
// After the loops, the sub-benchmark fanout times a dispatcher fanning the
// last check's 200,000 events out to in-app notifications and deliveries
// (MOH has two approvers and a manager: seven of each per request).
func BenchmarkCheck100k(b *testing.B) { fxBenchCheck(b, 100_000, 0) }

// BenchmarkCheckTick100k times the usual tick: 100,000 open requests, of
// which 1,000 have newly passed their due time (and warning) since the last
// check; the rest are on track and must merely be passed over.
func BenchmarkCheckTick100k(b *testing.B) { fxBenchCheck(b, 1_000, 99_000) }

// fxCheckBatches are the batch sizes the check is timed with.
var fxCheckBatches = []int{500, 1_000, 2_500}

// fxBenchCheck times checks over due requests past their due time and
// onTrack requests submitted an hour before fxNow.
func fxBenchCheck(b *testing.B, due, onTrack int) {
	for _, d := range []models.Dialect{models.SQLite, models.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			dsn := modelstest.DSN(b, d)
			db, err := models.Open(dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(context.Background(), nil); err != nil {
				b.Fatal(err)
			}
			a := apptest.Wire(b, db, apptest.Options{Now: func() time.Time { return fxNow }, Notify: true, EmailOn: true})
			users := a.MustSeed(b, apptest.CastAgencies, apptest.CastPeople)
			start := time.Now()
			var submitted []time.Time
			for d := 0; d < 30; d++ {
				submitted = append(submitted, apptest.Time("2025-04-01T09:00:00+08:00").Add(time.Duration(d)*24*time.Hour+time.Duration(d*37)*time.Minute))
			}
			for done := 0; done < due; done += 10_000 {
				fxInsertSubmitted(b, db, a.Keeper, users["req@msf.gov.sg"], "MOH", min(10_000, due-done), submitted...)
			}
			for done := 0; done < onTrack; done += 10_000 {
				fxInsertSubmitted(b, db, a.Keeper, users["req@msf.gov.sg"], "MOH", min(10_000, onTrack-done), fxNow.Add(-time.Hour))
			}
			b.Logf("inserted %d open requests (%d past due) in %s", due+onTrack, due, time.Since(start).Round(time.Millisecond))
			for _, batch := range fxCheckBatches {
				b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
					fxTimeCheck(b, db, dsn, sla.NewChecker(db, a.Keeper, a.Outbox.SLA, nil).WithBatch(batch), due, onTrack)
				})
			}
			b.Run("fanout", func(b *testing.B) { fxTimeFanOut(b, db, dsn, a.Outbox, 2*due) })
		})
	}
}

// fxTimeCheck times checker over the seeded requests and reports the
// longest batch transaction and what the check made the database grow by.
func fxTimeCheck(b *testing.B, db *models.DB, dsn string, checker *sla.Checker, due, onTrack int) {
	ctx := context.Background()
	var cpu fxTimedCPU
	var longest time.Duration
	var grew int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for _, q := range []string{"DELETE FROM notifications", "DELETE FROM outbox", "DELETE FROM events",
			"UPDATE requests SET sla_at_risk_flagged_at = NULL, sla_breached_flagged_at = NULL"} {
			if err := db.Gorm.Exec(q).Error; err != nil {
				b.Fatal(err)
			}
		}
		// Statistics and dead rows as a database in service has them once
		// autovacuum has passed, not as the bulk load and reset left them.
		analyze := "ANALYZE"
		if db.Dialect == models.Postgres {
			analyze = "VACUUM ANALYZE requests, transitions, events, outbox, notifications"
		}
		if err := db.Gorm.Exec(analyze).Error; err != nil {
			b.Fatal(err)
		}
		size := fxDBSize(b, db, dsn)
		b.StartTimer()
		cpu.start()
		res, err := checker.Check(ctx, fxNow)
		cpu.stop()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if res.Checked != due+onTrack || res.AtRisk != due || res.Breached != due {
			b.Fatalf("check: got %+v, want %d checked and %d at risk and breached", res, due+onTrack, due)
		}
		if n := fxCount(b, db, "events"); n != int64(2*due) {
			b.Fatalf("events: got %d, want %d", n, 2*due)
		}
		longest = max(longest, res.LongestBatch)
		grew = fxDBSize(b, db, dsn) - size
		b.StartTimer()
	}
	b.StopTimer()
	cpu.report(b)
	b.ReportMetric(float64(longest)/float64(time.Millisecond), "longest-batch-ms")
	b.ReportMetric(float64(grew)/(1<<20), "grew-MB")
}

// fxTimeFanOut times a dispatcher fanning out the events the last check
// wrote, once, and reports the messages written and the growth.
func fxTimeFanOut(b *testing.B, db *models.DB, dsn string, o *notifications.Outbox, events int) {
	if b.N > 1 {
		b.Skip("the fan-out is timed once, over the events of the last check")
	}
	if n := fxCount(b, db, "events", "fanned_out_at IS NULL"); n != int64(events) {
		b.Fatalf("events waiting: got %d, want %d (run the check first)", n, events)
	}
	d := notifications.NewDispatcher(o, nil, notifications.DefaultPolicy(), func() time.Time { return fxNow }, nil)
	size := fxDBSize(b, db, dsn)
	ctx := context.Background()
	var cpu fxTimedCPU
	b.ResetTimer()
	cpu.start()
	began := time.Now()
	total := 0
	for {
		n, err := d.FanOut(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
		total += n
	}
	took := time.Since(began)
	cpu.stop()
	b.StopTimer()
	if total != events {
		b.Fatalf("fanned out %d events, want %d", total, events)
	}
	notes, out := fxCount(b, db, "notifications"), fxCount(b, db, "outbox")
	b.Logf("fanned out %d events in %s: %d in-app notifications, %d deliveries", total, took.Round(time.Millisecond), notes, out)
	cpu.report(b)
	b.ReportMetric(float64(total)/took.Seconds(), "events/s")
	b.ReportMetric(float64(notes+out), "rows")
	b.ReportMetric(float64(fxDBSize(b, db, dsn)-size)/(1<<20), "grew-MB")
}

// fxCount counts the rows of table matching where.
func fxCount(b *testing.B, db *models.DB, table string, where ...any) int64 {
	b.Helper()
	var n int64
	q := db.Gorm.Table(table)
	if len(where) > 0 {
		q = q.Where(where[0], where[1:]...)
	}
	if err := q.Count(&n).Error; err != nil {
		b.Fatal(err)
	}
	return n
}

// fxDBSize is the size of the database: the SQLite file once its log is
// checkpointed, or the PostgreSQL schema's tables and indexes.
func fxDBSize(b *testing.B, db *models.DB, dsn string) int64 {
	b.Helper()
	if db.Dialect == models.SQLite {
		if err := db.Gorm.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error; err != nil {
			b.Fatal(err)
		}
		st, err := os.Stat(dsn)
		if err != nil {
			b.Fatal(err)
		}
		return st.Size()
	}
	var n int64
	if err := db.Gorm.Raw(`SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c
		JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = current_schema() AND c.relkind = 'r'`).Scan(&n).Error; err != nil {
		b.Fatal(err)
	}
	return n
}
