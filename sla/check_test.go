package sla_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"datashare/apptest"
	"datashare/imports"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/sla"
)

// fxCheckRecords: requests in every situation the check must tell apart.
// Due and warning instants hand-worked as in fxReportRecords.
var fxCheckRecords = []imports.Record{
	// Fri 20 Jun 13:00: warn Fri 27 Jun 13:00, due Tue 1 Jul 13:15.
	fxRec("CHK-A-at-risk", "MSF", "MOH", "official-open",
		fxEv("submit", "2025-06-20T13:00:00+08:00", "req@msf.gov.sg")),
	// Mon 9 Jun 13:15: warn Mon 16 Jun 13:15, due Wed 18 Jun 13:15;
	// approved, open: past both.
	fxRec("CHK-B-breached", "MSF", "MOH", "official-open",
		fxEv("submit", "2025-06-09T13:15:00+08:00", "req@msf.gov.sg"),
		fxEv("approve", "2025-06-10T13:15:00+08:00", "approver1@moh.gov.sg")),
	// Thu 26 Jun 13:15: warn Thu 3 Jul 13:15, due Mon 7 Jul 13:15.
	fxRec("CHK-C-on-track", "HDB", "MOM", "official-open",
		fxEv("submit", "2025-06-26T13:15:00+08:00", "req@hdb.gov.sg")),
	// Mon 9 Jun 13:15 (warn Mon 16 Jun 13:15, due Wed 18 Jun 13:15), paused
	// Tue 17 Jun 13:15 after 6.0 days: past its warning, not its due
	// instant, which the pause suspends.
	fxRec("CHK-D-paused-after-warning", "MSF", "MOM", "official-open",
		fxEv("submit", "2025-06-09T13:15:00+08:00", "req@msf.gov.sg"),
		fxEv("request_clarification", "2025-06-17T13:15:00+08:00", "approver1@mom.gov.sg", "Which years?")),
	// Mon 9 Jun 13:15, paused Wed 11 Jun 13:15 after 2.0 days: the wall
	// clock passes the old warning and due instants, the SLA clock does not.
	fxRec("CHK-E-paused-before-warning", "HDB", "MOH", "official-open",
		fxEv("submit", "2025-06-09T13:15:00+08:00", "req@hdb.gov.sg"),
		fxEv("request_clarification", "2025-06-11T13:15:00+08:00", "approver2@moh.gov.sg", "Which years?")),
	// Mon 19 May 13:15, due Wed 28 May 13:15, fulfilled late on Mon 2 Jun:
	// closed, never flagged.
	fxRec("CHK-F-fulfilled-late", "MSF", "MOH", "official-open",
		fxEv("submit", "2025-05-19T13:15:00+08:00", "req@msf.gov.sg"),
		fxEv("approve", "2025-05-20T13:15:00+08:00", "approver1@moh.gov.sg"),
		fxEv("fulfil", "2025-06-02T13:15:00+08:00", "approver1@moh.gov.sg")),
	// Same, withdrawn after due: closed, never flagged.
	fxRec("CHK-G-withdrawn-late", "HDB", "MOM", "official-open",
		fxEv("submit", "2025-05-19T13:15:00+08:00", "req@hdb.gov.sg"),
		fxEv("withdraw", "2025-06-02T13:15:00+08:00", "req@hdb.gov.sg")),
	// Mon 2 Jun 13:15: warn Mon 9 Jun 13:15, due Wed 11 Jun 13:15; paused
	// Thu 12 Jun 13:15, after both: a pause does not undo a breach.
	fxRec("CHK-H-paused-after-due", "MOM", "MOH", "official-open",
		fxEv("submit", "2025-06-02T13:15:00+08:00", "req@mom.gov.sg"),
		fxEv("request_clarification", "2025-06-12T13:15:00+08:00", "approver2@moh.gov.sg", "Which years?")),
	// A draft: no clock.
	fxRec("CHK-I-draft", "MSF", "MOH", "official-open",
		fxEv("create", "2025-06-02T10:00:00+08:00", "req@msf.gov.sg")),
}

// fxFlagRow is a system history row as the tests look at it.
type fxFlagRow struct {
	ref, action, from, to string
	at                    time.Time
}

