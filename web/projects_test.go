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
	"datashare/projects"
	"datashare/workflow"
)

// mustProject creates project code led by email's agency through the
// service, not the pages.
func (s *site) mustProject(tb testing.TB, email, code string, partners ...string) {
	tb.Helper()
	_, err := s.Projects.Create(context.Background(), s.actor(email), projects.NewProject{Code: code, Name: code + " planning", Partners: partners})
	if err != nil {
		tb.Fatalf("create project %s: %v", code, err)
	}
}

// mustRequestIn files a draft as email asking owner, in project code.
func (s *site) mustRequestIn(tb testing.TB, email, owner, code, title string) int64 {
	tb.Helper()
	r, err := s.Workflow.Create(context.Background(), s.actor(email), workflow.NewRequest{
		Title: title, Purpose: "Purpose of " + title, DataDescription: "Rows of " + title,
		Classification: "official-open", OwnerAgency: owner, ProjectCode: &code,
	})
	if err != nil {
		tb.Fatalf("create %q in %s: %v", title, code, err)
	}
	return r.ID
}

// mustAgencyPerson adds agency and a requester of it.
func (s *site) mustAgencyPerson(tb testing.TB, agency, email string) {
	tb.Helper()
	if err := s.Accounts.EnsureAgency(context.Background(), agency, agency+" agency"); err != nil {
		tb.Fatal(err)
	}
	s.mustPerson(tb, email, agency, "requester")
}

func projectCodes(body string) []string {
	var out []string
	for _, part := range strings.Split(body, `<th scope="row"><a href="/projects/`)[1:] {
		code, _, _ := strings.Cut(part, `"`)
		out = append(out, code)
	}
	return out
}

