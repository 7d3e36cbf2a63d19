package api_test

import (
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
)

type projectView struct {
	Code       string   `json:"code"`
	Name       string   `json:"name"`
	LeadAgency string   `json:"lead_agency"`
	State      string   `json:"state"`
	Partners   []string `json:"partners"`
	Clock      struct {
		Status    string     `json:"status"`
		Elapsed   float64    `json:"elapsed_working_days"`
		DueAt     *time.Time `json:"due_at"`
		StartedAt *time.Time `json:"started_at"`
		StoppedAt *time.Time `json:"stopped_at"`
		WaitingOn []string   `json:"waiting_on"`
	} `json:"clock"`
	Requests []struct {
		ID          int64  `json:"id"`
		OwnerAgency string `json:"owner_agency"`
		State       string `json:"state"`
		SLAStatus   string `json:"sla_status"`
	} `json:"requests"`
}

// mustCreateProject creates project code led by who's agency with partners.
func (e *env) mustCreateProject(tb testing.TB, who, code string, partners ...string) projectView {
	tb.Helper()
	r := e.do(tb, request{method: "POST", path: "/api/v1/projects", token: who,
		body: map[string]any{"code": code, "name": code + " planning", "partners": partners}})
	mustStatus(tb, r, http.StatusCreated, "")
	if loc := r.Header.Get("Location"); loc != "/api/v1/projects/"+code {
		tb.Fatalf("Location: got %q, want /api/v1/projects/%s", loc, code)
	}
	var p projectView
	r.decode(tb, &p)
	return p
}

func (e *env) getProject(tb testing.TB, who, code string) resp {
	tb.Helper()
	return e.do(tb, request{method: "GET", path: "/api/v1/projects/" + code, token: who})
}

func (e *env) mustProject(tb testing.TB, who, code string) projectView {
	tb.Helper()
	r := e.getProject(tb, who, code)
	mustStatus(tb, r, http.StatusOK, "")
	var p projectView
	r.decode(tb, &p)
	e.mustListTheSameClock(tb, who, p)
	return p
}

// mustListTheSameClock fails unless the list, which reads the clock stored
// at the last transition, shows the clock the project's own answer
// computes from its requests' histories.
func (e *env) mustListTheSameClock(tb testing.TB, who string, p projectView) {
	tb.Helper()
	r := e.do(tb, request{method: "GET", path: "/api/v1/projects", token: who})
	mustStatus(tb, r, http.StatusOK, "")
	var l struct{ Items []projectView }
	r.decode(tb, &l)
	i := slices.IndexFunc(l.Items, func(q projectView) bool { return q.Code == p.Code })
	if i < 0 {
		tb.Fatalf("list of %s: %s missing", who, p.Code)
	}
	got, want := l.Items[i].Clock, p.Clock
	same := func(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }
	if got.Status != want.Status || got.Elapsed != want.Elapsed || !same(got.DueAt, want.DueAt) ||
		!same(got.StartedAt, want.StartedAt) || !same(got.StoppedAt, want.StoppedAt) || !slices.Equal(got.WaitingOn, want.WaitingOn) {
		tb.Fatalf("clock of %s: the list shows %+v, the project %+v", p.Code, got, want)
	}
}

func (e *env) mustProjectCodes(tb testing.TB, who string) []string {
	tb.Helper()
	r := e.do(tb, request{method: "GET", path: "/api/v1/projects", token: who})
	mustStatus(tb, r, http.StatusOK, "")
	var l struct{ Items []projectView }
	r.decode(tb, &l)
	codes := []string{}
	for _, p := range l.Items {
		codes = append(codes, p.Code)
	}
	return codes
}

// mustCreateIn files a draft as who asking owner, in project code.
func (e *env) mustCreateIn(tb testing.TB, who, owner, code string) requestView {
	tb.Helper()
	body := newRequestBody("official-open", owner)
	body["project_code"] = code
	r := e.do(tb, request{method: "POST", path: "/api/v1/requests", token: who, body: body})
	mustStatus(tb, r, http.StatusCreated, "")
	var v requestView
	r.decode(tb, &v)
	return v
}