// fxFlags returns the sla_* history rows, by request then id.
func fxFlags(t *testing.T, db *models.DB) []fxFlagRow {
	t.Helper()
	refs := fxRefsByID(t, db)
	var ts []models.Transition
	if err := db.Gorm.Where("action IN ?", []string{sla.ActionAtRisk, sla.ActionBreached}).Order("request_id, id").Find(&ts).Error; err != nil {
		t.Fatal(err)
	}
	out := make([]fxFlagRow, 0, len(ts))
	for _, tr := range ts {
		if tr.ActorID != nil {
			t.Errorf("%s %s: actor %d, want null (system)", refs[tr.RequestID], tr.Action, *tr.ActorID)
		}
		if tr.Comment == "" {
			t.Errorf("%s %s: empty comment, want a sentence for people", refs[tr.RequestID], tr.Action)
		}
		from := "<nil>"
		if tr.FromState != nil {
			from = *tr.FromState
		}
		out = append(out, fxFlagRow{ref: refs[tr.RequestID], action: tr.Action, from: from, to: tr.ToState, at: tr.At.UTC()})
	}
	return out
}

func fxWantFlags(t *testing.T, got, want []fxFlagRow) {
	t.Helper()
	sort.Slice(want, func(i, j int) bool {
		if want[i].ref != want[j].ref {
			return want[i].ref < want[j].ref
		}
		return want[i].action == sla.ActionAtRisk && want[j].action != sla.ActionAtRisk
	})
	sort.SliceStable(got, func(i, j int) bool { return got[i].ref < got[j].ref })
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		same = got[i].ref == want[i].ref && got[i].action == want[i].action && got[i].from == want[i].from &&
			got[i].to == want[i].to && got[i].at.Equal(want[i].at)
	}
	if !same {
		t.Errorf("history flags:\n got %s\nwant %s", fxFmtFlags(got), fxFmtFlags(want))
	}
}

func fxFmtFlags(rs []fxFlagRow) string {
	s := ""
	for _, r := range rs {
		s += fmt.Sprintf("\n\t%s %s %s→%s at %s", r.ref, r.action, r.from, r.to, r.at.In(apptest.SGT).Format(time.RFC3339))
	}
	return s
}

func fxFlag(ref, action, state string, at time.Time) fxFlagRow {
	return fxFlagRow{ref: ref, action: action, from: state, to: state, at: at.UTC()}
}

// fxCheckNow2 is a later check, Thu 3 Jul 14:00: A is past due (Tue 1 Jul
// 13:15), C past its warning (Thu 3 Jul 13:15). At fxNow (Mon 30 Jun 12:00)
// A, B, D and H are past their warning and B and H past due.
var fxCheckNow2 = apptest.Time("2025-07-03T14:00:00+08:00")

func fxWantResult(t *testing.T, name string, got sla.Result, checked, atRisk, breached int) {
	t.Helper()
	if got.Checked != checked || got.AtRisk != atRisk || got.Breached != breached {
		t.Errorf("%s: got checked %d, at_risk %d, breached %d; want %d, %d, %d", name, got.Checked, got.AtRisk, got.Breached, checked, atRisk, breached)
	}
}