// TestProjectPagesShowWhatEachAgencyMaySee: the lead and partner agencies
// see the project at once, an owner agency once a request to it is
// submitted, another agency never (its page answers 404).
func TestProjectPagesShowWhatEachAgencyMaySee(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		s.mustAgencyPerson(t, "LTA", "req@lta.gov.sg")
		s.mustProject(t, "req@msf.gov.sg", "ELDERCARE-2026", "HDB")
		s.mustProject(t, "req@hdb.gov.sg", "HOUSING-1")
		asked := s.mustRequestIn(t, "req@msf.gov.sg", "MOH", "ELDERCARE-2026", "Seniors per household")
		draft := s.mustRequestIn(t, "req@msf.gov.sg", "HDB", "ELDERCARE-2026", "Flat types of seniors")
		const page = "/projects/ELDERCARE-2026"

		msf, hdb, moh, lta, admin := s.signIn(t, "req@msf.gov.sg"), s.signIn(t, "req@hdb.gov.sg"),
			s.signIn(t, "approver1@moh.gov.sg"), s.signIn(t, "req@lta.gov.sg"), s.signIn(t, "admin@govtech.gov.sg")
		seen := func(when string, want map[*browser][]string) {
			t.Helper()
			for b, codes := range want {
				a := b.get("/projects")
				wantStatus(t, when+": /projects", a, http.StatusOK)
				if got := projectCodes(a.Body); strings.Join(got, ",") != strings.Join(codes, ",") {
					t.Errorf("%s: /projects lists %v, want %v", when, got, codes)
				}
				status := http.StatusNotFound
				if len(codes) > 0 && codes[0] == "ELDERCARE-2026" {
					status = http.StatusOK
				}
				if a := b.get(page); a.Status != status {
					t.Errorf("%s: %s: got status %d, want %d", when, page, a.Status, status)
				}
			}
		}
		seen("drafts only", map[*browser][]string{
			msf: {"ELDERCARE-2026"}, hdb: {"ELDERCARE-2026", "HOUSING-1"}, moh: nil, lta: nil,
			admin: {"ELDERCARE-2026", "HOUSING-1"},
		})
		wantContains(t, "an unrelated agency's list", lta.get("/projects"), "You see no project yet")
		wantContains(t, "the page of a project not visible", lta.get(page), "Page not found")
		if strings.Contains(lta.get(page).Body, "ELDERCARE-2026 planning") {
			t.Error("the 404 page of a project names it")
		}

		s.mustApply(t, asked, [2]string{"req@msf.gov.sg", "submit"})
		seen("submitted to MOH", map[*browser][]string{
			msf: {"ELDERCARE-2026"}, hdb: {"ELDERCARE-2026", "HOUSING-1"}, moh: {"ELDERCARE-2026"}, lta: nil,
		})

		a := moh.get(page)
		wantContains(t, "the owner agency's view", a, "<h1>ELDERCARE-2026 planning</h1>", `<h3 id="owner-MOH">MOH</h3>`,
			`<a href="/requests/`+itoa(asked)+`">Seniors per household</a>`, "asked by MSF", `sla-on_track`, "On track",
			`<dd id="waiting-on">MOH</dd>`, "now: 1 still open")
		if strings.Contains(a.Body, "Flat types of seniors") {
			t.Error("the owner agency sees another agency's draft in the project")
		}
		if strings.Contains(a.Body, "Close project") {
			t.Error("the owner agency is offered Close project")
		}
		a = hdb.get(page)
		wantContains(t, "the partner's view", a, "Seniors per household", `<dd id="partner-list">HDB</dd>`)
		if strings.Contains(a.Body, "Flat types of seniors") || strings.Contains(a.Body, "Close project") {
			t.Error("the partner sees the lead's draft, or is offered Close project")
		}
		a = msf.get(page)
		wantContains(t, "the lead's view", a, "Seniors per household", "Flat types of seniors", `<a href="/requests/`+itoa(draft)+`">`,
			"No request submitted yet", "A draft, not submitted yet", "still open", ">Close project</button>", ">Save changes</button>", ">Remove HDB</button>")
		wantContains(t, "the lead's list", msf.get("/projects"), `<a href="/projects/ELDERCARE-2026">ELDERCARE-2026</a>`,
			"<td>MSF</td>", `<span class="visually-hidden">SLA: </span>On track</span>`, "<td>0.0</td>", "<td>MOH</td>")
		wantContains(t, "the request's page", msf.get(path(asked)), `<a href="/projects/ELDERCARE-2026">ELDERCARE-2026</a>`)
		s.mustApply(t, asked, [2]string{"approver1@moh.gov.sg", "approve"}, [2]string{"approver1@moh.gov.sg", "fulfil"})
		a = msf.get(page)
		wantContains(t, "the project once MOH shared", a, `<span class="visually-hidden">SLA: </span>Met</span>`, `<dd id="waiting-on">—</dd>`)
		if open, closed := strings.Count(a.Body, "still open"), strings.Count(a.Body, " · closed "); open != 0 || closed != 1 {
			t.Errorf("the timeline once MOH shared: got %d still open and %d closed, want 0 and 1", open, closed)
		}
		for _, who := range []string{"approver@msf.gov.sg", "manager@msf.gov.sg", "admin@govtech.gov.sg"} {
			offered := strings.Contains(s.signIn(t, who).get(page).Body, ">Close project</button>")
			if want := who != "approver@msf.gov.sg"; offered != want {
				t.Errorf("%s offered Close project: got %v, want %v", who, offered, want)
			}
		}
	})
}

func itoa(id int64) string { return strings.TrimPrefix(path(id), "/requests/") }

func projectForm(code, name string, partners ...string) url.Values {
	return url.Values{"code": {code}, "name": {name}, "description": {"Combine the data"}, "partners": partners}
}

