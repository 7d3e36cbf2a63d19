package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"datashare/models"
	"datashare/models/modelstest"
)

// The expected outcomes below are DESIGN.md's tables written out for the
// test cast; they are kept apart from the workflow package on purpose.

var matrixStates = []string{"draft", "submitted", "clarification_requested", "approved", "fulfilled", "rejected", "withdrawn"}
var matrixActions = []string{"submit", "approve", "reject", "request_clarification", "respond", "fulfil", "withdraw"}

// matrixActors: MOH files the requests (MOH.requester is the request's own
// requester), HDB owns the data, X is a third agency; admin is of GOVTECH.
var matrixActors = []string{"MOH.requester", "MOH.requester2", "HDB.approver", "HDB.manager", "MOH.approver", "X.requester", "X.approver", "admin"}

// sees: "always", "submitted" (every state reached through submit) or "never".
var matrixSees = map[string]string{
	"MOH.requester": "always", "MOH.requester2": "always", "MOH.approver": "always", "admin": "always",
	"HDB.approver": "submitted", "HDB.manager": "submitted",
	"X.requester": "never", "X.approver": "never",
}

var matrixMay = map[string][]string{
	"MOH.requester":  {"submit", "respond", "withdraw"},
	"MOH.requester2": {"submit", "respond", "withdraw"},
	"HDB.approver":   {"approve", "reject", "request_clarification", "fulfil"},
}

var matrixFrom = map[string][]string{
	"submit":                {"draft"},
	"approve":               {"submitted"},
	"reject":                {"submitted"},
	"request_clarification": {"submitted"},
	"respond":               {"clarification_requested"},
	"fulfil":                {"approved"},
	"withdraw":              {"draft", "submitted", "clarification_requested", "approved"},
}

// matrixTo is the state after an allowed action on a `restricted` request
// (approve from submitted is the first of two approvals).
var matrixTo = map[string]string{
	"submit":                "submitted",
	"approve":               "submitted",
	"reject":                "rejected",
	"request_clarification": "clarification_requested",
	"respond":               "submitted",
	"fulfil":                "fulfilled",
	"withdraw":              "withdrawn",
}

func matrixWant(who, action, state string) (int, string) {
	switch matrixSees[who] {
	case "never":
		return http.StatusNotFound, "not_found"
	case "submitted":
		if state == "draft" {
			return http.StatusNotFound, "not_found"
		}
	}
	if !slices.Contains(matrixMay[who], action) {
		return http.StatusForbidden, "forbidden"
	}
	if !slices.Contains(matrixFrom[action], state) {
		return http.StatusConflict, "conflict"
	}
	return http.StatusOK, ""
}

type historyRow struct {
	Action    string  `json:"action"`
	FromState *string `json:"from_state"`
	ToState   string  `json:"to_state"`
	Actor     *struct {
		ID    int64  `json:"id"`
		Email string `json:"email"`
	} `json:"actor"`
	At      string `json:"at"`
	Comment string `json:"comment"`
}

func (e *env) mustHistory(tb testing.TB, id int64) []historyRow {
	tb.Helper()
	r := e.do(tb, request{method: "GET", path: requestPath(id, "/history"), token: "admin"})
	if r.Status != http.StatusOK {
		tb.Fatalf("history %d: got %d %s", id, r.Status, r.Body)
	}
	var h struct{ Items []historyRow }
	r.decode(tb, &h)
	return h.Items
}

// mustRowState is the stored state of request id, straight from the
// database: its row, and how many history rows and approvals it has. It is
// much cheaper than two HTTP calls, so the matrix can take it after every
// cell.
func (e *env) mustRowState(tb testing.TB, id int64) string {
	tb.Helper()
	row := map[string]any{}
	if err := e.db.Gorm.Table("requests").Where("id = ?", id).Take(&row).Error; err != nil {
		tb.Fatalf("read request %d: %v", id, err)
	}
	var hist, approvals int64
	if err := e.db.Gorm.Table("transitions").Where("request_id = ?", id).Count(&hist).Error; err != nil {
		tb.Fatal(err)
	}
	if err := e.db.Gorm.Table("approvals").Where("request_id = ?", id).Count(&approvals).Error; err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf("%v history=%d approvals=%d", row, hist, approvals)
}

