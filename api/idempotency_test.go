package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
)

// mustRowCount counts the rows of table matching where (all rows when where
// is empty).
func mustRowCount(tb testing.TB, db *models.DB, table, where string, args ...any) int64 {
	tb.Helper()
	q := db.Gorm.Table(table)
	if where != "" {
		q = q.Where(where, args...)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		tb.Fatalf("count %s: %v", table, err)
	}
	return n
}

func withKey(rq request, key string) request {
	h := map[string]string{"Idempotency-Key": key}
	for k, v := range rq.header {
		h[k] = v
	}
	rq.header = h
	return rq
}

func createCall(who string) request {
	return request{method: "POST", path: "/api/v1/requests", token: who, body: newRequestBody("restricted", "HDB")}
}

func actCall(id int64, who, action, comment string) request {
	body := map[string]any{"action": action}
	if comment != "" {
		body["comment"] = comment
	}
	return request{method: "POST", path: requestPath(id, "/transitions"), token: who, body: body}
}

// mustReplay fails unless second is a replay of first: same status and body,
// marked Idempotent-Replayed: true.
func mustReplay(tb testing.TB, first, second resp) {
	tb.Helper()
	if first.Header.Get("Idempotent-Replayed") != "" {
		tb.Errorf("first answer: got Idempotent-Replayed %q, want none", first.Header.Get("Idempotent-Replayed"))
	}
	if second.Status != first.Status || !bytes.Equal(second.Body, first.Body) {
		tb.Errorf("replay: got %d %s, want %d %s", second.Status, second.Body, first.Status, first.Body)
	}
	if got := second.Header.Get("Idempotent-Replayed"); got != "true" {
		tb.Errorf("replay: got Idempotent-Replayed %q, want \"true\"", got)
	}
	// A replayed ETag, if any, must not claim another version.
	if tag := second.Header.Get("ETag"); tag != "" && tag != first.Header.Get("ETag") {
		tb.Errorf("replay ETag: got %q, want none or the first answer's %q", tag, first.Header.Get("ETag"))
	}
}