func TestProjectCreate(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		p := e.mustCreateProject(t, "MOH.requester", "ELDERCARE-2026", "X", "HDB", "X")
		if p.LeadAgency != "MOH" || p.State != "active" || !slices.Equal(p.Partners, []string{"HDB", "X"}) || p.Clock.Status != "not_started" {
			t.Fatalf("created: got lead %s state %s partners %v clock %s, want MOH active [HDB X] not_started", p.LeadAgency, p.State, p.Partners, p.Clock.Status)
		}
		if m := e.mustCreateProject(t, "HDB.manager", "HOUSING-1"); m.LeadAgency != "HDB" {
			t.Fatalf("created by a manager: got lead %s, want HDB", m.LeadAgency)
		}
		r := e.do(t, request{method: "POST", path: "/api/v1/projects", token: "admin", body: map[string]any{"code": "X-1", "name": "For X", "lead_agency": "X"}})
		mustStatus(t, r, http.StatusCreated, "")

		refusals := []struct {
			name, who  string
			body       any
			want       int
			code, fiel string
		}{
			{"an approver", "MOH.approver", map[string]any{"code": "P-1", "name": "n"}, 403, "forbidden", ""},
			{"another lead agency", "MOH.requester", map[string]any{"code": "P-1", "name": "n", "lead_agency": "HDB"}, 403, "forbidden", ""},
			{"a lower-case code", "MOH.requester", map[string]any{"code": "p-1", "name": "n"}, 422, "invalid", "code"},
			{"a code starting with a hyphen", "MOH.requester", map[string]any{"code": "-P1", "name": "n"}, 422, "invalid", "code"},
			{"a one-character code", "MOH.requester", map[string]any{"code": "P", "name": "n"}, 422, "invalid", "code"},
			{"no name", "MOH.requester", map[string]any{"code": "P-1", "name": "  "}, 422, "invalid", "name"},
			{"an unknown partner", "MOH.requester", map[string]any{"code": "P-1", "name": "n", "partners": []string{"NOPE"}}, 422, "invalid", "partners"},
			{"the lead as partner", "MOH.requester", map[string]any{"code": "P-1", "name": "n", "partners": []string{"MOH"}}, 422, "invalid", "partners"},
			{"an unknown lead agency", "admin", map[string]any{"code": "P-1", "name": "n", "lead_agency": "NOPE"}, 422, "invalid", "lead_agency"},
			{"an unknown field", "MOH.requester", map[string]any{"code": "P-1", "name": "n", "owner": "x"}, 400, "malformed", ""},
			{"a taken code", "HDB.requester", map[string]any{"code": "ELDERCARE-2026", "name": "n"}, 409, "conflict", ""},
		}
		for _, tt := range refusals {
			t.Run(tt.name, func(t *testing.T) {
				r := e.do(t, request{method: "POST", path: "/api/v1/projects", token: tt.who, body: tt.body})
				if tt.fiel != "" {
					mustFieldError(t, r, tt.fiel)
				} else {
					mustStatus(t, r, tt.want, tt.code)
				}
			})
		}
		if got := e.mustProjectCodes(t, "admin"); !slices.Equal(got, []string{"ELDERCARE-2026", "HOUSING-1", "X-1"}) {
			t.Fatalf("projects after refusals: got %v, want the three created", got)
		}
	})
}