// TestTransitionMatrix runs every action from every state by every member of
// the cast. A comment is always sent, so the outcome is decided by
// visibility, role and state alone. After every refusal the stored request,
// its history and its approvals are unchanged; after every action's round of
// refusals, the request as the admin GETs it is byte-identical to before and
// its history as long. Allowed actions run on a fresh request each.
func TestTransitionMatrix(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		for _, state := range matrixStates {
			t.Run("from_"+state, func(t *testing.T) {
				t.Parallel()
				shared := e.mustReach(t, "restricted", state)
				before := e.mustSnapshot(t, shared.ID)
				stored := e.mustRowState(t, shared.ID)
				for _, action := range matrixActions {
					for _, who := range matrixActors {
						want, wantCode := matrixWant(who, action, state)
						name := fmt.Sprintf("%s_by_%s_is_%d", action, who, want)
						t.Run(name, func(t *testing.T) {
							if want == http.StatusOK {
								checkAllowed(t, e, state, action, who)
								return
							}
							r := e.act(t, shared.ID, who, action, "a comment")
							if r.Status != want {
								t.Errorf("got %d %s, want %d", r.Status, r.Body, want)
							} else if code, _ := r.errCode(t); code != wantCode {
								t.Errorf("error code: got %q, want %q", code, wantCode)
							}
							if now := e.mustRowState(t, shared.ID); now != stored {
								t.Errorf("request changed on a refused call: got %s, want %s", now, stored)
								e.mustBeUnchanged(t, shared.ID, before) // say how, through the API
								// Keep the next cells meaningful.
								shared = e.mustReach(t, "restricted", state)
								before = e.mustSnapshot(t, shared.ID)
								stored = e.mustRowState(t, shared.ID)
							}
						})
					}
					t.Run(action+"_refusals_left_the_request_as_it_was", func(t *testing.T) {
						e.mustBeUnchanged(t, shared.ID, before)
					})
				}
			})
		}
	})
}

func checkAllowed(t *testing.T, e *env, state, action, who string) {
	t.Helper()
	v := e.mustReach(t, "restricted", state)
	hist := e.mustHistoryLen(t, v.ID)
	r := e.act(t, v.ID, who, action, "a comment")
	if r.Status != http.StatusOK {
		t.Fatalf("got %d %s, want 200", r.Status, r.Body)
	}
	var got requestView
	r.decode(t, &got)
	if got.State != matrixTo[action] {
		t.Errorf("state: got %s, want %s", got.State, matrixTo[action])
	}
	if got.Version != v.Version+1 {
		t.Errorf("version: got %d, want %d", got.Version, v.Version+1)
	}
	if tag := r.Header.Get("ETag"); tag != fmt.Sprintf(`"%d"`, got.Version) {
		t.Errorf("ETag: got %q, want %q", tag, fmt.Sprintf(`"%d"`, got.Version))
	}
	terminal := got.State == "fulfilled" || got.State == "rejected" || got.State == "withdrawn"
	if terminal != (got.ClosedAt != nil) {
		t.Errorf("closed_at: got %v, want set only in a terminal state (%s)", got.ClosedAt, got.State)
	}
	h := e.mustHistory(t, v.ID)
	if len(h) != hist+1 {
		t.Fatalf("history: got %d rows, want %d", len(h), hist+1)
	}
	last := h[len(h)-1]
	if last.Action != action || last.FromState == nil || *last.FromState != state || last.ToState != got.State ||
		last.Actor == nil || last.Actor.ID != e.users[who].ID || last.Comment != "a comment" {
		t.Errorf("last history row: got %+v, want %s from %s to %s by %s with the comment", last, action, state, got.State, who)
	}
}

