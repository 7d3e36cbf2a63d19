package api_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
)

// mustErrorBody fails unless r is exactly DESIGN.md's error body
// {"error":{"code","message"[,"field"]}} with the given status and code.
func mustErrorBody(tb testing.TB, r resp, status int, code string) {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("got %d %s, want %d", r.Status, r.Body, status)
	}
	var b map[string]map[string]any
	if err := json.Unmarshal(r.Body, &b); err != nil || len(b) != 1 || b["error"] == nil {
		tb.Fatalf("error body: got %s, want {\"error\":{...}}", r.Body)
	}
	e := b["error"]
	if e["code"] != code {
		tb.Errorf("error code: got %v, want %s (%s)", e["code"], code, r.Body)
	}
	if m, _ := e["message"].(string); m == "" {
		tb.Errorf("error message: got %v, want a message for a person", e["message"])
	}
	for k := range e {
		if k != "code" && k != "message" && k != "field" {
			tb.Errorf("error body: unexpected key %q in %s", k, r.Body)
		}
	}
}

// bodyRoutes are the routes that read a JSON body, with a valid body for
// each; the request id is filled in by the test.
func bodyRoutes(e *env, draftID, userID int64) []request {
	return []request{
		{method: "POST", path: "/api/v1/requests", token: "MOH.requester", body: newRequestBody("restricted", "HDB")},
		{method: "PATCH", path: requestPath(draftID, ""), token: "MOH.requester", body: map[string]any{"title": "t"}},
		{method: "POST", path: requestPath(draftID, "/transitions"), token: "MOH.requester", body: map[string]any{"action": "submit"}},
		{method: "POST", path: "/api/v1/agencies", token: "admin", body: map[string]any{"code": "MOE", "name": "Education"}},
		{method: "POST", path: "/api/v1/users", token: "admin", body: map[string]any{"email": "a@gov.sg", "name": "A", "agency": "MOH", "roles": []string{"requester"}}},
		{method: "POST", path: fmt.Sprintf("/api/v1/users/%d/tokens", userID), token: "MOH.requester", body: map[string]any{"name": "laptop"}},
	}
}

func TestUnreadableBodiesAre400(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		draft := e.mustCreate(t, "restricted")
		before := e.mustSnapshot(t, draft.ID)
		bodies := []struct{ name, body, field string }{
			{"not_json", `not json`, ""},
			{"truncated_json", `{"title": "a"`, ""},
			{"an_array", `[]`, ""},
			{"a_string", `"hello"`, ""},
			{"two_objects", `{} {}`, ""},
			{"trailing_garbage", `{}x`, ""},
			{"whitespace_only", "  \n ", ""},
			{"null", `null`, ""},
			{"a_number", `42`, ""},
			{"unknown_field", `{"colour": "red"}`, "colour"},
		}
		for _, rt := range bodyRoutes(e, draft.ID, e.users["MOH.requester"].ID) {
			for _, b := range bodies {
				t.Run(strings.ReplaceAll(rt.method+rt.path, "/", "_")+"/"+b.name+"_is_400", func(t *testing.T) {
					rq := rt
					rq.body = b.body
					r := e.do(t, rq)
					mustErrorBody(t, r, http.StatusBadRequest, "malformed")
					if _, f := r.errCode(t); b.field != "" && f != b.field {
						t.Errorf("field: got %q, want %q", f, b.field)
					}
				})
			}
		}
		e.mustBeUnchanged(t, draft.ID, before)
	})
}

