package imports_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/errs"
	"datashare/imports"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/workflow"
)

// now is the fixed clock: Monday 30 June 2025, noon in Singapore, after
// every event imported below.
var now = apptest.Time("2025-06-30T12:00:00+08:00")

type deps struct {
	db  *models.DB
	acc *accounts.Service
	wf  *workflow.Service
	im  *imports.Importer
}

// newDeps wires the services as api's mustDeps does, with the Singapore
// calendar, default hours and SLA settings, and seeds the cast.
func newDeps(t *testing.T, db *models.DB) deps {
	t.Helper()
	a := apptest.Wire(t, db, apptest.Options{Now: func() time.Time { return now }})
	a.MustSeed(t, apptest.CastAgencies, apptest.CastPeople)
	return deps{db: db, acc: a.Accounts, wf: a.Workflow, im: a.Importer}
}

func ev(action, at, actor string, comment ...string) imports.Event {
	return imports.Event{Action: action, At: apptest.Time(at), ActorEmail: actor, Comment: strings.Join(comment, " ")}
}

// rec is a request filed by req@<requesting>.gov.sg.
func rec(ref, requesting, owner, classification string, events ...imports.Event) imports.Record {
	return imports.Record{
		ExternalRef: ref, Title: "Title " + ref, Purpose: "Purpose " + ref, DataDescription: "Data " + ref,
		Classification: classification, RequestingAgency: requesting, OwnerAgency: owner,
		RequesterEmail: "req@" + strings.ToLower(requesting) + ".gov.sg", Events: events,
	}
}

// Good records. Calendar: Mon–Thu 08:30–18:00 (13:15 is half the day),
// Fri 08:30–17:30; Good Friday 18 Apr 2025 is a holiday.
var (
	// Mon 6 Jan 13:15 + 7 working days = Wed 15 Jan 13:15; warning (5)
	// Mon 13 Jan 13:15. Approved Thu 9 Jan 13:15 (3.0 submitted), fulfilled
	// Fri 10 Jan 13:00 (half of Friday: 1.0 approved); elapsed 4.0.
	good1 = rec("IMP-1", "MSF", "MOH", "official-open",
		ev("create", "2025-01-06T09:00:00+08:00", "req@msf.gov.sg"),
		ev("submit", "2025-01-06T13:15:00+08:00", "req@msf.gov.sg"),
		ev("approve", "2025-01-09T13:15:00+08:00", "approver1@moh.gov.sg"),
		ev("fulfil", "2025-01-10T13:00:00+08:00", "approver1@moh.gov.sg"))
	// Restricted (two approvals), paused. Mon 7 Apr 13:15; paused Wed 9 Apr
	// 13:15 after 2.0 days, resumed Mon 14 Apr 13:15 (3.0 days paused). The
	// 5.0 days left: Tue 15, Wed 16, Thu 17, (Good Friday), Mon 21, Tue 22
	// → due Tue 22 Apr 13:15; warning (3.0 left) Thu 17 Apr 13:15. First
	// approval Tue 15 Apr 13:15, second Wed 16 Apr 13:15: approved, open,
	// running since the response; 2.0 + 2.0 = 4.0 days submitted.
	good2 = rec("IMP-2", "MOM", "MOH", "restricted",
		ev("submit", "2025-04-07T13:15:00+08:00", "req@mom.gov.sg"),
		ev("request_clarification", "2025-04-09T13:15:00+08:00", "approver1@moh.gov.sg", "Which columns?"),
		ev("respond", "2025-04-14T13:15:00+08:00", "req@mom.gov.sg", "Columns A to C"),
		ev("approve", "2025-04-15T13:15:00+08:00", "approver1@moh.gov.sg"),
		ev("approve", "2025-04-16T13:15:00+08:00", "approver2@moh.gov.sg"))
	// Submitted Sat 1 Mar 11:00: the clock starts Mon 3 Mar 08:30; due at
	// the close of Tue 11 Mar (18:00), warning at the close of Fri 7 Mar
	// (17:30). Withdrawn Wed 5 Mar 13:15: 1 + 1 + 0.5 = 2.5 days.
	good3 = rec("IMP-3", "HDB", "MOM", "official-open",
		ev("submit", "2025-03-01T11:00:00+08:00", "req@hdb.gov.sg"),
		ev("withdraw", "2025-03-05T13:15:00+08:00", "req@hdb.gov.sg"))
)

