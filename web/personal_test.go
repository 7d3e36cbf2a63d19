package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/workflow"
)

// mustSubmitted files a request from MSF to MOH and submits it; after the
// fan-out both MOH approvers hold an unread notification of it.
func (s *site) mustSubmitted(tb testing.TB, title string) *models.Request {
	tb.Helper()
	ctx := context.Background()
	req := s.actor("req@msf.gov.sg")
	r, err := s.Workflow.Create(ctx, req, workflow.NewRequest{Title: title, Purpose: "Plan services", DataDescription: "Counts by town",
		Classification: "official-open", OwnerAgency: "MOH"})
	if err != nil {
		tb.Fatal(err)
	}
	if r, err = s.Workflow.Apply(ctx, req, r.ID, workflow.Submit, "", 0); err != nil {
		tb.Fatal(err)
	}
	s.MustFanOut(tb)
	return r
}

var unreadBadge = regexp.MustCompile(`class="count">(\d+)<`)

// unreadInHeader is the count the header shows, 0 when it shows none.
func unreadInHeader(body string) int {
	m := unreadBadge.FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n
}

func TestNotificationsPage(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{App: apptest.Options{Notify: true}})
		first := s.mustSubmitted(t, "Household sizes")
		second := s.mustSubmitted(t, "School places")
		b := s.signIn(t, "approver1@moh.gov.sg")

		p := b.get("/notifications")
		if p.Status != http.StatusOK {
			t.Fatalf("/notifications: status %d, want 200", p.Status)
		}
		if got := unreadInHeader(p.Body); got != 2 {
			t.Errorf("header unread count: got %d, want 2", got)
		}
		for _, want := range []string{"<h1>Notifications</h1>", "Unread (2)", "Read (0)", ">Mark all as read</button>",
			fmt.Sprintf(`href="/requests/%d"`, first.ID), fmt.Sprintf(`href="/requests/%d"`, second.ID), "SGT</time>", "Household sizes", "School places"} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("/notifications lacks %q", want)
			}
		}
		if strings.Index(p.Body, "School places") > strings.Index(p.Body, "Household sizes") {
			t.Errorf("the newer notification (School places) is not listed first")
		}
		if n := strings.Count(p.Body, ">Mark as read</button>"); n != 2 {
			t.Errorf("Mark as read buttons: got %d, want 2", n)
		}

		ids := s.notificationIDs(t, "approver1@moh.gov.sg")
		a := b.post(fmt.Sprintf("/notifications/%d/read", ids[first.ID]), nil)
		if a.Status != http.StatusSeeOther || a.Location != "/notifications" {
			t.Fatalf("mark read: %d to %q, want 303 to /notifications", a.Status, a.Location)
		}
		p = b.get("/notifications")
		if got := unreadInHeader(p.Body); got != 1 {
			t.Errorf("after mark read, header unread count: got %d, want 1", got)
		}
		for _, want := range []string{"Notification marked as read.", "Unread (1)", "Read (1)", " · read "} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("after mark read, /notifications lacks %q", want)
			}
		}
		unread := p.Body[strings.Index(p.Body, "Unread (1)"):strings.Index(p.Body, "Read (1)")]
		if !strings.Contains(unread, "School places") || strings.Contains(unread, "Household sizes") {
			t.Errorf("the unread group should hold School places only:\n%s", unread)
		}
		if n := strings.Count(p.Body, ">Mark as read</button>"); n != 1 {
			t.Errorf("after mark read, Mark as read buttons: got %d, want 1", n)
		}

		a = b.post("/notifications/read-all", nil)
		if a.Status != http.StatusSeeOther || a.Location != "/notifications" {
			t.Fatalf("mark all read: %d to %q, want 303 to /notifications", a.Status, a.Location)
		}
		p = b.get("/notifications")
		if got := unreadInHeader(p.Body); got != 0 {
			t.Errorf("after mark all read, header unread count: got %d, want 0", got)
		}
		for _, want := range []string{"1 notification marked as read.", "Unread (0)", "Read (2)", "You have no unread notifications."} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("after mark all read, /notifications lacks %q", want)
			}
		}
		if strings.Contains(p.Body, "Mark all as read") || strings.Contains(p.Body, ">Mark as read<") {
			t.Errorf("with nothing unread the page still offers to mark read")
		}
	})
}

// notificationIDs maps request id → notification id of the user's inbox.
func (s *site) notificationIDs(tb testing.TB, email string) map[int64]int64 {
	tb.Helper()
	ns, err := s.Notifications.Inbox(context.Background(), s.Users[email].ID, false)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[int64]int64{}
	for _, n := range ns {
		out[*n.RequestID] = n.ID
	}
	return out
}