func TestWrongJSONTypeIs400NamingTheField(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		draft := e.mustCreate(t, "restricted")
		before := e.mustSnapshot(t, draft.ID)
		for _, tc := range []struct {
			rq    request
			field string
		}{
			{request{method: "POST", path: "/api/v1/requests", body: `{"title": 5, "purpose": "p", "data_description": "d", "classification": "restricted", "owner_agency": "HDB"}`}, "title"},
			{request{method: "POST", path: "/api/v1/requests", body: `{"title": "t", "purpose": "p", "data_description": "d", "classification": ["restricted"], "owner_agency": "HDB"}`}, "classification"},
			{request{method: "POST", path: "/api/v1/requests", body: `{"title": "t", "purpose": "p", "data_description": "d", "classification": "restricted", "owner_agency": "HDB", "project": {}}`}, "project"},
			{request{method: "PATCH", path: requestPath(draft.ID, ""), body: `{"owner_agency": true}`}, "owner_agency"},
			{request{method: "POST", path: requestPath(draft.ID, "/transitions"), body: `{"action": 1}`}, "action"},
			{request{method: "POST", path: requestPath(draft.ID, "/transitions"), body: `{"action": "submit", "comment": 3}`}, "comment"},
		} {
			tc.rq.token = "MOH.requester"
			r := e.do(t, tc.rq)
			mustErrorBody(t, r, http.StatusBadRequest, "malformed")
			if _, f := r.errCode(t); f != tc.field {
				t.Errorf("%s %s %s: field got %q, want %q", tc.rq.method, tc.rq.path, tc.rq.body, f, tc.field)
			}
		}
		e.mustBeUnchanged(t, draft.ID, before)
		if n := len(e.mustListAll(t, "admin")); n != 1 {
			t.Errorf("requests after bad creates: got %d, want 1", n)
		}
	})
}

// paddedBody returns a valid create body padded with spaces to exactly n
// bytes.
func paddedBody(tb testing.TB, n int) []byte {
	tb.Helper()
	b, err := json.Marshal(newRequestBody("restricted", "HDB"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(b) > n {
		tb.Fatalf("body of %d bytes does not fit in %d", len(b), n)
	}
	return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
}

func TestBodiesOver1MiBAre413(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		draft := e.mustCreate(t, "restricted")
		before := e.mustSnapshot(t, draft.ID)
		big := paddedBody(t, 1<<20+1)
		huge := paddedBody(t, 3<<20)
		for i, rt := range bodyRoutes(e, draft.ID, e.users["MOH.requester"].ID) {
			sizes := [][]byte{big}
			if i == 0 {
				sizes = append(sizes, huge)
			}
			for _, chunked := range []bool{false, true} {
				for _, body := range sizes {
					name := fmt.Sprintf("%s_%s/%d_bytes_chunked_%t_is_413", rt.method, strings.ReplaceAll(rt.path, "/", "_"), len(body), chunked)
					t.Run(name, func(t *testing.T) {
						rq := rt
						rq.body, rq.chunked = body, chunked
						mustErrorBody(t, e.do(t, rq), http.StatusRequestEntityTooLarge, "too_large")
					})
				}
			}
		}
		e.mustBeUnchanged(t, draft.ID, before)
		if n := len(e.mustListAll(t, "admin")); n != 1 {
			t.Errorf("requests after oversized creates: got %d, want 1", n)
		}
	})
}

// DESIGN.md: bodies *over* 1 MiB are refused; 1 MiB itself is accepted.
func TestBodyOfExactly1MiBIsAccepted(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		for _, n := range []int{1 << 20} {
			for _, chunked := range []bool{false, true} {
				t.Run(fmt.Sprintf("%d_bytes_chunked_%t_is_201", n, chunked), func(t *testing.T) {
					r := e.do(t, request{method: "POST", path: "/api/v1/requests", token: "MOH.requester", body: paddedBody(t, n), chunked: chunked})
					if r.Status != http.StatusCreated {
						t.Errorf("got %d %s, want 201", r.Status, r.Body)
					}
				})
			}
		}
	})
}

