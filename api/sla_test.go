package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"datashare/calendar"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/spreadsheet"
)

type slaView struct {
	Status    string     `json:"status"`
	Target    float64    `json:"target_working_days"`
	Elapsed   float64    `json:"elapsed_working_days"`
	Remaining float64    `json:"remaining_working_days"`
	DueAt     *time.Time `json:"due_at"`
	Paused    bool       `json:"paused"`
}

func (e *env) mustSLA(tb testing.TB, id int64) (slaView, time.Time) {
	tb.Helper()
	r := e.do(tb, request{method: "GET", path: fmt.Sprintf("/api/v1/requests/%d", id), token: "admin"})
	var v struct {
		SLA         slaView    `json:"sla"`
		SubmittedAt *time.Time `json:"submitted_at"`
	}
	r.decode(tb, &v)
	var sub time.Time
	if v.SubmittedAt != nil {
		sub = *v.SubmittedAt
	}
	return v.SLA, sub
}

func TestEveryRequestCarriesItsSLA(t *testing.T) {
	e := newEnv(t, modelstest.MustOpen(t, models.SQLite))
	d := e.mustCreate(t, "official-open")
	s, _ := e.mustSLA(t, d.ID)
	if s.Status != "not_started" || s.Target != 7 || s.DueAt != nil || s.Elapsed != 0 {
		t.Fatalf("draft sla: got %+v, want not_started with target 7, no due date, nothing elapsed", s)
	}
	v := e.mustAct(t, d.ID, "MOH.requester", "submit", "")
	s, sub := e.mustSLA(t, v.ID)
	if s.Status != "on_track" || s.DueAt == nil || s.Paused {
		t.Fatalf("submitted sla: got %+v, want on_track with a due date", s)
	}
	due := e.mustDue(t, sub, 7)
	if !s.DueAt.Equal(due) {
		t.Fatalf("due_at: got %s, want %s (7 working days after submission)", s.DueAt, due)
	}
	e.mustAct(t, v.ID, "HDB.approver", "request_clarification", "which blocks?")
	s, _ = e.mustSLA(t, v.ID)
	if !s.Paused {
		t.Fatalf("clarification: got paused=false, want true")
	}
}

func (e *env) mustDue(tb testing.TB, start time.Time, days float64) time.Time {
	tb.Helper()
	q := url.Values{"start": {start.Format(time.RFC3339Nano)}, "days": {fmt.Sprint(days)}}
	r := e.do(tb, request{method: "GET", path: "/api/v1/calendar/due?" + q.Encode(), token: "MOH.requester"})
	if r.Status != http.StatusOK {
		tb.Fatalf("due: got %d %s", r.Status, r.Body)
	}
	var v struct {
		DueAt time.Time `json:"due_at"`
	}
	r.decode(tb, &v)
	return v.DueAt
}

func TestClosureDayAddedByAdminMovesAnOpenRequestsDueDate(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		v := e.mustReach(t, "official-open", "submitted")
		before, sub := e.mustSLA(t, v.ID)
		// A closure on a working day between submission and due.
		loc, _ := time.LoadLocation("Asia/Singapore")
		cal, err := calendar.New(loc, calendar.DefaultHours(), calendar.SingaporeHolidays())
		if err != nil {
			t.Fatal(err)
		}
		day := calendar.DateOf(sub, loc)
		for i := 0; i < 30; i++ {
			t0 := time.Date(day.Year, day.Month, day.Day+1, 0, 0, 0, 0, loc)
			day = calendar.DateOf(t0, loc)
			if cal.IsWorkingDay(day) && t0.Before(*before.DueAt) {
				break
			}
		}
		r := e.do(t, request{method: "POST", path: "/api/v1/calendar/holidays", token: "admin",
			body: map[string]any{"date": day.String(), "name": "Office relocation", "kind": "closure"}})
		if r.Status != http.StatusCreated {
			t.Fatalf("add closure: got %d %s, want 201", r.Status, r.Body)
		}
		after, _ := e.mustSLA(t, v.ID)
		want := e.mustDue(t, sub, 7)
		if !after.DueAt.Equal(want) || !after.DueAt.After(*before.DueAt) {
			t.Fatalf("due after closure on %s: got %s, want %s (later than %s)", day, after.DueAt, want, before.DueAt)
		}
		if got := e.mustHistoryLen(t, v.ID); got != 2 {
			t.Fatalf("history after calendar change: got %d rows, want 2 (a calendar change is not a transition)", got)
		}
		r = e.do(t, request{method: "DELETE", path: "/api/v1/calendar/holidays/" + day.String(), token: "admin"})
		if r.Status != http.StatusNoContent {
			t.Fatalf("remove closure: got %d %s, want 204", r.Status, r.Body)
		}
		back, _ := e.mustSLA(t, v.ID)
		if !back.DueAt.Equal(*before.DueAt) {
			t.Fatalf("due after removing the closure: got %s, want %s", back.DueAt, before.DueAt)
		}
	})
}

