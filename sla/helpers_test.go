package sla_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm/clause"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/holidays"
	"datashare/imports"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/sla"
	"datashare/workflow"
)

// The helpers of this file carry a "fx" prefix (fixture) so that they do not
// collide with helpers of the other test files of the package.

// fxNow is the fixed clock of every test of this package: Monday 30 June
// 2025, noon in Singapore, after every imported event.
var fxNow = apptest.Time("2025-06-30T12:00:00+08:00")

// fxEnv is the services wired over one database as api's mustDeps wires
// them, with a fixed clock.
type fxEnv struct {
	db       *models.DB
	now      time.Time
	hol      *holidays.Service
	keeper   *sla.Keeper
	acc      *accounts.Service
	wf       *workflow.Service
	importer *imports.Importer
	checker  *sla.Checker
	reporter *sla.Reporter
	users    map[string]models.User // by email
}

func fxNewEnv(tb testing.TB, db *models.DB, now time.Time) *fxEnv {
	tb.Helper()
	a := apptest.Wire(tb, db, apptest.Options{Now: func() time.Time { return now }})
	e := &fxEnv{
		db: db, now: now, hol: a.Holidays, keeper: a.Keeper, acc: a.Accounts, wf: a.Workflow,
		importer: a.Importer, checker: a.Checker, reporter: a.Reporter,
	}
	e.users = a.MustSeed(tb, apptest.CastAgencies, apptest.CastPeople)
	return e
}

// fxEv is one imported event.
func fxEv(action, at, actor string, comment ...string) imports.Event {
	return imports.Event{Action: action, At: apptest.Time(at), ActorEmail: actor, Comment: strings.Join(comment, " ")}
}

// fxRec is one imported request; the requester is req@<requesting>.gov.sg.
func fxRec(ref, requesting, owner, classification string, events ...imports.Event) imports.Record {
	return imports.Record{
		ExternalRef: ref, Title: "Request " + ref, Purpose: "Purpose of " + ref, DataDescription: "Data of " + ref,
		Classification: classification, RequestingAgency: requesting, OwnerAgency: owner,
		RequesterEmail: "req@" + strings.ToLower(requesting) + ".gov.sg", Events: events,
	}
}

// fxImport imports records and fails the test on any record error.
func (e *fxEnv) fxImport(tb testing.TB, recs []imports.Record) {
	tb.Helper()
	res, err := e.importer.Import(context.Background(), apptest.Admin, imports.Batch{Requests: recs})
	if err != nil {
		tb.Fatalf("import: %v", err)
	}
	if len(res.Errors) > 0 || res.Imported != len(recs) {
		tb.Fatalf("import: got imported %d, errors %+v; want imported %d, no errors", res.Imported, res.Errors, len(recs))
	}
}

// fxByRef returns the stored request with that external_ref.
func fxByRef(tb testing.TB, db *models.DB, ref string) models.Request {
	tb.Helper()
	var r models.Request
	if err := db.Gorm.Where("external_ref = ?", ref).Take(&r).Error; err != nil {
		tb.Fatalf("request %s: %v", ref, err)
	}
	return r
}

// fxRefsByID maps request ids to their external_ref.
func fxRefsByID(tb testing.TB, db *models.DB) map[int64]string {
	tb.Helper()
	var rs []models.Request
	if err := db.Gorm.Select("id", "external_ref").Find(&rs).Error; err != nil {
		tb.Fatal(err)
	}
	out := map[int64]string{}
	for _, r := range rs {
		ref := ""
		if r.ExternalRef != nil {
			ref = *r.ExternalRef
		}
		out[r.ID] = ref
	}
	return out
}