func TestWrongContentTypeIs415(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		draft := e.mustCreate(t, "restricted")
		before := e.mustSnapshot(t, draft.ID)
		for _, rt := range bodyRoutes(e, draft.ID, e.users["MOH.requester"].ID) {
			for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "not a media type;;"} {
				t.Run(strings.ReplaceAll(rt.method+rt.path, "/", "_")+"/"+ct, func(t *testing.T) {
					rq := rt
					rq.header = map[string]string{"Content-Type": ct}
					mustErrorBody(t, e.do(t, rq), http.StatusUnsupportedMediaType, "unsupported_media_type")
				})
			}
		}
		e.mustBeUnchanged(t, draft.ID, before)

		t.Run("json_with_a_charset_is_accepted", func(t *testing.T) {
			r := e.do(t, request{method: "POST", path: "/api/v1/requests", token: "MOH.requester", body: newRequestBody("restricted", "HDB"),
				header: map[string]string{"Content-Type": "application/json; charset=utf-8"}})
			mustStatus(t, r, http.StatusCreated, "")
		})
	})
}

func TestInvalidRequestFieldsAre422(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		with := func(k string, v any) map[string]any {
			b := newRequestBody("restricted", "HDB")
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
			return b
		}
		for _, tc := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"unknown_classification", with("classification", "top-secret"), "classification"},
			{"classification_in_upper_case", with("classification", "RESTRICTED"), "classification"},
			{"missing_classification", with("classification", nil), "classification"},
			{"unknown_owner_agency", with("owner_agency", "NOPE"), "owner_agency"},
			{"owner_agency_is_own_agency", with("owner_agency", "MOH"), "owner_agency"},
			{"missing_owner_agency", with("owner_agency", nil), "owner_agency"},
			{"missing_title", with("title", nil), "title"},
			{"blank_title", with("title", "   "), "title"},
			{"title_too_long", with("title", strings.Repeat("t", 201)), "title"},
			{"missing_purpose", with("purpose", nil), "purpose"},
			{"missing_data_description", with("data_description", nil), "data_description"},
			{"legal_basis_too_long", with("legal_basis", strings.Repeat("l", 1001)), "legal_basis"},
			{"project_too_long", with("project", strings.Repeat("p", 201)), "project"},
		} {
			t.Run(tc.name+"_is_422_"+tc.field, func(t *testing.T) {
				r := e.do(t, request{method: "POST", path: "/api/v1/requests", token: "MOH.requester", body: tc.body})
				mustErrorBody(t, r, http.StatusUnprocessableEntity, "invalid")
				mustFieldError(t, r, tc.field)
			})
		}
		if n := len(e.mustListAll(t, "admin")); n != 0 {
			t.Errorf("requests after invalid creates: got %d, want 0", n)
		}
		t.Run("a_non_requester_is_403", func(t *testing.T) {
			for _, who := range []string{"HDB.approver", "MOH.manager", "admin"} {
				mustErrorBody(t, e.do(t, request{method: "POST", path: "/api/v1/requests", token: who, body: newRequestBody("restricted", "X")}), http.StatusForbidden, "forbidden")
			}
		})
	})
}

