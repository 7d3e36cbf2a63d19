package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"datashare/apptest"
	"datashare/imports"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/statements"
)

type statementView struct {
	ID       int64   `json:"id"`
	Month    string  `json:"month"`
	Agency   *string `json:"agency"`
	Revision int     `json:"revision"`
	Hash     string  `json:"hash"`
	Verified bool    `json:"verified"`
	Figures  struct {
		Met            int      `json:"met"`
		Missed         int      `json:"missed"`
		ComplianceRate *float64 `json:"compliance_rate"`
		MetRequests    []int64  `json:"met_requests"`
	} `json:"figures"`
}

// mustPublishedMay imports one request met in May 2025 (MOH asks HDB) and
// publishes May's statements.
func mustPublishedMay(tb testing.TB, db *models.DB) *env {
	tb.Helper()
	e := newEnvWithClock(tb, db, func() time.Time { return apptest.Time("2025-06-03T09:00:00+08:00") })
	ev := func(action, at, who string) imports.Event {
		return imports.Event{Action: action, At: apptest.Time(at), ActorEmail: who, Comment: "Imported " + action}
	}
	rec := imports.Record{
		ExternalRef: "MAY-1", Title: "Household counts", Purpose: "Planning", DataDescription: "Counts by block",
		Classification: "official-open", RequestingAgency: "MOH", OwnerAgency: "HDB", RequesterEmail: "moh.requester@gov.sg",
		Events: []imports.Event{
			ev("submit", "2025-05-05T10:00:00+08:00", "moh.requester@gov.sg"),
			ev("approve", "2025-05-06T10:00:00+08:00", "hdb.approver@gov.sg"),
			ev("fulfil", "2025-05-07T10:00:00+08:00", "hdb.approver@gov.sg"),
		},
	}
	res, err := e.app.Importer.Import(context.Background(), apptest.Admin, imports.Batch{Requests: []imports.Record{rec}})
	if err != nil || res.Imported != 1 {
		tb.Fatalf("import: %+v, %v", res, err)
	}
	if _, err := e.app.Statements.Publish(context.Background(), statements.Month{Year: 2025, Month: time.May}, e.now()); err != nil {
		tb.Fatal(err)
	}
	return e
}

func TestStatementsAnswerTheirFiguresAndVerify(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := mustPublishedMay(t, db)
		r := e.do(t, request{method: "GET", path: "/api/v1/statements", token: "admin"})
		mustStatus(t, r, 200, "")
		var list struct{ Statements []statementView }
		r.decode(t, &list)
		if len(list.Statements) != 5 { // the whole of government, GOVTECH, HDB, MOH, X
			t.Fatalf("admin's statements: got %d, want 5", len(list.Statements))
		}
		gov := list.Statements[0]
		if gov.Agency != nil || gov.Month != "2025-05" || gov.Revision != 1 || !gov.Verified || gov.Figures.Met != 1 || len(gov.Figures.MetRequests) != 1 {
			t.Fatalf("first statement: got %+v, want the whole of government's of May, 1 met, verified", gov)
		}

		csv := e.do(t, request{method: "GET", path: fmt.Sprintf("/api/v1/statements/%d/statement.csv", gov.ID), token: "admin"})
		mustStatus(t, csv, 200, "")
		sum := sha256.Sum256(csv.Body)
		if hex.EncodeToString(sum[:]) != gov.Hash {
			t.Errorf("sha256 of the CSV download: got %x, want the statement's hash %s", sum, gov.Hash)
		}
		if !strings.HasPrefix(string(csv.Body), "field,value\nformat,"+statements.CanonicalVersion+"\nmonth,2025-05\n") {
			t.Errorf("CSV download: got %q…", csv.Body[:min(80, len(csv.Body))])
		}
		if cd := csv.Header.Get("Content-Disposition"); cd != `attachment; filename="statement-2025-05-all-r1.csv"` {
			t.Errorf("Content-Disposition: got %q", cd)
		}
		xlsx := e.do(t, request{method: "GET", path: fmt.Sprintf("/api/v1/statements/%d/statement.xlsx", gov.ID), token: "admin"})
		mustStatus(t, xlsx, 200, "")
		if !strings.HasPrefix(string(xlsx.Body), "PK") {
			t.Errorf("XLSX download is not a workbook: %q", xlsx.Body[:min(8, len(xlsx.Body))])
		}

		// The report from the statement equals the report from live data.
		live := e.do(t, request{method: "GET", path: "/api/v1/reports/sla?from=2025-05-01&to=2025-06-01&group_by=owner_agency", token: "admin"})
		pub := e.do(t, request{method: "GET", path: "/api/v1/reports/sla?from=2025-05-01&to=2025-06-01&group_by=owner_agency&as_published=true", token: "admin"})
		mustStatus(t, pub, 200, "")
		var lv, pv struct {
			Met, Missed int
			Groups      []struct{ Key string }
		}
		live.decode(t, &lv)
		pub.decode(t, &pv)
		if lv.Met != pv.Met || lv.Missed != pv.Missed || len(lv.Groups) != len(pv.Groups) || pv.Met != 1 {
			t.Errorf("as_published: got %+v, want the live figures %+v", pv, lv)
		}
	})
}