func TestMarkReadOfAnotherUsersNotificationIsNotFound(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{App: apptest.Options{Notify: true}})
		r := s.mustSubmitted(t, "Household sizes")
		theirs := s.notificationIDs(t, "approver2@moh.gov.sg")[r.ID]
		b := s.signIn(t, "approver1@moh.gov.sg")
		for _, path := range []string{fmt.Sprintf("/notifications/%d/read", theirs), "/notifications/999999/read", "/notifications/abc/read"} {
			a := b.post(path, nil)
			if a.Status != http.StatusNotFound || !strings.Contains(a.Body, "<h1>Page not found</h1>") {
				t.Errorf("POST %s: status %d, want 404 page", path, a.Status)
			}
		}
		if n, _ := s.Notifications.Unread(context.Background(), s.Users["approver2@moh.gov.sg"].ID); n != 1 {
			t.Errorf("the other approver's unread count: got %d, want 1", n)
		}
	})
}

func TestPreferencesPage(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		ctx := context.Background()

		t.Run("approver", func(t *testing.T) {
			b := s.signIn(t, "approver1@moh.gov.sg")
			p := b.get("/preferences")
			if p.Status != http.StatusOK {
				t.Fatalf("/preferences: status %d, want 200", p.Status)
			}
			for _, want := range []string{
				`<label for="pref-email-request-submitted" class="visually-hidden">Email: request submitted</label>`,
				`<label for="pref-in_app-request-submitted" class="visually-hidden">In the app: request submitted</label>`,
				`id="pref-email-sla-breached" checked disabled aria-describedby="locked-sla-breached"`,
				`id="locked-sla-breached">Always on`, `<th scope="col">Email</th>`, `<th scope="row">Request submitted`,
				">Save preferences</button>",
			} {
				if !strings.Contains(p.Body, want) {
					t.Errorf("approver's /preferences lacks %q", want)
				}
			}
			if strings.Contains(p.Body, `name="shown" value="email.sla.breached"`) {
				t.Errorf("a locked setting is sent by the form")
			}

			// Everything on except email of submitted and approved.
			form := url.Values{}
			p = b.get("/preferences")
			for _, m := range regexp.MustCompile(`name="shown" value="([^"]+)"`).FindAllStringSubmatch(p.Body, -1) {
				form.Add("shown", m[1])
				if m[1] != "email.request.submitted" && m[1] != "email.request.approved" {
					form.Set(m[1], "on")
				}
			}
			a := b.post("/preferences", form)
			if a.Status != http.StatusSeeOther || a.Location != "/preferences" {
				t.Fatalf("save: %d to %q, want 303 to /preferences\n%s", a.Status, a.Location, a.Body)
			}
			prefs, _, err := s.Notifications.Preferences(ctx, s.Users["approver1@moh.gov.sg"])
			if err != nil {
				t.Fatal(err)
			}
			if prefs["email"]["request.submitted"] || prefs["email"]["request.approved"] || !prefs["in_app"]["request.submitted"] || !prefs["email"]["request.rejected"] {
				t.Errorf("saved preferences: got %v, want email of submitted and approved off, the rest on", prefs)
			}
			p = b.get("/preferences")
			for _, want := range []string{"Your notification preferences have been saved.", `id="pref-email-request-submitted" name="email.request.submitted" value="on">`,
				`id="pref-in_app-request-submitted" name="in_app.request.submitted" value="on" checked>`} {
				if !strings.Contains(p.Body, want) {
					t.Errorf("after save /preferences lacks %q", want)
				}
			}

			a = b.post("/preferences", url.Values{"shown": {"email.sla.breached"}})
			if a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "Approvers cannot switch off sla.breached") || !strings.Contains(a.Body, `role="alert"`) {
				t.Errorf("switching off a locked setting: status %d, want 422 with the message\n%s", a.Status, a.Body)
			}
			if !strings.Contains(a.Body, `id="pref-email-sla-breached-error"`) ||
				!strings.Contains(a.Body, `id="pref-email-sla-breached" checked disabled aria-describedby="locked-sla-breached pref-email-sla-breached-error"`) {
				t.Errorf("the refusal is not shown next to its checkbox, still ticked")
			}
			a = b.post("/preferences", url.Values{"shown": {"email.no.such"}})
			if a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "Unknown event") {
				t.Errorf("an unknown event: status %d, want 422 with the message", a.Status)
			}
			prefs, _, _ = s.Notifications.Preferences(ctx, s.Users["approver1@moh.gov.sg"])
			if !prefs["email"]["sla.breached"] || prefs["email"]["request.submitted"] {
				t.Errorf("a refused save changed the preferences: %v", prefs)
			}
		})

		t.Run("requester", func(t *testing.T) {
			b := s.signIn(t, "req@msf.gov.sg")
			p := b.get("/preferences")
			if p.Status != http.StatusOK || strings.Contains(p.Body, "disabled") || !strings.Contains(p.Body, `name="shown" value="email.sla.breached"`) {
				t.Fatalf("requester's /preferences: status %d, want 200 with nothing locked", p.Status)
			}
			a := b.post("/preferences", url.Values{"shown": {"email.sla.breached", "in_app.digest.daily"}, "in_app.digest.daily": {"on"}})
			if a.Status != http.StatusSeeOther {
				t.Fatalf("save: status %d, want 303", a.Status)
			}
			prefs, _, _ := s.Notifications.Preferences(ctx, s.Users["req@msf.gov.sg"])
			if prefs["email"]["sla.breached"] || !prefs["in_app"]["digest.daily"] || !prefs["email"]["request.approved"] {
				t.Errorf("requester's preferences: got %v, want only email of sla.breached off", prefs)
			}
		})
	})
}

