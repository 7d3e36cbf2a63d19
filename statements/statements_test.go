package statements_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"datashare/apptest"
	"datashare/imports"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/sla"
	"datashare/statements"
	"datashare/workflow"
)

// now is the clock of these tests: Monday 2 June 2025, 09:00 in Singapore,
// the first working day after May.
var now = apptest.Time("2025-06-02T09:00:00+08:00")

var may = statements.Month{Year: 2025, Month: time.May}

type env struct {
	app *apptest.App
	svc *statements.Service
}

func newEnv(tb testing.TB, db *models.DB) *env {
	tb.Helper()
	a := apptest.Wire(tb, db, apptest.Options{Now: func() time.Time { return now }})
	a.MustSeed(tb, apptest.CastAgencies, apptest.CastPeople)
	return &env{app: a, svc: a.Statements}
}

func ev(action, at, actor string) imports.Event {
	return imports.Event{Action: action, At: apptest.Time(at), ActorEmail: actor, Comment: "Imported " + action}
}

func rec(ref, requesting, owner string, events ...imports.Event) imports.Record {
	return imports.Record{
		ExternalRef: ref, Title: "Request " + ref, Purpose: "Purpose of " + ref, DataDescription: "Data of " + ref,
		Classification: "official-open", RequestingAgency: requesting, OwnerAgency: owner,
		RequesterEmail: "req@" + strings.ToLower(requesting) + ".gov.sg", Events: events,
	}
}

// mayRecords: MSF→MOH met in May; HDB→MOM missed in May (due 9 May, still
// open); MOM→MOH met in May after a clarification; one fulfilled in April.
var mayRecords = []imports.Record{
	rec("MAY-MET", "MSF", "MOH",
		ev("submit", "2025-05-05T10:00:00+08:00", "req@msf.gov.sg"),
		ev("approve", "2025-05-06T10:00:00+08:00", "approver1@moh.gov.sg"),
		ev("fulfil", "2025-05-07T10:00:00+08:00", "approver1@moh.gov.sg")),
	rec("MAY-MISSED", "HDB", "MOM",
		ev("submit", "2025-04-29T10:00:00+08:00", "req@hdb.gov.sg")),
	rec("MAY-MET-2", "MOM", "MOH",
		ev("submit", "2025-05-12T10:00:00+08:00", "req@mom.gov.sg"),
		ev("request_clarification", "2025-05-13T10:00:00+08:00", "approver2@moh.gov.sg"),
		ev("respond", "2025-05-14T10:00:00+08:00", "req@mom.gov.sg"),
		ev("approve", "2025-05-15T10:00:00+08:00", "approver2@moh.gov.sg"),
		ev("fulfil", "2025-05-20T10:00:00+08:00", "approver2@moh.gov.sg")),
	rec("APRIL", "MSF", "MOM",
		ev("submit", "2025-04-01T10:00:00+08:00", "req@msf.gov.sg"),
		ev("approve", "2025-04-02T10:00:00+08:00", "approver1@mom.gov.sg"),
		ev("fulfil", "2025-04-03T10:00:00+08:00", "approver1@mom.gov.sg")),
}

func (e *env) mustImport(tb testing.TB, recs ...imports.Record) {
	tb.Helper()
	res, err := e.app.Importer.Import(context.Background(), apptest.Admin, imports.Batch{Requests: recs})
	if err != nil || len(res.Errors) > 0 || res.Imported != len(recs) {
		tb.Fatalf("import: got %+v, %v; want %d imported", res, err, len(recs))
	}
}

func (e *env) mustPublish(tb testing.TB, m statements.Month, at time.Time) statements.Result {
	tb.Helper()
	res, err := e.svc.Publish(context.Background(), m, at)
	if err != nil {
		tb.Fatalf("publish %s: %v", m, err)
	}
	return res
}

func (e *env) mustList(tb testing.TB) []statements.Statement {
	tb.Helper()
	list, err := e.svc.List(context.Background(), apptest.Admin, statements.ListQuery{})
	if err != nil {
		tb.Fatalf("list: %v", err)
	}
	return list
}