func TestVisibility(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		v := e.mustCreate(t, "official-open")
		// A draft withdrawn before submission stays private too.
		wd := e.mustCreate(t, "official-open")
		e.mustAct(t, wd.ID, "MOH.requester", "withdraw", "")

		see := func(t *testing.T, who string, id int64, want bool) {
			t.Helper()
			wantStatus := http.StatusNotFound
			if want {
				wantStatus = http.StatusOK
			}
			for _, suffix := range []string{"", "/history"} {
				r := e.do(t, request{method: "GET", path: requestPath(id, suffix), token: who})
				if r.Status != wantStatus {
					t.Errorf("GET %d%s as %s: got %d %s, want %d", id, suffix, who, r.Status, r.Body, wantStatus)
				}
				if r.Status == http.StatusNotFound {
					if code, _ := r.errCode(t); code != "not_found" {
						t.Errorf("GET %d%s as %s: got code %q, want not_found", id, suffix, who, code)
					}
				}
			}
			if got := listed(e.mustListAll(t, who), id); got != want {
				t.Errorf("request %d in the list of %s: got %t, want %t", id, who, got, want)
			}
		}

		t.Run("draft_seen_only_by_requesting_agency_and_admin", func(t *testing.T) {
			for _, who := range []string{"MOH.requester", "MOH.requester2", "MOH.approver", "MOH.manager", "admin"} {
				see(t, who, v.ID, true)
				see(t, who, wd.ID, true)
			}
			for _, who := range []string{"HDB.approver", "HDB.manager", "HDB.requester", "X.requester", "X.approver", "X.manager"} {
				see(t, who, v.ID, false)
				see(t, who, wd.ID, false)
			}
		})

		e.mustAct(t, v.ID, "MOH.requester", "submit", "")
		t.Run("submitted_seen_by_owner_agency_too", func(t *testing.T) {
			for _, who := range []string{"MOH.requester", "MOH.requester2", "MOH.approver", "HDB.approver", "HDB.manager", "HDB.requester", "admin"} {
				see(t, who, v.ID, true)
			}
			for _, who := range []string{"X.requester", "X.approver", "X.manager"} {
				see(t, who, v.ID, false)
			}
		})

		e.mustAct(t, v.ID, "HDB.approver", "approve", "")
		e.mustAct(t, v.ID, "HDB.approver", "fulfil", "")
		t.Run("third_agency_never_sees_even_when_closed", func(t *testing.T) {
			see(t, "HDB.manager", v.ID, true)
			see(t, "X.approver", v.ID, false)
		})

		t.Run("list_filters_only_narrow_what_is_visible", func(t *testing.T) {
			p := e.mustList(t, "X.requester", "owner_agency=HDB&requesting_agency=MOH")
			if len(p.Items) != 0 {
				t.Errorf("X.requester filtering for MOH→HDB: got %d items, want 0", len(p.Items))
			}
			p = e.mustList(t, "HDB.manager", "state=draft")
			if len(p.Items) != 0 {
				t.Errorf("HDB.manager listing drafts: got %d items, want 0", len(p.Items))
			}
			p = e.mustList(t, "admin", "state=draft")
			if len(p.Items) != 0 {
				t.Errorf("admin listing drafts: got %d items, want 0 (the only draft was withdrawn)", len(p.Items))
			}
			p = e.mustList(t, "admin", "state=fulfilled&owner_agency=HDB")
			if len(p.Items) != 1 || p.Items[0].ID != v.ID {
				t.Errorf("admin listing fulfilled HDB requests: got %+v, want only %d", p.Items, v.ID)
			}
		})
	})
}

func TestUnknownRequestIsNotFound(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		for _, rq := range []request{
			{method: "GET", path: requestPath(999999, "")},
			{method: "GET", path: requestPath(999999, "/history")},
			{method: "PATCH", path: requestPath(999999, ""), body: map[string]any{"title": "x"}},
			{method: "POST", path: requestPath(999999, "/transitions"), body: map[string]any{"action": "submit"}},
		} {
			rq.token = "admin"
			r := e.do(t, rq)
			if r.Status != http.StatusNotFound {
				t.Errorf("%s %s: got %d %s, want 404", rq.method, rq.path, r.Status, r.Body)
			}
		}
	})
}

func (e *env) patch(tb testing.TB, id int64, who string, body any, ifMatch string) resp {
	tb.Helper()
	rq := request{method: "PATCH", path: requestPath(id, ""), token: who, body: body}
	if ifMatch != "" {
		rq.header = map[string]string{"If-Match": ifMatch}
	}
	return e.do(tb, rq)
}