func fxClose(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func fxFmtF(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprintf("%v", *p)
}

func fxSameF(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return fxClose(*a, *b)
}

func fxF(v float64) *float64 { return &v }

func fxFmtT(p *time.Time) string {
	if p == nil {
		return "null"
	}
	return p.In(apptest.SGT).Format(time.RFC3339Nano)
}

// fxOpenTwice opens the same fresh, migrated database through two separate
// *models.DB, as two replicas would.
func fxOpenTwice(tb testing.TB, d models.Dialect) (*models.DB, *models.DB) {
	tb.Helper()
	dsn := modelstest.DSN(tb, d)
	a, err := models.Open(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	if err := a.Migrate(context.Background(), nil); err != nil {
		tb.Fatal(err)
	}
	b, err := models.Open(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return a, b
}

// fxInsertSubmitted inserts n requests submitted at the given instants (one
// per request, cycling) straight into the table, with the clock columns the
// Keeper stamps on submission; it returns their ids. It is how the tests and
// benchmarks make many requests quickly.
func fxInsertSubmitted(tb testing.TB, db *models.DB, k *sla.Keeper, requester models.User, owner string, n int, submitted ...time.Time) []int64 {
	tb.Helper()
	rows := make([]models.Request, 0, n)
	for i := 0; i < n; i++ {
		at := submitted[i%len(submitted)].UTC()
		created := at.Add(-time.Hour)
		r := models.Request{
			Title: fmt.Sprintf("bulk %d", i), Purpose: "bulk", DataDescription: "bulk", Classification: "official-open",
			RequestingAgency: requester.AgencyCode, OwnerAgency: owner, RequesterID: requester.ID,
			State: "draft", ApprovalsRequired: 1, Version: 2, CreatedAt: created, UpdatedAt: at, SubmittedAt: &at,
		}
		r.SLA.StateSince = &created
		k.Stamp(&r, "draft", "submitted", at)
		r.State = "submitted"
		rows = append(rows, r)
	}
	if err := db.Gorm.Omit(clause.Associations).CreateInBatches(rows, 500).Error; err != nil {
		tb.Fatalf("insert requests: %v", err)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	slices.Sort(ids)
	return ids
}

// fxReportRecords are requests with known histories. Calendar: Mon–Thu
// 08:30–18:00 (9.5 h = 1 working day, so 57 min = 0.1 day and 13:15 is half
// a day), Fri 08:30–17:30 (9 h, so 13:00 is half a day); 2025 holidays in
// range: Wed 1 Jan, Wed 29 and Thu 30 Jan (Chinese New Year), Mon 31 Mar
// (Hari Raya Puasa), Fri 18 Apr (Good Friday). Target 7, warning 5.
//
// Each line below gives the hand-worked due and warning instants, the
// elapsed working days at the stop and the days in each state (submitted /
// clarification / approved), and the outcome with the window it counts in.
var fxReportRecords = []imports.Record{
	// Mon 6 Jan 13:15 + 7 wd = Wed 15 Jan 13:15 (warn Mon 13 Jan 13:15).
	// Approved Thu 9 Jan 13:15 (3.0 submitted), fulfilled Fri 10 Jan 13:00
	// (0.5 Thu + 0.5 Fri = 1.0 approved): elapsed 4.0. Met, January.
	fxRec("RPT-01-met", "MSF", "MOH", "official-open",
		fxEv("create", "2025-01-06T09:00:00+08:00", "req@msf.gov.sg"),
		fxEv("submit", "2025-01-06T13:15:00+08:00", "req@msf.gov.sg"),
		fxEv("approve", "2025-01-09T13:15:00+08:00", "approver1@moh.gov.sg"),
		fxEv("fulfil", "2025-01-10T13:00:00+08:00", "approver1@moh.gov.sg")),
	// Tue 4 Feb 09:27 (0.1) + 7 wd = Thu 13 Feb 09:27 (warn Tue 11 Feb
	// 09:27). Rejected Thu 6 Feb 16:06 (0.8): 0.9 + 1 + 0.8 = 2.7 submitted.
	// Met, February.
	fxRec("RPT-02-rejected-in-time", "HDB", "MOM", "official-closed",
		fxEv("submit", "2025-02-04T09:27:00+08:00", "req@hdb.gov.sg"),
		fxEv("reject", "2025-02-06T16:06:00+08:00", "approver2@mom.gov.sg", "No legal basis given")),
	// Mon 20 Jan 13:15 + 7 wd, skipping 29–30 Jan: Tue 21 (1) … Tue 28 (6),
	// Fri 31 (7) at half of Friday = Fri 31 Jan 13:00 (warn Mon 27 Jan
	// 13:15). Approved Thu 23 Jan 13:15 (3.0 submitted), fulfilled Tue 4 Feb
	// 13:15: 0.5 + Fri 24, Mon 27, Tue 28, Fri 31, Mon 3 + 0.5 = 6.0
	// approved; elapsed 9.0. Missed at its due instant: counts in January,
	// not in February where it was fulfilled.
	fxRec("RPT-03-fulfilled-late", "MSF", "MOH", "official-open",
		fxEv("submit", "2025-01-20T13:15:00+08:00", "req@msf.gov.sg"),
		fxEv("approve", "2025-01-23T13:15:00+08:00", "approver2@moh.gov.sg"),
		fxEv("fulfil", "2025-02-04T13:15:00+08:00", "approver2@moh.gov.sg")),
	// Submitted Wed 29 Jan 10:00, Chinese New Year: the clock starts Fri
	// 31 Jan 08:30; 7 whole working days Fri 31, Mon 3 … Fri 7, Mon 10 end at
	// the close of Mon 10 Feb, 18:00 (warn: close of Thu 6 Feb). Restricted,
	// two approvals: Mon 3 Feb 13:15 and Tue 4 Feb 13:15 (1 + 1 + 0.5 = 2.5
	// submitted), fulfilled Wed 5 Feb 13:15 (1.0 approved); elapsed 3.5.
	// Met, February.
	fxRec("RPT-04-submitted-on-cny", "MOM", "MOH", "restricted",
		fxEv("submit", "2025-01-29T10:00:00+08:00", "req@mom.gov.sg"),
		fxEv("approve", "2025-02-03T13:15:00+08:00", "approver1@moh.gov.sg"),
		fxEv("approve", "2025-02-04T13:15:00+08:00", "approver2@moh.gov.sg"),
		fxEv("fulfil", "2025-02-05T13:15:00+08:00", "approver1@moh.gov.sg")),
	// Submitted Sat 1 Mar 11:00: the clock starts Mon 3 Mar 08:30; due at the
	// close of Tue 11 Mar, 18:00 (warn: close of Fri 7 Mar, 17:30). Approved
	// Tue 4 Mar 13:15 (1.5 submitted), fulfilled Mon 10 Mar 09:27 (0.5 + 3 +
	// 0.1 = 3.6 approved); elapsed 5.1. Met, March.
	fxRec("RPT-05-submitted-on-saturday", "MSF", "MOM", "official-open",
		fxEv("submit", "2025-03-01T11:00:00+08:00", "req@msf.gov.sg"),
		fxEv("approve", "2025-03-04T13:15:00+08:00", "approver1@mom.gov.sg"),
		fxEv("fulfil", "2025-03-10T09:27:00+08:00", "approver1@mom.gov.sg")),
	// Mon 10 Mar 13:15, due Wed 19 Mar 13:15 (warn Mon 17 Mar 13:15);
	// withdrawn Thu 13 Mar 13:15 (3.0 submitted), before due: never counts.
	fxRec("RPT-06-withdrawn-before-due", "HDB", "MOH", "official-open",
		fxEv("submit", "2025-03-10T13:15:00+08:00", "req@hdb.gov.sg"),
		fxEv("withdraw", "2025-03-13T13:15:00+08:00", "req@hdb.gov.sg")),
	// Mon 10 Feb 13:15, due Wed 19 Feb 13:15 (warn Mon 17 Feb 13:15);
	// withdrawn Mon 3 Mar 13:15 (0.5 + 4 + 5 + 5 + 0.5 = 15.0 submitted),
	// after due: missed, February.
	fxRec("RPT-07-withdrawn-after-due", "MSF", "MOH", "official-open",
		fxEv("submit", "2025-02-10T13:15:00+08:00", "req@msf.gov.sg"),
		fxEv("withdraw", "2025-03-03T13:15:00+08:00", "req@msf.gov.sg")),
	// Mon 17 Mar 13:15, due Wed 26 Mar 13:15 (warn Mon 24 Mar 13:15);
	// approved Tue 18 Mar 13:15 (1.0 submitted) and still open: missed,
	// March, and breached now.
	fxRec("RPT-08-open-past-due", "HDB", "MOM", "official-open",
		fxEv("submit", "2025-03-17T13:15:00+08:00", "req@hdb.gov.sg"),
		fxEv("approve", "2025-03-18T13:15:00+08:00", "approver2@mom.gov.sg")),
	// Mon 7 Apr 13:15; paused Wed 9 Apr 13:15 after 2.0 days; resumed Mon 14
	// Apr 13:15 (paused 0.5 + 1 + 1 + 0.5 = 3.0). The 5.0 days left run Tue
	// 15, Wed 16, Thu 17, (Good Friday), Mon 21, Tue 22: due Tue 22 Apr
	// 13:15 instead of Wed 16 Apr 13:15 without the pause; warn (3.0 left)
	// Thu 17 Apr 13:15. Approved Wed 16 Apr 13:15 (2.0 + 2.0 = 4.0
	// submitted), fulfilled Tue 22 Apr 09:27 (0.5 + 1 + 1 + 0.1 = 2.6
	// approved); elapsed 6.6. Met, April.
	fxRec("RPT-09-paused", "MSF", "MOM", "official-open",
		fxEv("submit", "2025-04-07T13:15:00+08:00", "req@msf.gov.sg"),
		fxEv("request_clarification", "2025-04-09T13:15:00+08:00", "approver1@mom.gov.sg", "Which fields exactly?"),
		fxEv("respond", "2025-04-14T13:15:00+08:00", "req@msf.gov.sg", "Fields A, B and C"),
		fxEv("approve", "2025-04-16T13:15:00+08:00", "approver2@mom.gov.sg"),
		fxEv("fulfil", "2025-04-22T09:27:00+08:00", "approver2@mom.gov.sg")),
	// Fri 20 Jun 13:00 (half of Friday): warn Fri 27 Jun 13:00, due Tue 1
	// Jul 13:15. Open and at risk now.
	fxRec("RPT-10-open-at-risk", "MSF", "MOH", "official-open",
		fxEv("submit", "2025-06-20T13:00:00+08:00", "req@msf.gov.sg")),
	// Thu 26 Jun 13:15: warn Thu 3 Jul 13:15, due Mon 7 Jul 13:15. On track.
	fxRec("RPT-11-open-on-track", "HDB", "MOH", "official-open",
		fxEv("submit", "2025-06-26T13:15:00+08:00", "req@hdb.gov.sg")),
	// Mon 24 Mar 13:15 + 7 wd, skipping Mon 31 Mar: due Thu 3 Apr 13:15
	// (warn Tue 1 Apr 13:15). Rejected Mon 7 Apr 09:27: 0.5 + 4 + 4 + 0.1 =
	// 8.6 submitted. Missed, April.
	fxRec("RPT-12-rejected-late", "HDB", "MOH", "official-open",
		fxEv("submit", "2025-03-24T13:15:00+08:00", "req@hdb.gov.sg"),
		fxEv("reject", "2025-04-07T09:27:00+08:00", "approver1@moh.gov.sg", "Out of scope")),
	// Mon 23 Jun 13:15, paused Tue 24 Jun 13:15 after 1.0 day, before the
	// warning: open, neither at risk nor breached, no due instant.
	fxRec("RPT-13-open-paused", "MOM", "MOH", "official-open",
		fxEv("submit", "2025-06-23T13:15:00+08:00", "req@mom.gov.sg"),
		fxEv("request_clarification", "2025-06-24T13:15:00+08:00", "approver2@moh.gov.sg", "Purpose unclear")),
	// Never submitted.
	fxRec("RPT-14-draft", "MSF", "MOH", "official-open",
		fxEv("create", "2025-02-01T10:00:00+08:00", "req@msf.gov.sg")),
	// Withdrawn as a draft: no clock at all.
	fxRec("RPT-15-withdrawn-draft", "HDB", "MOM", "official-open",
		fxEv("create", "2025-02-03T10:00:00+08:00", "req@hdb.gov.sg"),
		fxEv("withdraw", "2025-02-03T11:00:00+08:00", "req@hdb.gov.sg")),
	// Wed 26 Mar 13:15 + 7 wd, skipping Mon 31 Mar: due Mon 7 Apr 13:15
	// (warn Thu 3 Apr 13:15). Approved Thu 27 Mar 12:18 (0.5 + 0.4 = 0.9
	// submitted), fulfilled Tue 1 Apr 07:30, before opening (0.6 + 1 = 1.6
	// approved); elapsed 2.5. Met on 1 April in Singapore (31 March in
	// UTC): counts in April, not March.
	fxRec("RPT-16-fulfilled-before-dawn", "MSF", "MOM", "official-open",
		fxEv("submit", "2025-03-26T13:15:00+08:00", "req@msf.gov.sg"),
		fxEv("approve", "2025-03-27T12:18:00+08:00", "approver1@mom.gov.sg"),
		fxEv("fulfil", "2025-04-01T07:30:00+08:00", "approver1@mom.gov.sg")),
}

// mustIDsInStatus returns the ids of the requests whose SLA status at now
// is st by the SQL form of the rule (sla.StatusScope), in id order.
func mustIDsInStatus(tb testing.TB, db *models.DB, st string, now time.Time) []int64 {
	tb.Helper()
	scope, ok := sla.StatusScope(st, now)
	if !ok {
		tb.Fatalf("StatusScope(%q): unknown", st)
	}
	var ids []int64
	if err := db.Gorm.Model(&models.Request{}).Scopes(scope).Order("id").Pluck("id", &ids).Error; err != nil {
		tb.Fatal(err)
	}
	return ids
}