func byScope(list []statements.Statement) map[string]statements.Statement {
	out := map[string]statements.Statement{}
	for _, s := range list {
		k := ""
		if s.Agency != nil {
			k = *s.Agency
		}
		if prev, ok := out[k]; !ok || s.Revision > prev.Revision {
			out[k] = s
		}
	}
	return out
}

func TestAStatementHoldsTheLiveReportOfItsMonth(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		e.mustImport(t, mayRecords...)
		res := e.mustPublish(t, may, now)
		if res.Published != 5 || res.Revised != 0 {
			t.Fatalf("publish: got %+v, want 5 published (government and 4 agencies)", res)
		}
		got := byScope(e.mustList(t))
		for _, agency := range []string{"", "MOH", "MOM", "MSF", "HDB"} {
			st, ok := got[agency]
			if !ok {
				t.Fatalf("no statement for %q", agency)
			}
			for _, by := range []string{sla.ByOwnerAgency, sla.ByRequestingAgency} {
				live, err := e.app.Reporter.Compute(context.Background(), sla.Query{From: may.First(), To: may.Next().First(), Agency: agency, GroupBy: by}, now)
				if err != nil {
					t.Fatal(err)
				}
				f := st.Figures
				groups := f.ByOwnerAgency
				if by == sla.ByRequestingAgency {
					groups = f.ByRequestingAgency
				}
				if f.Met != live.Met || f.Missed != live.Missed || !sameRate(f.ComplianceRate, live.ComplianceRate) ||
					f.Finished != live.Finished || !sameRate(f.Elapsed.Median, live.Elapsed.Median) || !sameRate(f.Elapsed.P90, live.Elapsed.P90) ||
					len(groups) != len(live.Groups) {
					t.Errorf("%q by %s: statement %+v differs from the live report %+v", agency, by, f, live)
				}
				for i := range groups {
					if groups[i].Key != live.Groups[i].Key || groups[i].Met != live.Groups[i].Met || groups[i].Missed != live.Groups[i].Missed {
						t.Errorf("%q by %s group %d: got %+v, want %+v", agency, by, i, groups[i], live.Groups[i])
					}
				}
				for state, d := range live.TimeInState {
					if f.TimeInState[state] != d {
						t.Errorf("%q time in %s: got %v, want %v", agency, state, f.TimeInState[state], d)
					}
				}
			}
			if !st.Verified {
				t.Errorf("%q: statement does not verify", agency)
			}
			sum := sha256.Sum256([]byte(st.Canonical))
			if st.Hash != hex.EncodeToString(sum[:]) {
				t.Errorf("%q: hash %s is not the SHA-256 of the canonical text", agency, st.Hash)
			}
		}
		gov := got[""].Figures
		if gov.Met != 2 || gov.Missed != 1 || len(gov.MetRequests) != 2 || len(gov.MissedRequests) != 1 {
			t.Errorf("whole of government: got met %d %v, missed %d %v; want 2 met, 1 missed", gov.Met, gov.MetRequests, gov.Missed, gov.MissedRequests)
		}
		if want := (sla.Open{Total: 1, Breached: 1}); gov.Open != want {
			t.Errorf("whole of government open at the end of May: got %+v, want %+v (the missed request)", gov.Open, want)
		}
		if hdb := got["HDB"].Figures; hdb.Met != 0 || hdb.Missed != 1 {
			t.Errorf("HDB: got met %d, missed %d; want 0, 1", hdb.Met, hdb.Missed)
		}
	})
}

func sameRate(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func TestPublishingAgainWritesNothing(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		e.mustImport(t, mayRecords...)
		// Two replicas at the same tick: each statement is written once.
		other := statements.NewService(db, e.app.Reporter, e.app.Keeper)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, svc := range []*statements.Service{e.svc, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = svc.Publish(context.Background(), may, now)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("publish at once: %v", err)
			}
		}
		if n := len(e.mustList(t)); n != 5 {
			t.Fatalf("after two replicas published: got %d statements, want 5", n)
		}
		res := e.mustPublish(t, may, now.Add(time.Hour))
		if res.Published != 0 || res.Revised != 0 || res.Unchanged != 5 {
			t.Errorf("publishing again: got %+v, want 5 unchanged", res)
		}
		if n := len(e.mustList(t)); n != 5 {
			t.Errorf("after publishing again: got %d statements, want 5", n)
		}
	})
}

