package web_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/notifications"
)

const adminEmail = "admin@govtech.gov.sg"

func wantLacks(t *testing.T, what string, a answer, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(a.Body, w) {
			t.Errorf("%s: page holds %q", what, w)
		}
	}
}

// wantSeeOther checks a POST answered 303 to path.
func wantSeeOther(t *testing.T, what string, a answer, path string) {
	t.Helper()
	if a.Status != http.StatusSeeOther || a.Location != path {
		t.Fatalf("%s: got %d to %q, want 303 to %q\n%s", what, a.Status, a.Location, path, a.Body)
	}
}

// Only an admin sees the Admin link, and anyone else is refused every admin
// page and form with the 403 page, with nothing changed.
func TestAdminPagesAreForAdminsOnly(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		admin := s.signIn(t, adminEmail)
		home := admin.get("/")
		wantContains(t, "admin's home", home, `<a href="/admin">Admin</a>`)
		for _, email := range []string{"req@msf.gov.sg", "approver1@moh.gov.sg", "manager@moh.gov.sg"} {
			b := s.signIn(t, email)
			wantLacks(t, email+"'s home", b.get("/"), `href="/admin"`)
			for _, path := range []string{"/admin", "/admin/agencies", "/admin/users", "/admin/calendar", "/admin/webhooks", "/admin/deliveries"} {
				a := b.get(path)
				wantStatus(t, email+" GET "+path, a, http.StatusForbidden)
				wantContains(t, email+" GET "+path, a, "You do not have access to this", "Only an admin may open the admin pages")
			}
			for _, p := range []struct {
				path string
				form url.Values
			}{
				{"/admin/agencies", url.Values{"code": {"MOE"}, "name": {"Ministry of Education"}}},
				{"/admin/agencies/MOH", url.Values{"name": {"Renamed"}}},
				{"/admin/users", url.Values{"name": {"New"}, "email": {"new@moh.gov.sg"}, "agency": {"MOH"}, "roles": {"admin"}}},
				{"/admin/calendar", url.Values{"date": {"2026-06-02"}, "name": {"Day"}, "kind": {"closure"}, "do": {"save"}}},
				{"/admin/calendar/2026-12-25/remove", url.Values{"do": {"save"}}},
				{"/admin/webhooks", url.Values{"url": {"https://example.org/hook"}, "events": {"*"}, "secret": {"0123456789abcdef"}}},
				{"/admin/deliveries/retry-all", nil},
			} {
				wantStatus(t, email+" POST "+p.path, b.post(p.path, p.form), http.StatusForbidden)
			}
		}
		ctx := context.Background()
		as, _ := s.Accounts.ListAgencies(ctx)
		if len(as) != 4 || as[2].Name != "MOH agency" {
			t.Errorf("agencies after refused posts: %+v, want the four seeded, MOH unchanged", as)
		}
		if _, err := s.Accounts.UserByEmail(ctx, "new@moh.gov.sg"); err == nil {
			t.Errorf("a refused post created a user")
		}
		if hs, _ := s.Holidays.List(ctx, 2026); !containsDate(hs, "2026-12-25") || containsDate(hs, "2026-06-02") {
			t.Errorf("the calendar changed after refused posts")
		}
		if hs, _ := s.Notifications.Webhooks(ctx, apptest.Admin); len(hs) != 0 {
			t.Errorf("a refused post created a webhook")
		}
	})
}

func ptr[T any](v T) *T { return &v }

func containsDate(hs []models.Holiday, date string) bool {
	for _, h := range hs {
		if h.Date == date {
			return true
		}
	}
	return false
}

func TestAdminSummary(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		c := newClock("2025-01-06T10:00:00+08:00")
		s := newSite(t, db, siteOptions{App: apptest.Options{Now: c.Now}})
		s.mustSubmitted(t, "Household sizes")
		s.mustSubmitted(t, "School places")
		// One requester left: counted apart, and not among the requesters.
		if _, err := s.Accounts.DeactivateByEmail(context.Background(), "req2@msf.gov.sg"); err != nil {
			t.Fatal(err)
		}
		b := s.signIn(t, adminEmail)
		a := b.get("/admin")
		wantStatus(t, "/admin", a, http.StatusOK)
		wantContains(t, "/admin", a, "<h1>Admin</h1>",
			`<dt>Agencies</dt><dd><a href="/admin/agencies">4</a></dd>`,
			`<dt>Users</dt><dd><a href="/admin/users">9</a></dd>`,
			`<dt>Open requests</dt><dd>2</dd>`,
			`<dt>Dead deliveries</dt><dd><a href="/admin/deliveries">0</a></dd>`,
			`<dt>Deactivated users</dt><dd><a href="/admin/users?active=deactivated">1</a></dd>`,
			`<th scope="row">Requester</th><td class="num"><a href="/admin/users?role=requester&amp;active=active">2<`,
			`<th scope="row">Approver</th><td class="num"><a href="/admin/users?role=approver&amp;active=active">3<`,
			`<th scope="row">Manager</th><td class="num"><a href="/admin/users?role=manager&amp;active=active">2<`,
			`<th scope="row">Admin</th><td class="num"><a href="/admin/users?role=admin&amp;active=active">1<`,
			`<th scope="row">Submitted</th><td class="num">2</td>`,
			// The next days off from Monday 6 January 2025: Chinese New Year.
			`<time datetime="2025-01-29">Wed 29 Jan 2025</time>: Chinese New Year (Public holiday)`,
			`aria-current="page">Summary</a>`)
		if n := strings.Count(a.Body, "<li><time datetime="); n != 5 {
			t.Errorf("/admin lists %d coming days off, want 5", n)
		}
		wantLacks(t, "/admin", a, "2025-01-01")
	})
}

