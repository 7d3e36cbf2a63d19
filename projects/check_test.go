package projects_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/notifications"
	"datashare/projects"
	"datashare/sla"
	"datashare/workflow"
)

// submitted is when the tests' requests are submitted: Monday 7 July
// 2025, 10:00 in Singapore. With no holiday near, a project of requests
// submitted then is at risk from Monday 14th 10:00 and due Wednesday 16th
// 10:00.
var submitted = time.Date(2025, 7, 7, 10, 0, 0, 0, apptest.SGT)

var castPeople = append([]apptest.Person{{Email: "manager@msf.gov.sg", Agency: "MSF", Role: "manager"}}, apptest.CastPeople...)

// fixture is one wiring of the services, with notifications, on a clock
// the test sets, and the usual cast plus a manager of MSF, which leads
// the projects.
type fixture struct {
	app   *apptest.App
	users map[string]models.User
	mu    sync.Mutex
	now   time.Time
}

func newFixture(tb testing.TB, db *models.DB, seed bool) *fixture {
	tb.Helper()
	f := &fixture{now: submitted}
	f.app = apptest.Wire(tb, db, apptest.Options{Now: f.clock, Notify: true})
	if seed {
		f.users = f.app.MustSeed(tb, apptest.CastAgencies, castPeople)
	}
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t
}

func (f *fixture) actor(email string) workflow.Actor {
	return accounts.ActorOf(f.users[email])
}