func TestProjectVisibility(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		e.mustCreateProject(t, "MOH.requester", "SHARED", "X")
		e.mustCreateProject(t, "MOH.requester", "SOLO")
		v := e.mustCreateIn(t, "MOH.requester", "HDB", "SOLO")

		want := map[string][]string{
			"MOH.approver": {"SHARED", "SOLO"}, // the lead agency, whatever the role
			"X.requester":  {"SHARED"},         // a partner
			"HDB.manager":  {},                 // owner of a draft only
			"admin":        {"SHARED", "SOLO"},
		}
		for who, codes := range want {
			if got := e.mustProjectCodes(t, who); !slices.Equal(got, codes) {
				t.Errorf("projects of %s: got %v, want %v", who, got, codes)
			}
		}
		mustStatus(t, e.getProject(t, "HDB.manager", "SOLO"), http.StatusNotFound, "not_found")
		mustStatus(t, e.getProject(t, "X.requester", "SOLO"), http.StatusNotFound, "not_found")
		mustStatus(t, e.getProject(t, "MOH.requester", "NOPE"), http.StatusNotFound, "not_found")
		if p := e.mustProject(t, "X.requester", "SHARED"); len(p.Requests) != 0 {
			t.Fatalf("SHARED requests: got %d, want 0", len(p.Requests))
		}

		e.mustAct(t, v.ID, "MOH.requester", "submit", "")
		if got := e.mustProjectCodes(t, "HDB.manager"); !slices.Equal(got, []string{"SOLO"}) {
			t.Fatalf("projects of the owner once submitted: got %v, want [SOLO]", got)
		}
		draft := e.mustCreateIn(t, "MOH.requester2", "X", "SOLO")
		p := e.mustProject(t, "HDB.approver", "SOLO")
		if len(p.Requests) != 1 || p.Requests[0].ID != v.ID || p.Requests[0].State != "submitted" || p.Requests[0].SLAStatus != "on_track" {
			t.Fatalf("SOLO as HDB: got requests %+v, want only %d, submitted, on_track", p.Requests, v.ID)
		}
		if p := e.mustProject(t, "MOH.requester", "SOLO"); len(p.Requests) != 2 || p.Requests[1].ID != draft.ID {
			t.Fatalf("SOLO as MOH: got requests %+v, want %d and the draft %d", p.Requests, v.ID, draft.ID)
		}
		if p.Clock.Status != "on_track" || !slices.Equal(p.Clock.WaitingOn, []string{"HDB"}) {
			t.Fatalf("SOLO clock: got %s waiting on %v, want on_track waiting on [HDB]", p.Clock.Status, p.Clock.WaitingOn)
		}
		mustStatus(t, e.getProject(t, "X.requester", "SOLO"), http.StatusNotFound, "not_found")

		// The lead lists a partner's submitted request, which it cannot
		// open itself; the owner lists only its own.
		xs := e.mustCreateIn(t, "X.requester", "HDB", "SHARED")
		xo := e.mustCreateIn(t, "X.requester", "MOH", "SHARED")
		if p := e.mustProject(t, "MOH.approver", "SHARED"); len(p.Requests) != 0 {
			t.Fatalf("SHARED as MOH before submission: got %+v, want none: drafts stay with X", p.Requests)
		}
		mustStatus(t, e.getProject(t, "HDB.approver", "SHARED"), http.StatusNotFound, "not_found")
		e.mustAct(t, xs.ID, "X.requester", "submit", "")
		if p := e.mustProject(t, "MOH.approver", "SHARED"); len(p.Requests) != 1 || p.Requests[0].ID != xs.ID || p.Requests[0].OwnerAgency != "HDB" {
			t.Fatalf("SHARED as MOH: got %+v, want %d (X to HDB), not the draft %d", p.Requests, xs.ID, xo.ID)
		}
		mustStatus(t, e.do(t, request{method: "GET", path: requestPath(xs.ID, ""), token: "MOH.approver"}), http.StatusNotFound, "not_found")
		if p := e.mustProject(t, "HDB.approver", "SHARED"); len(p.Requests) != 1 || p.Requests[0].ID != xs.ID {
			t.Fatalf("SHARED as HDB: got %+v, want only %d", p.Requests, xs.ID)
		}
	})
}