func TestNewProjectForm(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		req := s.signIn(t, "req@msf.gov.sg")
		wantContains(t, "a requester's list", req.get("/projects"), `<a href="/projects/new" class="button primary">New project</a>`)
		form := req.get("/projects/new")
		wantStatus(t, "new project form", form, http.StatusOK)
		wantContains(t, "new project form", form, `name="csrf"`, `id="code"`, `name="partners" value="MOH"`, `name="partners" value="HDB"`,
			">Create project</button>")
		if strings.Contains(form.Body, `value="MSF"`) || strings.Contains(form.Body, `name="lead_agency"`) {
			t.Error("the form offers the requester's own agency as a partner, or a lead agency to choose")
		}

		for _, tc := range []struct {
			name   string
			form   url.Values
			status int
			want   []string // ids of fields with an error, then messages
		}{
			{"a lower-case code", projectForm("eldercare", "Eldercare"), 422,
				[]string{"code", "Project code must be 2 to 40 upper-case letters"}},
			{"no name", projectForm("ELDERCARE", "  "), 422, []string{"name", "Name is required"}},
			{"an unknown partner", projectForm("ELDERCARE", "Eldercare", "NOPE"), 422, []string{"partners", "Unknown agency &#34;NOPE&#34;"}},
			{"the lead as partner", projectForm("ELDERCARE", "Eldercare", "MSF"), 422, []string{"partners", "The lead agency MSF cannot be its own partner"}},
			{"every problem at once", projectForm("-X", "", "MSF"), 422,
				[]string{"code", "name", "partners", "Project code must be", "Name is required", "cannot be its own partner"}},
		} {
			a := req.post("/projects/new", tc.form)
			wantStatus(t, tc.name, a, tc.status)
			for _, w := range tc.want {
				if !strings.Contains(w, " ") {
					wantContains(t, tc.name, a, `id="`+w+`-error"`, `<a href="#`+w+`">`)
					continue
				}
				wantContains(t, tc.name, a, w)
			}
			wantContains(t, tc.name, a, "Combine the data</textarea>", `value="`+tc.form.Get("code")+`"`)
		}
		a := req.post("/projects/new", projectForm("-X", "", "MSF"))
		if c, n, p := strings.Index(a.Body, `<li><a href="#code">`), strings.Index(a.Body, `<li><a href="#name">`), strings.Index(a.Body, `<li><a href="#partners">`); c < 0 || c > n || n > p {
			t.Errorf("the error summary lists code at %d, name at %d, partners at %d: want them in the order of the form", c, n, p)
		}
		a = req.post("/projects/new", projectForm("ELDERCARE", "Eldercare", "HDB"))
		if a.Status != http.StatusSeeOther || a.Location != "/projects/ELDERCARE" {
			t.Fatalf("create: got %d to %q, want 303 to /projects/ELDERCARE\n%s", a.Status, a.Location, a.Body)
		}
		wantContains(t, "the created project", req.get(a.Location), "Project ELDERCARE has been created.", "<h1>Eldercare</h1>",
			`<dd id="partner-list">HDB</dd>`, "Not started")
		a = s.signIn(t, "manager@msf.gov.sg").post("/projects/new", projectForm("ELDERCARE", "Again", "MOH"))
		wantStatus(t, "a taken code", a, http.StatusConflict)
		wantContains(t, "a taken code", a, `id="code-error"`, "A project with code ELDERCARE already exists", `name="partners" value="MOH" checked`)

		f := projectForm("HOUSING", "Housing")
		f.Set("lead_agency", "HDB")
		if a := req.post("/projects/new", f); a.Status != http.StatusForbidden {
			t.Errorf("a requester creating a project led by another agency: got %d, want 403", a.Status)
		}
		ps, err := s.Projects.List(context.Background(), apptest.Admin)
		if err != nil || len(ps) != 1 || ps[0].LeadAgency != "MSF" || strings.Join(ps[0].Partners, ",") != "HDB" {
			t.Fatalf("after the forms: got %v (%v), want only ELDERCARE led by MSF with HDB", ps, err)
		}

		for _, who := range []string{"approver1@moh.gov.sg", "approver@msf.gov.sg"} {
			b := s.signIn(t, who)
			if a := b.get("/projects/new"); a.Status != http.StatusForbidden {
				t.Errorf("GET /projects/new as %s: got %d, want 403", who, a.Status)
			}
			if a := b.post("/projects/new", projectForm("P-1", "n")); a.Status != http.StatusForbidden {
				t.Errorf("POST /projects/new as %s: got %d, want 403", who, a.Status)
			}
			if a := b.get("/projects"); strings.Contains(a.Body, "New project") {
				t.Errorf("/projects as %s offers New project", who)
			}
		}

		admin := s.signIn(t, "admin@govtech.gov.sg")
		wantContains(t, "an admin's form", admin.get("/projects/new"), `name="lead_agency"`)
		f = projectForm("HOUSING", "Housing", "MSF")
		f.Set("lead_agency", "HDB")
		if a := admin.post("/projects/new", f); a.Status != http.StatusSeeOther {
			t.Fatalf("an admin's create: got %d, want 303\n%s", a.Status, a.Body)
		}
		if p, err := s.Projects.Get(context.Background(), apptest.Admin, "HOUSING"); err != nil || p.LeadAgency != "HDB" {
			t.Errorf("the admin's project: got %+v (%v), want led by HDB", p, err)
		}
	})
}