func TestCheckFlagsEachTurnOnceAsASystemEvent(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := fxNewEnv(t, db, fxNow)
		e.fxImport(t, fxCheckRecords)
		ctx := context.Background()

		// Open: A, B, C, D, E, H = 6. At risk: A, B, D, H (a request past
		// due passed its warning too); breached: B, H.
		res, err := e.checker.Check(ctx, fxNow)
		if err != nil {
			t.Fatal(err)
		}
		fxWantResult(t, "first check", res, 6, 4, 2)
		first := []fxFlagRow{
			fxFlag("CHK-A-at-risk", sla.ActionAtRisk, "submitted", fxNow),
			fxFlag("CHK-B-breached", sla.ActionAtRisk, "approved", fxNow),
			fxFlag("CHK-B-breached", sla.ActionBreached, "approved", fxNow),
			fxFlag("CHK-D-paused-after-warning", sla.ActionAtRisk, "clarification_requested", fxNow),
			fxFlag("CHK-H-paused-after-due", sla.ActionAtRisk, "clarification_requested", fxNow),
			fxFlag("CHK-H-paused-after-due", sla.ActionBreached, "clarification_requested", fxNow),
		}
		fxWantFlags(t, fxFlags(t, db), slices.Clone(first))

		// The flag columns carry the instant of the check.
		for _, c := range []struct {
			ref              string
			atRisk, breached bool
		}{
			{"CHK-A-at-risk", true, false}, {"CHK-B-breached", true, true}, {"CHK-C-on-track", false, false},
			{"CHK-D-paused-after-warning", true, false}, {"CHK-E-paused-before-warning", false, false},
			{"CHK-F-fulfilled-late", false, false}, {"CHK-G-withdrawn-late", false, false},
			{"CHK-H-paused-after-due", true, true}, {"CHK-I-draft", false, false},
		} {
			r := fxByRef(t, db, c.ref)
			for _, f := range []struct {
				name string
				got  *time.Time
				want bool
			}{{"sla_at_risk_flagged_at", r.SLA.AtRiskFlaggedAt, c.atRisk}, {"sla_breached_flagged_at", r.SLA.BreachedFlaggedAt, c.breached}} {
				if (f.got != nil) != f.want || (f.got != nil && !f.got.Equal(fxNow)) {
					t.Errorf("%s %s: got %s, want set=%v at %s", c.ref, f.name, fxFmtT(f.got), f.want, fxNow.Format(time.RFC3339))
				}
			}
		}

		// The same now again: nothing new.
		res, err = e.checker.Check(ctx, fxNow)
		if err != nil {
			t.Fatal(err)
		}
		fxWantResult(t, "second check, same now", res, 6, 0, 0)
		fxWantFlags(t, fxFlags(t, db), slices.Clone(first))

		// Thu 3 Jul 14:00: A turned breached (Tue 1 Jul 13:15), C at risk
		// (Thu 3 Jul 13:15). E stays paused with no instant; D stays at
		// risk, its due instant suspended.
		res, err = e.checker.Check(ctx, fxCheckNow2)
		if err != nil {
			t.Fatal(err)
		}
		fxWantResult(t, "later check", res, 6, 1, 1)
		later := append(slices.Clone(first),
			fxFlag("CHK-A-at-risk", sla.ActionBreached, "submitted", fxCheckNow2),
			fxFlag("CHK-C-on-track", sla.ActionAtRisk, "submitted", fxCheckNow2))
		fxWantFlags(t, fxFlags(t, db), later)

		res, err = e.checker.Check(ctx, fxCheckNow2)
		if err != nil {
			t.Fatal(err)
		}
		fxWantResult(t, "later check again", res, 6, 0, 0)
		fxWantFlags(t, fxFlags(t, db), slices.Clone(later))
	})
}

// The system rows are part of the history the workflow shows, between the
// request's own rows.
func TestCheckFlagsAppearInTheHistory(t *testing.T) {
	db := modelstest.MustOpen(t, models.SQLite)
	e := fxNewEnv(t, db, fxNow)
	e.fxImport(t, fxCheckRecords)
	if _, err := e.checker.Check(context.Background(), fxNow); err != nil {
		t.Fatal(err)
	}
	r := fxByRef(t, db, "CHK-B-breached")
	h, err := e.wf.History(context.Background(), apptest.Admin, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range h {
		actor := "system"
		if tr.Actor != nil {
			actor = tr.Actor.Email
		}
		got = append(got, tr.Action+" by "+actor)
	}
	want := []string{"create by req@msf.gov.sg", "submit by req@msf.gov.sg", "approve by approver1@moh.gov.sg", "sla_at_risk by system", "sla_breached by system"}
	if !slices.Equal(got, want) {
		t.Errorf("history: got %q, want %q", got, want)
	}
}

func TestCheckNotifiesOncePerFlagInsideItsTransaction(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := fxNewEnv(t, db, fxNow)
		e.fxImport(t, fxCheckRecords)
		refs := fxRefsByID(t, db)
		var got []string
		var problems []string
		notify := func(ctx context.Context, tx *gorm.DB, f sla.Flags) error {
			if !slices.IsSorted(f.IDs) {
				problems = append(problems, fmt.Sprintf("%s: ids %v not in ascending order", f.Kind, f.IDs))
			}
			if !f.At.Equal(fxNow) {
				problems = append(problems, fmt.Sprintf("%s: at %s, want %s", f.Kind, f.At, fxNow))
			}
			action := map[string]string{sla.EventAtRisk: sla.ActionAtRisk, sla.EventBreached: sla.ActionBreached}[f.Kind]
			for _, id := range f.IDs {
				// Inside the transaction the row is there; from another
				// connection it is not yet.
				var inside, outside int64
				tx.Model(&models.Transition{}).Where("request_id = ? AND action = ?", id, action).Count(&inside)
				db.Gorm.Model(&models.Transition{}).Where("request_id = ? AND action = ?", id, action).Count(&outside)
				if inside != 1 || outside != 0 {
					problems = append(problems, fmt.Sprintf("%s %s: %d rows in the transaction, %d outside; want 1, 0", refs[id], f.Kind, inside, outside))
				}
				var state string
				tx.Model(&models.Request{}).Where("id = ?", id).Pluck("state", &state)
				got = append(got, fmt.Sprintf("%s %s %s", f.Kind, refs[id], state))
			}
			return nil
		}
		c := sla.NewChecker(db, e.keeper, notify, nil)
		if _, err := c.Check(context.Background(), fxNow); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Check(context.Background(), fxNow); err != nil {
			t.Fatal(err)
		}
		sort.Strings(got)
		want := []string{
			"sla.at_risk CHK-A-at-risk submitted",
			"sla.at_risk CHK-B-breached approved",
			"sla.at_risk CHK-D-paused-after-warning clarification_requested",
			"sla.at_risk CHK-H-paused-after-due clarification_requested",
			"sla.breached CHK-B-breached approved",
			"sla.breached CHK-H-paused-after-due clarification_requested",
		}
		if !slices.Equal(got, want) {
			t.Errorf("notifications:\n got %q\nwant %q", got, want)
		}
		for _, p := range problems {
			t.Error(p)
		}
	})
}