func TestInvalidTransitionInputIs422(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		sub := e.mustReach(t, "restricted", "submitted")
		clar := e.mustReach(t, "restricted", "clarification_requested")
		for _, tc := range []struct {
			name  string
			id    int64
			who   string
			body  map[string]any
			field string
		}{
			{"unknown_action", sub.ID, "HDB.approver", map[string]any{"action": "approve_all"}, "action"},
			{"create_is_not_an_action", sub.ID, "HDB.approver", map[string]any{"action": "create"}, "action"},
			{"missing_action", sub.ID, "HDB.approver", map[string]any{}, "action"},
			{"reject_without_comment", sub.ID, "HDB.approver", map[string]any{"action": "reject"}, "comment"},
			{"reject_with_blank_comment", sub.ID, "HDB.approver", map[string]any{"action": "reject", "comment": "  \n\t"}, "comment"},
			{"request_clarification_without_comment", sub.ID, "HDB.approver", map[string]any{"action": "request_clarification"}, "comment"},
			{"request_clarification_with_empty_comment", sub.ID, "HDB.approver", map[string]any{"action": "request_clarification", "comment": ""}, "comment"},
			{"respond_without_comment", clar.ID, "MOH.requester", map[string]any{"action": "respond"}, "comment"},
			{"respond_with_blank_comment", clar.ID, "MOH.requester2", map[string]any{"action": "respond", "comment": " "}, "comment"},
			{"comment_too_long", sub.ID, "HDB.approver", map[string]any{"action": "approve", "comment": strings.Repeat("c", 5001)}, "comment"},
			// The unknown action is refused before visibility.
			{"unknown_action_by_a_third_agency", sub.ID, "X.requester", map[string]any{"action": "nope"}, "action"},
		} {
			t.Run(tc.name+"_is_422_"+tc.field, func(t *testing.T) {
				before := e.mustSnapshot(t, tc.id)
				r := e.do(t, request{method: "POST", path: requestPath(tc.id, "/transitions"), token: tc.who, body: tc.body})
				mustErrorBody(t, r, http.StatusUnprocessableEntity, "invalid")
				mustFieldError(t, r, tc.field)
				e.mustBeUnchanged(t, tc.id, before)
			})
		}
	})
}

func TestBadPathIDsAre404(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		e.mustCreate(t, "restricted")
		for _, id := range []string{"abc", "0", "-1", "1.5", "1e3", "99999999999999999999", "%20"} {
			for _, rq := range []request{
				{method: "GET", path: "/api/v1/requests/" + id},
				{method: "GET", path: "/api/v1/requests/" + id + "/history"},
				{method: "PATCH", path: "/api/v1/requests/" + id, body: map[string]any{"title": "x"}},
				{method: "POST", path: "/api/v1/requests/" + id + "/transitions", body: map[string]any{"action": "withdraw"}},
				{method: "POST", path: "/api/v1/users/" + id + "/tokens", body: map[string]any{"name": "x"}},
				{method: "DELETE", path: "/api/v1/tokens/" + id},
			} {
				t.Run(rq.method+"_"+strings.ReplaceAll(rq.path, "/", "_")+"_is_404", func(t *testing.T) {
					rq.token = "admin"
					mustErrorBody(t, e.do(t, rq), http.StatusNotFound, "not_found")
				})
			}
		}
	})
}

func TestBadListQueriesAre422NamingTheParameter(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		e.mustCreate(t, "restricted")
		for _, tc := range []struct{ query, field string }{
			{"limit=abc", "limit"},
			{"limit=0", "limit"},
			{"limit=-1", "limit"},
			{"limit=101", "limit"},
			{"limit=1.5", "limit"},
			{"limit=99999999999999999999", "limit"},
			{"cursor=not-a-cursor", "cursor"},
			{"cursor=%21%21%21", "cursor"},
			{"cursor=AAAAAAAAAAA", "cursor"}, // id 0
			{"cursor=gAAAAAAAAAA", "cursor"}, // negative id
			{"cursor=AAAAAAAAAAAB", "cursor"},
			{"state=open", "state"},
			{"state=DRAFT", "state"},
		} {
			t.Run(tc.query+"_is_422", func(t *testing.T) {
				r := e.do(t, request{method: "GET", path: "/api/v1/requests?" + tc.query, token: "MOH.requester"})
				mustErrorBody(t, r, http.StatusUnprocessableEntity, "invalid")
				mustFieldError(t, r, tc.field)
			})
		}
		for _, q := range []string{"limit=1", "limit=100", "state=draft", "owner_agency=NOPE"} {
			t.Run(q+"_is_200", func(t *testing.T) { e.mustList(t, "MOH.requester", q) })
		}
	})
}