func TestPatch(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		newTitle := map[string]any{"title": "Residents aged 70+ per block"}

		t.Run("own_requester_edits_a_draft", func(t *testing.T) {
			v := e.mustCreate(t, "restricted")
			r := e.patch(t, v.ID, "MOH.requester", map[string]any{"title": "  New title  ", "classification": "official-open", "project": "Silver"}, "")
			mustStatus(t, r, http.StatusOK, "")
			var got struct {
				requestView
				Title   string  `json:"title"`
				Project *string `json:"project"`
			}
			r.decode(t, &got)
			if got.Title != "New title" || got.Version != 2 || got.ApprovalsRequired != 1 || got.Project == nil || *got.Project != "Silver" {
				t.Errorf("got title %q version %d approvals_required %d project %v, want \"New title\" 2 1 Silver", got.Title, got.Version, got.ApprovalsRequired, got.Project)
			}
			if tag := r.Header.Get("ETag"); tag != `"2"` {
				t.Errorf("ETag: got %q, want \"2\"", tag)
			}
			// An empty project clears it.
			r = e.patch(t, v.ID, "MOH.requester", map[string]any{"project": ""}, "")
			mustStatus(t, r, http.StatusOK, "")
			r.decode(t, &got)
			if got.Project != nil || got.Version != 3 {
				t.Errorf("after clearing project: got %v version %d, want null 3", got.Project, got.Version)
			}
		})

		t.Run("others_are_refused_in_draft", func(t *testing.T) {
			v := e.mustCreate(t, "restricted")
			before := e.mustSnapshot(t, v.ID)
			for who, want := range map[string]int{
				"MOH.requester2": http.StatusForbidden, "MOH.approver": http.StatusForbidden, "MOH.manager": http.StatusForbidden,
				"admin": http.StatusForbidden, "HDB.approver": http.StatusNotFound, "HDB.requester": http.StatusNotFound,
				"X.requester": http.StatusNotFound,
			} {
				r := e.patch(t, v.ID, who, newTitle, "")
				if r.Status != want {
					t.Errorf("PATCH as %s: got %d %s, want %d", who, r.Status, r.Body, want)
				}
			}
			e.mustBeUnchanged(t, v.ID, before)
		})

		t.Run("nobody_edits_after_draft", func(t *testing.T) {
			for _, state := range matrixStates[1:] {
				v := e.mustReach(t, "restricted", state)
				before := e.mustSnapshot(t, v.ID)
				for who, want := range map[string]int{
					"MOH.requester": http.StatusConflict, "MOH.requester2": http.StatusForbidden,
					"HDB.approver": http.StatusForbidden, "admin": http.StatusForbidden, "X.requester": http.StatusNotFound,
				} {
					r := e.patch(t, v.ID, who, newTitle, "")
					if r.Status != want {
						t.Errorf("PATCH in %s as %s: got %d %s, want %d", state, who, r.Status, r.Body, want)
					}
				}
				e.mustBeUnchanged(t, v.ID, before)
			}
		})

		t.Run("invalid_fields_are_422_and_change_nothing", func(t *testing.T) {
			v := e.mustCreate(t, "restricted")
			before := e.mustSnapshot(t, v.ID)
			for _, tc := range []struct {
				body  map[string]any
				field string
			}{
				{map[string]any{"classification": "secret"}, "classification"},
				{map[string]any{"owner_agency": "MOH"}, "owner_agency"},
				{map[string]any{"owner_agency": "NOPE"}, "owner_agency"},
				{map[string]any{"title": "   "}, "title"},
			} {
				mustFieldError(t, e.patch(t, v.ID, "MOH.requester", tc.body, ""), tc.field)
			}
			e.mustBeUnchanged(t, v.ID, before)
		})
	})
}

