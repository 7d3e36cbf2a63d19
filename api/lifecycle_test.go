package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"datashare/models"
	"datashare/models/modelstest"
)

func TestLifecycleFromDraftToFulfilled(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		v := e.mustCreate(t, "restricted")
		if v.State != "draft" || v.Version != 1 || v.ApprovalsRequired != 2 {
			t.Fatalf("created: got state %s version %d approvals_required %d, want draft 1 2", v.State, v.Version, v.ApprovalsRequired)
		}
		v = e.mustAct(t, v.ID, "MOH.requester", "submit", "")
		if v.State != "submitted" || v.SubmittedAt == nil {
			t.Fatalf("submitted: got %s submitted_at %v", v.State, v.SubmittedAt)
		}
		v = e.mustAct(t, v.ID, "HDB.approver", "approve", "")
		if v.State != "submitted" || len(v.Approvals) != 1 {
			t.Fatalf("after one of two approvals: got %s with %d approvals, want submitted with 1", v.State, len(v.Approvals))
		}
		v = e.mustAct(t, v.ID, "HDB.approver2", "approve", "")
		if v.State != "approved" || len(v.Approvals) != 2 {
			t.Fatalf("after two approvals: got %s with %d approvals, want approved with 2", v.State, len(v.Approvals))
		}
		v = e.mustAct(t, v.ID, "HDB.approver", "fulfil", "shared")
		if v.State != "fulfilled" || v.ClosedAt == nil || v.Version != 5 {
			t.Fatalf("fulfilled: got %s closed_at %v version %d, want fulfilled, set, 5", v.State, v.ClosedAt, v.Version)
		}
		r := e.do(t, request{method: "GET", path: fmt.Sprintf("/api/v1/requests/%d/history", v.ID), token: "MOH.requester"})
		var h struct {
			Items []struct {
				Action, ToState string
				FromState       *string `json:"from_state"`
				Actor           *struct{ Email string }
			}
		}
		r.decode(t, &h)
		want := []string{"create", "submit", "approve", "approve", "fulfil"}
		if len(h.Items) != len(want) {
			t.Fatalf("history: got %d rows, want %d: %s", len(h.Items), len(want), r.Body)
		}
		for i, w := range want {
			if h.Items[i].Action != w {
				t.Errorf("history[%d]: got %s, want %s", i, h.Items[i].Action, w)
			}
		}
		if h.Items[4].Actor == nil || h.Items[4].Actor.Email != "hdb.approver@gov.sg" {
			t.Errorf("fulfil actor: got %+v, want hdb.approver@gov.sg", h.Items[4].Actor)
		}
		g := e.do(t, request{method: "GET", path: fmt.Sprintf("/api/v1/requests/%d", v.ID), token: "HDB.manager"})
		if g.Status != http.StatusOK || g.Header.Get("ETag") != `"5"` {
			t.Fatalf("get: got %d ETag %q, want 200 \"5\"", g.Status, g.Header.Get("ETag"))
		}
	})
}