func TestStatementsRefuseWhatTheCallerMayNotSee(t *testing.T) {
	t.Parallel()
	e := mustPublishedMay(t, modelstest.MustOpen(t, models.SQLite))
	r := e.do(t, request{method: "GET", path: "/api/v1/statements", token: "MOH.manager"})
	mustStatus(t, r, 200, "")
	var list struct{ Statements []statementView }
	r.decode(t, &list)
	if len(list.Statements) != 1 || list.Statements[0].Agency == nil || *list.Statements[0].Agency != "MOH" {
		t.Fatalf("MOH manager's statements: got %+v, want MOH's only", list.Statements)
	}
	all := e.do(t, request{method: "GET", path: "/api/v1/statements", token: "admin"})
	var every struct{ Statements []statementView }
	all.decode(t, &every)
	gov := every.Statements[0].ID
	for _, c := range []struct {
		name, path, token string
		status            int
		code, field       string
	}{
		{"a requester", "/api/v1/statements", "MOH.requester", 403, "forbidden", ""},
		{"another agency", "/api/v1/statements?agency=HDB", "MOH.manager", 403, "forbidden", ""},
		{"the whole of government to a manager", fmt.Sprintf("/api/v1/statements/%d", gov), "MOH.manager", 404, "not_found", ""},
		{"its CSV to a manager", fmt.Sprintf("/api/v1/statements/%d/statement.csv", gov), "MOH.manager", 404, "not_found", ""},
		{"no such statement", "/api/v1/statements/999999", "admin", 404, "not_found", ""},
		{"an unreadable id", "/api/v1/statements/abc", "admin", 404, "not_found", ""},
		{"an unreadable month", "/api/v1/statements?from=May", "admin", 422, "invalid", "from"},
		{"as_published over two months", "/api/v1/reports/sla?from=2025-04-01&to=2025-06-01&as_published=true", "admin", 422, "invalid", "as_published"},
		{"as_published by month", "/api/v1/reports/sla?from=2025-05-01&to=2025-06-01&group_by=month&as_published=true", "admin", 422, "invalid", "group_by"},
		{"as_published unreadable", "/api/v1/reports/sla?from=2025-05-01&to=2025-06-01&as_published=yes", "admin", 422, "invalid", "as_published"},
		{"as_published of a month not published", "/api/v1/reports/sla?from=2025-04-01&to=2025-05-01&as_published=true", "admin", 404, "not_found", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, request{method: "GET", path: c.path, token: c.token})
			mustStatus(t, r, c.status, c.code)
			if _, field := r.errCode(t); field != c.field {
				t.Errorf("field: got %q, want %q", field, c.field)
			}
		})
	}
}