func TestAdminAgencies(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		b := s.signIn(t, adminEmail)
		a := b.get("/admin/agencies")
		wantStatus(t, "/admin/agencies", a, http.StatusOK)
		wantContains(t, "/admin/agencies", a, `<th scope="row">MOH</th>`, `value="MOH agency"`, `<label for="rename-MOH">Name of MOH</label>`,
			`<label for="agency-code">Code</label>`, `<label for="agency-name">Name</label>`)

		wantSeeOther(t, "create", b.post("/admin/agencies", url.Values{"code": {"MOE"}, "name": {"Ministry of Education"}}), "/admin/agencies")
		a = b.get("/admin/agencies")
		wantContains(t, "after create", a, "Agency MOE (Ministry of Education) has been added.", `value="Ministry of Education"`)

		wantSeeOther(t, "rename", b.post("/admin/agencies/MOH", url.Values{"name": {"Ministry of Health"}}), "/admin/agencies")
		wantContains(t, "after rename", b.get("/admin/agencies"), "Agency MOH is now named Ministry of Health.", `value="Ministry of Health"`)

		for _, c := range []struct {
			name, path string
			form       url.Values
			status     int
			field, msg string
		}{
			{"bad code", "/admin/agencies", url.Values{"code": {"moe!"}, "name": {"X"}}, 422, "agency-code", "Agency code must be 2 to 16 upper-case letters"},
			{"no name", "/admin/agencies", url.Values{"code": {"MND"}, "name": {" "}}, 422, "agency-name", "Agency name is required"},
			{"taken code", "/admin/agencies", url.Values{"code": {"MSF"}, "name": {"Again"}}, 409, "agency-code", "Agency MSF already exists"},
			{"empty rename", "/admin/agencies/HDB", url.Values{"name": {""}}, 422, "rename-HDB", "Agency name is required"},
			{"long rename", "/admin/agencies/HDB", url.Values{"name": {strings.Repeat("x", 201)}}, 422, "rename-HDB", "Agency name is required"},
		} {
			a := b.post(c.path, c.form)
			wantStatus(t, c.name, a, c.status)
			wantContains(t, c.name, a, `<a href="#`+c.field+`">`+c.msg, `id="`+c.field+`-error"`, `aria-describedby="`)
		}
		wantStatus(t, "rename an unknown agency", b.post("/admin/agencies/NOPE", url.Values{"name": {"X"}}), http.StatusNotFound)
		as, err := s.Accounts.ListAgencies(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, ag := range as {
			got[ag.Code] = ag.Name
		}
		want := map[string]string{"GOVTECH": "GOVTECH agency", "HDB": "HDB agency", "MOE": "Ministry of Education", "MOH": "Ministry of Health", "MSF": "MSF agency"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("agencies after the refusals: got %v, want %v", got, want)
		}
	})
}