func TestProjectCodeOnRequests(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		e.mustCreateProject(t, "MOH.requester", "SHARED", "X")
		e.mustCreateProject(t, "MOH.requester", "DONE")
		r := e.do(t, request{method: "PATCH", path: "/api/v1/projects/DONE", token: "MOH.manager", body: map[string]any{"state": "closed"}})
		mustStatus(t, r, http.StatusOK, "")

		if v := e.mustCreateIn(t, "X.requester", "HDB", "SHARED"); v.ID == 0 {
			t.Fatal("a partner's request: no id")
		}
		for _, tt := range []struct{ name, who, owner, code string }{
			{"an unknown project", "MOH.requester", "HDB", "NOPE"},
			{"a closed project", "MOH.requester", "HDB", "DONE"},
			{"an agency neither lead nor partner", "HDB.requester", "MOH", "SHARED"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				body := newRequestBody("official-open", tt.owner)
				body["project_code"] = tt.code
				mustFieldError(t, e.do(t, request{method: "POST", path: "/api/v1/requests", token: tt.who, body: body}), "project_code")
			})
		}
		if n := len(e.mustListAll(t, "admin")); n != 1 {
			t.Fatalf("requests after refusals: got %d, want 1", n)
		}

		d := e.mustCreate(t, "official-open")
		before := e.mustSnapshot(t, d.ID)
		for _, code := range []string{"NOPE", "DONE"} {
			r := e.do(t, request{method: "PATCH", path: requestPath(d.ID, ""), token: "MOH.requester", body: map[string]any{"project_code": code}})
			mustFieldError(t, r, "project_code")
		}
		e.mustBeUnchanged(t, d.ID, before)

		var got struct {
			ProjectCode *string `json:"project_code"`
			Project     *string `json:"project"`
		}
		r = e.do(t, request{method: "PATCH", path: requestPath(d.ID, ""), token: "MOH.requester", body: map[string]any{"project_code": "SHARED", "project": "old free text"}})
		mustStatus(t, r, http.StatusOK, "")
		r.decode(t, &got)
		if got.ProjectCode == nil || *got.ProjectCode != "SHARED" || got.Project == nil || *got.Project != "old free text" {
			t.Fatalf("after joining: got project_code %v project %v, want SHARED and the free text kept", got.ProjectCode, got.Project)
		}
		// X's draft stays private to X.
		if p := e.mustProject(t, "MOH.requester", "SHARED"); len(p.Requests) != 1 || p.Requests[0].ID != d.ID {
			t.Fatalf("SHARED requests as MOH: got %+v, want only %d", p.Requests, d.ID)
		}
		if p := e.mustProject(t, "X.requester", "SHARED"); len(p.Requests) != 1 || p.Requests[0].ID == d.ID {
			t.Fatalf("SHARED requests as X: got %+v, want only its own", p.Requests)
		}
		r = e.do(t, request{method: "PATCH", path: requestPath(d.ID, ""), token: "MOH.requester", body: map[string]any{"project_code": nil}})
		mustStatus(t, r, http.StatusOK, "")
		got.ProjectCode = nil
		r.decode(t, &got)
		if got.ProjectCode != nil {
			t.Fatalf("after leaving: got project_code %v, want null", *got.ProjectCode)
		}
	})
}