func TestManageProject(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		s.mustAgencyPerson(t, "LTA", "req@lta.gov.sg")
		s.mustProject(t, "req@msf.gov.sg", "ELDERCARE")
		const page = "/projects/ELDERCARE"
		msf := s.signIn(t, "req@msf.gov.sg")
		wantContains(t, "the lead's page", msf.get(page), `<option value="HDB">`, `<option value="MOH">`, "No partner agency yet.")

		a := msf.post(page+"/edit", url.Values{"name": {""}, "description": {"Kept"}})
		wantStatus(t, "an empty name", a, http.StatusUnprocessableEntity)
		wantContains(t, "an empty name", a, `id="project-name-error"`, "Name is required", "Kept</textarea>")
		a = msf.post(page+"/edit", url.Values{"name": {"Eldercare capacity"}, "description": {"All of it"}})
		if a.Status != http.StatusSeeOther || a.Location != page {
			t.Fatalf("edit: got %d to %q, want 303 to %s", a.Status, a.Location, page)
		}
		wantContains(t, "after edit", msf.get(page), "Project saved", "<h1>Eldercare capacity</h1>", "All of it")

		a = msf.post(page+"/partners", url.Values{"add_partners": {""}})
		wantStatus(t, "no partner chosen", a, http.StatusUnprocessableEntity)
		wantContains(t, "no partner chosen", a, `id="add-partner-error"`, "Choose an agency to add as a partner")
		a = msf.post(page+"/partners", url.Values{"add_partners": {"NOPE"}})
		wantStatus(t, "an unknown partner", a, http.StatusUnprocessableEntity)
		wantContains(t, "an unknown partner", a, "Unknown agency &#34;NOPE&#34;")
		if a := msf.post(page+"/partners", url.Values{"add_partners": {"HDB"}}); a.Status != http.StatusSeeOther {
			t.Fatalf("add HDB: got %d, want 303\n%s", a.Status, a.Body)
		}
		if a := msf.post(page+"/partners", url.Values{"add_partners": {"LTA"}}); a.Status != http.StatusSeeOther {
			t.Fatalf("add LTA: got %d, want 303\n%s", a.Status, a.Body)
		}
		wantContains(t, "after adding", msf.get(page), "LTA is now a partner", `<dd id="partner-list">HDB, LTA</dd>`, ">Remove LTA</button>")
		if a := msf.post(page+"/partners", url.Values{"remove": {"LTA"}}); a.Status != http.StatusSeeOther {
			t.Fatalf("remove LTA: got %d, want 303\n%s", a.Status, a.Body)
		}
		a = msf.post(page+"/partners", url.Values{"remove": {"MOH"}})
		wantStatus(t, "removing a non-partner", a, http.StatusUnprocessableEntity)
		wantContains(t, "removing a non-partner", a, `<a href="#partners">`, "Agency &#34;MOH&#34; is not a partner")

		for _, tc := range []struct {
			who    string
			status int
		}{{"req@hdb.gov.sg", http.StatusForbidden}, {"approver@msf.gov.sg", http.StatusForbidden}, {"req@lta.gov.sg", http.StatusNotFound}} {
			b := s.signIn(t, tc.who)
			for _, post := range []struct {
				path string
				form url.Values
			}{{"/close", nil}, {"/edit", url.Values{"name": {"Hijacked"}}}, {"/partners", url.Values{"add_partners": {"LTA"}}}} {
				if a := b.post(page+post.path, post.form); a.Status != tc.status {
					t.Errorf("POST %s as %s: got %d, want %d", post.path, tc.who, a.Status, tc.status)
				}
			}
		}

		a = msf.post(page+"/close", nil)
		if a.Status != http.StatusSeeOther || a.Location != page {
			t.Fatalf("close: got %d to %q, want 303 to %s", a.Status, a.Location, page)
		}
		a = msf.get(page)
		wantContains(t, "closed", a, "Project closed: it takes no more requests", `project-closed">Closed</span>`, `<dd id="partner-list">HDB</dd>`)
		if strings.Contains(a.Body, ">Save changes</button>") || strings.Contains(a.Body, ">Close project</button>") {
			t.Error("a closed project still offers its forms")
		}
		a = msf.post(page+"/edit", url.Values{"name": {"Reopened"}, "description": {""}})
		wantStatus(t, "an edit after close", a, http.StatusConflict)
		wantContains(t, "an edit after close", a, "Project ELDERCARE is closed and cannot be changed. Here is the project as it is now. Nothing was changed.")
		p, err := s.Projects.Get(context.Background(), apptest.Admin, "ELDERCARE")
		if err != nil || p.State != projects.Closed || p.Name != "Eldercare capacity" || strings.Join(p.Partners, ",") != "HDB" {
			t.Errorf("after the forms: got %+v (%v), want closed, named Eldercare capacity, with HDB", p, err)
		}
	})
}

