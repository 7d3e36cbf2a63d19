package sla_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/sla"
)

const fxBenchReportRows = 1_000_000

// BenchmarkReport1M times the compliance report over a quarter and over a
// year of 1,000,000 requests spread over 2019 to mid-2025, on each dialect.
// Every run seeds a fresh database, so nothing from an earlier run (a
// cached file, its statistics or its pages) makes the report look cheaper
// than on a database that grew in production.
func BenchmarkReport1M(b *testing.B) {
	for _, d := range modelstest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			db, keeper := fxBenchKeeper(b, modelstest.DSN(b, d))
			defer db.Close()
			start := time.Now()
			fxSeedReportData(b, db, keeper, fxBenchReportRows)
			b.Logf("seeded %d requests in %s", fxBenchReportRows, time.Since(start).Round(time.Second))
			reporter := sla.NewReporter(db, keeper)
			windows := []struct{ name, from, to string }{
				{"quarter", "2025-01-01", "2025-04-01"},
				{"year", "2024-01-01", "2025-01-01"},
			}
			for _, w := range windows {
				for _, by := range []string{"total", sla.ByOwnerAgency, sla.ByRequestingAgency, sla.ByMonth, "agency"} {
					q := fxQ(w.from, w.to, by, "")
					switch by {
					case "total":
						q.GroupBy = ""
					case "agency":
						q.GroupBy, q.Agency = "", "MOH"
					}
					b.Run(w.name+"/"+by, func(b *testing.B) { fxBenchReport(b, reporter, q) })
				}
			}
		})
	}
}

func fxBenchReport(b *testing.B, reporter *sla.Reporter, q sla.Query) {
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
	if rep.Met+rep.Missed == 0 || rep.Finished == 0 {
		b.Fatalf("report over the generated data is empty: %+v", rep)
	}
	b.Logf("met %d, missed %d, rate %s, finished %d, median %s, p90 %s, open %+v, %d groups",
		rep.Met, rep.Missed, fxFmtF(rep.ComplianceRate), rep.Finished, fxFmtF(rep.Elapsed.Median), fxFmtF(rep.Elapsed.P90), rep.Open, len(rep.Groups))
}

// fxReportAgencies are the agencies of the generated data set.
var fxReportAgencies = []string{"MOH", "MOM", "MSF", "HDB", "MOE", "MND", "MOF", "MHA", "MINDEF", "MTI", "MSE", "MCCY"}

// fxSeedReportData inserts n requests with random histories replayed
// through the Keeper, as multi-row INSERT statements.
func fxSeedReportData(tb testing.TB, db *models.DB, keeper *sla.Keeper, n int) {
	tb.Helper()
	ctx := context.Background()
	acc := accounts.NewService(db, func() time.Time { return fxNow })
	requesters := make([]models.User, len(fxReportAgencies))
	for i, a := range fxReportAgencies {
		if err := acc.EnsureAgency(ctx, a, a); err != nil {
			tb.Fatal(err)
		}
		u, err := acc.CreateUserUnchecked(ctx, accounts.NewUser{Email: "req@" + a + ".gov.sg", Name: "r", Agency: a, Roles: []string{"requester"}})
		if err != nil {
			tb.Fatal(err)
		}
		requesters[i] = u
	}
	gen := fxHistoryGenerator(keeper, requesters, rand.New(rand.NewPCG(20250630, 7)))
	sqlDB, err := db.WriterPool()
	if err != nil {
		tb.Fatal(err)
	}
	const perInsert, perTx = 500, 50_000
	for done := 0; done < n; done += perTx {
		if err := fxInsertRequests(ctx, sqlDB, db.Dialect, gen, done, min(perTx, n-done), perInsert); err != nil {
			tb.Fatalf("insert generated requests: %v", err)
		}
	}
	if db.Dialect == models.Postgres {
		// What autovacuum does after a burst of inserts: statistics for the
		// planner, and the visibility map that lets an index-only scan skip
		// the table.
		if err := db.Gorm.Exec("VACUUM ANALYZE requests").Error; err != nil {
			tb.Fatal(err)
		}
		// Write out the load now, so that the checkpoint it calls for does
		// not run while the report is timed.
		if err := db.Gorm.Exec("CHECKPOINT").Error; err != nil {
			tb.Logf("checkpoint after seeding: %v", err)
		}
	}
}