func TestAdminUsers(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		b := s.signIn(t, adminEmail)
		a := b.get("/admin/users")
		wantStatus(t, "/admin/users", a, http.StatusOK)
		wantContains(t, "/admin/users", a, "Every user (9)", "req@hdb.gov.sg", "admin@govtech.gov.sg",
			`<label for="new-name">Name</label>`, `<legend>Roles</legend>`, `<label for="new-password">Password <span class="optional">(optional)</span></label>`)

		for _, c := range []struct {
			query      string
			want, lack []string
		}{
			{"?agency=MOH", []string{"3 of 9 users", "approver1@moh.gov.sg", "manager@moh.gov.sg"}, []string{"req@msf.gov.sg", "admin@govtech.gov.sg</td>"}},
			{"?role=approver", []string{"3 of 9 users", "approver@msf.gov.sg", "approver2@moh.gov.sg"}, []string{"manager@moh.gov.sg"}},
			{"?q=MANAGER", []string{"2 of 9 users", "manager@msf.gov.sg", "manager@moh.gov.sg"}, []string{"approver1@moh"}},
			{"?q=moh&role=manager&agency=MOH", []string{"1 of 9 users", "manager@moh.gov.sg"}, []string{"manager@msf.gov.sg"}},
			{"?q=nobody", []string{"0 of 9 users", "No user matches."}, []string{"req@msf.gov.sg</td>"}},
		} {
			a := b.get("/admin/users" + c.query)
			wantStatus(t, c.query, a, http.StatusOK)
			wantContains(t, c.query, a, c.want...)
			wantLacks(t, c.query, a, c.lack...)
		}
		a = b.get("/admin/users?role=boss")
		wantStatus(t, "unknown role filter", a, http.StatusUnprocessableEntity)
		wantContains(t, "unknown role filter", a, `<a href="#user-role">Unknown role &#34;boss&#34;`, `id="user-role-error"`)

		form := url.Values{"name": {"Tan Ah Kow"}, "email": {"ahkow@moe.gov.sg"}, "agency": {"MSF"}, "roles": {"requester", "approver"}, "password": {"a long enough password"}}
		wantSeeOther(t, "create", b.post("/admin/users", form), "/admin/users")
		a = b.get("/admin/users")
		wantContains(t, "after create", a, "Tan Ah Kow (ahkow@moe.gov.sg) has been added to MSF.", "Every user (10)", "Approver, Requester")
		if _, err := s.Accounts.SignIn(context.Background(), "ahkow@moe.gov.sg", "a long enough password", "127.0.0.1"); err != nil {
			t.Errorf("the new user cannot sign in with the password given: %v", err)
		}
		wantSeeOther(t, "create without a password", b.post("/admin/users", url.Values{"name": {"No Password"}, "email": {"nopass@moe.gov.sg"}, "agency": {"HDB"}, "roles": {"requester"}}), "/admin/users")

		with := func(k, v string) url.Values {
			f := url.Values{"name": {"Lim"}, "email": {"lim@msf.gov.sg"}, "agency": {"MSF"}, "roles": {"requester"}, "password": {"a long enough password"}}
			if v == "" {
				f.Del(k)
			} else {
				f.Set(k, v)
			}
			return f
		}
		for _, c := range []struct {
			name   string
			form   url.Values
			status int
			field  string
			msg    string
		}{
			{"no name", with("name", ""), 422, "new-name", "Name is required"},
			{"bad email", with("email", "not an email"), 422, "new-email", "Email must be a plain address"},
			{"taken email", with("email", "req@msf.gov.sg"), 409, "new-email", "A user with email req@msf.gov.sg already exists"},
			{"no agency", with("agency", ""), 422, "new-agency", "Unknown agency"},
			{"unknown agency", with("agency", "NOPE"), 422, "new-agency", "Unknown agency"},
			{"no role", with("roles", ""), 422, "new-roles", "At least one role is required"},
			{"unknown role", with("roles", "boss"), 422, "new-roles", "Unknown role"},
			{"short password", with("password", "short"), 422, "new-password", "The password must be 12 to 72 characters"},
		} {
			a := b.post("/admin/users", c.form)
			wantStatus(t, c.name, a, c.status)
			wantContains(t, c.name, a, `<a href="#`+c.field+`">`+c.msg, `id="`+c.field+`-error"`)
			wantLacks(t, c.name, a, "a long enough password")
			if c.field != "new-name" {
				wantContains(t, c.name, a, `value="Lim"`)
			}
		}
		us, err := s.Accounts.ListUsers(context.Background(), apptest.Admin)
		if err != nil {
			t.Fatal(err)
		}
		if len(us) != 11 {
			t.Errorf("users after the refusals: %d, want 11", len(us))
		}
	})
}

func (s *site) dueAt(tb testing.TB, id int64) string {
	tb.Helper()
	r, err := s.Workflow.Get(context.Background(), apptest.Admin, id)
	if err != nil {
		tb.Fatal(err)
	}
	return r.SLA.DueAt.In(apptest.SGT).Format("2006-01-02 15:04")
}

const closureICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" +
	"BEGIN:VEVENT\r\nUID:1@test\r\nDTSTART;VALUE=DATE:20250108\r\nDTEND;VALUE=DATE:20250110\r\nSUMMARY:Office move\r\nEND:VEVENT\r\n" +
	"END:VCALENDAR\r\n"