// mustProject creates project code led by MSF with n requests of MSF to
// MOH submitted at the clock's time; it returns the requests' ids.
func (f *fixture) mustProject(tb testing.TB, code string, n int) []int64 {
	tb.Helper()
	ctx := context.Background()
	req := f.actor("req@msf.gov.sg")
	if _, err := f.app.Projects.Create(ctx, req, projects.NewProject{Code: code, Name: "Plan " + code}); err != nil {
		tb.Fatal(err)
	}
	var ids []int64
	for i := 0; i < n; i++ {
		r, err := f.app.Workflow.Create(ctx, req, workflow.NewRequest{Title: fmt.Sprintf("%s %d", code, i), Purpose: "p", DataDescription: "d",
			Classification: "official-open", OwnerAgency: "MOH", ProjectCode: &code})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := f.app.Workflow.Apply(ctx, req, r.ID, workflow.Submit, "", 0); err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

func (f *fixture) mustApply(tb testing.TB, email string, id int64, act workflow.Action, comment string) {
	tb.Helper()
	if _, err := f.app.Workflow.Apply(context.Background(), f.actor(email), id, act, comment, 0); err != nil {
		tb.Fatalf("%s %s request %d: %v", email, act, id, err)
	}
}

// mustCount counts the projects of code.
func mustCount(tb testing.TB, db *models.DB, code string) int64 {
	tb.Helper()
	var n int64
	if err := db.Gorm.Model(&models.Project{}).Where("code = ?", code).Count(&n).Error; err != nil {
		tb.Fatal(err)
	}
	return n
}

func mustProjectRow(tb testing.TB, db *models.DB, code string) models.Project {
	tb.Helper()
	var p models.Project
	if err := db.Gorm.Take(&p, "code = ?", code).Error; err != nil {
		tb.Fatal(err)
	}
	return p
}

// mustProjectNotes counts the in-app notifications of event.
func mustProjectNotes(tb testing.TB, db *models.DB, event string) int64 {
	tb.Helper()
	var n int64
	if err := db.Gorm.Model(&models.Notification{}).Where("event = ?", event).Count(&n).Error; err != nil {
		tb.Fatal(err)
	}
	return n
}

// Each project is flagged at risk once and breached once, whatever the
// checks in between; one that reaches both between two checks is flagged
// for both at once, as a request is; one paused for clarification before
// its warning, one finished in time and one never submitted are never
// flagged.
func TestCheckFlagsEachProjectOncePerTurn(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		f := newFixture(t, db, true)
		f.mustProject(t, "STEADY", 2)
		done := f.mustProject(t, "DONE", 1)
		paused := f.mustProject(t, "PAUSED", 1)
		if _, err := f.app.Projects.Create(context.Background(), f.actor("req@msf.gov.sg"), projects.NewProject{Code: "IDLE", Name: "Nothing yet"}); err != nil {
			t.Fatal(err)
		}
		f.set(submitted.Add(24 * time.Hour))
		f.mustApply(t, "approver1@moh.gov.sg", done[0], workflow.Approve, "")
		f.mustApply(t, "approver1@moh.gov.sg", done[0], workflow.Fulfil, "Shared.")
		f.mustApply(t, "approver1@moh.gov.sg", paused[0], workflow.RequestClarification, "Which blocks?")
		// LATE is submitted a working day after the others: at risk from
		// Tuesday 15th, due Thursday 17th.
		f.mustProject(t, "LATE", 1)

		type want struct{ atRisk, breached int }
		for i, s := range []struct {
			at   time.Time
			want want
		}{
			{time.Date(2025, 7, 14, 9, 59, 0, 0, apptest.SGT), want{0, 0}},
			{time.Date(2025, 7, 14, 10, 0, 0, 0, apptest.SGT), want{1, 0}}, // STEADY's warning
			{time.Date(2025, 7, 14, 10, 0, 0, 0, apptest.SGT), want{0, 0}},
			{time.Date(2025, 7, 16, 10, 0, 0, 0, apptest.SGT), want{1, 1}}, // STEADY's due instant, LATE's warning passed
			{time.Date(2025, 7, 16, 12, 0, 0, 0, apptest.SGT), want{0, 0}},
			{time.Date(2025, 7, 18, 10, 0, 0, 0, apptest.SGT), want{0, 1}}, // LATE's due instant passed
			{time.Date(2025, 7, 25, 10, 0, 0, 0, apptest.SGT), want{0, 0}},
			// JUMP, submitted on Monday 28th, is at risk from Monday 4
			// August and due Wednesday 6th: first checked on Thursday 7th.
			{time.Date(2025, 8, 7, 10, 0, 0, 0, apptest.SGT), want{1, 1}},
			{time.Date(2025, 8, 7, 11, 0, 0, 0, apptest.SGT), want{0, 0}},
		} {
			if s.at.Month() == time.August && mustCount(t, db, "JUMP") == 0 {
				f.set(time.Date(2025, 7, 28, 10, 0, 0, 0, apptest.SGT))
				f.mustProject(t, "JUMP", 1)
			}
			res, err := f.app.Checker.Check(context.Background(), s.at)
			if err != nil {
				t.Fatal(err)
			}
			if got := (want{res.ProjectsAtRisk, res.ProjectsBreached}); got != s.want {
				t.Errorf("check %d at %s: got %+v, want %+v", i+1, s.at, got, s.want)
			}
		}
		for code, flagged := range map[string]bool{"STEADY": true, "LATE": true, "JUMP": true, "DONE": false, "PAUSED": false, "IDLE": false} {
			p := mustProjectRow(t, db, code)
			if got := p.Clock.AtRiskFlaggedAt != nil && p.Clock.BreachedFlaggedAt != nil; got != flagged {
				t.Errorf("%s (%s): got flags %v and %v, want flagged %v", code, p.Clock.Status, p.Clock.AtRiskFlaggedAt, p.Clock.BreachedFlaggedAt, flagged)
			}
			if !flagged && (p.Clock.AtRiskFlaggedAt != nil || p.Clock.BreachedFlaggedAt != nil) {
				t.Errorf("%s: flagged, want never", code)
			}
		}
		if p := mustProjectRow(t, db, "DONE"); p.Clock.Status != sla.Met {
			t.Errorf("DONE: got %s, want met", p.Clock.Status)
		}
		if p := mustProjectRow(t, db, "STEADY"); !p.Clock.AtRiskFlaggedAt.Equal(time.Date(2025, 7, 14, 10, 0, 0, 0, apptest.SGT)) ||
			!p.Clock.BreachedFlaggedAt.Equal(time.Date(2025, 7, 16, 10, 0, 0, 0, apptest.SGT)) {
			t.Errorf("STEADY: flagged at %v and %v, want at its warning and due instants", p.Clock.AtRiskFlaggedAt, p.Clock.BreachedFlaggedAt)
		}
		if p := mustProjectRow(t, db, "JUMP"); !p.Clock.AtRiskFlaggedAt.Equal(*p.Clock.BreachedFlaggedAt) {
			t.Errorf("JUMP: flagged at %v and %v, want both by one check", p.Clock.AtRiskFlaggedAt, p.Clock.BreachedFlaggedAt)
		}
		// MSF's manager heard of each flag once: STEADY's, LATE's and JUMP's.
		for event, want := range map[string]int64{notifications.ProjectAtRisk: 3, notifications.ProjectBreached: 3} {
			if n := mustProjectNotes(t, db, event); n != want {
				t.Errorf("in-app %s notifications: got %d, want %d", event, n, want)
			}
		}
	})
}