func TestProjectPatch(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		e.mustCreateProject(t, "MOH.requester", "P-1", "X")
		patch := func(who string, body any) resp {
			return e.do(t, request{method: "PATCH", path: "/api/v1/projects/P-1", token: who, body: body})
		}
		mustStatus(t, patch("HDB.manager", map[string]any{"name": "n"}), http.StatusNotFound, "not_found")
		mustStatus(t, patch("X.requester", map[string]any{"name": "n"}), http.StatusForbidden, "forbidden")
		mustStatus(t, patch("MOH.approver", map[string]any{"name": "n"}), http.StatusForbidden, "forbidden")
		mustFieldError(t, patch("MOH.manager", map[string]any{"name": ""}), "name")
		mustFieldError(t, patch("MOH.manager", map[string]any{"add_partners": []string{"NOPE"}}), "add_partners")
		mustFieldError(t, patch("MOH.manager", map[string]any{"add_partners": []string{"MOH"}}), "add_partners")
		mustFieldError(t, patch("MOH.manager", map[string]any{"add_partners": []string{"X"}, "remove_partners": []string{"X"}}), "remove_partners")
		mustFieldError(t, patch("MOH.manager", map[string]any{"remove_partners": []string{"HDB"}}), "remove_partners")
		mustFieldError(t, patch("MOH.manager", map[string]any{"state": "paused"}), "state")
		mustStatus(t, patch("MOH.manager", map[string]any{"partners": []string{"HDB"}}), http.StatusBadRequest, "malformed")
		if p := e.mustProject(t, "MOH.requester", "P-1"); p.Name != "P-1 planning" || !slices.Equal(p.Partners, []string{"X"}) {
			t.Fatalf("after refusals: got name %q partners %v, want unchanged", p.Name, p.Partners)
		}

		r := patch("MOH.manager", map[string]any{"name": "Eldercare", "add_partners": []string{"HDB"}, "remove_partners": []string{"X"}})
		mustStatus(t, r, http.StatusOK, "")
		var p projectView
		r.decode(t, &p)
		if p.Name != "Eldercare" || !slices.Equal(p.Partners, []string{"HDB"}) {
			t.Fatalf("patched: got name %q partners %v, want Eldercare [HDB]", p.Name, p.Partners)
		}
		if got := e.mustProject(t, "HDB.requester", "P-1"); !slices.Equal(got.Partners, []string{"HDB"}) {
			t.Fatalf("as stored: got partners %v, want [HDB]", got.Partners)
		}
		mustStatus(t, e.getProject(t, "X.requester", "P-1"), http.StatusNotFound, "not_found")
		mustStatus(t, patch("HDB.manager", map[string]any{"name": "n"}), http.StatusForbidden, "forbidden")

		r = patch("admin", map[string]any{"state": "closed"})
		mustStatus(t, r, http.StatusOK, "")
		for _, body := range []map[string]any{{"name": "again"}, {"state": "active"}, {"state": "closed"}} {
			mustStatus(t, patch("MOH.manager", body), http.StatusConflict, "conflict")
		}
		if got := e.mustProject(t, "MOH.requester", "P-1"); got.State != "closed" || got.Name != "Eldercare" {
			t.Fatalf("closed: got state %s name %q, want closed Eldercare", got.State, got.Name)
		}
	})
}