// A notification that cannot be written rolls back the flags of its batch,
// which stand or fall with their notifications.
func TestCheckRecordsNothingOfABatchWhoseNotifierFails(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		for _, c := range []struct {
			name                   string
			failOn                 string // kind of the event whose notification fails
			keptAtRisk             int    // at_risk rows left afterwards
			retryAtRisk, retryBrch int    // what a working check then flags
		}{
			// Breaches are recorded first, with the at-risk flags of the
			// same requests in the same batch; a failure anywhere in that
			// batch leaves nothing behind.
			{"failing in the at_risk batch", sla.EventAtRisk, 0, 4, 2},
			{"failing in the breached batch", sla.EventBreached, 0, 4, 2},
		} {
			t.Run(c.name, func(t *testing.T) {
				db := modelstest.MustOpen(t, db.Dialect)
				e := fxNewEnv(t, db, fxNow)
				e.fxImport(t, fxCheckRecords)
				boom := errors.New("outbox unavailable")
				calls := 0
				// The notifier hears of a batch at once: its first call of
				// the kind is in the batch of breaches.
				failing := func(ctx context.Context, tx *gorm.DB, f sla.Flags) error {
					if f.Kind != c.failOn {
						return nil
					}
					if calls++; calls == 1 {
						return boom
					}
					return nil
				}
				_, err := sla.NewChecker(db, e.keeper, failing, nil).Check(context.Background(), fxNow)
				if !errors.Is(err, boom) {
					t.Fatalf("check: got error %v, want %v", err, boom)
				}
				var atRisk, breached int
				for _, f := range fxFlags(t, db) {
					if f.action == sla.ActionAtRisk {
						atRisk++
					} else {
						breached++
					}
				}
				if atRisk != c.keptAtRisk || breached != 0 {
					t.Errorf("history after the failure: got %d sla_at_risk and %d sla_breached rows, want %d and 0", atRisk, breached, c.keptAtRisk)
				}
				var markedAtRisk, markedBreached int64
				db.Gorm.Model(&models.Request{}).Where("sla_at_risk_flagged_at IS NOT NULL").Count(&markedAtRisk)
				db.Gorm.Model(&models.Request{}).Where("sla_breached_flagged_at IS NOT NULL").Count(&markedBreached)
				if int(markedAtRisk) != c.keptAtRisk || markedBreached != 0 {
					t.Errorf("requests marked flagged: got at_risk %d, breached %d, want %d, 0", markedAtRisk, markedBreached, c.keptAtRisk)
				}
				// Once notifications work again, what was rolled back is
				// flagged.
				res, err := e.checker.Check(context.Background(), fxNow)
				if err != nil {
					t.Fatal(err)
				}
				fxWantResult(t, "check after recovery", res, 6, c.retryAtRisk, c.retryBrch)
			})
		}
	})
}

