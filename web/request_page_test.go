package web_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/workflow"
)

// TestRequestPageShowsExactlyTheAllowedActions walks a restricted request
// of MSF to MOH through every state and opens it as each person. The
// buttons written here follow DESIGN.md's table; each must also equal
// workflow.Allowed, so that neither the page nor the rule can drift alone.
func TestRequestPageShowsExactlyTheAllowedActions(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		// A requester who is also an approver of MSF: never an approver of
		// MSF's own requests, which MOH owns.
		s.mustPerson(t, "both@msf.gov.sg", "MSF", "requester", "approver")
		const (
			req, a1, a2 = "req@msf.gov.sg", "approver1@moh.gov.sg", "approver2@moh.gov.sg"
		)
		requesting := []string{"Submit", "Withdraw"}
		decide := []string{"Approve", "Reject", "Ask for clarification"}
		cases := []struct {
			state string
			steps [][2]string
			want  map[string][]string // by email; absent: no buttons
			edit  bool                // the requester sees Edit
		}{
			{"draft", nil, map[string][]string{req: requesting, "req2@msf.gov.sg": requesting, "both@msf.gov.sg": requesting}, true},
			{"submitted", [][2]string{{req, "submit"}}, map[string][]string{
				req: {"Withdraw"}, "req2@msf.gov.sg": {"Withdraw"}, "both@msf.gov.sg": {"Withdraw"}, a1: decide, a2: decide}, false},
			{"submitted, approved once", [][2]string{{req, "submit"}, {a1, "approve"}}, map[string][]string{
				req: {"Withdraw"}, "req2@msf.gov.sg": {"Withdraw"}, "both@msf.gov.sg": {"Withdraw"},
				a1: {"Reject", "Ask for clarification"}, a2: decide}, false},
			{"clarification requested", [][2]string{{req, "submit"}, {a1, "request_clarification"}}, map[string][]string{
				req: {"Respond", "Withdraw"}, "req2@msf.gov.sg": {"Respond", "Withdraw"}, "both@msf.gov.sg": {"Respond", "Withdraw"}}, false},
			{"approved", [][2]string{{req, "submit"}, {a1, "approve"}, {a2, "approve"}}, map[string][]string{
				req: {"Withdraw"}, "req2@msf.gov.sg": {"Withdraw"}, "both@msf.gov.sg": {"Withdraw"}, a1: {"Mark as shared"}, a2: {"Mark as shared"}}, false},
			{"fulfilled", [][2]string{{req, "submit"}, {a1, "approve"}, {a2, "approve"}, {a1, "fulfil"}}, nil, false},
			{"rejected", [][2]string{{req, "submit"}, {a1, "reject"}}, nil, false},
			{"withdrawn", [][2]string{{req, "submit"}, {req, "withdraw"}}, nil, false},
		}
		people := []string{req, "req2@msf.gov.sg", "approver@msf.gov.sg", "manager@msf.gov.sg", a1, a2,
			"manager@moh.gov.sg", "req@hdb.gov.sg", "admin@govtech.gov.sg", "both@msf.gov.sg"}
		browsers := map[string]*browser{}
		for _, p := range people {
			browsers[p] = s.signIn(t, p)
		}
		for _, tc := range cases {
			id := s.mustRequest(t, req, "MOH", "restricted", "Census "+tc.state)
			s.mustApply(t, id, tc.steps...)
			r, err := s.Workflow.Get(context.Background(), apptest.Admin, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range people {
				page := browsers[p].get(path(id))
				actor := s.actor(p)
				if !workflow.CanSee(workflow.FactsOf(r), actor) {
					if page.Status != http.StatusNotFound || strings.Contains(page.Body, r.Title) {
						t.Errorf("%s as %s: got status %d, want 404 without the title", tc.state, p, page.Status)
					}
					continue
				}
				if page.Status != http.StatusOK {
					t.Errorf("%s as %s: got status %d, want 200", tc.state, p, page.Status)
					continue
				}
				got := buttons(page.Body)
				if want := tc.want[p]; !slices.Equal(got, want) {
					t.Errorf("%s as %s: got buttons %q, want %q", tc.state, p, got, want)
				}
				var allowed []string
				for _, ch := range workflow.Allowed(workflow.FactsOf(r), actor) {
					allowed = append(allowed, labelOf[ch.Action])
				}
				if !slices.Equal(got, allowed) {
					t.Errorf("%s as %s: got buttons %q, workflow.Allowed gives %q", tc.state, p, got, allowed)
				}
				if hasForm := strings.Contains(page.Body, `<label for="comment">Comment</label>`); hasForm != (len(got) > 0) {
					t.Errorf("%s as %s: Comment field shown %v, want %v", tc.state, p, hasForm, len(got) > 0)
				}
				wantEdit := tc.edit && p == req
				if gotEdit := strings.Contains(page.Body, `/edit">Edit</a>`); gotEdit != wantEdit {
					t.Errorf("%s as %s: Edit link %v, want %v", tc.state, p, gotEdit, wantEdit)
				}
				if h := h1s(page.Body); len(h) != 1 || h[0] != r.Title {
					t.Errorf("%s as %s: got h1 %q, want one h1 %q", tc.state, p, h, r.Title)
				}
			}
		}
	})
}