// postFile sends a multipart form with a file, as the import form does.
func (b *browser) postFile(path string, fields url.Values, file, content string) answer {
	b.tb.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fields.Set("csrf", b.csrf())
	for k, vs := range fields {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	if file != "" {
		f, err := w.CreateFormFile("file", file)
		if err != nil {
			b.tb.Fatal(err)
		}
		f.Write([]byte(content))
	}
	w.Close()
	req, err := http.NewRequest(http.MethodPost, b.site.URL+path, &body)
	if err != nil {
		b.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(req)
}

func TestAdminCalendar(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		// Monday 6 January 2025, 10:00: due Wednesday 15 January at 10:00.
		c := newClock("2025-01-06T10:00:00+08:00")
		s := newSite(t, db, siteOptions{App: apptest.Options{Now: c.Now}})
		r1 := s.mustSubmitted(t, "Household sizes")
		r2 := s.mustSubmitted(t, "School places")
		const due = "2025-01-15 10:00"
		b := s.signIn(t, adminEmail)

		a := b.get("/admin/calendar")
		wantStatus(t, "/admin/calendar", a, http.StatusOK)
		wantContains(t, "/admin/calendar", a, "Days off in 2025", `<time datetime="2025-01-29">Wed 29 Jan 2025</time>`,
			`<span class="badge builtin">Built-in Singapore holiday</span>`, `<label for="day-date">Date</label>`, `<label for="ics-file">iCalendar file (.ics)</label>`)
		wantContains(t, "?year=2026", b.get("/admin/calendar?year=2026"), "Days off in 2026", `<time datetime="2026-12-25">`)
		for _, y := range []string{"abc", "1800", "99999"} {
			a := b.get("/admin/calendar?year=" + y)
			wantStatus(t, "year "+y, a, http.StatusUnprocessableEntity)
			wantContains(t, "year "+y, a, `<a href="#year">Year must be a year from 1990 to 2200`, `id="year-error"`)
		}

		// A preview counts and changes nothing.
		closure := url.Values{"date": {"2025-01-08"}, "name": {"Office move"}, "kind": {"closure"}, "do": {"preview"}}
		a = b.post("/admin/calendar", closure)
		wantStatus(t, "preview of a closure", a, http.StatusOK)
		wantContains(t, "preview of a closure", a, "Making Wed 8 Jan 2025 a day off (Office move) would move the due time of <strong>2</strong> open requests")
		far := url.Values{"date": {"2025-06-30"}, "name": {"Far away"}, "kind": {"closure"}, "do": {"preview"}}
		wantContains(t, "preview of a day after the due times", b.post("/admin/calendar", far), "would move the due time of <strong>0</strong> open requests")
		if hs, _ := s.Holidays.List(context.Background(), 2025); containsDate(hs, "2025-01-08") || containsDate(hs, "2025-06-30") {
			t.Fatalf("a preview saved the day")
		}
		if got := s.dueAt(t, r1.ID); got != due {
			t.Fatalf("after previews, request %d due %s, want %s unchanged", r1.ID, got, due)
		}

		// Refusals show the field and change nothing, preview or save.
		for _, do := range []string{"preview", "save"} {
			for _, c := range []struct {
				name  string
				form  url.Values
				field string
				msg   string
			}{
				{"bad date", url.Values{"date": {"2025-02-30"}, "name": {"X"}, "kind": {"closure"}}, "day-date", "Date must be a real day"},
				{"old date", url.Values{"date": {"1900-01-01"}, "name": {"X"}, "kind": {"closure"}}, "day-date", "Date must fall between"},
				{"no name", url.Values{"date": {"2025-01-08"}, "name": {""}, "kind": {"closure"}}, "day-name", "Name is required"},
				{"bad kind", url.Values{"date": {"2025-01-08"}, "name": {"X"}, "kind": {"party"}}, "day-kind", "Kind must be"},
			} {
				c.form.Set("do", do)
				a := b.post("/admin/calendar", c.form)
				wantStatus(t, do+" "+c.name, a, http.StatusUnprocessableEntity)
				wantContains(t, do+" "+c.name, a, `<a href="#`+c.field+`">`+c.msg, `id="`+c.field+`-error"`)
			}
		}
		if got := s.dueAt(t, r2.ID); got != due {
			t.Fatalf("after refusals, request %d due %s, want %s unchanged", r2.ID, got, due)
		}

		// Add: the due times move by the day.
		closure.Set("do", "save")
		wantSeeOther(t, "add a closure", b.post("/admin/calendar", closure), "/admin/calendar?year=2025")
		a = b.get("/admin/calendar?year=2025")
		wantContains(t, "after add", a, "Wed 8 Jan 2025 is now a day off: Office move.", `<time datetime="2025-01-08">`, "Added here")
		if got := s.dueAt(t, r1.ID); got != "2025-01-16 10:00" {
			t.Errorf("after the closure, request %d due %s, want 2025-01-16 10:00", r1.ID, got)
		}

		// Remove: a preview first, then the confirmation.
		a = b.post("/admin/calendar/2025-01-08/remove", url.Values{"do": {"preview"}})
		wantStatus(t, "preview of a removal", a, http.StatusOK)
		wantContains(t, "preview of a removal", a, "Making Wed 8 Jan 2025 (Office move) a working day again would move the due time of <strong>2</strong> open requests",
			`action="/admin/calendar/2025-01-08/remove"`, ">Remove Office move</button>")
		if got := s.dueAt(t, r1.ID); got != "2025-01-16 10:00" {
			t.Errorf("after the preview of a removal, request %d due %s, want 2025-01-16 10:00", r1.ID, got)
		}
		wantSeeOther(t, "remove", b.post("/admin/calendar/2025-01-08/remove", url.Values{"do": {"save"}}), "/admin/calendar?year=2025")
		wantContains(t, "after remove", b.get("/admin/calendar"), "Wed 8 Jan 2025 is a working day again.")
		if got := s.dueAt(t, r1.ID); got != due {
			t.Errorf("after the removal, request %d due %s, want %s", r1.ID, got, due)
		}
		for _, do := range []string{"preview", "save"} {
			for _, date := range []string{"2025-01-08", "2025-13-01", "nonsense"} {
				wantStatus(t, do+" removal of "+date, b.post("/admin/calendar/"+date+"/remove", url.Values{"do": {do}}), http.StatusNotFound)
			}
		}

		// Import: preview, refusals, then the import.
		a = b.postFile("/admin/calendar/import", url.Values{"kind": {"closure"}, "do": {"preview"}}, "move.ics", closureICS)
		wantStatus(t, "preview of an import", a, http.StatusOK)
		wantContains(t, "preview of an import", a, "Importing move.ics (2 days off) would move the due time of <strong>2</strong> open requests")
		if hs, _ := s.Holidays.List(context.Background(), 2025); containsDate(hs, "2025-01-09") {
			t.Fatalf("a preview of an import saved days")
		}
		for _, do := range []string{"preview", "save"} {
			for _, c := range []struct {
				name, file, content, kind, field, msg string
			}{
				{"no file", "", "", "closure", "ics-file", "Choose an .ics file"},
				{"not a calendar", "x.ics", "hello", "closure", "ics-file", "Not a valid iCalendar file"},
				{"bad kind", "move.ics", closureICS, "party", "ics-kind", "Kind must be"},
			} {
				a := b.postFile("/admin/calendar/import", url.Values{"kind": {c.kind}, "do": {do}}, c.file, c.content)
				wantStatus(t, do+" import "+c.name, a, http.StatusUnprocessableEntity)
				wantContains(t, do+" import "+c.name, a, `<a href="#`+c.field+`">`+c.msg, `id="`+c.field+`-error"`)
			}
		}
		a = b.postFile("/admin/calendar/import", url.Values{"kind": {"closure"}, "do": {"save"}}, "big.ics", strings.Repeat("X", 1<<20+1))
		wantStatus(t, "import of a file past the request limit", a, http.StatusRequestEntityTooLarge)
		wantContains(t, "import of a file past the request limit", a, "What was sent is too large")
		if got := s.dueAt(t, r2.ID); got != due {
			t.Fatalf("after refused imports, request %d due %s, want %s", r2.ID, got, due)
		}
		wantSeeOther(t, "import", b.postFile("/admin/calendar/import", url.Values{"kind": {"closure"}, "do": {"save"}}, "move.ics", closureICS), "/admin/calendar")
		wantContains(t, "after import", b.get("/admin/calendar"), "2 days off imported from move.ics.", "Imported")
		// Friday's hours are shorter: the same share of the day ends earlier.
		if got := s.dueAt(t, r2.ID); got != "2025-01-17 09:55" {
			t.Errorf("after the import, request %d due %s, want 2025-01-17 09:55", r2.ID, got)
		}
	})
}