// fxPastDue inserts n open requests past their due instant at fxNow (and
// so past their warning), submitted on weekdays of May 2025.
func fxPastDue(t *testing.T, db *models.DB, k *sla.Keeper, requester models.User, n int) []int64 {
	t.Helper()
	return fxInsertSubmitted(t, db, k, requester, "MOH", n,
		apptest.Time("2025-05-05T10:00:00+08:00"), apptest.Time("2025-05-06T15:30:00+08:00"), apptest.Time("2025-05-14T09:00:00+08:00"))
}

// fxFlagCounts returns, per request id, how many rows of each action it has.
func fxFlagCounts(t *testing.T, db *models.DB) map[int64]map[string]int {
	t.Helper()
	var rows []struct {
		RequestID int64
		Action    string
		N         int
	}
	if err := db.Gorm.Model(&models.Transition{}).Select("request_id, action, COUNT(*) AS n").
		Where("action IN ?", []string{sla.ActionAtRisk, sla.ActionBreached}).Group("request_id, action").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := map[int64]map[string]int{}
	for _, r := range rows {
		if out[r.RequestID] == nil {
			out[r.RequestID] = map[string]int{}
		}
		out[r.RequestID][r.Action] = r.N
	}
	return out
}

// Two replicas, each with its own connections to one database, run the
// check at the same moment: every request is flagged exactly once and the
// two results add up to what was flagged.
func TestConcurrentChecksFlagEachRequestExactlyOnce(t *testing.T) {
	for _, d := range modelstest.Dialects() {
		for _, mode := range []string{"Check", "RunExclusive"} {
			t.Run(string(d)+"/"+mode, func(t *testing.T) {
				db1, db2 := fxOpenTwice(t, d)
				e := fxNewEnv(t, db1, fxNow)
				checkers := []*sla.Checker{
					sla.NewChecker(db1, e.keeper, nil, nil).WithBatch(500),
					sla.NewChecker(db2, e.keeper, nil, nil).WithBatch(500),
				}
				run := func(c *sla.Checker, now time.Time) (sla.Result, error) {
					if mode == "RunExclusive" {
						return c.RunExclusive(context.Background(), now)
					}
					return c.Check(context.Background(), now)
				}
				// Five rounds of 200 new requests past due, then one of
				// 1,100, more than a checker claims in one batch (500).
				var all []int64
				for round, perRound := range []int{200, 200, 200, 200, 200, 1100} {
					ids := fxPastDue(t, db1, e.keeper, e.users["req@msf.gov.sg"], perRound)
					all = append(all, ids...)
					now := fxNow.Add(time.Duration(round) * time.Minute)
					var wg sync.WaitGroup
					start := make(chan struct{})
					results := make([]sla.Result, len(checkers))
					errs := make([]error, len(checkers))
					for i, c := range checkers {
						wg.Add(1)
						go func() {
							defer wg.Done()
							<-start
							results[i], errs[i] = run(c, now)
						}()
					}
					close(start)
					wg.Wait()
					for i, err := range errs {
						if err != nil {
							t.Fatalf("round %d, checker %d: %v", round, i+1, err)
						}
					}
					t.Logf("round %d: %+v, %+v", round, results[0], results[1])
					atRisk := results[0].AtRisk + results[1].AtRisk
					breached := results[0].Breached + results[1].Breached
					if atRisk != perRound || breached != perRound {
						t.Errorf("round %d: results %+v and %+v add up to at_risk %d, breached %d; want %d, %d",
							round, results[0], results[1], atRisk, breached, perRound, perRound)
					}
				}
				counts := fxFlagCounts(t, db1)
				bad := 0
				for _, id := range all {
					c := counts[id]
					if c[sla.ActionAtRisk] != 1 || c[sla.ActionBreached] != 1 {
						if bad < 10 {
							t.Errorf("request %d: got %d sla_at_risk and %d sla_breached rows, want 1 and 1", id, c[sla.ActionAtRisk], c[sla.ActionBreached])
						}
						bad++
					}
				}
				if len(counts) != len(all) {
					t.Errorf("got flags on %d requests, want %d", len(counts), len(all))
				}
				if bad > 0 {
					t.Errorf("%d of %d requests not flagged exactly once", bad, len(all))
				}
			})
		}
	}
}