func TestHistoryImportedLaterIsARevisionThatNamesTheRequest(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		e.mustImport(t, mayRecords...)
		e.mustPublish(t, may, now)
		first := byScope(e.mustList(t))[""]

		late := rec("MAY-LATE", "MSF", "MOM",
			ev("submit", "2025-05-19T10:00:00+08:00", "req@msf.gov.sg"),
			ev("approve", "2025-05-20T10:00:00+08:00", "approver1@mom.gov.sg"),
			ev("fulfil", "2025-05-21T10:00:00+08:00", "approver1@mom.gov.sg"))
		e.mustImport(t, late)
		results, err := e.svc.Run(context.Background(), now.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(results) != 1 || results[0].Revised != 3 || results[0].Unchanged != 2 {
			t.Fatalf("run: got %+v, want May with 3 revised (government, MSF, MOM) and 2 unchanged", results)
		}
		list := e.mustList(t)
		latest := byScope(list)[""]
		if latest.Revision != 2 || latest.SupersedesID == nil || *latest.SupersedesID != first.ID {
			t.Fatalf("revision: got revision %d superseding %v, want 2 superseding %d", latest.Revision, latest.SupersedesID, first.ID)
		}
		var moved *statements.Change
		for i, c := range latest.Changes {
			if c.Request != nil {
				moved = &latest.Changes[i]
			}
		}
		if moved == nil || moved.Was != "not counted" || moved.Now != "met" || !strings.HasPrefix(moved.Because, "fulfil at 2025-05-21T02:00:00Z") {
			t.Errorf("revision's changes: got %+v, want the late request moving from not counted to met because of its fulfil", latest.Changes)
		}
		if latest.Figures.Met != first.Figures.Met+1 {
			t.Errorf("revised met: got %d, want %d", latest.Figures.Met, first.Figures.Met+1)
		}
		again, err := e.svc.Get(context.Background(), apptest.Admin, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		if again.Hash != first.Hash || again.Figures.Met != first.Figures.Met || !again.Verified ||
			again.SupersededByID == nil || *again.SupersededByID != latest.ID {
			t.Errorf("the first statement after the revision: got %+v, want it unchanged, verified, superseded by %d", again, latest.ID)
		}
	})
}

func TestStatementsAreWrittenOnce(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		e.mustImport(t, mayRecords...)
		e.mustPublish(t, may, now)
		for _, sql := range []string{
			"UPDATE statements SET figures = '{}' WHERE agency = ''",
			"UPDATE statements SET hash = 'x'",
			"DELETE FROM statements",
		} {
			if err := db.Gorm.Exec(sql).Error; err == nil || !strings.Contains(err.Error(), "written once") {
				t.Errorf("%s: got %v, want the trigger's refusal", sql, err)
			}
		}
		for _, st := range e.mustList(t) {
			if !st.Verified {
				t.Errorf("statement %d no longer verifies", st.ID)
			}
		}
	})
}

func TestAMonthWithoutRequestsHasAStatementWithNoRate(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		if res := e.mustPublish(t, may, now); res.Published != 5 {
			t.Fatalf("publish an empty month: got %+v, want 5 published", res)
		}
		gov := byScope(e.mustList(t))[""]
		f := gov.Figures
		if f.ComplianceRate != nil || f.Met != 0 || f.Missed != 0 || f.Finished != 0 || f.Elapsed.Median != nil || !gov.Verified {
			t.Errorf("empty month: got %+v, want null rate and zero counts, verified", f)
		}
		if !strings.Contains(gov.Canonical, "\ncompliance_rate,\n") {
			t.Errorf("canonical text of an empty month: want an empty compliance_rate, got:\n%s", gov.Canonical)
		}
	})
}

func TestAMonthNotOverHasNoStatement(t *testing.T) {
	t.Parallel()
	e := newEnv(t, modelstest.MustOpen(t, models.SQLite))
	june := statements.Month{Year: 2025, Month: time.June}
	_, err := e.svc.Publish(context.Background(), june, now)
	if err == nil || !strings.Contains(err.Error(), "has not ended") {
		t.Fatalf("publish June on 2 June: got %v, want a refusal", err)
	}
	if n := len(e.mustList(t)); n != 0 {
		t.Errorf("statements after the refusal: got %d, want 0", n)
	}
}