func TestMissingOrBadTokenIs401(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		v := e.mustCreate(t, "restricted")
		before := e.mustSnapshot(t, v.ID)
		good := e.tokens["MOH.requester"]
		auths := map[string]string{
			"no_header":        "",
			"bearer_only":      "Bearer",
			"bearer_and_space": "Bearer   ",
			"basic_scheme":     "Basic " + good,
			"unknown_token":    "Bearer dst_not_a_token",
			"token_with_junk":  "Bearer " + good + "x",
			"token_alone":      good,
		}
		routes := []request{
			{method: "GET", path: "/api/v1/me"},
			{method: "GET", path: "/api/v1/requests"},
			{method: "GET", path: requestPath(v.ID, "")},
			{method: "POST", path: "/api/v1/requests", body: newRequestBody("restricted", "HDB")},
			{method: "POST", path: requestPath(v.ID, "/transitions"), body: map[string]any{"action": "submit"}},
			{method: "PATCH", path: requestPath(v.ID, ""), body: map[string]any{"title": "x"}},
			{method: "GET", path: "/api/v1/agencies"},
			{method: "POST", path: "/api/v1/agencies", body: map[string]any{"code": "MOE", "name": "MOE"}},
		}
		for name, auth := range auths {
			for _, rq := range routes {
				t.Run(name+"/"+rq.method+strings.ReplaceAll(rq.path, "/", "_")+"_is_401", func(t *testing.T) {
					if auth != "" {
						rq.header = map[string]string{"Authorization": auth}
					}
					mustErrorBody(t, e.do(t, rq), http.StatusUnauthorized, "unauthenticated")
				})
			}
		}
		e.mustBeUnchanged(t, v.ID, before)
		t.Run("message_reads_as_written", func(t *testing.T) {
			for auth, want := range map[string]string{
				"":                  "send an API token as Authorization: Bearer TOKEN",
				"Basic " + good:     "the Authorization header must be Bearer TOKEN",
				"Bearer dst_absent": "unknown or revoked API token (deactivating a user or changing their agency revokes their tokens)",
			} {
				rq := request{method: "GET", path: "/api/v1/me"}
				if auth != "" {
					rq.header = map[string]string{"Authorization": auth}
				}
				var b struct{ Error struct{ Message string } }
				r := e.do(t, rq)
				r.decode(t, &b)
				if b.Error.Message != want || strings.Contains(string(r.Body), `\u00`) {
					t.Errorf("Authorization %q: got %s, want the message %q with no escaped characters", auth, r.Body, want)
				}
			}
		})
		t.Run("scheme_is_case_insensitive", func(t *testing.T) {
			r := e.do(t, request{method: "GET", path: "/api/v1/me", header: map[string]string{"Authorization": "bearer " + good}})
			mustStatus(t, r, http.StatusOK, "")
		})
	})
}

// The OpenAPI document promises 405 method_not_allowed for a path that
// exists with another method.
func TestUnknownRouteAndMethod(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		mustErrorBody(t, e.do(t, request{method: "GET", path: "/api/v1/nothing-here", token: "admin"}), http.StatusNotFound, "not_found")
		mustErrorBody(t, e.do(t, request{method: "DELETE", path: "/healthz"}), http.StatusMethodNotAllowed, "method_not_allowed")
		for _, rq := range []request{
			{method: "DELETE", path: "/api/v1/requests", token: "admin"},
			{method: "PUT", path: "/api/v1/requests/1", token: "admin"},
			{method: "GET", path: "/api/v1/requests/1/transitions", token: "admin"},
		} {
			t.Run(rq.method+strings.ReplaceAll(rq.path, "/", "_")+"_is_405", func(t *testing.T) {
				mustErrorBody(t, e.do(t, rq), http.StatusMethodNotAllowed, "method_not_allowed")
			})
		}
	})
}