// The list filter (StatusScope) and the status each request shows
// (Keeper.Evaluate) agree for requests in every status, at several
// instants, whatever zone the instant is expressed in.
func TestStatusScopeAgreesWithEvaluate(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := fxNewEnv(t, db, fxNow)
		e.fxImport(t, fxReportRecords)
		e.fxImport(t, fxCheckRecords)
		var rs []models.Request
		if err := db.Gorm.Order("id").Find(&rs).Error; err != nil {
			t.Fatal(err)
		}
		refs := fxRefsByID(t, db)
		nows := []time.Time{
			fxNow,
			apptest.Time("2025-06-27T12:59:00+08:00"), // RPT-10 a minute before its warning
			apptest.Time("2025-06-27T13:00:00+08:00"), // RPT-10 at its warning instant
			apptest.Time("2025-07-01T13:15:00+08:00"), // RPT-10 and CHK-A at their due instant
			apptest.Time("2025-07-03T13:14:00+08:00"), // RPT-11 a minute before its warning
			fxCheckNow2,
		}
		for _, now := range nows {
			for _, zone := range []*time.Location{time.UTC, apptest.SGT} {
				now := now.In(zone)
				t.Run(now.UTC().Format(time.RFC3339)+" given as "+now.Format("-07:00"), func(t *testing.T) {
					want := map[string][]string{}
					seen := map[string]bool{}
					for i := range rs {
						st := e.keeper.Evaluate(&rs[i], now).Status
						want[st] = append(want[st], refs[rs[i].ID])
						seen[st] = true
					}
					if now.Equal(fxNow) {
						for _, st := range sla.Statuses {
							if !seen[st] {
								t.Errorf("no request is %s at %s; the fixture should cover every status", st, now)
							}
						}
					}
					for _, st := range sla.Statuses {
						ids := mustIDsInStatus(t, db, st, now)
						var got []string
						for _, id := range ids {
							got = append(got, refs[id])
						}
						if !slices.Equal(got, want[st]) {
							t.Errorf("%s: scope gives %q, Evaluate gives %q", st, got, want[st])
						}
					}
				})
			}
		}
		if _, ok := sla.StatusScope("late", fxNow); ok {
			t.Errorf("StatusScope(%q): got ok, want unknown", "late")
		}
	})
}

// RunExclusive keeps the last check it ran, for monitoring: its instant,
// what it flagged, and its error when it failed.
func TestRunExclusiveKeepsTheLastRun(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := fxNewEnv(t, db, fxNow)
		e.fxImport(t, fxCheckRecords)
		boom := errors.New("outbox unavailable")
		fail := true
		notify := func(context.Context, *gorm.DB, sla.Flags) error {
			if fail {
				return boom
			}
			return nil
		}
		c := sla.NewChecker(db, e.keeper, notify, nil)
		if _, ok := c.LastRun(); ok {
			t.Fatalf("LastRun before any check: got ok, want none")
		}
		if _, err := c.Check(context.Background(), fxNow); !errors.Is(err, boom) {
			t.Fatalf("check: got %v, want %v", err, boom)
		}
		if _, ok := c.LastRun(); ok {
			t.Errorf("LastRun after Check alone: got ok, want none (only RunExclusive is kept)")
		}

		later := fxNow.Add(time.Minute)
		if _, err := c.RunExclusive(context.Background(), later); !errors.Is(err, boom) {
			t.Fatalf("RunExclusive: got %v, want %v", err, boom)
		}
		run, ok := c.LastRun()
		if !ok || !errors.Is(run.Err, boom) || !run.At.Equal(later) {
			t.Errorf("LastRun after a failed check: got %+v (ok %v), want the failure at %s", run, ok, later)
		}

		fail = false
		res, err := c.RunExclusive(context.Background(), later)
		if err != nil {
			t.Fatal(err)
		}
		run, ok = c.LastRun()
		if !ok || run.Err != nil || run.Result != res || run.Took <= 0 {
			t.Errorf("LastRun after a good check: got %+v (ok %v), want result %+v, no error, a duration", run, ok, res)
		}
		if res.AtRisk != 4 || res.Breached != 2 {
			t.Errorf("the good check flagged %d at risk and %d breached, want 4 and 2", res.AtRisk, res.Breached)
		}
	})
}