func TestIdempotentCreate(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)

		t.Run("same_key_same_user_replays_and_creates_nothing", func(t *testing.T) {
			first := e.do(t, withKey(createCall("MOH.requester"), "create-1"))
			mustStatus(t, first, http.StatusCreated, "")
			var v requestView
			first.decode(t, &v)
			n := mustRowCount(t, db, "requests", "")
			for range 3 {
				again := e.do(t, withKey(createCall("MOH.requester"), "create-1"))
				mustReplay(t, first, again)
				var w requestView
				again.decode(t, &w)
				if w.ID != v.ID {
					t.Errorf("replayed id: got %d, want %d", w.ID, v.ID)
				}
			}
			if got := mustRowCount(t, db, "requests", ""); got != n {
				t.Errorf("requests after replays: got %d, want %d", got, n)
			}
			if got := mustRowCount(t, db, "transitions", "request_id = ?", v.ID); got != 1 {
				t.Errorf("history rows after replays: got %d, want 1", got)
			}
		})

		t.Run("another_user_with_the_same_key_is_independent", func(t *testing.T) {
			a := e.do(t, withKey(createCall("MOH.requester"), "shared-key"))
			b := e.do(t, withKey(createCall("MOH.requester2"), "shared-key"))
			mustStatus(t, a, http.StatusCreated, "")
			mustStatus(t, b, http.StatusCreated, "")
			if b.Header.Get("Idempotent-Replayed") != "" {
				t.Errorf("other user's call: got Idempotent-Replayed %q, want none", b.Header.Get("Idempotent-Replayed"))
			}
			var va, vb requestView
			a.decode(t, &va)
			b.decode(t, &vb)
			if va.ID == vb.ID {
				t.Errorf("two users, one key: got the same request %d twice, want two requests", va.ID)
			}
		})

		t.Run("same_key_with_another_body_is_422", func(t *testing.T) {
			mustStatus(t, e.do(t, withKey(createCall("MOH.requester"), "body-key")), http.StatusCreated, "")
			n := mustRowCount(t, db, "requests", "")
			other := createCall("MOH.requester")
			other.body = newRequestBody("confidential", "HDB")
			mustFieldError(t, e.do(t, withKey(other, "body-key")), "Idempotency-Key")
			if got := mustRowCount(t, db, "requests", ""); got != n {
				t.Errorf("requests after a reused key: got %d, want %d", got, n)
			}
		})

		t.Run("a_failed_create_stores_nothing_and_can_be_retried", func(t *testing.T) {
			bad := createCall("MOH.requester")
			bad.body = newRequestBody("top-secret", "HDB")
			mustFieldError(t, e.do(t, withKey(bad, "retry-key")), "classification")
			good := e.do(t, withKey(createCall("MOH.requester"), "retry-key"))
			mustStatus(t, good, http.StatusCreated, "")
			if good.Header.Get("Idempotent-Replayed") != "" {
				t.Errorf("retry after a failure: got Idempotent-Replayed %q, want none", good.Header.Get("Idempotent-Replayed"))
			}
		})

		t.Run("key_too_long_is_422", func(t *testing.T) {
			n := mustRowCount(t, db, "requests", "")
			mustFieldError(t, e.do(t, withKey(createCall("MOH.requester"), strings.Repeat("k", 256))), "Idempotency-Key")
			if got := mustRowCount(t, db, "requests", ""); got != n {
				t.Errorf("requests after a refused key: got %d, want %d", got, n)
			}
			mustStatus(t, e.do(t, withKey(createCall("MOH.requester"), strings.Repeat("k", 255))), http.StatusCreated, "")
		})

		t.Run("a_key_older_than_24h_is_forgotten", func(t *testing.T) {
			first := e.do(t, withKey(createCall("MOH.requester"), "old-key"))
			mustStatus(t, first, http.StatusCreated, "")
			if err := db.Gorm.Table("idempotency_keys").Where("key = ?", "old-key").
				Update("created_at", e.now().Add(-25*time.Hour)).Error; err != nil {
				t.Fatal(err)
			}
			again := e.do(t, withKey(createCall("MOH.requester"), "old-key"))
			mustStatus(t, again, http.StatusCreated, "")
			if again.Header.Get("Idempotent-Replayed") != "" || bytes.Equal(again.Body, first.Body) {
				t.Errorf("after 24 h: got a replay, want a new request")
			}
		})
	})
}