func TestHolidayAdministration(t *testing.T) {
	e := newEnv(t, modelstest.MustOpen(t, models.SQLite))
	list := func(year int) []map[string]string {
		r := e.do(t, request{method: "GET", path: fmt.Sprintf("/api/v1/calendar/holidays?year=%d", year), token: "HDB.requester"})
		if r.Status != http.StatusOK {
			t.Fatalf("list: got %d %s", r.Status, r.Body)
		}
		var v struct{ Items []map[string]string }
		r.decode(t, &v)
		return v.Items
	}
	has := func(items []map[string]string, date string) bool {
		for _, h := range items {
			if h["date"] == date {
				return true
			}
		}
		return false
	}
	y2025 := list(2025)
	if !has(y2025, "2025-01-29") || !has(y2025, "2025-01-30") {
		t.Fatalf("2025 holidays: got %v, want Chinese New Year 29–30 Jan", y2025)
	}
	for _, h := range y2025 {
		if !strings.HasPrefix(h["date"], "2025-") || h["kind"] != "public_holiday" {
			t.Fatalf("2025 holiday %v: want a 2025 public_holiday", h)
		}
	}
	tests := []struct {
		name   string
		token  string
		body   any
		status int
		field  string
	}{
		{"requester may not", "MOH.requester", map[string]any{"date": "2026-12-31", "name": "x"}, 403, ""},
		{"bad date", "admin", map[string]any{"date": "2026-02-30", "name": "x"}, 422, "date"},
		{"no name", "admin", map[string]any{"date": "2026-12-31", "name": ""}, 422, "name"},
		{"bad kind", "admin", map[string]any{"date": "2026-12-31", "name": "x", "kind": "party"}, 422, "kind"},
		{"closure", "admin", map[string]any{"date": "2026-12-31", "name": "Year-end closure", "kind": "closure"}, 201, ""},
	}
	for _, tt := range tests {
		r := e.do(t, request{method: "POST", path: "/api/v1/calendar/holidays", token: tt.token, body: tt.body})
		if r.Status != tt.status {
			t.Fatalf("%s: got %d %s, want %d", tt.name, r.Status, r.Body, tt.status)
		}
		if tt.field != "" {
			if _, f := r.errCode(t); f != tt.field {
				t.Fatalf("%s: field got %q, want %q", tt.name, f, tt.field)
			}
		}
	}
	if !has(list(2026), "2026-12-31") {
		t.Fatal("closure 2026-12-31 not listed after adding it")
	}
	if r := e.do(t, request{method: "DELETE", path: "/api/v1/calendar/holidays/2025-01-29", token: "admin"}); r.Status != 204 {
		t.Fatalf("delete: got %d %s, want 204", r.Status, r.Body)
	}
	if has(list(2025), "2025-01-29") {
		t.Fatal("2025-01-29 still listed after delete")
	}
	if r := e.do(t, request{method: "DELETE", path: "/api/v1/calendar/holidays/2025-01-29", token: "admin"}); r.Status != 404 {
		t.Fatalf("second delete: got %d, want 404", r.Status)
	}
}