func TestIfMatch(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)

		t.Run("get_and_create_send_the_version_as_etag", func(t *testing.T) {
			r := e.do(t, request{method: "POST", path: "/api/v1/requests", token: "MOH.requester", body: newRequestBody("restricted", "HDB")})
			mustStatus(t, r, http.StatusCreated, "")
			if tag := r.Header.Get("ETag"); tag != `"1"` {
				t.Errorf("create ETag: got %q, want \"1\"", tag)
			}
			var v requestView
			r.decode(t, &v)
			g := e.do(t, request{method: "GET", path: requestPath(v.ID, ""), token: "MOH.requester"})
			if tag := g.Header.Get("ETag"); tag != `"1"` {
				t.Errorf("GET ETag: got %q, want \"1\"", tag)
			}
			e.mustAct(t, v.ID, "MOH.requester", "submit", "")
			g = e.do(t, request{method: "GET", path: requestPath(v.ID, ""), token: "HDB.approver"})
			if tag := g.Header.Get("ETag"); tag != `"2"` {
				t.Errorf("GET ETag after submit: got %q, want \"2\"", tag)
			}
		})

		t.Run("stale_if_match_on_patch_is_412_and_changes_nothing", func(t *testing.T) {
			v := e.mustCreate(t, "restricted")
			before := e.mustSnapshot(t, v.ID)
			for _, tag := range []string{`"2"`, `"7"`, `W/"2"`} {
				mustStatus(t, e.patch(t, v.ID, "MOH.requester", map[string]any{"title": "changed"}, tag), http.StatusPreconditionFailed, "precondition_failed")
			}
			// 412 is checked before the caller's right to edit.
			mustStatus(t, e.patch(t, v.ID, "MOH.requester2", map[string]any{"title": "changed"}, `"2"`), http.StatusPreconditionFailed, "precondition_failed")
			e.mustBeUnchanged(t, v.ID, before)
		})

		t.Run("matching_if_match_on_patch_succeeds", func(t *testing.T) {
			v := e.mustCreate(t, "restricted")
			r := e.patch(t, v.ID, "MOH.requester", map[string]any{"title": "one"}, `"1"`)
			mustStatus(t, r, http.StatusOK, "")
			if tag := r.Header.Get("ETag"); tag != `"2"` {
				t.Errorf("ETag: got %q, want \"2\"", tag)
			}
			mustStatus(t, e.patch(t, v.ID, "MOH.requester", map[string]any{"title": "two"}, `W/"2"`), http.StatusOK, "")
			mustStatus(t, e.patch(t, v.ID, "MOH.requester", map[string]any{"title": "three"}, `*`), http.StatusOK, "")
			// The first writer's ETag is now stale.
			mustStatus(t, e.patch(t, v.ID, "MOH.requester", map[string]any{"title": "four"}, `"2"`), http.StatusPreconditionFailed, "precondition_failed")
		})

		t.Run("unreadable_if_match_is_400", func(t *testing.T) {
			v := e.mustCreate(t, "restricted")
			before := e.mustSnapshot(t, v.ID)
			for _, tag := range []string{`abc`, `"0"`, `"-1"`} {
				mustStatus(t, e.patch(t, v.ID, "MOH.requester", map[string]any{"title": "x"}, tag), http.StatusBadRequest, "malformed")
				r := e.do(t, request{method: "POST", path: requestPath(v.ID, "/transitions"), token: "MOH.requester",
					body: map[string]any{"action": "submit"}, header: map[string]string{"If-Match": tag}})
				mustStatus(t, r, http.StatusBadRequest, "malformed")
			}
			e.mustBeUnchanged(t, v.ID, before)
		})

		t.Run("stale_if_match_on_transition_is_412_and_changes_nothing", func(t *testing.T) {
			v := e.mustReach(t, "restricted", "submitted")
			before := e.mustSnapshot(t, v.ID)
			for _, tc := range []struct{ who, action, tag string }{
				{"HDB.approver", "approve", `"1"`},
				{"HDB.approver", "approve", `"3"`},
				{"HDB.approver", "reject", `"1"`},
				{"MOH.requester", "withdraw", `"1"`},
				// 412 comes before the role and state checks.
				{"HDB.manager", "approve", `"1"`},
				{"MOH.requester", "submit", `"1"`},
			} {
				r := e.do(t, request{method: "POST", path: requestPath(v.ID, "/transitions"), token: tc.who,
					body: map[string]any{"action": tc.action, "comment": "c"}, header: map[string]string{"If-Match": tc.tag}})
				if r.Status != http.StatusPreconditionFailed {
					t.Errorf("%s by %s with If-Match %s: got %d %s, want 412", tc.action, tc.who, tc.tag, r.Status, r.Body)
				}
			}
			e.mustBeUnchanged(t, v.ID, before)
		})

		t.Run("matching_if_match_on_transition_succeeds", func(t *testing.T) {
			v := e.mustReach(t, "restricted", "submitted")
			r := e.do(t, request{method: "POST", path: requestPath(v.ID, "/transitions"), token: "HDB.approver",
				body: map[string]any{"action": "approve"}, header: map[string]string{"If-Match": `"2"`}})
			mustStatus(t, r, http.StatusOK, "")
			if tag := r.Header.Get("ETag"); tag != `"3"` {
				t.Errorf("ETag: got %q, want \"3\"", tag)
			}
			// A second approver who read version 2 is now stale.
			r = e.do(t, request{method: "POST", path: requestPath(v.ID, "/transitions"), token: "HDB.approver2",
				body: map[string]any{"action": "approve"}, header: map[string]string{"If-Match": `"2"`}})
			mustStatus(t, r, http.StatusPreconditionFailed, "precondition_failed")
			r = e.do(t, request{method: "POST", path: requestPath(v.ID, "/transitions"), token: "HDB.approver2",
				body: map[string]any{"action": "approve"}, header: map[string]string{"If-Match": `"3"`}})
			mustStatus(t, r, http.StatusOK, "")
			var got requestView
			r.decode(t, &got)
			if got.State != "approved" || got.Version != 4 {
				t.Errorf("got %s version %d, want approved 4", got.State, got.Version)
			}
		})
	})
}

