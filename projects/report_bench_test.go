package projects_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gorm.io/gorm/clause"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/calendar"
	"datashare/holidays"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/projects"
	"datashare/sla"
	"datashare/workflow"
)

// The project report benchmark runs once per dialect: SQLite always,
// PostgreSQL when DATASHARE_TEST_POSTGRES_URL is set, e.g.
//
//	go test -run '^$' -bench ProjectReport -benchtime 20x ./projects/
//
// BenchmarkProjectReport times the project report over 10,000 projects of
// 100,000 requests (ten each, to different owner agencies) begun between
// January 2024 and June 2025, a year's window, in total, by lead agency, by
// month and for one agency. Each project's stored clock is the row the
// workflow leaves after its last transition (projects.StoredOnce, the rule's
// own functions over the generated histories); the report reads only those
// rows. A fresh database is seeded on every run.
func BenchmarkProjectReport(b *testing.B) {
	for _, d := range modelstest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			db := modelstest.MustOpen(b, d)
			hol := holidays.NewService(db, apptest.SGT, calendar.DefaultHours(), func() time.Time { return benchNow })
			if err := hol.Load(context.Background()); err != nil {
				b.Fatal(err)
			}
			keeper := sla.NewKeeper(hol, sla.DefaultSettings())
			start := time.Now()
			seedProjects(b, db, keeper, 10_000, 10)
			b.Logf("seeded 10,000 projects of 100,000 requests in %s", time.Since(start).Round(time.Second))
			svc := projects.NewService(db, keeper, func() time.Time { return benchNow })
			year := projects.ReportQuery{From: calendar.Date{Year: 2024, Month: 7, Day: 1}, To: calendar.Date{Year: 2025, Month: 7, Day: 1}}
			for _, by := range []string{"total", projects.ByLeadAgency, projects.ByMonth, "agency"} {
				q := year
				switch by {
				case "agency":
					q.Agency = "MOH"
				case "total":
				default:
					q.GroupBy = by
				}
				b.Run(by, func(b *testing.B) {
					var rep *projects.Report
					for i := 0; i < b.N; i++ {
						var err error
						if rep, err = svc.Report(context.Background(), q, benchNow); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					if rep.Met+rep.Missed+rep.Partial == 0 || rep.Open.Total == 0 {
						b.Fatalf("report over the generated data is empty or has nothing open: %+v", rep)
					}
					b.Logf("met %d, missed %d, partial %d, finished %d, median %v, p90 %v, open %+v, %d groups, waiting on %d agencies",
						rep.Met, rep.Missed, rep.Partial, rep.Finished, *rep.Elapsed.Median, *rep.Elapsed.P90, rep.Open, len(rep.Groups), len(rep.WaitingOn))
				})
			}
		})
	}
}

var benchNow = apptest.Time("2025-06-30T12:00:00+08:00")

var benchAgencies = []string{"MOH", "MOM", "MSF", "HDB", "MOE", "MND", "MOF", "MHA", "MINDEF", "MTI", "MSE", "MCCY"}

// seedProjects inserts n projects of per requests each, with random
// histories: most requests approved and fulfilled within days, some paused
// for clarification, rejected or withdrawn, the latest still open.
func seedProjects(tb testing.TB, db *models.DB, keeper *sla.Keeper, n, per int) {
	ctx := context.Background()
	acc := accounts.NewService(db, func() time.Time { return benchNow })
	users := map[string]int64{}
	for _, a := range benchAgencies {
		if err := acc.EnsureAgency(ctx, a, a); err != nil {
			tb.Fatal(err)
		}
		u, err := acc.CreateUserUnchecked(ctx, accounts.NewUser{Email: "req@" + a + ".gov.sg", Name: "r", Agency: a, Roles: []string{"requester"}})
		if err != nil {
			tb.Fatal(err)
		}
		users[a] = u.ID
	}
	rng := rand.New(rand.NewPCG(20240101, 13))
	first := apptest.Time("2024-01-01T09:00:00+08:00")
	span := apptest.Time("2025-06-25T09:00:00+08:00").Sub(first)
	cal, set := keeper.Calendar(), keeper.Settings()
	hour := func(lo, hi float64) time.Duration {
		return time.Duration((lo + rng.Float64()*(hi-lo)) * float64(time.Hour))
	}
	const batch = 1000
	ps := make([]models.Project, 0, batch)
	rs := make([]models.Request, 0, batch*per)
	flush := func() {
		if err := db.Gorm.Omit(clause.Associations).CreateInBatches(ps, 200).Error; err != nil {
			tb.Fatal(err)
		}
		if err := db.Gorm.Omit(clause.Associations).CreateInBatches(rs, 200).Error; err != nil {
			tb.Fatal(err)
		}
		ps, rs = ps[:0], rs[:0]
	}
	for i := 0; i < n; i++ {
		lead := benchAgencies[i%len(benchAgencies)]
		code := fmt.Sprintf("P-%05d", i)
		begin := first.Add(time.Duration(rng.Float64() * float64(span)))
		hs := make([]projects.History, 0, per)
		for j := 0; j < per; j++ {
			owner := benchAgencies[(i+1+j%(len(benchAgencies)-1))%len(benchAgencies)]
			at := begin.Add(hour(0, 24))
			steps := []projects.Step{{At: begin.Add(-time.Hour), To: workflow.Draft}, {At: at, To: workflow.Submitted}}
			step := func(d time.Duration, s workflow.State) {
				at = at.Add(d)
				steps = append(steps, projects.Step{At: at, To: s})
			}
			if rng.IntN(20) == 0 {
				step(hour(24, 72), workflow.ClarificationRequested)
				step(hour(24, 48), workflow.Submitted)
			}
			switch p := rng.IntN(100); {
			case p < 90:
				step(hour(12, 150), workflow.Approved)
				step(hour(0, 72), workflow.Fulfilled)
			case p < 97:
				step(hour(24, 200), workflow.Rejected)
			default:
				step(hour(2, 100), workflow.Withdrawn)
			}
			for len(steps) > 2 && steps[len(steps)-1].At.After(benchNow) {
				steps = steps[:len(steps)-1]
			}
			hs = append(hs, projects.History{OwnerAgency: owner, Steps: steps})
			last := steps[len(steps)-1]
			r := models.Request{Title: "t", Purpose: "p", DataDescription: "d", Classification: "official-open",
				RequestingAgency: lead, OwnerAgency: owner, RequesterID: users[lead], State: string(last.To),
				ApprovalsRequired: 1, Version: len(steps), CreatedAt: steps[0].At, UpdatedAt: last.At,
				SubmittedAt: &steps[1].At, ProjectCode: &code}
			if last.To.Terminal() {
				r.ClosedAt = &last.At
			}
			rs = append(rs, r)
		}
		ps = append(ps, models.Project{Code: code, Name: code, LeadAgency: lead, State: projects.Active,
			CreatedAt: begin.Add(-2 * time.Hour), CreatedBy: users[lead], Clock: projects.StoredOnce(hs, cal, set, benchNow)})
		if len(ps) == batch {
			flush()
		}
	}
	if len(ps) > 0 {
		flush()
	}
	if db.Dialect == models.Postgres {
		if err := db.Gorm.Exec("VACUUM ANALYZE projects").Error; err != nil {
			tb.Fatal(err)
		}
	}
}