// Bad records: each must be reported with its external_ref and leave
// nothing behind, whatever event fails.
var bad = []struct {
	rec     imports.Record
	mention string // a word the message must contain
}{
	{rec("BAD-requester-approves", "MSF", "MOH", "official-open",
		ev("submit", "2025-01-06T13:15:00+08:00", "req@msf.gov.sg"),
		ev("approve", "2025-01-07T10:00:00+08:00", "req@msf.gov.sg")), "approve"},
	{rec("BAD-other-agency-approves", "MSF", "MOH", "official-open",
		ev("submit", "2025-01-06T13:15:00+08:00", "req@msf.gov.sg"),
		ev("approve", "2025-01-07T10:00:00+08:00", "approver1@mom.gov.sg")), "approve"},
	{rec("BAD-unknown-action", "MSF", "MOH", "official-open",
		ev("submit", "2025-01-06T13:15:00+08:00", "req@msf.gov.sg"),
		ev("expedite", "2025-01-07T10:00:00+08:00", "approver1@moh.gov.sg")), "expedite"},
	{rec("BAD-times-go-back", "MSF", "MOH", "official-open",
		ev("submit", "2025-01-08T13:15:00+08:00", "req@msf.gov.sg"),
		ev("approve", "2025-01-07T10:00:00+08:00", "approver1@moh.gov.sg")), "event 2"},
	{rec("BAD-times-equal", "MSF", "MOH", "official-open",
		ev("submit", "2025-01-08T13:15:00+08:00", "req@msf.gov.sg"),
		ev("approve", "2025-01-08T13:15:00+08:00", "approver1@moh.gov.sg")), "event 2"},
	{rec("BAD-in-the-future", "MSF", "MOH", "official-open",
		ev("submit", "2025-06-30T11:00:00+08:00", "req@msf.gov.sg"),
		ev("approve", "2025-06-30T13:00:00+08:00", "approver1@moh.gov.sg")), "future"},
	{rec("BAD-created-in-the-future", "MSF", "MOH", "official-open",
		ev("create", "2025-07-01T09:00:00+08:00", "req@msf.gov.sg")), "future"},
	{func() imports.Record {
		r := rec("BAD-unknown-requester", "MSF", "MOH", "official-open",
			ev("submit", "2025-01-06T13:15:00+08:00", "nobody@msf.gov.sg"))
		r.RequesterEmail = "nobody@msf.gov.sg"
		return r
	}(), "nobody@msf.gov.sg"},
	{func() imports.Record {
		r := rec("BAD-requester-of-another-agency", "HDB", "MOH", "official-open",
			ev("submit", "2025-01-06T13:15:00+08:00", "req@msf.gov.sg"))
		r.RequesterEmail = "req@msf.gov.sg"
		return r
	}(), "HDB"},
	{rec("BAD-unknown-actor", "MSF", "MOH", "official-open",
		ev("submit", "2025-01-06T13:15:00+08:00", "req@msf.gov.sg"),
		ev("approve", "2025-01-07T10:00:00+08:00", "ghost@moh.gov.sg")), "ghost@moh.gov.sg"},
	{rec("BAD-reject-without-comment", "MSF", "MOH", "official-open",
		ev("submit", "2025-01-06T13:15:00+08:00", "req@msf.gov.sg"),
		ev("reject", "2025-01-07T10:00:00+08:00", "approver1@moh.gov.sg")), "comment"},
	{rec("BAD-fulfil-before-approval", "MSF", "MOH", "official-open",
		ev("submit", "2025-01-06T13:15:00+08:00", "req@msf.gov.sg"),
		ev("fulfil", "2025-01-07T10:00:00+08:00", "approver1@moh.gov.sg")), "fulfil"},
	{rec("BAD-owner-is-requester", "MSF", "MSF", "official-open",
		ev("submit", "2025-01-06T13:15:00+08:00", "req@msf.gov.sg")), "owner_agency"},
	// The failure comes last, after four events were written.
	{rec("BAD-late-failure", "MSF", "MOH", "restricted",
		ev("create", "2025-01-06T09:00:00+08:00", "req@msf.gov.sg"),
		ev("submit", "2025-01-06T13:15:00+08:00", "req@msf.gov.sg"),
		ev("approve", "2025-01-07T10:00:00+08:00", "approver1@moh.gov.sg"),
		ev("approve", "2025-01-08T10:00:00+08:00", "approver2@moh.gov.sg"),
		ev("approve", "2025-01-09T10:00:00+08:00", "approver2@moh.gov.sg")), "approve"},
}