var fxRequestColumns = []string{
	"title", "purpose", "data_description", "classification", "requesting_agency", "owner_agency", "requester_id",
	"state", "approvals_required", "version", "created_at", "updated_at", "submitted_at", "closed_at",
	"sla_target", "sla_elapsed", "sla_running_since", "sla_due_at", "sla_warn_at", "state_since",
	"days_submitted", "days_clarification_requested", "days_approved",
}

func fxRequestValues(r *models.Request) []any {
	c := &r.SLA
	return []any{
		r.Title, r.Purpose, r.DataDescription, r.Classification, r.RequestingAgency, r.OwnerAgency, r.RequesterID,
		r.State, r.ApprovalsRequired, r.Version, r.CreatedAt, r.UpdatedAt, r.SubmittedAt, r.ClosedAt,
		c.Target, c.Elapsed, c.RunningSince, c.DueAt, c.WarnAt, c.StateSince,
		c.DaysSubmitted, c.DaysClarification, c.DaysApproved,
	}
}

// fxInsertStatement is one INSERT of rows requests in the placeholders of d.
func fxInsertStatement(d models.Dialect, rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO requests (" + strings.Join(fxRequestColumns, ", ") + ") VALUES ")
	p := 0
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for j := range fxRequestColumns {
			if j > 0 {
				b.WriteString(", ")
			}
			p++
			if d == models.Postgres {
				fmt.Fprintf(&b, "$%d", p)
			} else {
				b.WriteString("?")
			}
		}
		b.WriteString(")")
	}
	return b.String()
}

func fxInsertRequests(ctx context.Context, db *sql.DB, d models.Dialect, gen func(int) models.Request, first, n, perInsert int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, fxInsertStatement(d, perInsert))
	if err != nil {
		return err
	}
	args := make([]any, 0, perInsert*len(fxRequestColumns))
	for i := first; i < first+n; i += perInsert {
		k := min(perInsert, first+n-i)
		args = args[:0]
		for j := i; j < i+k; j++ {
			r := gen(j)
			args = append(args, fxRequestValues(&r)...)
		}
		if k == perInsert {
			_, err = stmt.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, fxInsertStatement(d, k), args...)
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}

// fxHistoryGenerator returns a generator of requests whose clocks are
// stamped by keeper through a random history: most are approved and
// fulfilled, some rejected, paused for clarification or withdrawn, and a
// few left open.
func fxHistoryGenerator(keeper *sla.Keeper, requesters []models.User, rng *rand.Rand) func(int) models.Request {
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
	return func(i int) models.Request {
		ra := rng.IntN(len(requesters))
		oa := (ra + 1 + rng.IntN(len(requesters)-1)) % len(requesters)
		class, need := "official-open", 1
		if rng.IntN(10) < 3 {
			class, need = "restricted", 2
		}
		submitted := first.Add(time.Duration(rng.Int64N(int64(span)))).UTC().Truncate(time.Second)
		created := submitted.Add(-time.Duration(rng.Int64N(int64(72 * time.Hour))))
		r := models.Request{
			Title: fmt.Sprintf("Generated request %d", i), Purpose: "benchmark", DataDescription: "benchmark",
			Classification: class, RequestingAgency: requesters[ra].AgencyCode, OwnerAgency: requesters[oa].AgencyCode,
			RequesterID: requesters[ra].ID, State: "draft", ApprovalsRequired: need, Version: 1, CreatedAt: created, UpdatedAt: created,
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
		fxRandomHistory(rng, need, move)
		return r
	}
}

// fxRandomHistory moves a request through a random path of states.
func fxRandomHistory(rng *rand.Rand, need int, move func(to string) bool) {
	if !move("submitted") {
		return
	}
	stuck := rng.IntN(200) == 0 // left open for good
	switch p := rng.IntN(100); {
	case p < 3:
		move("withdrawn")
		return
	case p < 13:
		if !stuck {
			move("rejected")
		}
		return
	case p < 30:
		if !move("clarification_requested") || stuck {
			return
		}
		if rng.IntN(10) == 0 {
			move("withdrawn")
			return
		}
		if !move("submitted") {
			return
		}
	}
	for k := 1; k < need; k++ {
		if !move("submitted") { // an approval short of the last
			return
		}
	}
	if !move("approved") || stuck {
		return
	}
	if rng.IntN(20) == 0 {
		move("withdrawn")
		return
	}
	move("fulfilled")
}