func (e *env) postICS(tb testing.TB, token, contentType, body string) resp {
	tb.Helper()
	return e.do(tb, request{method: "POST", path: "/api/v1/calendar/holidays/import", token: token,
		body: []byte(body), header: map[string]string{"Content-Type": contentType}})
}

func TestICalendarImport(t *testing.T) {
	e := newEnv(t, modelstest.MustOpen(t, models.SQLite))
	good := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Agency//Closures//EN\r\n" +
		"BEGIN:VEVENT\r\nUID:1@x\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20270104\r\nDTEND;VALUE=DATE:20270106\r\nSUMMARY:Stocktake\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:2@x\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20270301\r\nSUMMARY:Audit day\r\nEND:VEVENT\r\n" +
		"END:VCALENDAR\r\n"
	r := e.postICS(t, "admin", "text/calendar", good)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"imported":3`) {
		t.Fatalf("import: got %d %s, want 200 with 3 days (4–5 Jan and 1 Mar 2027)", r.Status, r.Body)
	}
	count := func() int {
		r := e.do(t, request{method: "GET", path: "/api/v1/calendar/holidays?year=2027", token: "admin"})
		var v struct{ Items []any }
		r.decode(t, &v)
		return len(v.Items)
	}
	n := count()
	bad := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270401\r\nSUMMARY:Good\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART:not-a-date\r\nSUMMARY:Broken\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if r := e.postICS(t, "admin", "text/calendar", bad); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("malformed import: got %d %s, want 422", r.Status, r.Body)
	}
	if r := e.postICS(t, "admin", "text/calendar", "not a calendar"); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("garbage import: got %d %s, want 422", r.Status, r.Body)
	}
	if got := count(); got != n {
		t.Fatalf("holidays after failed imports: got %d, want %d (nothing imported)", got, n)
	}
	if r := e.postICS(t, "admin", "application/json", good); r.Status != http.StatusUnsupportedMediaType {
		t.Fatalf("wrong content type: got %d, want 415", r.Status)
	}
	if r := e.postICS(t, "MOH.requester", "text/calendar", good); r.Status != http.StatusForbidden {
		t.Fatalf("requester import: got %d, want 403", r.Status)
	}
}

func TestWorkingDaysAndDueEndpoints(t *testing.T) {
	e := newEnv(t, modelstest.MustOpen(t, models.SQLite))
	r := e.do(t, request{method: "GET", path: "/api/v1/calendar/working-days?from=" + url.QueryEscape("2025-01-06T10:00:00+08:00") + "&to=" + url.QueryEscape("2025-01-06T13:48:00+08:00"), token: "MOH.requester"})
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"working_days":0.4}` {
		t.Fatalf("working days: got %d %s, want 0.4", r.Status, r.Body)
	}
	due := e.mustDue(t, time.Date(2025, 1, 6, 2, 0, 0, 0, time.UTC), 7)
	if want := time.Date(2025, 1, 15, 2, 0, 0, 0, time.UTC); !due.Equal(want) {
		t.Fatalf("due: got %s, want %s", due, want)
	}
	for _, q := range []string{"from=yesterday&to=2025-01-06T13:48:00Z", "from=2025-01-06T10:00:00Z", "from=2025-01-07T10:00:00Z&to=2025-01-06T10:00:00Z"} {
		if r := e.do(t, request{method: "GET", path: "/api/v1/calendar/working-days?" + q, token: "MOH.requester"}); r.Status != 422 {
			t.Fatalf("working-days?%s: got %d, want 422", q, r.Status)
		}
	}
	if r := e.do(t, request{method: "GET", path: "/api/v1/calendar/due?start=2025-01-06T10:00:00Z&days=-1", token: "MOH.requester"}); r.Status != 422 {
		t.Fatalf("negative days: got %d, want 422", r.Status)
	}
}