func TestIdempotentTransition(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)

		t.Run("submit_replays_without_a_second_history_row", func(t *testing.T) {
			v := e.mustCreate(t, "restricted")
			first := e.do(t, withKey(actCall(v.ID, "MOH.requester", "submit", ""), "submit-1"))
			mustStatus(t, first, http.StatusOK, "")
			before := e.mustSnapshot(t, v.ID)
			again := e.do(t, withKey(actCall(v.ID, "MOH.requester", "submit", ""), "submit-1"))
			mustReplay(t, first, again)
			e.mustBeUnchanged(t, v.ID, before)
		})

		t.Run("approve_replays_without_a_second_approval", func(t *testing.T) {
			v := e.mustReach(t, "restricted", "submitted")
			first := e.do(t, withKey(actCall(v.ID, "HDB.approver", "approve", ""), "approve-1"))
			mustStatus(t, first, http.StatusOK, "")
			before := e.mustSnapshot(t, v.ID)
			again := e.do(t, withKey(actCall(v.ID, "HDB.approver", "approve", ""), "approve-1"))
			mustReplay(t, first, again)
			e.mustBeUnchanged(t, v.ID, before)
			if got := mustRowCount(t, db, "approvals", "request_id = ?", v.ID); got != 1 {
				t.Errorf("approvals: got %d, want 1", got)
			}
			if got := mustRowCount(t, db, "transitions", "request_id = ? AND action = ?", v.ID, "approve"); got != 1 {
				t.Errorf("approve rows in history: got %d, want 1", got)
			}
		})

		t.Run("a_replay_after_the_request_moved_on_changes_nothing", func(t *testing.T) {
			v := e.mustCreate(t, "restricted")
			first := e.do(t, withKey(actCall(v.ID, "MOH.requester", "submit", ""), "submit-2"))
			mustStatus(t, first, http.StatusOK, "")
			e.mustAct(t, v.ID, "MOH.requester", "withdraw", "")
			before := e.mustSnapshot(t, v.ID)
			again := e.do(t, withKey(actCall(v.ID, "MOH.requester", "submit", ""), "submit-2"))
			mustReplay(t, first, again)
			e.mustBeUnchanged(t, v.ID, before)
		})

		t.Run("two_approvers_with_the_same_key_are_independent", func(t *testing.T) {
			v := e.mustReach(t, "restricted", "submitted")
			mustStatus(t, e.do(t, withKey(actCall(v.ID, "HDB.approver", "approve", ""), "same")), http.StatusOK, "")
			r := e.do(t, withKey(actCall(v.ID, "HDB.approver2", "approve", ""), "same"))
			mustStatus(t, r, http.StatusOK, "")
			var got requestView
			r.decode(t, &got)
			if r.Header.Get("Idempotent-Replayed") != "" || got.State != "approved" || len(got.Approvals) != 2 {
				t.Errorf("second approver: got replayed=%q state %s with %d approvals, want a fresh answer, approved with 2",
					r.Header.Get("Idempotent-Replayed"), got.State, len(got.Approvals))
			}
		})

		t.Run("same_key_on_another_request_or_action_is_422", func(t *testing.T) {
			a := e.mustReach(t, "restricted", "submitted")
			b := e.mustReach(t, "restricted", "submitted")
			mustStatus(t, e.do(t, withKey(actCall(a.ID, "HDB.approver", "approve", ""), "reuse")), http.StatusOK, "")
			before := e.mustSnapshot(t, b.ID)
			mustFieldError(t, e.do(t, withKey(actCall(b.ID, "HDB.approver", "approve", ""), "reuse")), "Idempotency-Key")
			mustFieldError(t, e.do(t, withKey(actCall(a.ID, "HDB.approver", "reject", "no"), "reuse")), "Idempotency-Key")
			e.mustBeUnchanged(t, b.ID, before)
			// A key used for a create cannot be reused for a transition either.
			mustStatus(t, e.do(t, withKey(createCall("MOH.requester"), "cross")), http.StatusCreated, "")
			mustFieldError(t, e.do(t, withKey(actCall(b.ID, "MOH.requester", "withdraw", ""), "cross")), "Idempotency-Key")
		})

		t.Run("a_failed_first_attempt_stores_nothing", func(t *testing.T) {
			v := e.mustReach(t, "official-open", "submitted")
			before := e.mustSnapshot(t, v.ID)
			mustStatus(t, e.do(t, withKey(actCall(v.ID, "HDB.approver", "fulfil", ""), "fulfil-1")), http.StatusConflict, "conflict")
			e.mustBeUnchanged(t, v.ID, before)
			e.mustAct(t, v.ID, "HDB.approver2", "approve", "")
			r := e.do(t, withKey(actCall(v.ID, "HDB.approver", "fulfil", ""), "fulfil-1"))
			mustStatus(t, r, http.StatusOK, "")
			var got requestView
			r.decode(t, &got)
			if r.Header.Get("Idempotent-Replayed") != "" || got.State != "fulfilled" {
				t.Errorf("retry after fixing the state: got replayed=%q state %s, want a fresh answer, fulfilled", r.Header.Get("Idempotent-Replayed"), got.State)
			}
		})

		t.Run("a_refused_comment_stores_nothing", func(t *testing.T) {
			v := e.mustReach(t, "restricted", "submitted")
			mustFieldError(t, e.do(t, withKey(actCall(v.ID, "HDB.approver", "reject", ""), "reject-1")), "comment")
			// Same key, corrected body.
			r := e.do(t, withKey(actCall(v.ID, "HDB.approver", "reject", "no legal basis"), "reject-1"))
			mustStatus(t, r, http.StatusOK, "")
		})
	})
}

