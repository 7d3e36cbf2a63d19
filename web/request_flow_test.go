package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
)

func wantContains(t *testing.T, what string, a answer, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(a.Body, w) {
			t.Errorf("%s: page lacks %q", what, w)
		}
	}
}

func wantStatus(t *testing.T, what string, a answer, status int) {
	t.Helper()
	if a.Status != status {
		t.Fatalf("%s: got status %d, want %d\n%s", what, a.Status, status, a.Body)
	}
}

var createdRE = regexp.MustCompile(`^/requests/(\d+)$`)

// TestRequestLifecycleThroughForms takes a restricted request from a
// refused first attempt to shared, through the pages only.
func TestRequestLifecycleThroughForms(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		req := s.signIn(t, "req@msf.gov.sg")
		a1, a2 := s.signIn(t, "approver1@moh.gov.sg"), s.signIn(t, "approver2@moh.gov.sg")

		form := req.get("/requests/new")
		wantStatus(t, "new request form", form, http.StatusOK)
		wantContains(t, "new request form", form, "If submitted now, due by", `<label for="title">Title`, `<label for="purpose">Purpose`,
			`<label for="data-description">Data description`, `<label for="classification">Classification`,
			`<label for="owner-agency">Owner agency`, `<label for="legal-basis">Legal basis`, `<label for="project">Project`, ">Save draft</button>")

		bad := url.Values{"title": {""}, "purpose": {"Plan <eldercare> places"}, "data_description": {"Residents by age"},
			"classification": {"restricted"}, "owner_agency": {""}, "legal_basis": {"Public Sector (Governance) Act"}, "project": {"Silver"}}
		refused := req.post("/requests/new", bad)
		wantStatus(t, "invalid new request", refused, http.StatusUnprocessableEntity)
		wantContains(t, "invalid new request", refused,
			`role="alert"`, `<a href="#title">Title is required</a>`, `<a href="#owner-agency">Owner agency is required</a>`,
			`<p class="field-error" id="title-error"><span class="visually-hidden">Error:</span> Title is required</p>`,
			`aria-describedby="owner-agency-hint owner-agency-error"`,
			"Plan &lt;eldercare&gt; places</textarea>", "Residents by age</textarea>", `<option value="restricted" selected>`,
			"Public Sector (Governance) Act</textarea>", `value="Silver"`)

		good := url.Values{}
		for k, v := range bad {
			good[k] = v
		}
		good.Set("title", "Eldercare places")
		good.Set("owner_agency", "MOH")
		saved := req.post("/requests/new", good)
		m := createdRE.FindStringSubmatch(saved.Location)
		if saved.Status != http.StatusSeeOther || m == nil {
			t.Fatalf("save draft: got %d to %q, want 303 to the request", saved.Status, saved.Location)
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		page := req.get(saved.Location)
		wantContains(t, "saved draft", page, "Draft saved", "<h1>Eldercare places</h1>", "Public Sector (Governance) Act", "Silver", `/edit">Edit</a>`)
		if got, want := buttons(page.Body), []string{"Submit", "Withdraw"}; !slices.Equal(got, want) {
			t.Errorf("draft: got buttons %q, want %q", got, want)
		}

		step := func(b *browser, who, action, comment, flash, state string) answer {
			t.Helper()
			a := b.act(id, action, comment)
			if a.Status != http.StatusSeeOther || a.Location != path(id) {
				t.Fatalf("%s %s: got %d to %q, want 303 to %s\n%s", who, action, a.Status, a.Location, path(id), a.Body)
			}
			p := b.get(path(id))
			wantContains(t, who+" "+action, p, flash, `state-`+state+`"`)
			return p
		}
		step(req, "requester", "submit", "", "Request submitted", "submitted")

		inbox := a1.get("/inbox")
		if got := titles(inbox.Body); !slices.Contains(got, "Eldercare places") {
			t.Errorf("approver's inbox: got %q, want the new request", got)
		}
		empty := a1.act(id, "request_clarification", "  ")
		wantStatus(t, "clarification without a comment", empty, http.StatusUnprocessableEntity)
		wantContains(t, "clarification without a comment", empty,
			`id="comment-error"`, "A comment is required to ask for clarification", `aria-invalid="true"`, `role="alert"`)
		p := step(a1, "approver", "request_clarification", "Which years?", "Clarification asked for", "clarification_requested")
		wantContains(t, "clarification requested", p, "Paused while clarification is requested", "Which years?")

		if a := req.act(id, "respond", ""); a.Status != http.StatusUnprocessableEntity {
			t.Errorf("respond without a comment: got status %d, want 422", a.Status)
		}
		step(req, "requester", "respond", "2015 to 2024", "Response sent", "submitted")
		p = step(a1, "approver 1", "approve", "", "Your approval is recorded", "submitted")
		wantContains(t, "one approval", p, "1 of 2 approvals", "approver1@moh.gov.sg (MOH)")
		if got, want := buttons(p.Body), []string{"Reject", "Ask for clarification"}; !slices.Equal(got, want) {
			t.Errorf("after approving: got buttons %q, want %q", got, want)
		}
		p = step(a2, "approver 2", "approve", "", "Your approval is recorded", "approved")
		wantContains(t, "two approvals", p, "2 of 2 approvals")
		p = step(a1, "approver 1", "fulfil", "Sent by SFTP", "Marked as shared", "fulfilled")
		if got := buttons(p.Body); got != nil {
			t.Errorf("shared: got buttons %q, want none", got)
		}

		var history []string
		for _, m := range regexp.MustCompile(`<li><strong>([^<]+)</strong> by ([^,]+),`).FindAllStringSubmatch(p.Body, -1) {
			history = append(history, m[1]+" by "+m[2])
		}
		want := []string{"Created by req@msf.gov.sg", "Submit by req@msf.gov.sg", "Ask for clarification by approver1@moh.gov.sg",
			"Respond by req@msf.gov.sg", "Approve by approver1@moh.gov.sg", "Approve by approver2@moh.gov.sg", "Mark as shared by approver1@moh.gov.sg"}
		if !slices.Equal(history, want) {
			t.Errorf("timeline: got %q, want %q", history, want)
		}
		wantContains(t, "timeline", p, "<blockquote>Which years?</blockquote>", "<blockquote>2015 to 2024</blockquote>", "<blockquote>Sent by SFTP</blockquote>")
	})
}