func TestReportPermissionsAndFormats(t *testing.T) {
	e := newEnv(t, modelstest.MustOpen(t, models.SQLite))
	e.mustReach(t, "official-open", "fulfilled")
	today := time.Now().In(time.FixedZone("SGT", 8*3600))
	from, to := today.AddDate(0, 0, -1).Format("2006-01-02"), today.AddDate(0, 0, 2).Format("2006-01-02")
	q := "?from=" + from + "&to=" + to
	tests := []struct {
		name, token, query string
		status             int
	}{
		{"requester", "MOH.requester", q, 403},
		{"approver", "HDB.approver", q, 403},
		{"manager own agency", "HDB.manager", q, 200},
		{"manager other agency", "HDB.manager", q + "&agency=MOH", 403},
		{"admin all", "admin", q + "&group_by=owner_agency", 200},
		{"admin one agency", "admin", q + "&agency=MOH&group_by=month", 200},
		{"bad group", "admin", q + "&group_by=colour", 422},
		{"bad date", "admin", "?from=2025-13-01&to=2026-01-01", 422},
		{"to before from", "admin", "?from=2026-01-01&to=2025-01-01", 422},
		{"missing to", "admin", "?from=2026-01-01", 422},
	}
	for _, tt := range tests {
		r := e.do(t, request{method: "GET", path: "/api/v1/reports/sla" + tt.query, token: tt.token})
		if r.Status != tt.status {
			t.Fatalf("%s: got %d %s, want %d", tt.name, r.Status, r.Body, tt.status)
		}
	}
	r := e.do(t, request{method: "GET", path: "/api/v1/reports/sla" + q, token: "HDB.manager"})
	var rep struct {
		Met, Missed    int
		ComplianceRate *float64 `json:"compliance_rate"`
	}
	r.decode(t, &rep)
	if rep.Met != 1 || rep.Missed != 0 || rep.ComplianceRate == nil || *rep.ComplianceRate != 1 {
		t.Fatalf("report: got %+v, want met 1, missed 0, rate 1", rep)
	}
	c := e.do(t, request{method: "GET", path: "/api/v1/reports/sla.csv" + q + "&group_by=owner_agency", token: "admin"})
	if c.Status != 200 || !strings.HasPrefix(c.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: got %d %s", c.Status, c.Header.Get("Content-Type"))
	}
	if want := "group,met,missed,compliance_rate\nHDB,1,0,1.0000\ntotal,1,0,1.0000\n"; string(c.Body) != want {
		t.Fatalf("csv body: got %q, want %q", c.Body, want)
	}
}

