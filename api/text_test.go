package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"datashare/models"
	"datashare/models/modelstest"
)

// badText is how a test writes text that breaks the input rule in each
// place a client can put it: in a JSON string, a URL, a header or a file.
type badText struct {
	name       string
	json       string // inside a JSON string literal
	url        string // percent-encoded, in a path segment or query
	raw        string // as bytes, in a header or a file
	bodyStatus int    // what a JSON body holding it answers
	bodyCode   string
}

var badTexts = []badText{
	{name: "nul", json: `\u0000`, url: "%00", raw: "\x00", bodyStatus: http.StatusUnprocessableEntity, bodyCode: "invalid"},
	{name: "invalid_utf8", json: "\xff", url: "%ff", raw: "\xff", bodyStatus: http.StatusBadRequest, bodyCode: "malformed"},
}

// textCase is one place a client sends text. "^" in path or body marks
// where the bad text goes; with it replaced by an ordinary letter the call
// is one the service accepts (or refuses for another reason), so a refusal
// comes from the text alone.
type textCase struct {
	name, method, path, token string
	body                      string            // JSON, "^" inside a string
	header                    map[string]string // "^" inside a value
	ics                       bool              // body is an iCalendar file
	// the answer: bodyField set means the JSON body's answer (badText's
	// status) naming it; otherwise status, code and field.
	bodyField string
	status    int
	code      string
	field     string
}