func TestApprovalRules(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		for _, tc := range []struct {
			classification string
			needs          int
		}{{"official-open", 1}, {"official-closed", 1}, {"restricted", 2}, {"confidential", 2}} {
			t.Run(tc.classification+"_needs_"+fmt.Sprint(tc.needs), func(t *testing.T) {
				v := e.mustReach(t, tc.classification, "submitted")
				if v.ApprovalsRequired != tc.needs {
					t.Fatalf("approvals_required: got %d, want %d", v.ApprovalsRequired, tc.needs)
				}
				for i, who := range []string{"HDB.approver", "HDB.approver2"}[:tc.needs] {
					v = e.mustAct(t, v.ID, who, "approve", "")
					want := "submitted"
					if i == tc.needs-1 {
						want = "approved"
					}
					if v.State != want || len(v.Approvals) != i+1 {
						t.Fatalf("after approval %d: got %s with %d approvals, want %s with %d", i+1, v.State, len(v.Approvals), want, i+1)
					}
				}
			})
		}

		t.Run("same_approver_twice_is_409", func(t *testing.T) {
			v := e.mustReach(t, "restricted", "submitted")
			e.mustAct(t, v.ID, "HDB.approver", "approve", "")
			before := e.mustSnapshot(t, v.ID)
			mustStatus(t, e.act(t, v.ID, "HDB.approver", "approve", ""), http.StatusConflict, "conflict")
			e.mustBeUnchanged(t, v.ID, before)
		})

		t.Run("approvals_survive_a_clarification", func(t *testing.T) {
			v := e.mustReach(t, "restricted", "submitted")
			e.mustAct(t, v.ID, "HDB.approver", "approve", "")
			e.mustAct(t, v.ID, "HDB.approver2", "request_clarification", "which years?")
			v = e.mustAct(t, v.ID, "MOH.requester", "respond", "2020 to 2024")
			if v.State != "submitted" || len(v.Approvals) != 1 {
				t.Fatalf("after respond: got %s with %d approvals, want submitted with 1", v.State, len(v.Approvals))
			}
			mustStatus(t, e.act(t, v.ID, "HDB.approver", "approve", ""), http.StatusConflict, "conflict")
			v = e.mustAct(t, v.ID, "HDB.approver3", "approve", "")
			if v.State != "approved" || len(v.Approvals) != 2 {
				t.Fatalf("after the second distinct approval: got %s with %d approvals, want approved with 2", v.State, len(v.Approvals))
			}
		})

		t.Run("the_requester_never_approves", func(t *testing.T) {
			// Even with the approver role of the owner agency.
			ctx := t.Context()
			if err := db.Gorm.WithContext(ctx).Model(&models.User{}).Where("id = ?", e.users["MOH.requester"].ID).
				Updates(map[string]any{"roles": "approver,requester"}).Error; err != nil {
				t.Fatal(err)
			}
			v := e.mustReach(t, "restricted", "submitted")
			if err := db.Gorm.WithContext(ctx).Model(&models.User{}).Where("id = ?", e.users["MOH.requester"].ID).
				Updates(map[string]any{"agency_code": "HDB"}).Error; err != nil {
				t.Fatal(err)
			}
			defer db.Gorm.Model(&models.User{}).Where("id = ?", e.users["MOH.requester"].ID).
				Updates(map[string]any{"agency_code": "MOH", "roles": "requester"})
			before := e.mustSnapshot(t, v.ID)
			mustStatus(t, e.act(t, v.ID, "MOH.requester", "approve", ""), http.StatusForbidden, "forbidden")
			e.mustBeUnchanged(t, v.ID, before)
		})
	})
}

