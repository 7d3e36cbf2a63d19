package api_test

import (
	"net/http"
	"testing"

	"datashare/models"
	"datashare/models/modelstest"
)

// concurrencyRounds is how many times each race is run on each database.
const concurrencyRounds = 30

// Two approvers approving the same restricted request at the same moment
// must both be recorded and leave it approved: no lost approval, no
// duplicate history row.
func TestConcurrentApprovalsByTwoApprovers(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		for round := range concurrencyRounds {
			v := e.mustReach(t, "restricted", "submitted")
			rs := e.sendTogether(t, actCall(v.ID, "HDB.approver", "approve", ""), actCall(v.ID, "HDB.approver2", "approve", ""))
			for i, r := range rs {
				if r.Status != http.StatusOK {
					t.Errorf("round %d, approver %d: got %d %s, want 200", round, i+1, r.Status, r.Body)
				}
			}
			// The two answers saw one approval and then two.
			var a, b requestView
			rs[0].decode(t, &a)
			rs[1].decode(t, &b)
			if seen := []int{len(a.Approvals), len(b.Approvals)}; !(seen[0] == 1 && seen[1] == 2 || seen[0] == 2 && seen[1] == 1) {
				t.Errorf("round %d: answers showed %v approvals, want one and two", round, seen)
			}
			got, _ := e.mustGet(t, v.ID)
			ids := map[int64]bool{}
			for _, ap := range got.Approvals {
				ids[ap.Approver.ID] = true
			}
			if got.State != "approved" || got.Version != 4 || len(got.Approvals) != 2 ||
				!ids[e.users["HDB.approver"].ID] || !ids[e.users["HDB.approver2"].ID] {
				t.Errorf("round %d: got state %s version %d approvals %+v, want approved, 4, both approvers", round, got.State, got.Version, got.Approvals)
			}
			h := e.mustHistory(t, v.ID)
			approves, last := 0, ""
			for _, row := range h {
				if row.Action == "approve" {
					approves++
					last = row.ToState
				}
			}
			if approves != 2 || len(h) != 4 || last != "approved" {
				t.Errorf("round %d: history got %d rows with %d approve rows (last to %s), want 4 rows with 2 approve rows, the last to approved", round, len(h), approves, last)
			}
			if t.Failed() {
				t.FailNow()
			}
		}
	})
}

// The same approver approving twice at the same moment is one approval and
// one conflict.
func TestConcurrentApprovalsBySameApprover(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		for round := range concurrencyRounds / 2 {
			v := e.mustReach(t, "restricted", "submitted")
			rs := e.sendTogether(t, actCall(v.ID, "HDB.approver", "approve", ""), actCall(v.ID, "HDB.approver", "approve", ""))
			ok, conflict := 0, 0
			for _, r := range rs {
				switch r.Status {
				case http.StatusOK:
					ok++
				case http.StatusConflict:
					conflict++
					if code, _ := r.errCode(t); code != "conflict" {
						t.Errorf("round %d: got code %q, want conflict", round, code)
					}
				default:
					t.Errorf("round %d: got %d %s, want 200 or 409", round, r.Status, r.Body)
				}
			}
			if ok != 1 || conflict != 1 {
				t.Errorf("round %d: got %d answers 200 and %d answers 409, want one of each", round, ok, conflict)
			}
			got, _ := e.mustGet(t, v.ID)
			if got.State != "submitted" || got.Version != 3 || len(got.Approvals) != 1 {
				t.Errorf("round %d: got state %s version %d with %d approvals, want submitted, 3, 1", round, got.State, got.Version, len(got.Approvals))
			}
			if n := mustRowCount(t, db, "transitions", "request_id = ? AND action = ?", v.ID, "approve"); n != 1 {
				t.Errorf("round %d: approve rows in history: got %d, want 1", round, n)
			}
			if t.Failed() {
				t.FailNow()
			}
		}
	})
}

// Conflicting actions at the same moment: every success has exactly one
// history row and one version, every loser is a 409.
func TestConcurrentConflictingActionsKeepHistoryAndVersionInStep(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		for round := range concurrencyRounds / 3 {
			v := e.mustReach(t, "official-open", "submitted")
			rs := e.sendTogether(t,
				actCall(v.ID, "HDB.approver", "reject", "no"),
				actCall(v.ID, "HDB.approver2", "approve", ""),
				actCall(v.ID, "MOH.requester", "withdraw", ""))
			ok := 0
			for _, r := range rs {
				switch r.Status {
				case http.StatusOK:
					ok++
				case http.StatusConflict:
				default:
					t.Errorf("round %d: got %d %s, want 200 or 409", round, r.Status, r.Body)
				}
			}
			h := e.mustHistory(t, v.ID)
			// create, submit, then the winner; approve from submitted may
			// be followed by a withdraw from approved.
			got, _ := e.mustGet(t, v.ID)
			if ok != len(h)-2 || got.Version != len(h) {
				t.Errorf("round %d: got %d successes, %d history rows, version %d; want one history row and one version per success", round, ok, len(h), got.Version)
			}
			if t.Failed() {
				t.FailNow()
			}
		}
	})
}