// batch interleaves good and bad records.
func batch() imports.Batch {
	var b imports.Batch
	b.Requests = append(b.Requests, bad[0].rec, good1)
	for _, x := range bad[1:7] {
		b.Requests = append(b.Requests, x.rec)
	}
	b.Requests = append(b.Requests, good2)
	for _, x := range bad[7:] {
		b.Requests = append(b.Requests, x.rec)
	}
	b.Requests = append(b.Requests, good3)
	return b
}

type histRow struct {
	action, from, to, actor string
	at                      time.Time
}

func history(t *testing.T, db *models.DB, id int64) []histRow {
	t.Helper()
	var ts []models.Transition
	if err := db.Gorm.Preload("Actor").Where("request_id = ?", id).Order("id").Find(&ts).Error; err != nil {
		t.Fatal(err)
	}
	var out []histRow
	for _, tr := range ts {
		h := histRow{action: tr.Action, to: tr.ToState, at: tr.At, from: "-", actor: "-"}
		if tr.FromState != nil {
			h.from = *tr.FromState
		}
		if tr.Actor != nil {
			h.actor = tr.Actor.Email
		}
		out = append(out, h)
	}
	return out
}

func fmtHist(hs []histRow) string {
	var b strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&b, "\n\t%s %s→%s by %s at %s", h.action, h.from, h.to, h.actor, h.at.UTC().Format(time.RFC3339Nano))
	}
	return b.String()
}

func sameHist(a, b []histRow) bool {
	return slices.EqualFunc(a, b, func(x, y histRow) bool {
		return x.action == y.action && x.from == y.from && x.to == y.to && x.actor == y.actor && x.at.Equal(y.at)
	})
}

func h(action, from, to, actor, at string) histRow {
	return histRow{action: action, from: from, to: to, actor: actor, at: apptest.Time(at)}
}

// want is the stored state of one imported request.
type want struct {
	ref                   string
	state                 string
	created, submitted    string
	closed                string
	version               int
	approvers             []string
	history               []histRow
	due, warn, running    string
	stateSince            string
	elapsed               float64
	daysSub, daysClar, da float64
}

var wants = []want{
	{
		ref: "IMP-1", state: "fulfilled", version: 4,
		created: "2025-01-06T09:00:00+08:00", submitted: "2025-01-06T13:15:00+08:00", closed: "2025-01-10T13:00:00+08:00",
		approvers: []string{"approver1@moh.gov.sg"},
		history: []histRow{
			h("create", "-", "draft", "req@msf.gov.sg", "2025-01-06T09:00:00+08:00"),
			h("submit", "draft", "submitted", "req@msf.gov.sg", "2025-01-06T13:15:00+08:00"),
			h("approve", "submitted", "approved", "approver1@moh.gov.sg", "2025-01-09T13:15:00+08:00"),
			h("fulfil", "approved", "fulfilled", "approver1@moh.gov.sg", "2025-01-10T13:00:00+08:00"),
		},
		due: "2025-01-15T13:15:00+08:00", warn: "2025-01-13T13:15:00+08:00", stateSince: "2025-01-10T13:00:00+08:00",
		elapsed: 4.0, daysSub: 3.0, da: 1.0,
	},
	{
		// No create event: created at the first event.
		ref: "IMP-2", state: "approved", version: 6,
		created: "2025-04-07T13:15:00+08:00", submitted: "2025-04-07T13:15:00+08:00",
		approvers: []string{"approver1@moh.gov.sg", "approver2@moh.gov.sg"},
		history: []histRow{
			h("create", "-", "draft", "req@mom.gov.sg", "2025-04-07T13:15:00+08:00"),
			h("submit", "draft", "submitted", "req@mom.gov.sg", "2025-04-07T13:15:00+08:00"),
			h("request_clarification", "submitted", "clarification_requested", "approver1@moh.gov.sg", "2025-04-09T13:15:00+08:00"),
			h("respond", "clarification_requested", "submitted", "req@mom.gov.sg", "2025-04-14T13:15:00+08:00"),
			h("approve", "submitted", "submitted", "approver1@moh.gov.sg", "2025-04-15T13:15:00+08:00"),
			h("approve", "submitted", "approved", "approver2@moh.gov.sg", "2025-04-16T13:15:00+08:00"),
		},
		due: "2025-04-22T13:15:00+08:00", warn: "2025-04-17T13:15:00+08:00",
		running: "2025-04-14T13:15:00+08:00", stateSince: "2025-04-16T13:15:00+08:00",
		elapsed: 2.0, daysSub: 4.0, daysClar: 3.0,
	},
	{
		ref: "IMP-3", state: "withdrawn", version: 3,
		created: "2025-03-01T11:00:00+08:00", submitted: "2025-03-01T11:00:00+08:00", closed: "2025-03-05T13:15:00+08:00",
		history: []histRow{
			h("create", "-", "draft", "req@hdb.gov.sg", "2025-03-01T11:00:00+08:00"),
			h("submit", "draft", "submitted", "req@hdb.gov.sg", "2025-03-01T11:00:00+08:00"),
			h("withdraw", "submitted", "withdrawn", "req@hdb.gov.sg", "2025-03-05T13:15:00+08:00"),
		},
		due: "2025-03-11T18:00:00+08:00", warn: "2025-03-07T17:30:00+08:00", stateSince: "2025-03-05T13:15:00+08:00",
		elapsed: 2.5, daysSub: 2.5,
	},
}