// TestRequestFormOffersJoinableProjects: the picker of the request form
// offers the active projects of the requester's agency and its partners'
// only, a request filed with it is in the project, and a draft keeps its
// project once the project closes.
func TestRequestFormOffersJoinableProjects(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		s.mustProject(t, "req@msf.gov.sg", "ELDERCARE", "HDB")
		s.mustProject(t, "req@msf.gov.sg", "OLD-ONE")
		s.mustProject(t, "req@hdb.gov.sg", "HOUSING", "MSF")
		s.mustProject(t, "req@hdb.gov.sg", "ROADS")
		closed := projects.Closed
		ctx := context.Background()
		if _, err := s.Projects.Update(ctx, s.actor("req@msf.gov.sg"), "OLD-ONE", projects.Patch{State: &closed}); err != nil {
			t.Fatal(err)
		}
		req := s.signIn(t, "req@msf.gov.sg")
		form := req.get("/requests/new")
		wantContains(t, "the picker", form, `<select id="project-code" name="project_code" aria-describedby="project-code-hint">`,
			`<option value="" selected>No project</option>`, `<option value="ELDERCARE">ELDERCARE — ELDERCARE planning</option>`,
			`<option value="HOUSING">HOUSING — HOUSING planning</option>`)
		for _, code := range []string{"OLD-ONE", "ROADS"} {
			if strings.Contains(form.Body, `<option value="`+code+`"`) {
				t.Errorf("the picker offers %s, which MSF may not join", code)
			}
		}

		for _, tc := range []struct{ code, msg string }{
			{"ROADS", "Project ROADS is led by HDB, which has not added MSF as a partner"},
			{"OLD-ONE", "Project OLD-ONE is closed and takes no more requests"},
			{"NOPE", "Unknown project &#34;NOPE&#34;"},
		} {
			f := draftForm("Census")
			f.Set("project_code", tc.code)
			a := req.post("/requests/new", f)
			wantStatus(t, "joining "+tc.code, a, http.StatusUnprocessableEntity)
			wantContains(t, "joining "+tc.code, a, `id="project-code-error"`, tc.msg, `<a href="#project-code">`, "Planning</textarea>")
		}

		f := draftForm("Census")
		f.Set("project_code", "ELDERCARE")
		a := req.post("/requests/new", f)
		m := createdRE.FindStringSubmatch(a.Location)
		if a.Status != http.StatusSeeOther || m == nil {
			t.Fatalf("create in ELDERCARE: got %d to %q, want 303 to the request\n%s", a.Status, a.Location, a.Body)
		}
		rs, _, err := s.Workflow.List(ctx, apptest.Admin, workflow.Filter{})
		if err != nil || len(rs) != 1 || rs[0].ProjectCode == nil || *rs[0].ProjectCode != "ELDERCARE" {
			t.Fatalf("requests after the forms: got %d (%v), want one in ELDERCARE", len(rs), err)
		}
		id := rs[0].ID
		wantContains(t, "the draft's edit form", req.get(path(id)+"/edit"), `<option value="ELDERCARE" selected>`)
		wantContains(t, "the project's page", req.get("/projects/ELDERCARE"), `<a href="/requests/`+itoa(id)+`">Census</a>`)

		if _, err := s.Projects.Update(ctx, s.actor("req@msf.gov.sg"), "ELDERCARE", projects.Patch{State: &closed}); err != nil {
			t.Fatal(err)
		}
		edit := req.get(path(id) + "/edit")
		wantContains(t, "the edit form of a draft in a closed project", edit,
			`<option value="ELDERCARE" selected>ELDERCARE (no longer open to your agency)</option>`)
		f = draftForm("Census of carers")
		f.Set("version", "1")
		f.Set("project_code", "ELDERCARE")
		if a := req.post(path(id)+"/edit", f); a.Status != http.StatusSeeOther {
			t.Fatalf("edit keeping the closed project: got %d, want 303\n%s", a.Status, a.Body)
		}
		f.Set("version", "2")
		f.Set("project_code", "")
		if a := req.post(path(id)+"/edit", f); a.Status != http.StatusSeeOther {
			t.Fatalf("edit leaving the project: got %d, want 303\n%s", a.Status, a.Body)
		}
		r, err := s.Workflow.Get(ctx, apptest.Admin, id)
		if err != nil || r.Title != "Census of carers" || r.ProjectCode != nil {
			t.Errorf("after the edits: got %q in %v (%v), want Census of carers in no project", r.Title, r.ProjectCode, err)
		}
	})
}