func TestManagersSeeTheirOwnAgencysStatements(t *testing.T) {
	t.Parallel()
	e := newEnv(t, modelstest.MustOpen(t, models.SQLite))
	e.mustImport(t, mayRecords...)
	e.mustPublish(t, may, now)
	ctx := context.Background()
	manager := workflow.Actor{ID: 99, Agency: "MOH", Roles: []workflow.Role{workflow.Manager}}
	list, err := e.svc.List(ctx, manager, statements.ListQuery{})
	if err != nil || len(list) != 1 || list[0].Agency == nil || *list[0].Agency != "MOH" {
		t.Fatalf("a MOH manager's list: got %d statements, %v; want MOH's one", len(list), err)
	}
	if _, err := e.svc.List(ctx, manager, statements.ListQuery{Agency: "MOM"}); err == nil {
		t.Errorf("a MOH manager listing MOM's: got no error, want forbidden")
	}
	gov := byScope(e.mustList(t))[""]
	if _, err := e.svc.Get(ctx, manager, gov.ID); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("a MOH manager reading the whole of government's: got %v, want not found", err)
	}
	requester := workflow.Actor{ID: 98, Agency: "MOH", Roles: []workflow.Role{workflow.Requester}}
	if _, err := e.svc.List(ctx, requester, statements.ListQuery{}); err == nil {
		t.Errorf("a requester's list: got no error, want forbidden")
	}
}

// TestOpenCountsAreThoseAtTheMonthsEnd: requests open at the end of May
// and closed before publication count as open; one closed in May does not.
func TestOpenCountsAreThoseAtTheMonthsEnd(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		e.mustImport(t, append([]imports.Record{
			// Open over the month's end, at risk from 29 May, shared on 2 June.
			rec("AT-RISK-AT-END", "MSF", "MOH",
				ev("submit", "2025-05-22T10:00:00+08:00", "req@msf.gov.sg"),
				ev("approve", "2025-05-30T10:00:00+08:00", "approver1@moh.gov.sg"),
				ev("fulfil", "2025-06-02T08:45:00+08:00", "approver1@moh.gov.sg")),
			// Open over the month's end, on track, shared on 2 June.
			rec("ON-TRACK-AT-END", "HDB", "MOM",
				ev("submit", "2025-05-27T10:00:00+08:00", "req@hdb.gov.sg"),
				ev("approve", "2025-05-28T10:00:00+08:00", "approver1@mom.gov.sg"),
				ev("fulfil", "2025-06-02T08:40:00+08:00", "approver1@mom.gov.sg")),
			// Closed within May.
			rec("CLOSED-IN-MAY", "MOM", "MOH",
				ev("submit", "2025-05-26T10:00:00+08:00", "req@mom.gov.sg"),
				ev("approve", "2025-05-27T10:00:00+08:00", "approver2@moh.gov.sg"),
				ev("fulfil", "2025-05-28T10:00:00+08:00", "approver2@moh.gov.sg")),
		}, mayRecords...)...)
		e.mustPublish(t, may, now)
		got := byScope(e.mustList(t))
		if want := (sla.Open{Total: 3, AtRisk: 1, Breached: 1}); got[""].Figures.Open != want {
			t.Errorf("whole of government open at the end of May: got %+v, want %+v", got[""].Figures.Open, want)
		}
		if want := (sla.Open{Total: 1, AtRisk: 1}); got["MSF"].Figures.Open != want {
			t.Errorf("MSF open at the end of May: got %+v, want %+v", got["MSF"].Figures.Open, want)
		}
		live, err := e.app.Reporter.Compute(context.Background(), sla.Query{From: may.First(), To: may.Next().First()}, now)
		if err != nil {
			t.Fatal(err)
		}
		if live.Open.Total != 1 {
			t.Errorf("open now (a check of the test): got %d, want 1 (the missed request)", live.Open.Total)
		}
	})
}