func textCases(draftID, userID int64) []textCase {
	rq := func(field, val string) string {
		b := map[string]string{"title": "Residents", "purpose": "Outreach", "data_description": "Counts",
			"classification": "restricted", "owner_agency": "HDB", "legal_basis": "PDPA", "project": "P1"}
		b[field] = val
		out, _ := json.Marshal(b)
		return string(out)
	}
	draft := fmt.Sprintf("/api/v1/requests/%d", draftID)
	body := func(name, method, path, token, body, field string) textCase {
		return textCase{name: name, method: method, path: path, token: token, body: body, bodyField: field}
	}
	query := func(name, path, token, field string) textCase {
		return textCase{name: name, method: "GET", path: path, token: token, status: 422, code: "invalid", field: field}
	}
	seg := func(name, method, path string) textCase {
		return textCase{name: name, method: method, path: path, token: "admin", status: 400, code: "malformed"}
	}
	cases := []textCase{}
	for _, f := range []string{"title", "purpose", "data_description", "classification", "owner_agency", "legal_basis", "project"} {
		cases = append(cases, body("create_request_"+f, "POST", "/api/v1/requests", "MOH.requester", rq(f, "a^b"), f))
	}
	cases = append(cases,
		body("patch_request_title", "PATCH", draft, "MOH.requester", `{"title":"a^b"}`, "title"),
		body("patch_request_legal_basis", "PATCH", draft, "MOH.requester", `{"legal_basis":"a^b"}`, "legal_basis"),
		body("transition_action", "POST", draft+"/transitions", "MOH.requester", `{"action":"sub^mit"}`, "action"),
		body("transition_comment", "POST", draft+"/transitions", "MOH.requester", `{"action":"submit","comment":"a^b"}`, "comment"),
		body("agency_code", "POST", "/api/v1/agencies", "admin", `{"code":"MO^E","name":"Education"}`, "code"),
		body("agency_name", "POST", "/api/v1/agencies", "admin", `{"code":"MOE","name":"Edu^cation"}`, "name"),
		body("user_email", "POST", "/api/v1/users", "admin", `{"email":"a^@gov.sg","name":"A","agency":"MOH","roles":["requester"]}`, "email"),
		body("user_name", "POST", "/api/v1/users", "admin", `{"email":"a@gov.sg","name":"A^","agency":"MOH","roles":["requester"]}`, "name"),
		body("user_agency", "POST", "/api/v1/users", "admin", `{"email":"a@gov.sg","name":"A","agency":"MO^H","roles":["requester"]}`, "agency"),
		body("user_role", "POST", "/api/v1/users", "admin", `{"email":"a@gov.sg","name":"A","agency":"MOH","roles":["manager","req^uester"]}`, "roles[1]"),
		body("user_password", "POST", "/api/v1/users", "admin", `{"email":"a@gov.sg","name":"A","agency":"MOH","roles":["requester"],"password":"correct horse battery^"}`, "password"),
		body("token_name", "POST", fmt.Sprintf("/api/v1/users/%d/tokens", userID), "MOH.requester", `{"name":"lap^top"}`, "name"),
		body("holiday_name", "POST", "/api/v1/calendar/holidays", "admin", `{"date":"2027-01-04","name":"Stock^take"}`, "name"),
		body("holiday_date", "POST", "/api/v1/calendar/holidays", "admin", `{"date":"2027-01-0^4","name":"Stocktake"}`, "date"),
		body("holiday_kind", "POST", "/api/v1/calendar/holidays", "admin", `{"date":"2027-01-04","name":"Stocktake","kind":"clo^sure"}`, "kind"),
		body("preferences_key", "PUT", "/api/v1/me/preferences", "MOH.requester", `{"email":{"sub^mitted":false}}`, "email"),
		body("webhook_url", "POST", "/api/v1/webhooks", "admin", `{"url":"https://example.invalid/h^ook","events":["submitted"],"secret":"0123456789abcdef0123"}`, "url"),
		body("webhook_secret", "POST", "/api/v1/webhooks", "admin", `{"url":"https://example.invalid/hook","events":["submitted"],"secret":"0123456789abcdef0123^"}`, "secret"),
		body("webhook_event", "POST", "/api/v1/webhooks", "admin", `{"url":"https://example.invalid/hook","events":["sub^mitted"],"secret":"0123456789abcdef0123"}`, "events[0]"),

		query("list_owner_agency", "/api/v1/requests?owner_agency=HD^B", "MOH.requester", "owner_agency"),
		query("list_requesting_agency", "/api/v1/requests?requesting_agency=MO^H", "MOH.requester", "requesting_agency"),
		query("list_state", "/api/v1/requests?state=dr^aft", "MOH.requester", "state"),
		query("list_sla_status", "/api/v1/requests?sla_status=on^_track", "MOH.requester", "sla_status"),
		query("list_sort", "/api/v1/requests?sort=new^est", "MOH.requester", "sort"),
		query("list_cursor", "/api/v1/requests?cursor=bgAAAAAAAAAB^", "MOH.requester", "cursor"),
		query("list_limit", "/api/v1/requests?limit=1^", "MOH.requester", "limit"),
		query("report_agency", "/api/v1/reports/sla?from=2025-01-01&to=2026-01-01&agency=HD^B", "admin", "agency"),
		query("report_group_by", "/api/v1/reports/sla?from=2025-01-01&to=2026-01-01&group_by=mon^th", "admin", "group_by"),
		query("report_from", "/api/v1/reports/sla?from=2025-01-0^1&to=2026-01-01", "admin", "from"),
		query("report_csv_agency", "/api/v1/reports/sla.csv?from=2025-01-01&to=2026-01-01&agency=HD^B", "admin", "agency"),
		query("report_xlsx_agency", "/api/v1/reports/sla.xlsx?from=2025-01-01&to=2026-01-01&agency=HD^B", "admin", "agency"),
		query("holidays_year", "/api/v1/calendar/holidays?year=202^6", "admin", "year"),
		query("working_days_from", "/api/v1/calendar/working-days?from=2026-01-05T10:00:00%2B08:00^&to=2026-01-06T10:00:00%2B08:00", "admin", "from"),
		query("due_days", "/api/v1/calendar/due?start=2026-01-05T10:00:00%2B08:00&days=7^", "admin", "days"),
		query("inbox_unread", "/api/v1/notifications?unread=tr^ue", "MOH.requester", "unread"),
		query("deliveries_state", "/api/v1/admin/deliveries?state=de^ad", "admin", "state"),
		query("webhook_deliveries_state", "/api/v1/webhooks/1/deliveries?state=de^ad", "admin", "state"),
		query("unknown_parameter", "/api/v1/me?colour=re^d", "MOH.requester", "colour"),
		textCase{name: "parameter_name", method: "GET", path: "/api/v1/me?col^our=red", token: "MOH.requester", status: 400, code: "malformed"},
		textCase{name: "holiday_import_kind", method: "POST", path: "/api/v1/calendar/holidays/import?kind=clo^sure", token: "admin", ics: true,
			status: 422, code: "invalid", field: "kind"},

		seg("request_id", "GET", "/api/v1/requests/1^"),
		seg("history_request_id", "GET", "/api/v1/requests/1^/history"),
		seg("holiday_date_segment", "DELETE", "/api/v1/calendar/holidays/2027-01-0^4"),
		seg("token_id", "DELETE", "/api/v1/tokens/1^"),

		textCase{name: "idempotency_key_create", method: "POST", path: "/api/v1/requests", token: "MOH.requester", body: rq("title", "Residents"),
			header: map[string]string{"Idempotency-Key": "key-^"}, status: 422, code: "invalid", field: "Idempotency-Key"},
		textCase{name: "idempotency_key_transition", method: "POST", path: draft + "/transitions", token: "MOH.requester", body: `{"action":"submit"}`,
			header: map[string]string{"Idempotency-Key": "key-^"}, status: 422, code: "invalid", field: "Idempotency-Key"},
	)
	return cases
}