func TestSLACheckJobAndImportAreForAdmins(t *testing.T) {
	e := newEnv(t, modelstest.MustOpen(t, models.SQLite))
	e.mustReach(t, "official-open", "submitted")
	if r := e.do(t, request{method: "POST", path: "/api/v1/admin/jobs/sla-check", token: "HDB.manager"}); r.Status != 403 {
		t.Fatalf("manager runs check: got %d, want 403", r.Status)
	}
	r := e.do(t, request{method: "POST", path: "/api/v1/admin/jobs/sla-check", token: "admin"})
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"checked":1,"at_risk":0,"breached":0,"projects_at_risk":0,"projects_breached":0}` {
		t.Fatalf("check: got %d %s, want one checked and nothing flagged", r.Status, r.Body)
	}
	batch := map[string]any{"requests": []map[string]any{{
		"external_ref": "LEGACY-1", "title": "Old request", "purpose": "p", "data_description": "d",
		"classification": "official-open", "requesting_agency": "MOH", "owner_agency": "HDB",
		"requester_email": "moh.requester@gov.sg",
		"events": []map[string]any{
			{"action": "submit", "at": "2025-03-03T10:00:00+08:00", "actor_email": "moh.requester@gov.sg"},
			{"action": "approve", "at": "2025-03-04T10:00:00+08:00", "actor_email": "hdb.approver@gov.sg"},
			{"action": "fulfil", "at": "2025-03-05T10:00:00+08:00", "actor_email": "hdb.approver@gov.sg", "comment": "sent"},
		},
	}}}
	if r := e.do(t, request{method: "POST", path: "/api/v1/admin/import", token: "MOH.manager", body: batch}); r.Status != 403 {
		t.Fatalf("manager import: got %d, want 403", r.Status)
	}
	for i, want := range []string{`{"imported":1,"skipped":0,"errors":[]}`, `{"imported":0,"skipped":1,"errors":[]}`} {
		r := e.do(t, request{method: "POST", path: "/api/v1/admin/import", token: "admin", body: batch})
		if r.Status != 200 || strings.TrimSpace(string(r.Body)) != want {
			t.Fatalf("import %d: got %d %s, want %s", i+1, r.Status, r.Body, want)
		}
	}
	bare := e.do(t, request{method: "POST", path: "/api/v1/admin/import", token: "admin", body: batch["requests"]})
	mustErrorBody(t, bare, http.StatusBadRequest, "malformed")
	if !strings.Contains(string(bare.Body), `{\"requests\": [...]}`) {
		t.Errorf("bare list: got %s, want a message naming the {\"requests\": [...]} shape", bare.Body)
	}
	var page struct {
		Items []struct {
			Title       string  `json:"title"`
			ExternalRef *string `json:"external_ref"`
		} `json:"items"`
	}
	e.do(t, request{method: "GET", path: "/api/v1/requests?limit=100", token: "admin"}).decode(t, &page)
	refs := map[string]string{}
	for _, it := range page.Items {
		ref := "null"
		if it.ExternalRef != nil {
			ref = *it.ExternalRef
		}
		refs[it.Title] = ref
	}
	if refs["Old request"] != "LEGACY-1" || refs["Residents aged 65+ per block"] != "null" {
		t.Errorf("external_ref by title: got %v, want LEGACY-1 on the imported request and null on the one filed here", refs)
	}
	rep := e.do(t, request{method: "GET", path: "/api/v1/reports/sla?from=2025-03-01&to=2025-04-01", token: "admin"})
	var v struct{ Met, Missed int }
	rep.decode(t, &v)
	if v.Met != 1 || v.Missed != 0 {
		t.Fatalf("report of the imported month: got met %d missed %d, want 1 and 0", v.Met, v.Missed)
	}
}

func TestListFiltersBySLAStatusAndSortsByDue(t *testing.T) {
	e := newEnv(t, modelstest.MustOpen(t, models.SQLite))
	first := e.mustReach(t, "official-open", "submitted")
	e.mustCreate(t, "official-open")
	second := e.mustReach(t, "official-open", "submitted")
	r := e.do(t, request{method: "GET", path: "/api/v1/requests?sla_status=on_track&sort=due_at", token: "MOH.requester"})
	var page struct {
		Items []requestView
	}
	r.decode(t, &page)
	if len(page.Items) != 2 || page.Items[0].ID != first.ID || page.Items[1].ID != second.ID {
		t.Fatalf("on_track by due: got %+v, want [%d %d]", page.Items, first.ID, second.ID)
	}
	r = e.do(t, request{method: "GET", path: "/api/v1/requests?sla_status=not_started", token: "MOH.requester"})
	r.decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].State != "draft" {
		t.Fatalf("not_started: got %+v, want the one draft", page.Items)
	}
	for _, q := range []string{"sla_status=late", "sort=oldest"} {
		if r := e.do(t, request{method: "GET", path: "/api/v1/requests?" + q, token: "MOH.requester"}); r.Status != 422 {
			t.Fatalf("%s: got %d, want 422", q, r.Status)
		}
	}
}