func checkTime(t *testing.T, name string, got *time.Time, w string) {
	t.Helper()
	switch {
	case w == "" && got != nil:
		t.Errorf("%s: got %s, want none", name, got.UTC().Format(time.RFC3339Nano))
	case w != "" && got == nil:
		t.Errorf("%s: got none, want %s", name, apptest.Time(w).UTC().Format(time.RFC3339))
	case w != "" && !got.Equal(apptest.Time(w)):
		t.Errorf("%s: got %s, want %s", name, got.UTC().Format(time.RFC3339Nano), apptest.Time(w).UTC().Format(time.RFC3339))
	}
}

func near(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }

func checkStored(t *testing.T, db *models.DB, w want) {
	t.Helper()
	var r models.Request
	if err := db.Gorm.Where("external_ref = ?", w.ref).Take(&r).Error; err != nil {
		t.Fatalf("%s: %v", w.ref, err)
	}
	if r.State != w.state || r.Version != w.version {
		t.Errorf("state, version: got %s, %d, want %s, %d", r.State, r.Version, w.state, w.version)
	}
	checkTime(t, "created_at", &r.CreatedAt, w.created)
	checkTime(t, "submitted_at", r.SubmittedAt, w.submitted)
	checkTime(t, "closed_at", r.ClosedAt, w.closed)
	if got := history(t, db, r.ID); !sameHist(got, w.history) {
		t.Errorf("history:\n got %s\nwant %s", fmtHist(got), fmtHist(w.history))
	}
	var approvals []models.Approval
	if err := db.Gorm.Preload("Approver").Where("request_id = ?", r.ID).Order("at").Find(&approvals).Error; err != nil {
		t.Fatal(err)
	}
	var approvers []string
	for _, a := range approvals {
		approvers = append(approvers, a.Approver.Email)
	}
	if !slices.Equal(approvers, w.approvers) {
		t.Errorf("approvals: got %q, want %q", approvers, w.approvers)
	}
	c := r.SLA
	if c.Target == nil || *c.Target != 7 {
		t.Errorf("sla_target: got %v, want 7", c.Target)
	}
	checkTime(t, "sla_due_at", c.DueAt, w.due)
	checkTime(t, "sla_warn_at", c.WarnAt, w.warn)
	checkTime(t, "sla_running_since", c.RunningSince, w.running)
	checkTime(t, "state_since", c.StateSince, w.stateSince)
	for _, f := range []struct {
		name      string
		got, want float64
	}{
		{"sla_elapsed", c.Elapsed, w.elapsed},
		{"days_submitted", c.DaysSubmitted, w.daysSub},
		{"days_clarification_requested", c.DaysClarification, w.daysClar},
		{"days_approved", c.DaysApproved, w.da},
	} {
		if !near(f.got, f.want) {
			t.Errorf("%s: got %v, want %v", f.name, f.got, f.want)
		}
	}
	if c.AtRiskFlaggedAt != nil || c.BreachedFlaggedAt != nil {
		t.Errorf("flags: got %v, %v, want none (the import is not the check)", c.AtRiskFlaggedAt, c.BreachedFlaggedAt)
	}
}