// TestStaleActionAppliesNothing: two approvers read the same version; the
// second one's action, and a form sent twice, find the request moved on.
func TestStaleActionAppliesNothing(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		id := s.mustRequest(t, "req@msf.gov.sg", "MOH", "official-open", "Census")
		s.mustApply(t, id, [2]string{"req@msf.gov.sg", "submit"})
		a1, a2 := s.signIn(t, "approver1@moh.gov.sg"), s.signIn(t, "approver2@moh.gov.sg")
		version := versionRE.FindStringSubmatch(a2.get(path(id)).Body)[1]

		if a := a1.actAt(id, "approve", "", version); a.Status != http.StatusSeeOther {
			t.Fatalf("first approval: got status %d, want 303", a.Status)
		}
		for _, tc := range []struct {
			name string
			b    *browser
			act  string
		}{
			{"the other approver rejects", a2, "reject"},
			{"the first approver's form again", a1, "approve"},
		} {
			a := tc.b.actAt(id, tc.act, "too late", version)
			wantStatus(t, tc.name, a, http.StatusConflict)
			wantContains(t, tc.name, a, "Someone acted on this request while you were reading it; here it is as it is now. Nothing was applied.",
				`state-approved"`, "1 of 1 approvals")
			if got, want := buttons(a.Body), []string{"Mark as shared"}; !slices.Equal(got, want) {
				t.Errorf("%s: got buttons %q on the fresh page, want %q", tc.name, got, want)
			}
		}
		r, err := s.Workflow.Get(context.Background(), apptest.Admin, id)
		if err != nil {
			t.Fatal(err)
		}
		hist, _ := s.Workflow.History(context.Background(), apptest.Admin, id)
		if r.State != "approved" || len(r.Approvals) != 1 || len(hist) != 3 {
			t.Errorf("after stale forms: got %s with %d approvals and %d history rows, want approved, 1, 3", r.State, len(r.Approvals), len(hist))
		}
	})
}
