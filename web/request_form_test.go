package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/workflow"
)

func draftForm(title string) url.Values {
	return url.Values{"title": {title}, "purpose": {"Planning"}, "data_description": {"Rows"},
		"classification": {"official-open"}, "owner_agency": {"MOH"}}
}

func TestNewRequestForm(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		// Monday 6 January 2025, 10:00: due Wednesday of the next week at 10:00.
		c := newClock("2025-01-06T10:00:00+08:00")
		s := newSite(t, db, siteOptions{App: apptest.Options{Now: c.Now}})
		req := s.signIn(t, "req@msf.gov.sg")
		form := req.get("/requests/new")
		wantStatus(t, "new request form", form, http.StatusOK)
		wantContains(t, "new request form", form, "If submitted now, due by <strong>Wed 15 Jan 2025, 10:00 SGT</strong>",
			`<option value="restricted">restricted (needs 2 approvals)</option>`,
			`<option value="official-open">official-open (needs 1 approval)</option>`,
			`<option value="MOH">MOH — MOH agency</option>`, `<option value="HDB">`)
		if strings.Contains(form.Body, `<option value="MSF">`) {
			t.Error("new request form offers the requester's own agency as owner")
		}

		for _, tc := range []struct {
			name, field, value, id, msg string
		}{
			{"title too long", "title", strings.Repeat("t", 201), "title", "Title must be at most 200 characters"},
			{"own agency", "owner_agency", "MSF", "owner-agency", "Owner agency must differ from your own agency MSF"},
			{"unknown agency", "owner_agency", "NOPE", "owner-agency", `Unknown agency &#34;NOPE&#34;`},
			{"unknown classification", "classification", "secret", "classification", `Unknown classification &#34;secret&#34;`},
			{"no data description", "data_description", " ", "data-description", "Data description is required"},
			{"project too long", "project", strings.Repeat("p", 201), "project", "Project must be at most 200 characters"},
		} {
			f := draftForm("Census")
			f.Set(tc.field, tc.value)
			a := req.post("/requests/new", f)
			wantStatus(t, tc.name, a, http.StatusUnprocessableEntity)
			wantContains(t, tc.name, a, `id="`+tc.id+`-error"`, tc.msg, `<a href="#`+tc.id+`">`, "Planning</textarea>", tc.value)
		}
		rs, _, err := s.Workflow.List(context.Background(), apptest.Admin, workflow.Filter{})
		if err != nil || len(rs) != 0 {
			t.Errorf("after refused forms: got %d requests (%v), want none", len(rs), err)
		}

		for _, who := range []string{"approver1@moh.gov.sg", "manager@moh.gov.sg", "admin@govtech.gov.sg"} {
			b := s.signIn(t, who)
			if a := b.get("/requests/new"); a.Status != http.StatusForbidden || !strings.Contains(a.Body, "Only a requester may file a request") {
				t.Errorf("GET /requests/new as %s: got status %d, want the 403 page", who, a.Status)
			}
			if a := b.post("/requests/new", draftForm("Census")); a.Status != http.StatusForbidden {
				t.Errorf("POST /requests/new as %s: got status %d, want 403", who, a.Status)
			}
			if a := b.get("/requests"); strings.Contains(a.Body, ">New request</a>") {
				t.Errorf("/requests as %s shows New request", who)
			}
		}
		if a := req.get("/requests"); !strings.Contains(a.Body, ">New request</a>") {
			t.Error("/requests as a requester lacks New request")
		}
	})
}

func TestEditDraft(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		id := s.mustRequest(t, "req@msf.gov.sg", "MOH", "official-open", "Census")
		req := s.signIn(t, "req@msf.gov.sg")
		edit := req.get(path(id) + "/edit")
		wantStatus(t, "edit form", edit, http.StatusOK)
		wantContains(t, "edit form", edit, "<h1>Edit Census</h1>", `value="Census"`, "Purpose of Census</textarea>",
			`<option value="MOH" selected>`, `<option value="official-open" selected>`, `name="version" value="1"`, ">Save draft</button>")

		f := draftForm("")
		f.Set("version", "1")
		f.Set("purpose", "Kept purpose")
		a := req.post(path(id)+"/edit", f)
		wantStatus(t, "edit without a title", a, http.StatusUnprocessableEntity)
		wantContains(t, "edit without a title", a, "Title is required", "Kept purpose</textarea>", `name="version" value="1"`)

		f = draftForm("Census of carers")
		f.Set("version", "1")
		f.Set("legal_basis", "Act 7")
		a = req.post(path(id)+"/edit", f)
		if a.Status != http.StatusSeeOther || a.Location != path(id) {
			t.Fatalf("edit: got %d to %q, want 303 to %s", a.Status, a.Location, path(id))
		}
		wantContains(t, "edited draft", req.get(path(id)), "Draft saved", "<h1>Census of carers</h1>", "Act 7")

		// The form of version 1 again: the draft is at version 2.
		a = req.post(path(id)+"/edit", f)
		wantStatus(t, "stale edit", a, http.StatusConflict)
		wantContains(t, "stale edit", a, "nothing was saved")

		for _, tc := range []struct {
			who    string
			status int
		}{{"req2@msf.gov.sg", http.StatusForbidden}, {"req@hdb.gov.sg", http.StatusNotFound}, {"approver1@moh.gov.sg", http.StatusNotFound}} {
			b := s.signIn(t, tc.who)
			if a := b.get(path(id) + "/edit"); a.Status != tc.status {
				t.Errorf("GET edit as %s: got status %d, want %d", tc.who, a.Status, tc.status)
			}
			g := draftForm("Hijacked")
			g.Set("version", "2")
			if a := b.post(path(id)+"/edit", g); a.Status != tc.status {
				t.Errorf("POST edit as %s: got status %d, want %d", tc.who, a.Status, tc.status)
			}
		}
		s.mustApply(t, id, [2]string{"req@msf.gov.sg", "submit"})
		a = req.get(path(id) + "/edit")
		wantStatus(t, "edit of a submitted request", a, http.StatusConflict)
		wantContains(t, "edit of a submitted request", a, "Only a draft can be edited; this request is Submitted.")
		r, _ := s.Workflow.Get(context.Background(), apptest.Admin, id)
		if r.Title != "Census of carers" {
			t.Errorf("title after refused edits: got %q, want %q", r.Title, "Census of carers")
		}
	})
}