func TestAdminWebhooksAndDeliveries(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		t.Cleanup(receiver.Close)
		s := newSite(t, db, siteOptions{App: apptest.Options{Notify: true, WebhookAllow: "127.0.0.0/8"}})
		b := s.signIn(t, adminEmail)
		a := b.get("/admin/webhooks")
		wantStatus(t, "/admin/webhooks", a, http.StatusOK)
		wantContains(t, "/admin/webhooks", a, "No webhooks yet.", "<legend>Events</legend>", ">Every event</label>", ">Request submitted</label>")
		wantLacks(t, "/admin/webhooks", a, ">Daily digest</label>")

		hook := url.Values{"url": {receiver.URL + "/hook"}, "events": {notifications.RequestSubmitted, notifications.RequestApproved}, "secret": {"0123456789abcdef"}}
		wantSeeOther(t, "create", b.post("/admin/webhooks", hook), "/admin/webhooks")
		hs, err := s.Notifications.Webhooks(context.Background(), apptest.Admin)
		if err != nil || len(hs) != 1 {
			t.Fatalf("webhooks after create: %v, %v", hs, err)
		}
		a = b.get("/admin/webhooks")
		wantContains(t, "after create", a, fmt.Sprintf("Webhook %d to %s/hook has been added.", hs[0].ID, receiver.URL),
			"Request approved, Request submitted", "Nothing has been sent to it yet.", fmt.Sprintf(">Delete webhook %d</button>", hs[0].ID))
		wantLacks(t, "after create", a, "0123456789abcdef")

		for _, c := range []struct {
			name  string
			set   map[string][]string
			field string
			msg   string
		}{
			{"bad url", map[string][]string{"url": {"ftp://x"}}, "webhook-url", "The address must start with http:// or https:// and name a host"},
			{"internal url", map[string][]string{"url": {"http://10.0.0.1/hook"}}, "webhook-url", "The address names an internal host"},
			{"no events", map[string][]string{"events": nil}, "webhook-events", "Name at least one event"},
			{"digest", map[string][]string{"events": {notifications.DailyDigest}}, "webhook-events", "Unknown event"},
			{"short secret", map[string][]string{"secret": {"short"}}, "webhook-secret", "Secret must be 16 to 200 characters"},
		} {
			f := url.Values{}
			for k, v := range hook {
				f[k] = v
			}
			for k, v := range c.set {
				f[k] = v
			}
			a := b.post("/admin/webhooks", f)
			wantStatus(t, c.name, a, http.StatusUnprocessableEntity)
			wantContains(t, c.name, a, `<a href="#`+c.field+`">`+c.msg, `id="`+c.field+`-error"`)
			wantLacks(t, c.name, a, "0123456789abcdef")
		}
		if hs, _ := s.Notifications.Webhooks(context.Background(), apptest.Admin); len(hs) != 1 {
			t.Fatalf("webhooks after refusals: %d, want 1", len(hs))
		}

		// A second webhook, then a submission queues a delivery to each.
		other := url.Values{"url": {receiver.URL + "/other"}, "events": {"*"}, "secret": {"fedcba9876543210"}}
		wantSeeOther(t, "create another", b.post("/admin/webhooks", other), "/admin/webhooks")
		hs, _ = s.Notifications.Webhooks(context.Background(), apptest.Admin)
		s.mustSubmitted(t, "Household sizes")
		a = b.get("/admin/webhooks")
		if n := strings.Count(a.Body, `<span class="badge delivery-pending">Waiting</span>`); n != 2 {
			t.Errorf("/admin/webhooks shows %d waiting deliveries, want one per webhook", n)
		}
		// The second is deleted: its delivery goes dead and cannot be retried.
		wantSeeOther(t, "delete", b.post(fmt.Sprintf("/admin/webhooks/%d/delete", hs[1].ID), nil), "/admin/webhooks")
		a = b.get("/admin/webhooks")
		wantContains(t, "after delete", a, fmt.Sprintf("Webhook %d has been deleted", hs[1].ID))
		wantLacks(t, "after delete", a, "/other")
		wantStatus(t, "delete again", b.post(fmt.Sprintf("/admin/webhooks/%d/delete", hs[1].ID), nil), http.StatusNotFound)
		wantStatus(t, "delete nonsense", b.post("/admin/webhooks/abc/delete", nil), http.StatusNotFound)

		// The first one's delivery fails for good.
		ctx := context.Background()
		if err := s.DB.Conn(ctx).Model(&models.Delivery{}).Where("webhook_id = ?", hs[0].ID).
			Updates(map[string]any{"state": notifications.StateDead, "attempts": 8, "last_error": "receiver answered 500"}).Error; err != nil {
			t.Fatal(err)
		}
		dead, err := s.Notifications.Deliveries(ctx, apptest.Admin, 0, notifications.StateDead)
		if err != nil || len(dead) != 2 {
			t.Fatalf("dead deliveries: %d, %v; want 2", len(dead), err)
		}
		wantContains(t, "/admin", b.get("/admin"), `<dt>Dead deliveries</dt><dd><a href="/admin/deliveries">2</a></dd>`)
		a = b.get("/admin/deliveries")
		wantStatus(t, "/admin/deliveries", a, http.StatusOK)
		wantContains(t, "/admin/deliveries", a, "receiver answered 500", "webhook deleted", ">Retry all</button>",
			fmt.Sprintf(">Retry delivery %d</button>", dead[0].ID), fmt.Sprintf(">Retry delivery %d</button>", dead[1].ID))

		var live, gone models.Delivery
		for _, d := range dead {
			if *d.WebhookID == hs[0].ID {
				live = d
			} else {
				gone = d
			}
		}
		a = b.post(fmt.Sprintf("/admin/deliveries/%d/retry", gone.ID), nil)
		wantStatus(t, "retry of a deleted webhook's delivery", a, http.StatusConflict)
		wantContains(t, "retry of a deleted webhook's delivery", a, `<a href="#dead-deliveries">Delivery`, "which was deleted")
		wantStatus(t, "retry of an unknown delivery", b.post("/admin/deliveries/999999/retry", nil), http.StatusNotFound)
		wantStatus(t, "retry of nonsense", b.post("/admin/deliveries/x/retry", nil), http.StatusNotFound)
		if d, _ := s.Notifications.Deliveries(ctx, apptest.Admin, 0, notifications.StateDead); len(d) != 2 {
			t.Fatalf("after refused retries: %d dead, want 2", len(d))
		}

		wantSeeOther(t, "retry one", b.post(fmt.Sprintf("/admin/deliveries/%d/retry", live.ID), nil), "/admin/deliveries")
		wantContains(t, "after retry", b.get("/admin/deliveries"), fmt.Sprintf("Delivery %d is queued again.", live.ID))
		wantStatus(t, "retry twice", b.post(fmt.Sprintf("/admin/deliveries/%d/retry", live.ID), nil), http.StatusConflict)
		if err := s.DB.Conn(ctx).Model(&models.Delivery{}).Where("id = ?", live.ID).Update("state", notifications.StateDead).Error; err != nil {
			t.Fatal(err)
		}
		wantSeeOther(t, "retry all", b.post("/admin/deliveries/retry-all", nil), "/admin/deliveries")
		a = b.get("/admin/deliveries")
		wantContains(t, "after retry all", a, "1 delivery is queued again. 1 could not be", "webhook deleted")
		wantLacks(t, "after retry all", a, "receiver answered 500")
	})
}