// labelOf is the documented name of each button (README, In the browser).
var labelOf = map[workflow.Action]string{
	workflow.Submit: "Submit", workflow.Approve: "Approve", workflow.Reject: "Reject",
	workflow.RequestClarification: "Ask for clarification", workflow.Respond: "Respond",
	workflow.Fulfil: "Mark as shared", workflow.Withdraw: "Withdraw",
}

func TestRequestPageOfNoRequest(t *testing.T) {
	s := newSite(t, modelstest.MustOpen(t, models.SQLite), siteOptions{})
	id := s.mustRequest(t, "req@msf.gov.sg", "MOH", "official-open", "Census")
	b := s.signIn(t, "req@msf.gov.sg")
	for _, p := range []string{"/requests/abc", "/requests/0", "/requests/-1", "/requests/99999", "/requests/abc/edit", path(id) + "x"} {
		if a := b.get(p); a.Status != http.StatusNotFound || !strings.Contains(a.Body, "Page not found") {
			t.Errorf("GET %s: got status %d, want the 404 page", p, a.Status)
		}
	}
	if a := b.post("/requests/abc/transitions", nil); a.Status != http.StatusNotFound {
		t.Errorf("POST to a non-numeric request: got status %d, want 404", a.Status)
	}
	hdb := s.signIn(t, "req@hdb.gov.sg")
	if a := hdb.actAt(id, "withdraw", "", "1"); a.Status != http.StatusNotFound {
		t.Errorf("HDB withdrawing MSF's request: got status %d, want 404", a.Status)
	}
	if a := b.actAt(id, "fly", "", "1"); a.Status != http.StatusUnprocessableEntity {
		t.Errorf("unknown action: got status %d, want 422", a.Status)
	}
	if a := b.actAt(id, "submit", "", ""); a.Status != http.StatusBadRequest {
		t.Errorf("action without a version: got status %d, want 400", a.Status)
	}
	s.mustApply(t, id, [2]string{"req@msf.gov.sg", "submit"})
	for _, tc := range []struct{ who, action string }{
		{"manager@moh.gov.sg", "approve"},
		{"req@msf.gov.sg", "approve"},
		{"approver@msf.gov.sg", "reject"},
		{"approver1@moh.gov.sg", "withdraw"},
	} {
		a := s.signIn(t, tc.who).actAt(id, tc.action, "no", "2")
		if a.Status != http.StatusForbidden || !strings.Contains(a.Body, "You do not have access to this") {
			t.Errorf("%s by %s: got status %d, want the 403 page", tc.action, tc.who, a.Status)
		}
	}
	r, _ := s.Workflow.Get(context.Background(), apptest.Admin, id)
	if r.State != "submitted" || r.Version != 2 {
		t.Errorf("after refused actions: got %s at version %d, want submitted at version 2", r.State, r.Version)
	}
}