// The clock of a project through the API, on a clock the test moves: two
// owners, the first delivers in a day, the second after the due instant.
func TestProjectClockThroughTheAPI(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		var now atomic.Pointer[time.Time]
		set := func(s string) { tm := apptest.Time(s); now.Store(&tm) }
		set("2025-12-01T10:00:00+08:00") // a Monday
		e := newEnvWithClock(t, db, func() time.Time { return *now.Load() })
		e.mustCreateProject(t, "MOH.requester", "ELDERCARE")
		a := e.mustCreateIn(t, "MOH.requester", "HDB", "ELDERCARE")
		b := e.mustCreateIn(t, "MOH.requester", "X", "ELDERCARE")
		e.mustAct(t, a.ID, "MOH.requester", "submit", "")
		e.mustAct(t, b.ID, "MOH.requester", "submit", "")

		set("2025-12-02T10:00:00+08:00")
		e.mustAct(t, a.ID, "HDB.approver", "approve", "")
		e.mustAct(t, a.ID, "HDB.approver", "fulfil", "")
		p := e.mustProject(t, "MOH.manager", "ELDERCARE")
		if p.Clock.Status != "on_track" || p.Clock.Elapsed != 1 || !slices.Equal(p.Clock.WaitingOn, []string{"X"}) {
			t.Fatalf("day 1: got %s %v waiting on %v, want on_track 1 waiting on [X]", p.Clock.Status, p.Clock.Elapsed, p.Clock.WaitingOn)
		}
		due := apptest.Time("2025-12-10T10:00:00+08:00")
		if p.Clock.DueAt == nil || !p.Clock.DueAt.Equal(due) || p.Clock.StartedAt == nil || !p.Clock.StartedAt.Equal(apptest.Time("2025-12-01T10:00:00+08:00")) {
			t.Fatalf("day 1: got due %v started %v, want %s and the first submission", p.Clock.DueAt, p.Clock.StartedAt, due)
		}

		set("2025-12-08T10:00:00+08:00")
		if p := e.mustProject(t, "MOH.manager", "ELDERCARE"); p.Clock.Status != "at_risk" || p.Clock.Elapsed != 5 {
			t.Fatalf("day 5: got %s %v, want at_risk 5", p.Clock.Status, p.Clock.Elapsed)
		}
		set("2025-12-11T10:00:00+08:00")
		if p := e.mustProject(t, "X.approver", "ELDERCARE"); p.Clock.Status != "breached" || p.Clock.Elapsed != 8 {
			t.Fatalf("day 8: got %s %v, want breached 8", p.Clock.Status, p.Clock.Elapsed)
		}
		e.mustAct(t, b.ID, "X.approver", "approve", "")
		e.mustAct(t, b.ID, "X.approver", "fulfil", "")
		set("2025-12-15T10:00:00+08:00")
		p = e.mustProject(t, "MOH.manager", "ELDERCARE")
		if p.Clock.Status != "missed" || p.Clock.Elapsed != 8 || p.Clock.StoppedAt == nil || !p.Clock.DueAt.Equal(due) || len(p.Clock.WaitingOn) != 0 {
			t.Fatalf("after the last delivery: got %s %v stopped %v due %v waiting %v, want missed 8, stopped, due %s, none",
				p.Clock.Status, p.Clock.Elapsed, p.Clock.StoppedAt, p.Clock.DueAt, p.Clock.WaitingOn, due)
		}
		var l struct{ Items []projectView }
		e.do(t, request{method: "GET", path: "/api/v1/projects", token: "MOH.requester"}).decode(t, &l)
		if len(l.Items) != 1 || l.Items[0].Clock.Status != "missed" || l.Items[0].Requests != nil {
			t.Fatalf("list: got %+v, want ELDERCARE missed without requests", l.Items)
		}
	})
}

// Odd input on the project routes is refused without a server error on
// either database (do fails the test on any 5xx).
func TestProjectOddInput(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		e.mustCreateProject(t, "MOH.requester", "P-1")
		long := strings.Repeat("A", 5000)
		for _, rq := range []request{
			{method: "POST", path: "/api/v1/projects", body: `{"code": "P-\u0000", "name": "n"}`},
			{method: "POST", path: "/api/v1/projects", body: map[string]any{"code": long, "name": "n"}},
			{method: "POST", path: "/api/v1/projects", body: map[string]any{"code": "P-2", "name": long}},
			{method: "POST", path: "/api/v1/projects", body: map[string]any{"code": "P-2", "name": "n", "partners": []string{"\u00e9\u00e9", long, ""}}},
			{method: "POST", path: "/api/v1/projects", body: `{"code": 12, "name": "n"}`},
			{method: "GET", path: "/api/v1/projects/" + long},
			{method: "GET", path: "/api/v1/projects/%C3%A9"},
			{method: "PATCH", path: "/api/v1/projects/P-1", body: map[string]any{"remove_partners": []string{long}}},
			{method: "PATCH", path: "/api/v1/projects/P-1", body: map[string]any{"add_partners": []string{"\u00e9"}}},
			{method: "POST", path: "/api/v1/requests", body: map[string]any{"title": "t", "purpose": "p", "data_description": "d",
				"classification": "official-open", "owner_agency": "HDB", "project_code": long}},
		} {
			rq.token = "MOH.requester"
			if r := e.do(t, rq); r.Status < 400 {
				t.Errorf("%s %s: got %d %s, want a refusal", rq.method, rq.path[:min(len(rq.path), 40)], r.Status, r.Body)
			}
		}
	})
}