func TestTransitionTimestampsAreServerUTC(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		v := e.mustReach(t, "restricted", "fulfilled")
		for i, h := range e.mustHistory(t, v.ID) {
			if len(h.At) == 0 || h.At[len(h.At)-1] != 'Z' {
				t.Errorf("history[%d].at: got %q, want an RFC 3339 time in UTC (ending in Z)", i, h.At)
			}
		}
		r := e.do(t, request{method: "GET", path: requestPath(v.ID, ""), token: "admin"})
		var raw map[string]any
		r.decode(t, &raw)
		for _, k := range []string{"created_at", "updated_at", "submitted_at", "closed_at"} {
			s, _ := raw[k].(string)
			if len(s) == 0 || s[len(s)-1] != 'Z' {
				t.Errorf("%s: got %v, want an RFC 3339 time in UTC", k, raw[k])
			}
		}
		// A client cannot choose the time.
		x := e.mustReach(t, "restricted", "submitted")
		r = e.do(t, request{method: "POST", path: requestPath(x.ID, "/transitions"), token: "HDB.approver",
			body: map[string]any{"action": "approve", "at": "2001-01-01T00:00:00Z"}})
		mustStatus(t, r, http.StatusBadRequest, "malformed")
	})
}

// The history is append-only: the database refuses to change or remove a
// row, no route writes to it, and rows already there never change as the
// request moves on.
func TestHistoryIsAppendOnly(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		v := e.mustReach(t, "restricted", "submitted")
		early := e.mustHistory(t, v.ID)
		if len(early) != 2 || early[0].Action != "create" || early[0].FromState != nil || early[0].ToState != "draft" ||
			early[0].Actor == nil || early[0].Actor.ID != e.users["MOH.requester"].ID {
			t.Fatalf("first rows: got %+v, want create (from null to draft by the requester) then submit", early)
		}

		t.Run("the_database_refuses_updates_and_deletes", func(t *testing.T) {
			for _, stmt := range []string{
				"UPDATE transitions SET comment = 'rewritten' WHERE request_id = ?",
				"UPDATE transitions SET at = at WHERE request_id = ?",
				"DELETE FROM transitions WHERE request_id = ?",
			} {
				if err := db.Gorm.Exec(stmt, v.ID).Error; err == nil {
					t.Errorf("%s: got no error, want the database to refuse it", stmt)
				}
			}
		})

		t.Run("no_route_writes_the_history", func(t *testing.T) {
			for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
				r := e.do(t, request{method: m, path: requestPath(v.ID, "/history"), token: "admin", body: map[string]any{"action": "approve"}})
				if r.Status != http.StatusMethodNotAllowed {
					t.Errorf("%s history: got %d %s, want 405", m, r.Status, r.Body)
				}
			}
		})

		e.mustAct(t, v.ID, "HDB.approver", "approve", "")
		e.mustAct(t, v.ID, "HDB.approver2", "request_clarification", "which years?")
		e.mustAct(t, v.ID, "MOH.requester", "respond", "2020 to 2024")
		e.mustAct(t, v.ID, "HDB.approver2", "approve", "")
		e.mustAct(t, v.ID, "HDB.approver", "fulfil", "")
		later := e.mustHistory(t, v.ID)
		want := []string{"create", "submit", "approve", "request_clarification", "respond", "approve", "fulfil"}
		if len(later) != len(want) {
			t.Fatalf("history: got %d rows, want %d", len(later), len(want))
		}
		for i, w := range want {
			if later[i].Action != w {
				t.Errorf("history[%d]: got %s, want %s", i, later[i].Action, w)
			}
			if i < len(early) {
				if got, was := mustJSONOf(t, later[i]), mustJSONOf(t, early[i]); got != was {
					t.Errorf("history[%d] changed: got %s, want %s", i, got, was)
				}
			}
			if i > 0 && later[i].At < later[i-1].At {
				t.Errorf("history[%d].at %s is before history[%d].at %s", i, later[i].At, i-1, later[i-1].At)
			}
			if i > 0 && (later[i].FromState == nil || *later[i].FromState != later[i-1].ToState) {
				t.Errorf("history[%d] starts from %v, want %s where history[%d] ended", i, later[i].FromState, later[i-1].ToState, i-1)
			}
		}
	})
}

func mustJSONOf(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