func TestPaginationWalksEveryRequestOnceNewestFirst(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		var ids []int64
		for range 7 {
			ids = append(ids, e.mustCreate(t, "official-open").ID)
		}
		// Requests of another agency are not in MOH's pages.
		r := e.do(t, request{method: "POST", path: "/api/v1/requests", token: "X.requester", body: newRequestBody("restricted", "HDB")})
		mustStatus(t, r, http.StatusCreated, "")
		slices.Reverse(ids)

		for _, limit := range []int{1, 2, 3, 6, 7, 8, 100} {
			t.Run(fmt.Sprintf("limit_%d", limit), func(t *testing.T) {
				var got []int64
				pages := 0
				q := fmt.Sprintf("limit=%d", limit)
				for {
					pages++
					if pages > 20 {
						t.Fatalf("more than 20 pages")
					}
					p := e.mustList(t, "MOH.requester2", q)
					if len(p.Items) > limit {
						t.Fatalf("page %d: got %d items, want at most %d", pages, len(p.Items), limit)
					}
					if len(p.Items) == 0 {
						t.Fatalf("page %d: got an empty page, want next_cursor null on the previous one", pages)
					}
					for _, it := range p.Items {
						got = append(got, it.ID)
					}
					if p.NextCursor == nil {
						break
					}
					q = fmt.Sprintf("limit=%d&cursor=%s", limit, *p.NextCursor)
				}
				if !slices.Equal(got, ids) {
					t.Errorf("ids over all pages: got %v, want %v (each once, newest first)", got, ids)
				}
				if want := (len(ids) + limit - 1) / limit; pages != want {
					t.Errorf("pages: got %d, want %d", pages, want)
				}
			})
		}

		t.Run("default_limit_returns_all_seven", func(t *testing.T) {
			p := e.mustList(t, "MOH.requester", "")
			if len(p.Items) != 7 || p.NextCursor != nil {
				t.Errorf("got %d items, next_cursor %v, want 7 and null", len(p.Items), p.NextCursor)
			}
		})
		t.Run("next_cursor_is_null_not_absent", func(t *testing.T) {
			r := e.do(t, request{method: "GET", path: "/api/v1/requests", token: "MOH.requester"})
			if !bytes.Contains(r.Body, []byte(`"next_cursor":null`)) {
				t.Errorf("got %s, want \"next_cursor\":null", r.Body)
			}
		})
		t.Run("an_empty_list_is_an_empty_array", func(t *testing.T) {
			// HDB owns the data of every request here, but none is submitted.
			r := e.do(t, request{method: "GET", path: "/api/v1/requests", token: "HDB.manager"})
			var raw map[string]json.RawMessage
			r.decode(t, &raw)
			if string(raw["items"]) != "[]" {
				t.Errorf("items: got %s, want []", raw["items"])
			}
		})
	})
}

// Every answer, including errors raised before a handler runs, carries an
// X-Request-Id to quote when reporting a problem.
func TestEveryAnswerCarriesARequestID(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		seen := map[string]bool{}
		for _, rq := range []request{
			{method: "GET", path: "/healthz"},
			{method: "GET", path: "/api/v1/me", token: "MOH.requester"},
			{method: "GET", path: "/api/v1/me"},
			{method: "GET", path: "/api/v1/requests/999", token: "admin"},
			{method: "DELETE", path: "/healthz"},
			{method: "POST", path: "/api/v1/requests", token: "MOH.requester", body: paddedBody(t, 2<<20)},
			{method: "POST", path: "/api/v1/requests", token: "MOH.requester", body: "{}", header: map[string]string{"Content-Type": "text/plain"}},
			{method: "POST", path: "/api/v1/requests", token: "MOH.requester", body: "{"},
		} {
			r := e.do(t, rq)
			id := r.Header.Get("X-Request-Id")
			if id == "" || seen[id] {
				t.Errorf("%s %s (%d): got X-Request-Id %q, want a fresh one", rq.method, rq.path, r.Status, id)
			}
			seen[id] = true
		}
	})
}