// The same key sent twice at the same moment acts once: one request, and
// both callers get the same answer.
func TestConcurrentSameKeyActsOnce(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		for round := range 10 {
			key := "race-" + string(rune('a'+round))
			n := mustRowCount(t, db, "requests", "")
			rs := e.sendTogether(t, withKey(createCall("MOH.requester"), key), withKey(createCall("MOH.requester"), key))
			replayed := 0
			for _, r := range rs {
				if r.Status != http.StatusCreated {
					t.Fatalf("round %d: got %d %s, want 201", round, r.Status, r.Body)
				}
				if r.Header.Get("Idempotent-Replayed") == "true" {
					replayed++
				}
			}
			if !bytes.Equal(rs[0].Body, rs[1].Body) || replayed != 1 {
				t.Errorf("round %d: got bodies %s and %s with %d replayed, want one answer, replayed once", round, rs[0].Body, rs[1].Body, replayed)
			}
			if got := mustRowCount(t, db, "requests", ""); got != n+1 {
				t.Errorf("round %d: requests got %d, want %d", round, got, n+1)
			}
		}
	})
}

// The same approval sent twice at the same moment with one key (a client
// retrying on a timeout) approves once, and both calls get the first answer.
func TestConcurrentSameKeyTransitionActsOnce(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		for round := range 10 {
			v := e.mustReach(t, "restricted", "submitted")
			key := fmt.Sprintf("approve-race-%d", round)
			call := withKey(actCall(v.ID, "HDB.approver", "approve", ""), key)
			rs := e.sendTogether(t, call, call)
			replayed := 0
			for i, r := range rs {
				if r.Status != http.StatusOK {
					t.Errorf("round %d, call %d: got %d %s, want 200 (the first answer, replayed)", round, i+1, r.Status, r.Body)
				}
				if r.Header.Get("Idempotent-Replayed") == "true" {
					replayed++
				}
			}
			if rs[0].Status == http.StatusOK && rs[1].Status == http.StatusOK && (!bytes.Equal(rs[0].Body, rs[1].Body) || replayed != 1) {
				t.Errorf("round %d: got %d replayed answers and bodies %s / %s, want one answer replayed once", round, replayed, rs[0].Body, rs[1].Body)
			}
			if n := mustRowCount(t, db, "approvals", "request_id = ?", v.ID); n != 1 {
				t.Errorf("round %d: approvals got %d, want 1", round, n)
			}
			if n := mustRowCount(t, db, "transitions", "request_id = ? AND action = ?", v.ID, "approve"); n != 1 {
				t.Errorf("round %d: approve rows got %d, want 1", round, n)
			}
			if t.Failed() {
				t.FailNow()
			}
		}
	})
}

// sendTogether sends every call at the same moment from its own goroutine
// and returns the answers in order, each checked against the OpenAPI
// document.
func (e *env) sendTogether(tb testing.TB, calls ...request) []resp {
	tb.Helper()
	type answer struct {
		req  *http.Request
		res  *http.Response
		body []byte
		err  error
	}
	out := make([]answer, len(calls))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, rq := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a := &out[i]
			a.req, a.res, a.body, a.err = e.send(rq)
		}()
	}
	close(start)
	wg.Wait()
	rs := make([]resp, len(calls))
	for i, a := range out {
		if a.err != nil {
			tb.Fatalf("%s %s: %v", calls[i].method, calls[i].path, a.err)
		}
		if a.res.StatusCode >= 500 {
			tb.Errorf("%s %s: got %d %s, want no server error", calls[i].method, calls[i].path, a.res.StatusCode, a.body)
		}
		e.validate(tb, a.req, a.res, a.body)
		rs[i] = resp{Status: a.res.StatusCode, Header: a.res.Header, Body: a.body}
	}
	return rs
}
