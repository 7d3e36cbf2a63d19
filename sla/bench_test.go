package sla_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

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

// fxBenchKeeper opens (or creates) the SQLite file at path, migrates it,
// loads the Singapore calendar and returns a Keeper over it.
func fxBenchKeeper(b *testing.B, path string) (*models.DB, *sla.Keeper) {
	b.Helper()
	db, err := models.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Migrate(context.Background(), nil); err != nil {
		b.Fatal(err)
	}
	hol := holidays.NewService(db, apptest.SGT, calendar.DefaultHours(), func() time.Time { return fxNow })
	if err := hol.Load(context.Background()); err != nil {
		b.Fatal(err)
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

// fxBenchReportVersion names the generated data set; change it when the
// generator changes so that a stale cached file is not reused.
const fxBenchReportVersion = "v2"

const fxBenchReportRows = 1_000_000

// BenchmarkReport1M times the compliance report over a year of a data set
// of 1,000,000 requests spread over 2019 to mid-2025, grouped by owner
// agency and by month. The SQLite file is generated once and cached in
// os.TempDir(), with the generation time in a file beside it.
func BenchmarkReport1M(b *testing.B) {
	path := filepath.Join(os.TempDir(), "datashare-bench-report-"+fxBenchReportVersion+".db")
	if !fxBenchReportReady(b, path) {
		start := time.Now()
		fxGenerateReportData(b, path)
		info := fmt.Sprintf("generated %d requests in %s (%s)", fxBenchReportRows, time.Since(start).Round(time.Second), time.Now().Format(time.RFC3339))
		if err := os.WriteFile(path+".info", []byte(info), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	info, _ := os.ReadFile(path + ".info")
	db, keeper := fxBenchKeeper(b, path)
	defer db.Close()
	reporter := sla.NewReporter(db, keeper)
	for _, groupBy := range []string{sla.ByOwnerAgency, sla.ByMonth} {
		b.Run(groupBy, func(b *testing.B) {
			b.Logf("data set %s: %s", path, info)
			q := fxQ("2024-01-01", "2025-01-01", groupBy, "")
			var rep *sla.Report
			var cpu fxTimedCPU
			cpu.start()
			for i := 0; i < b.N; i++ {
				var err error
				if rep, err = reporter.Compute(context.Background(), q, fxNow); err != nil {
					b.Fatal(err)
				}
			}
			cpu.stop()
			b.StopTimer()
			cpu.report(b)
			if rep.Met+rep.Missed == 0 || rep.Finished == 0 || len(rep.Groups) == 0 {
				b.Fatalf("report over the generated data is empty: %+v", rep)
			}
			b.Logf("met %d, missed %d, rate %s, finished %d, median %s, p90 %s, open %+v, %d groups",
				rep.Met, rep.Missed, fxFmtF(rep.ComplianceRate), rep.Finished, fxFmtF(rep.Elapsed.Median), fxFmtF(rep.Elapsed.P90), rep.Open, len(rep.Groups))
		})
	}
}

func fxBenchReportReady(b *testing.B, path string) bool {
	for _, p := range []string{path, path + ".info"} {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	db, err := models.Open(path)
	if err != nil {
		return false
	}
	defer db.Close()
	var n int64
	if err := db.Gorm.Model(&models.Request{}).Count(&n).Error; err != nil || n != fxBenchReportRows {
		b.Logf("cached %s holds %d requests (%v); generating again", path, n, err)
		return false
	}
	return true
}

// fxGenerateReportData writes the data set into a fresh file next to path
// and renames it into place when complete.
func fxGenerateReportData(b *testing.B, path string) {
	b.Helper()
	tmp := path + ".partial"
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm", path, path + "-wal", path + "-shm"} {
		os.Remove(p)
	}
	db, keeper := fxBenchKeeper(b, tmp)
	ctx := context.Background()
	acc := accounts.NewService(db, func() time.Time { return fxNow })
	agencies := []string{"MOH", "MOM", "MSF", "HDB", "MOE", "MND", "MOF", "MHA", "MINDEF", "MTI", "MSE", "MCCY"}
	requesters := make([]models.User, len(agencies))
	for i, a := range agencies {
		if err := acc.EnsureAgency(ctx, a, a); err != nil {
			b.Fatal(err)
		}
		u, err := acc.CreateUserUnchecked(ctx, accounts.NewUser{Email: "req@" + a + ".gov.sg", Name: "r", Agency: a, Roles: []string{"requester"}})
		if err != nil {
			b.Fatal(err)
		}
		requesters[i] = u
	}

	rng := rand.New(rand.NewPCG(20250630, 7))
	first := apptest.Time("2019-01-01T00:00:00+08:00")
	span := fxNow.Sub(first)
	nowUTC := fxNow.UTC()
	// gap draws the time to the next event: mostly hours, sometimes days.
	gap := func() time.Duration {
		h := rng.ExpFloat64() * 55
		if h > 24*40 {
			h = 24 * 40
		}
		return time.Duration((0.25 + h) * float64(time.Hour))
	}
	gen := func(i int) models.Request {
		ra := rng.IntN(len(agencies))
		oa := (ra + 1 + rng.IntN(len(agencies)-1)) % len(agencies)
		class, need := "official-open", 1
		if rng.IntN(10) < 3 {
			class, need = "restricted", 2
		}
		submitted := first.Add(time.Duration(rng.Int64N(int64(span)))).UTC().Truncate(time.Second)
		created := submitted.Add(-time.Duration(rng.Int64N(int64(72 * time.Hour))))
		r := models.Request{
			Title: fmt.Sprintf("Generated request %d", i), Purpose: "benchmark", DataDescription: "benchmark",
			Classification: class, RequestingAgency: agencies[ra], OwnerAgency: agencies[oa], RequesterID: requesters[ra].ID,
			State: "draft", ApprovalsRequired: need, Version: 1, CreatedAt: created, UpdatedAt: created,
		}
		r.SLA.StateSince = &created
		at := submitted
		move := func(to string) bool {
			if at.After(nowUTC) {
				return false
			}
			keeper.Stamp(&r, r.State, to, at)
			if r.State == "draft" && to == "submitted" && r.SubmittedAt == nil {
				s := at
				r.SubmittedAt = &s
			}
			r.State = to
			r.Version++
			r.UpdatedAt = at
			if to == "fulfilled" || to == "rejected" || to == "withdrawn" {
				c := at
				r.ClosedAt = &c
			}
			at = at.Add(gap())
			return true
		}
		if !move("submitted") {
			return r
		}
		stuck := rng.IntN(200) == 0 // left open for good
		switch p := rng.IntN(100); {
		case p < 3:
			move("withdrawn")
			return r
		case p < 13:
			if !stuck {
				move("rejected")
			}
			return r
		case p < 30:
			if !move("clarification_requested") || stuck {
				return r
			}
			if rng.IntN(10) == 0 {
				move("withdrawn")
				return r
			}
			if !move("submitted") {
				return r
			}
		}
		for k := 1; k < need; k++ {
			if !move("submitted") { // an approval short of the last
				return r
			}
		}
		if !move("approved") || stuck {
			return r
		}
		if rng.IntN(20) == 0 {
			move("withdrawn")
			return r
		}
		move("fulfilled")
		return r
	}

	const perTx, perInsert = 100_000, 1000
	rows := make([]models.Request, 0, perInsert)
	for done := 0; done < fxBenchReportRows; done += perTx {
		err := db.Gorm.Transaction(func(tx *gorm.DB) error {
			for i := done; i < done+perTx; i += perInsert {
				rows = rows[:0]
				for j := i; j < i+perInsert; j++ {
					rows = append(rows, gen(j))
				}
				if err := tx.Omit(clause.Associations).CreateInBatches(rows, perInsert).Error; err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatalf("insert generated requests: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
}