func TestPaginationWalksEveryRequestOnceSoonestDueFirst(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		// MOH sees its own drafts and requests (dated once submitted,
		// undated while paused) and HDB's submitted requests for MOH's data.
		for range 3 {
			e.mustCreate(t, "official-open")
		}
		for i := range 4 {
			id := e.mustCreate(t, "official-open").ID
			e.mustAct(t, id, "MOH.requester", "submit", "")
			if i == 1 {
				e.mustAct(t, id, "HDB.approver", "request_clarification", "Which years?")
			}
		}
		for i := range 4 {
			r := e.do(t, request{method: "POST", path: "/api/v1/requests", token: "HDB.requester", body: newRequestBody("official-open", "MOH")})
			mustStatus(t, r, http.StatusCreated, "")
			var v requestView
			r.decode(t, &v)
			if i < 3 {
				e.mustAct(t, v.ID, "HDB.requester", "submit", "")
			}
		}
		type dueView struct {
			ID  int64 `json:"id"`
			SLA struct {
				DueAt  *time.Time `json:"due_at"`
				Paused bool       `json:"paused"`
			} `json:"sla"`
		}
		type duePage struct {
			Items      []dueView `json:"items"`
			NextCursor *string   `json:"next_cursor"`
		}
		walk := func(t *testing.T, limit int) []dueView {
			var got []dueView
			q := fmt.Sprintf("sort=due_at&limit=%d", limit)
			for pages := 1; ; pages++ {
				if pages > 20 {
					t.Fatalf("more than 20 pages")
				}
				r := e.do(t, request{method: "GET", path: "/api/v1/requests?" + q, token: "MOH.requester2"})
				mustStatus(t, r, http.StatusOK, "")
				var p duePage
				r.decode(t, &p)
				got = append(got, p.Items...)
				if p.NextCursor == nil {
					return got
				}
				q = fmt.Sprintf("sort=due_at&limit=%d&cursor=%s", limit, *p.NextCursor)
			}
		}
		// A paused request shows a due date projected from now; it has
		// none until the clock runs again, so it sorts with the undated.
		undated := func(v dueView) bool { return v.SLA.DueAt == nil || v.SLA.Paused }
		all := walk(t, 100)
		if len(all) != 10 {
			t.Fatalf("MOH sees %d requests, want 10 (3 drafts, 4 own submitted, 3 of HDB submitted)", len(all))
		}
		want := slices.Clone(all)
		slices.SortFunc(want, func(a, b dueView) int {
			switch {
			case undated(a) && undated(b):
				return cmp.Compare(a.ID, b.ID)
			case undated(a):
				return 1
			case undated(b):
				return -1
			}
			if c := a.SLA.DueAt.Compare(*b.SLA.DueAt); c != 0 {
				return c
			}
			return cmp.Compare(a.ID, b.ID)
		})
		ids := func(vs []dueView) []int64 {
			out := make([]int64, len(vs))
			for i, v := range vs {
				out[i] = v.ID
			}
			return out
		}
		if dated := slices.IndexFunc(want, undated); dated != 6 {
			t.Fatalf("dated requests: got %d, want 6 (one own is paused)", dated)
		}
		for _, limit := range []int{1, 2, 3, 5, 6, 7, 10} {
			t.Run(fmt.Sprintf("limit_%d", limit), func(t *testing.T) {
				if got := ids(walk(t, limit)); !slices.Equal(got, ids(want)) {
					t.Errorf("ids over all pages: got %v, want %v (soonest due first, undated last by id)", got, ids(want))
				}
			})
		}
		t.Run("a_newest_cursor_is_refused_when_sorted_by_due", func(t *testing.T) {
			r := e.do(t, request{method: "GET", path: "/api/v1/requests?limit=1", token: "MOH.requester2"})
			var p duePage
			r.decode(t, &p)
			r = e.do(t, request{method: "GET", path: "/api/v1/requests?sort=due_at&cursor=" + *p.NextCursor, token: "MOH.requester2"})
			mustFieldError(t, r, "cursor")
		})
	})
}