func TestPatchNullClearsAnOptionalField(t *testing.T) {
	e := newEnv(t, modelstest.MustOpen(t, models.SQLite))
	d := e.mustCreate(t, "official-open")
	path := fmt.Sprintf("/api/v1/requests/%d", d.ID)
	get := func() map[string]any {
		r := e.do(t, request{method: "GET", path: path, token: "MOH.requester"})
		var v map[string]any
		r.decode(t, &v)
		return v
	}
	for _, step := range []struct {
		body      string
		wantLegal any
		wantTitle string
	}{
		{`{"legal_basis": "Public Sector (Governance) Act 2018, s.5"}`, "Public Sector (Governance) Act 2018, s.5", "Residents aged 65+ per block"},
		{`{"title": "Seniors per block"}`, "Public Sector (Governance) Act 2018, s.5", "Seniors per block"},
		{`{"legal_basis": null}`, nil, "Seniors per block"},
		{`{"legal_basis": 7}`, nil, "Seniors per block"},
	} {
		r := e.do(t, request{method: "PATCH", path: path, token: "MOH.requester", body: step.body})
		if step.body == `{"legal_basis": 7}` {
			if r.Status != http.StatusBadRequest {
				t.Fatalf("PATCH %s: got %d, want 400", step.body, r.Status)
			}
		} else if r.Status != http.StatusOK {
			t.Fatalf("PATCH %s: got %d %s", step.body, r.Status, r.Body)
		}
		v := get()
		if v["legal_basis"] != step.wantLegal || v["title"] != step.wantTitle {
			t.Fatalf("after PATCH %s: got legal_basis %v, title %v; want %v, %v", step.body, v["legal_basis"], v["title"], step.wantLegal, step.wantTitle)
		}
	}
}

func TestReportXLSXIsTheSameReportAsTheCSV(t *testing.T) {
	e := newEnv(t, modelstest.MustOpen(t, models.SQLite))
	e.mustReach(t, "official-open", "fulfilled")
	today := time.Now().In(time.FixedZone("SGT", 8*3600))
	from, to := today.AddDate(0, 0, -1).Format("2006-01-02"), today.AddDate(0, 0, 2).Format("2006-01-02")
	q := "?from=" + from + "&to=" + to + "&group_by=owner_agency"
	tests := []struct {
		name, token, query string
		status             int
	}{
		{"requester", "MOH.requester", q, 403},
		{"manager other agency", "HDB.manager", q + "&agency=MOH", 403},
		{"bad date", "admin", "?from=2025-13-01&to=2026-01-01", 422},
		{"no token", "", q, 401},
		{"manager own agency", "HDB.manager", q, 200},
	}
	for _, tt := range tests {
		r := e.do(t, request{method: "GET", path: "/api/v1/reports/sla.xlsx" + tt.query, token: tt.token})
		if r.Status != tt.status {
			t.Fatalf("%s: got %d %s, want %d", tt.name, r.Status, r.Body, tt.status)
		}
	}
	r := e.do(t, request{method: "GET", path: "/api/v1/reports/sla.xlsx" + q, token: "admin"})
	if r.Status != 200 || r.Header.Get("Content-Type") != spreadsheet.ContentType {
		t.Fatalf("xlsx: got %d %q, want 200 %q", r.Status, r.Header.Get("Content-Type"), spreadsheet.ContentType)
	}
	if got, want := r.Header.Get("Content-Disposition"), `attachment; filename="sla-`+from+`-`+to+`.xlsx"`; got != want {
		t.Fatalf("Content-Disposition: got %q, want %q", got, want)
	}
	f, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("open the workbook: %v", err)
	}
	defer f.Close()
	rows, err := f.GetRows("Groups", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"Owner agency", "Met", "Missed", "Compliance rate"}, {"HDB", "1", "0", "1"}, {"Total", "1", "0", "1"}}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Fatalf("Groups sheet: got %v, want %v (the CSV's rows)", rows, want)
	}
}