func TestAccountPage(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		b := s.signIn(t, "approver1@moh.gov.sg")
		p := b.get("/account")
		if p.Status != http.StatusOK {
			t.Fatalf("/account: status %d, want 200", p.Status)
		}
		for _, want := range []string{"<h1>Your account</h1>", "<dd>approver1@moh.gov.sg</dd>", "<dd>MOH agency (MOH)</dd>", "<dd>Approver</dd>",
			`<label for="current_password">Current password`, `<label for="new_password">New password`, `<label for="confirm_password">Confirm new password`,
			"At least 12 characters", ">Change password</button>", `aria-current="page">approver1@moh.gov.sg`} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("/account lacks %q", want)
			}
		}

		const fresh = "a brand new passphrase"
		for _, tc := range []struct {
			name                   string
			current, next, confirm string
			field, message         string
		}{
			{"wrong current password", "not my password at all", fresh, fresh, "current_password", "The current password is not correct"},
			{"short new password", password, "too short", "too short", "new_password", "The password must be 12 to 72 characters (at most 72 bytes)"},
			{"confirmation differs", password, fresh, fresh + "!", "confirm_password", "The new password and its confirmation are not the same"},
		} {
			a := b.post("/account/password", url.Values{"current_password": {tc.current}, "new_password": {tc.next}, "confirm_password": {tc.confirm}})
			if a.Status != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d, want 422", tc.name, a.Status)
			}
			want := fmt.Sprintf(`<p class="field-error" id="%s-error"><span class="visually-hidden">Error:</span> %s</p>`, tc.field, tc.message)
			if !strings.Contains(a.Body, want) || !strings.Contains(a.Body, `aria-describedby="`) || !strings.Contains(a.Body, `role="alert"`) {
				t.Errorf("%s: the page lacks the message next to %s: %q", tc.name, tc.field, want)
			}
			for _, v := range []string{tc.current, tc.next, tc.confirm} {
				if strings.Contains(a.Body, `value="`+v+`"`) {
					t.Errorf("%s: a password is sent back in the form", tc.name)
				}
			}
		}
		if _, err := s.Accounts.SignIn(context.Background(), "approver1@moh.gov.sg", password, "192.0.2.1"); err != nil {
			t.Errorf("a refused change changed the password: %v", err)
		}

		a := b.post("/account/password", url.Values{"current_password": {password}, "new_password": {fresh}, "confirm_password": {fresh}})
		if a.Status != http.StatusSeeOther || a.Location != "/account" {
			t.Fatalf("change password: %d to %q, want 303 to /account\n%s", a.Status, a.Location, a.Body)
		}
		p = b.get("/account")
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "Your password has been changed; other sessions have been signed out.") {
			t.Errorf("after the change /account: status %d, want 200 with the flash", p.Status)
		}
		if _, err := s.Accounts.SignIn(context.Background(), "approver1@moh.gov.sg", fresh, "192.0.2.1"); err != nil {
			t.Errorf("the new password does not sign in: %v", err)
		}
	})
}

func TestPersonalPagesForEveryRole(t *testing.T) {
	s := newSite(t, modelstest.MustOpen(t, models.SQLite), siteOptions{})
	for _, tc := range []struct {
		email, role, agency string
		locked              bool
	}{
		{"req@msf.gov.sg", "Requester", "MSF agency (MSF)", false},
		{"approver1@moh.gov.sg", "Approver", "MOH agency (MOH)", true},
		{"manager@moh.gov.sg", "Manager", "MOH agency (MOH)", false},
		{"admin@govtech.gov.sg", "Admin", "GOVTECH agency (GOVTECH)", false},
	} {
		b := s.signIn(t, tc.email)
		for path, want := range map[string][]string{
			"/notifications": {"<h1>Notifications</h1>", "You have no unread notifications.", `href="/notifications" aria-current="page">Notifications</a>`},
			"/preferences":   {"<h1>Notification preferences</h1>", ">Save preferences</button>"},
			"/account":       {"<dd>" + tc.email + "</dd>", "<dd>" + tc.role + "</dd>", "<dd>" + tc.agency + "</dd>", ">Change password</button>"},
		} {
			a := b.get(path)
			if a.Status != http.StatusOK {
				t.Errorf("%s %s: status %d, want 200", tc.email, path, a.Status)
			}
			for _, w := range want {
				if !strings.Contains(a.Body, w) {
					t.Errorf("%s %s lacks %q", tc.email, path, w)
				}
			}
			if strings.Contains(a.Body, "Mark all as read") {
				t.Errorf("%s %s offers Mark all as read with nothing unread", tc.email, path)
			}
		}
		if got := strings.Contains(b.get("/preferences").Body, " disabled "); got != tc.locked {
			t.Errorf("%s: a locked setting shown: got %v, want %v", tc.email, got, tc.locked)
		}
	}
}