func count(t *testing.T, db *models.DB, model any) int64 {
	t.Helper()
	var n int64
	if err := db.Gorm.Model(model).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportReplaysHistoriesAndRejectsBadRecordsWhole(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		d := newDeps(t, db)
		ctx := context.Background()
		b := batch()
		res, err := d.im.Import(ctx, apptest.Admin, b)
		if err != nil {
			t.Fatalf("import: %v", err)
		}
		if res.Imported != 3 || res.Skipped != 0 {
			t.Errorf("imported, skipped: got %d, %d, want 3, 0", res.Imported, res.Skipped)
		}
		var gotRefs []string
		for _, e := range res.Errors {
			gotRefs = append(gotRefs, e.ExternalRef)
		}
		var wantRefs []string
		for _, r := range b.Requests {
			if strings.HasPrefix(r.ExternalRef, "BAD-") {
				wantRefs = append(wantRefs, r.ExternalRef)
			}
		}
		if !slices.Equal(gotRefs, wantRefs) {
			t.Errorf("errors: got refs %q, want %q (in batch order)", gotRefs, wantRefs)
		}
		for _, x := range bad {
			i := slices.IndexFunc(res.Errors, func(e imports.RecordError) bool { return e.ExternalRef == x.rec.ExternalRef })
			if i < 0 {
				continue
			}
			if msg := res.Errors[i].Message; !strings.Contains(msg, x.mention) {
				t.Errorf("%s: message %q does not mention %q", x.rec.ExternalRef, msg, x.mention)
			}
		}

		// Nothing of a bad record is left: no request, no history row, no
		// approval.
		var refs []string
		if err := db.Gorm.Model(&models.Request{}).Order("external_ref").Pluck("external_ref", &refs).Error; err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(refs, []string{"IMP-1", "IMP-2", "IMP-3"}) {
			t.Errorf("stored requests: got %q, want IMP-1, IMP-2, IMP-3", refs)
		}
		// 4 + 6 + 3 history rows, 1 + 2 approvals.
		if n := count(t, db, &models.Transition{}); n != 13 {
			t.Errorf("history rows: got %d, want 13 (those of the good records only)", n)
		}
		if n := count(t, db, &models.Approval{}); n != 3 {
			t.Errorf("approvals: got %d, want 3", n)
		}
		for _, w := range wants {
			t.Run(w.ref, func(t *testing.T) { checkStored(t, db, w) })
		}

		// Again: what is there is skipped, the bad records fail again, and
		// nothing changes.
		res, err = d.im.Import(ctx, apptest.Admin, b)
		if err != nil {
			t.Fatalf("re-import: %v", err)
		}
		if res.Imported != 0 || res.Skipped != 3 || len(res.Errors) != len(bad) {
			t.Errorf("re-import: got imported %d, skipped %d, %d errors; want 0, 3, %d", res.Imported, res.Skipped, len(res.Errors), len(bad))
		}
		if n := count(t, db, &models.Transition{}); n != 13 {
			t.Errorf("history rows after re-import: got %d, want 13", n)
		}
		if n := count(t, db, &models.Request{}); n != 3 {
			t.Errorf("requests after re-import: got %d, want 3", n)
		}
		for _, w := range wants {
			t.Run(w.ref+" after re-import", func(t *testing.T) { checkStored(t, db, w) })
		}

		// Only the good records: all skipped.
		res, err = d.im.Import(ctx, apptest.Admin, imports.Batch{Requests: []imports.Record{good1, good2, good3}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Imported != 0 || res.Skipped != 3 || len(res.Errors) != 0 {
			t.Errorf("re-import of the good records: got %+v, want imported 0, skipped 3, no errors", res)
		}
	})
}

// Timestamps are stored in UTC: on SQLite, where times are compared as
// text, an offset other than +00:00 would make every comparison of the
// check and the report wrong.
func TestImportStoresUTCTimestampsOnSQLite(t *testing.T) {
	db := modelstest.MustOpen(t, models.SQLite)
	d := newDeps(t, db)
	if _, err := d.im.Import(context.Background(), apptest.Admin, imports.Batch{Requests: []imports.Record{good1, good2, good3}}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"SELECT CAST(at AS TEXT) FROM transitions",
		"SELECT CAST(at AS TEXT) FROM approvals",
		"SELECT CAST(created_at AS TEXT) FROM requests",
		"SELECT CAST(submitted_at AS TEXT) FROM requests WHERE submitted_at IS NOT NULL",
		"SELECT CAST(closed_at AS TEXT) FROM requests WHERE closed_at IS NOT NULL",
		"SELECT CAST(sla_due_at AS TEXT) FROM requests WHERE sla_due_at IS NOT NULL",
		"SELECT CAST(sla_warn_at AS TEXT) FROM requests WHERE sla_warn_at IS NOT NULL",
		"SELECT CAST(sla_running_since AS TEXT) FROM requests WHERE sla_running_since IS NOT NULL",
		"SELECT CAST(state_since AS TEXT) FROM requests WHERE state_since IS NOT NULL",
	} {
		var texts []string
		if err := db.Gorm.Raw(q).Scan(&texts).Error; err != nil {
			t.Fatal(err)
		}
		if len(texts) == 0 {
			t.Errorf("%s: no rows", q)
		}
		for _, s := range texts {
			if !strings.HasSuffix(s, "+00:00") {
				t.Errorf("%s: got %q, want a UTC time (+00:00)", q, s)
			}
		}
	}
}

func TestImportRefusesWhatIsNotAnImport(t *testing.T) {
	db := modelstest.MustOpen(t, models.SQLite)
	d := newDeps(t, db)
	ctx := context.Background()
	requester := workflow.Actor{ID: 1, Agency: "MSF", Roles: []workflow.Role{workflow.Requester}}
	if _, err := d.im.Import(ctx, requester, imports.Batch{Requests: []imports.Record{good1}}); !errs.Is(err, errs.Forbidden) {
		t.Errorf("import by a requester: got %v, want forbidden", err)
	}
	if _, err := d.im.Import(ctx, apptest.Admin, imports.Batch{}); !errs.Is(err, errs.Invalid) {
		t.Errorf("empty import: got %v, want invalid", err)
	}
	if n := count(t, db, &models.Request{}); n != 0 {
		t.Errorf("requests: got %d, want 0", n)
	}
	// A record twice in one batch: the first is imported, the second
	// reported.
	res, err := d.im.Import(ctx, apptest.Admin, imports.Batch{Requests: []imports.Record{good1, good1}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 1 || len(res.Errors) != 1 || res.Errors[0].ExternalRef != "IMP-1" {
		t.Errorf("duplicate in batch: got %+v, want 1 imported and an error for IMP-1", res)
	}
}

// The CSV form: one row per event, rows of a request together.
const csvBatch = `external_ref,title,purpose,data_description,classification,requesting_agency,owner_agency,requester_email,action,at,actor_email,comment
IMP-1,Title IMP-1,Purpose IMP-1,Data IMP-1,official-open,MSF,MOH,req@msf.gov.sg,create,2025-01-06T09:00:00+08:00,req@msf.gov.sg,
IMP-1,Title IMP-1,Purpose IMP-1,Data IMP-1,official-open,MSF,MOH,req@msf.gov.sg,submit,2025-01-06T13:15:00+08:00,req@msf.gov.sg,
IMP-1,Title IMP-1,Purpose IMP-1,Data IMP-1,official-open,MSF,MOH,req@msf.gov.sg,approve,2025-01-09T13:15:00+08:00,approver1@moh.gov.sg,
IMP-1,Title IMP-1,Purpose IMP-1,Data IMP-1,official-open,MSF,MOH,req@msf.gov.sg,fulfil,2025-01-10T13:00:00+08:00,approver1@moh.gov.sg,
IMP-2,Title IMP-2,Purpose IMP-2,Data IMP-2,restricted,MOM,MOH,req@mom.gov.sg,submit,2025-04-07T13:15:00+08:00,req@mom.gov.sg,
IMP-2,Title IMP-2,Purpose IMP-2,Data IMP-2,restricted,MOM,MOH,req@mom.gov.sg,request_clarification,2025-04-09T13:15:00+08:00,approver1@moh.gov.sg,Which columns?
IMP-2,Title IMP-2,Purpose IMP-2,Data IMP-2,restricted,MOM,MOH,req@mom.gov.sg,respond,2025-04-14T13:15:00+08:00,req@mom.gov.sg,Columns A to C
IMP-2,Title IMP-2,Purpose IMP-2,Data IMP-2,restricted,MOM,MOH,req@mom.gov.sg,approve,2025-04-15T13:15:00+08:00,approver1@moh.gov.sg,
IMP-2,Title IMP-2,Purpose IMP-2,Data IMP-2,restricted,MOM,MOH,req@mom.gov.sg,approve,2025-04-16T13:15:00+08:00,approver2@moh.gov.sg,
IMP-3,Title IMP-3,Purpose IMP-3,Data IMP-3,official-open,HDB,MOM,req@hdb.gov.sg,submit,2025-03-01T11:00:00+08:00,req@hdb.gov.sg,
IMP-3,Title IMP-3,Purpose IMP-3,Data IMP-3,official-open,HDB,MOM,req@hdb.gov.sg,withdraw,2025-03-05T13:15:00+08:00,req@hdb.gov.sg,
`

// The same three records as JSON.
const jsonBatch = `{"requests":[
{"external_ref":"IMP-1","title":"Title IMP-1","purpose":"Purpose IMP-1","data_description":"Data IMP-1","classification":"official-open",
 "requesting_agency":"MSF","owner_agency":"MOH","requester_email":"req@msf.gov.sg","events":[
 {"action":"create","at":"2025-01-06T09:00:00+08:00","actor_email":"req@msf.gov.sg","comment":""},
 {"action":"submit","at":"2025-01-06T13:15:00+08:00","actor_email":"req@msf.gov.sg","comment":""},
 {"action":"approve","at":"2025-01-09T13:15:00+08:00","actor_email":"approver1@moh.gov.sg","comment":""},
 {"action":"fulfil","at":"2025-01-10T13:00:00+08:00","actor_email":"approver1@moh.gov.sg","comment":""}]},
{"external_ref":"IMP-2","title":"Title IMP-2","purpose":"Purpose IMP-2","data_description":"Data IMP-2","classification":"restricted",
 "requesting_agency":"MOM","owner_agency":"MOH","requester_email":"req@mom.gov.sg","events":[
 {"action":"submit","at":"2025-04-07T13:15:00+08:00","actor_email":"req@mom.gov.sg","comment":""},
 {"action":"request_clarification","at":"2025-04-09T13:15:00+08:00","actor_email":"approver1@moh.gov.sg","comment":"Which columns?"},
 {"action":"respond","at":"2025-04-14T13:15:00+08:00","actor_email":"req@mom.gov.sg","comment":"Columns A to C"},
 {"action":"approve","at":"2025-04-15T13:15:00+08:00","actor_email":"approver1@moh.gov.sg","comment":""},
 {"action":"approve","at":"2025-04-16T13:15:00+08:00","actor_email":"approver2@moh.gov.sg","comment":""}]},
{"external_ref":"IMP-3","title":"Title IMP-3","purpose":"Purpose IMP-3","data_description":"Data IMP-3","classification":"official-open",
 "requesting_agency":"HDB","owner_agency":"MOM","requester_email":"req@hdb.gov.sg","events":[
 {"action":"submit","at":"2025-03-01T11:00:00+08:00","actor_email":"req@hdb.gov.sg","comment":""},
 {"action":"withdraw","at":"2025-03-05T13:15:00+08:00","actor_email":"req@hdb.gov.sg","comment":""}]}
]}`

// describe renders a batch with instants in UTC, so that two batches read
// from different forms compare equal when they mean the same.
func describe(b imports.Batch) string {
	var s strings.Builder
	for _, r := range b.Requests {
		fmt.Fprintf(&s, "%s|%s|%s|%s|%s|%s|%s|%s|%v|%v\n", r.ExternalRef, r.Title, r.Purpose, r.DataDescription, r.Classification,
			r.RequestingAgency, r.OwnerAgency, r.RequesterEmail, r.LegalBasis, r.Project)
		for _, e := range r.Events {
			fmt.Fprintf(&s, "\t%s|%s|%s|%s\n", e.Action, e.At.UTC().Format(time.RFC3339Nano), e.ActorEmail, e.Comment)
		}
	}
	return s.String()
}

func TestReadCSVEqualsTheJSONForm(t *testing.T) {
	fromCSV, err := imports.ReadCSV(strings.NewReader(csvBatch))
	if err != nil {
		t.Fatalf("read CSV: %v", err)
	}
	fromJSON, err := imports.ReadFile(strings.NewReader(jsonBatch), "batch.json")
	if err != nil {
		t.Fatalf("read JSON: %v", err)
	}
	viaFile, err := imports.ReadFile(strings.NewReader(csvBatch), "Batch.CSV")
	if err != nil {
		t.Fatalf("read CSV file: %v", err)
	}
	want := describe(imports.Batch{Requests: []imports.Record{good1, good2, good3}})
	for name, b := range map[string]imports.Batch{"CSV": fromCSV, "JSON": fromJSON, "CSV by file name": viaFile} {
		if got := describe(b); got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}

	// Imported, the CSV gives what the Go records give.
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		d := newDeps(t, db)
		res, err := d.im.Import(context.Background(), apptest.Admin, fromCSV)
		if err != nil || res.Imported != 3 || len(res.Errors) != 0 {
			t.Fatalf("import CSV: got %+v, %v, want 3 imported", res, err)
		}
		for _, w := range wants {
			t.Run(w.ref, func(t *testing.T) { checkStored(t, db, w) })
		}
	})
}

func TestReadFileTakesABareListOfRequests(t *testing.T) {
	inner := strings.TrimSpace(jsonBatch)
	inner = strings.TrimSuffix(strings.TrimPrefix(inner, `{"requests":`), "}")
	b, err := imports.ReadFile(strings.NewReader(inner), "batch.json")
	if err != nil {
		t.Fatalf("read a bare list: got %v, want no error", err)
	}
	if got, want := describe(b), describe(imports.Batch{Requests: []imports.Record{good1, good2, good3}}); got != want {
		t.Errorf("bare list:\n got %s\nwant %s", got, want)
	}
	_, err = imports.ReadFile(strings.NewReader(`{"records": []}`), "batch.json")
	if err == nil || !strings.Contains(err.Error(), `{"requests": [...]}`) {
		t.Errorf("unknown top-level field: got %v, want an error naming the expected shape", err)
	}
}

func TestReadCSVRejectsMalformedFiles(t *testing.T) {
	for _, c := range []struct{ name, csv string }{
		{"missing column", "external_ref,title\nX,Y\n"},
		{"bad time", strings.Replace(csvBatch, "2025-01-06T09:00:00+08:00", "06/01/2025 09:00", 1)},
		{"time without zone", strings.Replace(csvBatch, "2025-01-06T09:00:00+08:00", "2025-01-06T09:00:00", 1)},
		{"empty", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if b, err := imports.ReadCSV(strings.NewReader(c.csv)); err == nil {
				t.Errorf("got %d records and no error, want an error", len(b.Requests))
			}
		})
	}
}