// Two replicas, each with its own connections to one database, run the
// check at the same moment: each project is flagged, and its managers
// notified, exactly once, and the two results add up to what was flagged.
func TestConcurrentChecksFlagEachProjectOnce(t *testing.T) {
	for _, d := range modelstest.Dialects() {
		for _, mode := range []string{"Check", "RunExclusive"} {
			t.Run(string(d)+"/"+mode, func(t *testing.T) {
				dsn := modelstest.DSN(t, d)
				var dbs []*models.DB
				for range 2 {
					db, err := models.Open(dsn)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { db.Close() })
					if err := db.Migrate(context.Background(), nil); err != nil {
						t.Fatal(err)
					}
					dbs = append(dbs, db)
				}
				f := newFixture(t, dbs[0], true)
				checkers := []*sla.Checker{f.app.Checker, newFixture(t, dbs[1], false).app.Checker}
				const n = 20
				for i := range n {
					f.mustProject(t, fmt.Sprintf("P-%02d", i), 1)
				}
				for round, at := range []time.Time{
					time.Date(2025, 7, 14, 10, 0, 0, 0, apptest.SGT), time.Date(2025, 7, 16, 10, 0, 0, 0, apptest.SGT),
				} {
					var wg sync.WaitGroup
					start := make(chan struct{})
					results := make([]sla.Result, len(checkers))
					errs := make([]error, len(checkers))
					for i, c := range checkers {
						wg.Add(1)
						go func() {
							defer wg.Done()
							<-start
							if mode == "RunExclusive" {
								results[i], errs[i] = c.RunExclusive(context.Background(), at)
							} else {
								results[i], errs[i] = c.Check(context.Background(), at)
							}
						}()
					}
					close(start)
					wg.Wait()
					for i, err := range errs {
						if err != nil {
							t.Fatalf("round %d, checker %d: %v", round, i+1, err)
						}
					}
					atRisk := results[0].ProjectsAtRisk + results[1].ProjectsAtRisk
					breached := results[0].ProjectsBreached + results[1].ProjectsBreached
					want := [2]int{n, 0}
					if round == 1 {
						want = [2]int{0, n}
					}
					if [2]int{atRisk, breached} != want {
						t.Errorf("round %d: results %+v and %+v add up to projects at risk %d, breached %d; want %v", round, results[0], results[1], atRisk, breached, want)
					}
				}
				for event, want := range map[string]int64{notifications.ProjectAtRisk: n, notifications.ProjectBreached: n} {
					if got := mustProjectNotes(t, dbs[0], event); got != want {
						t.Errorf("in-app %s notifications: got %d, want %d (one per project to MSF's one manager)", event, got, want)
					}
				}
			})
		}
	}
}