// icsWith is an iCalendar file of one day off named name.
func icsWith(name string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Agency//Closures//EN\r\n" +
		"BEGIN:VEVENT\r\nUID:1@x\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20270104\r\nSUMMARY:" + name + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

func TestTextThatIsNotUTF8OrHoldsNULIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		draft := e.mustCreate(t, "restricted")
		for _, tc := range textCases(draft.ID, e.users["MOH.requester"].ID) {
			for _, bad := range badTexts {
				if tc.header != nil && bad.raw == "\x00" {
					continue // net/http sends no header holding NUL, and the server would refuse it
				}
				t.Run(tc.name+"/"+bad.name, func(t *testing.T) {
					rq := request{method: tc.method, path: strings.Replace(tc.path, "^", bad.url, 1), token: tc.token}
					switch {
					case tc.ics:
						rq.body = []byte(icsWith("Stocktake"))
						rq.header = map[string]string{"Content-Type": "text/calendar"}
					case tc.body != "":
						b := tc.body
						if tc.header == nil {
							b = strings.Replace(b, "^", bad.json, 1)
						}
						rq.body = b
					}
					for k, v := range tc.header {
						rq.header = map[string]string{k: strings.Replace(v, "^", bad.raw, 1)}
					}
					before := mustFingerprint(t, e.db)
					r := e.do(t, rq)
					status, code, field := tc.status, tc.code, tc.field
					if tc.bodyField != "" {
						status, code, field = bad.bodyStatus, bad.bodyCode, ""
						if status == http.StatusUnprocessableEntity {
							field = tc.bodyField
						}
					}
					mustErrorBody(t, r, status, code)
					if _, got := r.errCode(t); got != field {
						t.Errorf("error field: got %q, want %q (%s)", got, field, r.Body)
					}
					if after := mustFingerprint(t, e.db); after != before {
						t.Errorf("the database changed on a refused call:\nbefore %s\nafter  %s", before, after)
					}
				})
			}
		}
		for _, bad := range badTexts {
			t.Run("holiday_import_summary/"+bad.name, func(t *testing.T) {
				before := mustFingerprint(t, e.db)
				r := e.postICS(t, "admin", "text/calendar", icsWith("Stock"+bad.raw+"take"))
				mustErrorBody(t, r, http.StatusUnprocessableEntity, "invalid")
				if after := mustFingerprint(t, e.db); after != before {
					t.Errorf("the database changed on a refused import:\nbefore %s\nafter  %s", before, after)
				}
			})
		}
	})
}

// fingerprintTables are every table a client's call may write.
var fingerprintTables = []string{"agencies", "users", "api_tokens", "requests", "approvals", "transitions", "events",
	"outbox", "notifications", "preferences", "webhooks", "holidays", "idempotency_keys"}

// mustFingerprint is the whole content of fingerprintTables, to compare
// before and after a call.
func mustFingerprint(tb testing.TB, db *models.DB) string {
	tb.Helper()
	var sb strings.Builder
	for _, table := range fingerprintTables {
		var rows []map[string]any
		if err := db.Conn(context.Background()).Table(table).Order("1").Find(&rows).Error; err != nil {
			tb.Fatalf("read %s: %v", table, err)
		}
		fmt.Fprintf(&sb, "%s:%d:%v;", table, len(rows), rows)
	}
	return sb.String()
}

// TestImportAnswersPerRecordForBadText: one record holding NUL is refused
// with its reason and the others imported; a body that is not UTF-8 is
// refused whole before anything is imported.
func TestImportAnswersPerRecordForBadText(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		record := func(ref, title string) string {
			return `{"external_ref":"` + ref + `","title":"` + title + `","purpose":"p","data_description":"d",` +
				`"classification":"official-open","requesting_agency":"MOH","owner_agency":"HDB","requester_email":"moh.requester@gov.sg",` +
				`"events":[{"action":"submit","at":"2025-03-03T10:00:00+08:00","actor_email":"moh.requester@gov.sg"}]}`
		}
		body := `{"requests":[` + record("OLD-1", "one") + "," + record("OLD-2", `t\u0000wo`) + "," + record("OLD-3", "three") + `]}`
		r := e.do(t, request{method: "POST", path: "/api/v1/admin/import", token: "admin", body: body})
		if r.Status != http.StatusOK {
			t.Fatalf("import: got %d %s, want 200", r.Status, r.Body)
		}
		var res struct {
			Imported int
			Errors   []struct {
				ExternalRef string `json:"external_ref"`
				Message     string `json:"message"`
			} `json:"errors"`
		}
		r.decode(t, &res)
		if res.Imported != 2 || len(res.Errors) != 1 || res.Errors[0].ExternalRef != "OLD-2" || !strings.HasPrefix(res.Errors[0].Message, "title ") {
			t.Fatalf("import: got %s, want OLD-1 and OLD-3 imported, OLD-2 refused naming its title", r.Body)
		}

		before := mustFingerprint(t, e.db)
		raw := `{"requests":[` + record("OLD-4", "four") + "," + record("OLD-5", "fi\xffve") + `]}`
		mustErrorBody(t, e.do(t, request{method: "POST", path: "/api/v1/admin/import", token: "admin", body: raw}), http.StatusBadRequest, "malformed")
		if after := mustFingerprint(t, e.db); after != before {
			t.Errorf("the database changed on a refused import:\nbefore %s\nafter  %s", before, after)
		}
	})
}