func TestSourcesReadPastABadRecordAndBoundEachRecord(t *testing.T) {
	big := `{"requests":[{"external_ref":"BIG","title":"` + strings.Repeat("a", imports.MaxRecordBytes+10_000) + `"}]}`
	tests := []struct {
		name string
		src  imports.Source
		want string // records and errors, in order
	}{
		{"a JSON record of the wrong type is refused, the next read",
			imports.NewJSONSource(strings.NewReader(`{"requests":[{"external_ref":"A","title":5},{"external_ref":"B"}]}`), false),
			"bad A: record 1: title must be a JSON number|B|EOF"},
		{"an unknown field refuses its record",
			imports.NewJSONSource(strings.NewReader(`{"requests":[{"external_ref":"A","colour":"red"},{"external_ref":"B"}]}`), false),
			`bad A: record 1: unknown field "colour"|B|EOF`},
		{"a record past 1 MiB stops the reading",
			imports.NewJSONSource(strings.NewReader(big), false), "error: a record is larger than 1048576 bytes (1 MiB), the most one record may hold"},
		{"a bare list when the shape is required",
			imports.NewJSONSource(strings.NewReader(`[{"external_ref":"A"}]`), false), `error: send the requests as {"requests": [...]}, not a bare JSON list`},
		{"data after the import",
			imports.NewJSONSource(strings.NewReader(`{"requests":[{"external_ref":"A"}]} {}`), false), "A|error: the body goes on after the import"},
		{"a CSV record with a bad time is refused, the next read",
			imports.NewCSVSource(strings.NewReader(strings.Replace(csvBatch, "2025-01-06T09:00:00+08:00", "yesterday", 1))),
			`bad IMP-1: CSV line 2: at must be RFC 3339 like 2025-01-06T10:00:00+08:00, got "yesterday"|IMP-2|IMP-3|EOF`},
		{"a short CSV row refuses its record",
			imports.NewCSVSource(strings.NewReader(strings.SplitN(csvBatch, "\n", 2)[0] + "\nIMP-9,x\n" + strings.SplitN(csvBatch, "\n", 2)[1])),
			"bad IMP-9: CSV line 2 has 2 fields, want 12 as the header|IMP-1|IMP-2|IMP-3|EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for range 10 {
				rec, err := tt.src.Next()
				var bad *imports.BadRecord
				if errors.As(err, &bad) {
					got = append(got, "bad "+bad.ExternalRef+": "+bad.Message)
					continue
				}
				if err == io.EOF {
					got = append(got, "EOF")
					break
				}
				if err != nil {
					var e *errs.Error
					if !errors.As(err, &e) {
						t.Fatalf("error %v is not an errs.Error", err)
					}
					got = append(got, "error: "+e.Message)
					break
				}
				got = append(got, rec.ExternalRef)
			}
			if g := strings.Join(got, "|"); g != tt.want {
				t.Fatalf("got  %s\nwant %s", g, tt.want)
			}
		})
	}
}