func TestAdminUserLifecycle(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		ctx := context.Background()
		r := s.mustSubmitted(t, "Household sizes")
		leaver, heir := s.Users["req@msf.gov.sg"], s.Users["req2@msf.gov.sg"]
		_, token, err := s.Accounts.IssueToken(ctx, apptest.Admin, leaver.ID, "scripts", nil)
		if err != nil {
			t.Fatal(err)
		}
		session := s.signIn(t, leaver.Email)
		b := s.signIn(t, adminEmail)
		page := fmt.Sprintf("/admin/users/%d", leaver.ID)

		a := b.get(page)
		wantStatus(t, page, a, http.StatusOK)
		wantContains(t, page, a, "<h1>req@msf.gov.sg</h1>", ">Deactivate req@msf.gov.sg</button>", `<label for="edit-name">Name</label>`,
			fmt.Sprintf(`>%d · Household sizes</a>`, r.ID), fmt.Sprintf(`<label for="to-%d">Hand request %d to</label>`, r.ID, r.ID),
			fmt.Sprintf(`<option value="%d">req2@msf.gov.sg &lt;req2@msf.gov.sg&gt;</option>`, heir.ID))
		wantLacks(t, page, a, fmt.Sprintf(`<option value="%d">`, s.Users["approver@msf.gov.sg"].ID))
		wantContains(t, "list", b.get("/admin/users"), fmt.Sprintf(`<a href="/admin/users/%d">req@msf.gov.sg</a>`, leaver.ID))

		// Edit: refusals name their field and change nothing.
		edit := func(k, v string) url.Values {
			f := url.Values{"name": {leaver.Name}, "agency": {"MSF"}, "roles": {"requester"}}
			f[k] = []string{v}
			if v == "" && k == "roles" {
				f.Del(k)
			}
			return f
		}
		for _, c := range []struct {
			name  string
			form  url.Values
			field string
			msg   string
		}{
			{"no name", edit("name", " "), "edit-name", "Name is required"},
			{"unknown agency", edit("agency", "NOPE"), "edit-agency", "Unknown agency"},
			{"no roles", edit("roles", ""), "edit-roles", "At least one role"},
			{"unknown role", edit("roles", "boss"), "edit-roles", "Unknown role"},
			{"short password", edit("password", "short"), "edit-password", "The password must be 12 to 72 characters"},
		} {
			a := b.post(page, c.form)
			wantStatus(t, c.name, a, http.StatusUnprocessableEntity)
			wantContains(t, c.name, a, `<a href="#`+c.field+`">`+c.msg, `id="`+c.field+`-error"`)
		}
		wantStatus(t, "an unknown user", b.get("/admin/users/999999"), http.StatusNotFound)
		wantStatus(t, "a nonsense user", b.post("/admin/users/abc", edit("name", "X")), http.StatusNotFound)
		if _, err := s.Accounts.Authenticate(ctx, token); err != nil {
			t.Fatalf("after refused edits the token no longer works: %v", err)
		}
		wantStatus(t, "the leaver's session after refused edits", session.get("/requests"), http.StatusOK)

		// An admin may not deactivate themselves.
		self := fmt.Sprintf("/admin/users/%d/active", s.Users[adminEmail].ID)
		a = b.post(self, url.Values{"active": {"false"}})
		wantStatus(t, "deactivate oneself", a, http.StatusUnprocessableEntity)
		wantContains(t, "deactivate oneself", a, `<a href="#status">You cannot deactivate yourself`)
		wantStatus(t, "active nonsense", b.post(page+"/active", url.Values{"active": {"maybe"}}), http.StatusBadRequest)

		wantSeeOther(t, "rename", b.post(page, edit("name", "Tan Ah Kow")), page)
		wantContains(t, "after rename", b.get(page), "Tan Ah Kow has been saved.", "<h1>Tan Ah Kow</h1>")
		wantStatus(t, "the session after a rename", session.get("/requests"), http.StatusOK)

		// A form sent back with the same roles, in the form's order, changes
		// no role and so signs nobody out.
		multi, err := s.Accounts.CreateUser(ctx, apptest.Admin, accounts.NewUser{Email: "two@msf.gov.sg", Name: "Two Roles", Agency: "MSF",
			Roles: []string{"requester", "approver"}, Password: ptr(password)})
		if err != nil {
			t.Fatal(err)
		}
		two := s.signIn(t, multi.Email)
		wantSeeOther(t, "save unchanged roles", b.post(fmt.Sprintf("/admin/users/%d", multi.ID),
			url.Values{"name": {"Two Roles Renamed"}, "agency": {"MSF"}, "roles": {"requester", "approver"}}), fmt.Sprintf("/admin/users/%d", multi.ID))
		wantStatus(t, "the session after saving unchanged roles", two.get("/requests"), http.StatusOK)
		wantSeeOther(t, "drop a role", b.post(fmt.Sprintf("/admin/users/%d", multi.ID),
			url.Values{"name": {"Two Roles Renamed"}, "agency": {"MSF"}, "roles": {"requester"}}), fmt.Sprintf("/admin/users/%d", multi.ID))
		if got := two.get("/requests"); got.Status != http.StatusSeeOther {
			t.Errorf("the session after a role was dropped: got %d, want 303 to sign in again", got.Status)
		}

		// Deactivation ends the session and the token at once.
		wantSeeOther(t, "deactivate", b.post(page+"/active", url.Values{"active": {"false"}}), page)
		a = b.get(page)
		wantContains(t, "after deactivate", a, "Tan Ah Kow is deactivated: signed out everywhere", ">Reactivate Tan Ah Kow</button>", "Deactivated</span> since")
		if got := session.get("/requests"); got.Status != http.StatusSeeOther || !strings.HasPrefix(got.Location, "/login") {
			t.Errorf("the deactivated user's session: got %d to %q, want 303 to /login", got.Status, got.Location)
		}
		if _, err := s.Accounts.Authenticate(ctx, token); err == nil {
			t.Errorf("the deactivated user's token still works")
		}
		wantContains(t, "/admin after deactivate", b.get("/admin"),
			`<dt>Deactivated users</dt><dd><a href="/admin/users?active=deactivated">1</a></dd>`,
			`<th scope="row">Requester</th><td class="num"><a href="/admin/users?role=requester&amp;active=active">3<`)
		wantContains(t, "?active=deactivated", b.get("/admin/users?active=deactivated"), "1 of 10 users", "Tan Ah Kow")
		wantLacks(t, "?active=active", b.get("/admin/users?active=active"), "Tan Ah Kow")
		a = b.get("/admin/users?active=maybe")
		wantStatus(t, "?active=maybe", a, http.StatusUnprocessableEntity)
		wantContains(t, "?active=maybe", a, `<a href="#user-active">Active must be active or deactivated`)

		// Hand-over: refusals first, then to the other requester.
		reassign := fmt.Sprintf("%s/requests/%d/reassign", page, r.ID)
		for _, c := range []struct {
			name, to, msg string
		}{
			{"no requester", "", "Choose the requester"},
			{"an approver", fmt.Sprint(s.Users["approver@msf.gov.sg"].ID), "is not a requester"},
			{"another agency", fmt.Sprint(s.Users["req@hdb.gov.sg"].ID), "is of agency HDB"},
			{"the leaver", fmt.Sprint(leaver.ID), "is already the requester"},
		} {
			a := b.post(reassign, url.Values{"requester": {c.to}})
			wantStatus(t, "hand over to "+c.name, a, http.StatusUnprocessableEntity)
			wantContains(t, "hand over to "+c.name, a, fmt.Sprintf(`<a href="#to-%d">`, r.ID), c.msg)
		}
		if got, _ := s.Workflow.Get(ctx, apptest.Admin, r.ID); got.RequesterID != leaver.ID {
			t.Fatalf("after refused hand-overs the requester is %d, want %d", got.RequesterID, leaver.ID)
		}
		wantSeeOther(t, "hand over", b.post(reassign, url.Values{"requester": {fmt.Sprint(heir.ID)}}), page)
		a = b.get(page)
		wantContains(t, "after hand-over", a, fmt.Sprintf("Request %d (Household sizes) has been handed to req2@msf.gov.sg.", r.ID), `<p class="empty">None.</p>`)
		if got, _ := s.Workflow.Get(ctx, apptest.Admin, r.ID); got.RequesterID != heir.ID {
			t.Errorf("after the hand-over the requester is %d, want %d", got.RequesterID, heir.ID)
		}

		wantSeeOther(t, "reactivate", b.post(page+"/active", url.Values{"active": {"true"}}), page)
		wantContains(t, "after reactivate", b.get(page), "Tan Ah Kow is active again")
		s.signIn(t, leaver.Email)
	})
}
