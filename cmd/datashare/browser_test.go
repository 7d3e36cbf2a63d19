package main

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// End-to-end tests in a real browser; see browser_helpers_test.go for the
// harness and what makes them skip.

// TestBrowser runs every flow against one program and one Chromium; each
// flow's users have windows of their own, and the flows touch different
// requests. Run one with -run Browser/Name.
func TestBrowser(t *testing.T) {
	s := startSite(t)
	logA11y(t)
	for _, f := range []struct {
		name string
		test func(*testing.T, *site)
	}{
		{"HarnessSeesPageErrors", testHarnessSeesPageErrors},
		{"Lockout", testLockout},
		{"SignInAndOut", testSignInAndOut},
		{"SignInWithTheKeyboard", testSignInWithTheKeyboard},
		{"EmailLinkReturnsAfterSignIn", testEmailLinkReturnsAfterSignIn},
		{"CrossOriginFormIsRefused", testCrossOriginFormIsRefused},
		{"RequestLifecycle", testRequestLifecycle},
		{"AccountTokensAndPassword", testAccountTokensAndPassword},
		{"AdminPages", testAdminPages},
		{"Projects", testProjects},
	} {
		t.Run(f.name, func(t *testing.T) { f.test(t, s) })
	}
}

func testSignInAndOut(t *testing.T, s *site) {
	w := s.newWindow(t, "MOH requester")

	if st := w.open("/"); st != http.StatusOK || pageName(w.path()) != "/login" {
		t.Fatalf("GET / signed out: got %d at %s, want 200 at /login", st, w.path())
	}
	if st := w.submitSignIn(mohRequester, s.password+"-wrong"); st != http.StatusUnauthorized {
		t.Errorf("sign in with a wrong password: got %d, want 401", st)
	}
	if got := w.mainText(); !strings.Contains(got, "Email or password is incorrect") {
		t.Errorf("sign-in page after a wrong password: got %q, want it to say %q", got, "Email or password is incorrect")
	}
	if got := w.value("Email"); got != mohRequester {
		t.Errorf("Email after a refused sign-in: got %q, want %q kept", got, mohRequester)
	}
	if st := w.submitSignIn("nobody@demo.gov.sg", s.password); st != http.StatusUnauthorized {
		t.Errorf("sign in with an unknown email: got %d, want 401", st)
	}

	if st := w.submitSignIn(mohRequester, s.password); st != http.StatusOK {
		t.Fatalf("sign in: got %d, want 200", st)
	}
	if got := w.path(); got != "/" {
		t.Errorf("after sign-in: got %s, want the home page /", got)
	}
	if !w.has(button("Sign out")) {
		t.Fatalf("home page after sign-in has no button Sign out")
	}

	if st := w.press("Sign out"); st != http.StatusOK {
		t.Errorf("Sign out: got %d, want 200", st)
	}
	if got := w.path(); got != "/login" {
		t.Errorf("after Sign out: got %s, want /login", got)
	}
	if got := w.mainText(); !strings.Contains(got, "You have signed out.") {
		t.Errorf("page after Sign out: got %q, want %q", got, "You have signed out.")
	}
	if w.open("/"); pageName(w.path()) != "/login" {
		t.Errorf("GET / after Sign out: got %s, want /login (the session is over)", w.path())
	}
	if w.has(button("Sign out")) {
		t.Errorf("after Sign out the page still offers Sign out")
	}
}

// testSignInWithTheKeyboard signs in with Tab, typing and Enter only, and
// checks that every element the focus stops at shows it.
func testSignInWithTheKeyboard(t *testing.T, s *site) {
	w := s.newWindow(t, "MOH requester")
	w.open("/login")
	var stops []string
	tabTo := func(id string) {
		t.Helper()
		for range 10 {
			w.key("\t")
			f := w.focused()
			stops = append(stops, f.Name)
			if !f.Visible {
				t.Errorf("focus on %s (%s): no visible focus indicator (outline %q, box-shadow %q)", f.Name, f.Tag, f.Outline, f.Shadow)
			}
			if f.ID == id {
				return
			}
		}
		t.Fatalf("Tab never reached #%s; stops: %q", id, stops)
	}
	tabTo("email")
	w.key(mohRequester)
	tabTo("password")
	w.key(s.password)
	if st := w.pressKey("\r"); st != http.StatusOK || w.path() != "/" {
		t.Errorf("Enter in Password: got %d at %s, want 200 at /", st, w.path())
	}
	t.Logf("Tab stops on the sign-in page: %q", stops)
	if stops[0] != "Skip to main content" {
		t.Errorf("first Tab stop: got %q, want the skip link", stops[0])
	}
}

// testCrossOriginFormIsRefused posts forms from a page of another
// origin to datashare while the user is signed in there: from another port
// of the same host (same site, so the browser sends the session cookie) and
// from another host name (cross-site). Each is refused with 403 and changes
// nothing: the user stays signed in and the draft stays a draft.
func testCrossOriginFormIsRefused(t *testing.T, s *site) {
	token := s.mustToken(mohRequester)
	draft := s.mustDemoRequest(token, "Household size by block for vaccination outreach")
	port := s.url[strings.LastIndex(s.url, ":")+1:]
	// A page of another origin with a form that posts to ?to= the other
	// parameters as hidden fields.
	evil := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var fields strings.Builder
		for k, vs := range q {
			if k != "to" {
				fmt.Fprintf(&fields, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(k), html.EscapeString(vs[0]))
			}
		}
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(rw, `<!doctype html><html lang="en"><head><title>Prize</title></head><body><main>
<h1>You won a prize</h1>
<form method="post" action="%s">%s<button type="submit">Claim it</button></form>
</main></body></html>`, html.EscapeString(q.Get("to")), fields.String())
	}))
	t.Cleanup(evil.Close)

	for _, tc := range []struct{ name, base string }{
		{"same site, other port", s.url},
		{"other site", "http://localhost:" + port},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := s.newWindow(t, "MOH requester", evil.URL, tc.base)
			w.base = tc.base
			if st := w.signIn(mohRequester); st != http.StatusOK || w.path() != "/" {
				t.Fatalf("sign in at %s: got %d at %s, want 200 at /", tc.base, st, w.path())
			}
			for _, post := range []struct{ path, fields string }{
				{"/logout", "csrf=guess"},
				{fmt.Sprintf("/requests/%d/transitions", draft.ID), fmt.Sprintf("action=submit&version=%d&csrf=guess", draft.Version)},
			} {
				w.openElsewhere(evil.URL + "/?to=" + url.QueryEscape(tc.base+post.path) + "&" + post.fields)
				if st := w.press("Claim it"); st != http.StatusForbidden {
					t.Errorf("POST %s from %s: got %d, want 403", post.path, evil.URL, st)
				}
				if got := w.mainText(); !strings.Contains(got, "nothing was changed") {
					t.Errorf("refusal of POST %s: got %q, want it to say nothing was changed", post.path, got)
				}
			}
			if w.open("/"); w.path() != "/" || !w.has(button("Sign out")) {
				t.Errorf("after the cross-origin POST /logout: got %s, want still signed in on /", w.path())
			}
			if got := s.mustDemoRequest(token, draft.Title); got.State != "draft" || got.Version != draft.Version {
				t.Errorf("after the cross-origin submit: got %s version %d, want draft version %d", got.State, got.Version, draft.Version)
			}
		})
	}
}

// testEmailLinkReturnsAfterSignIn opens the link an email gives,
// signed out: the sign-in page asks first, then shows that request.
func testEmailLinkReturnsAfterSignIn(t *testing.T, s *site) {
	r := s.mustDemoRequest(s.mustToken(mohRequester), "Ambulance response times by road segment")
	link := fmt.Sprintf("/requests/%d", r.ID)
	w := s.newWindow(t, "MOH requester")

	if st := w.open(link); st != http.StatusOK || w.path() != "/login?next="+url.QueryEscape(link) {
		t.Fatalf("GET %s signed out: got %d at %s, want 200 at /login?next=%s", link, st, w.path(), url.QueryEscape(link))
	}
	if got := w.mainText(); !strings.Contains(got, "Please sign in to continue.") {
		t.Errorf("sign-in page from a link: got %q, want %q", got, "Please sign in to continue.")
	}
	if st := w.submitSignIn(mohRequester, s.password); st != http.StatusOK {
		t.Fatalf("sign in from the link: got %d, want 200", st)
	}
	if got := w.path(); got != link {
		t.Errorf("after sign-in from the link: got %s, want %s", got, link)
	}
	if got := w.text("//h1"); got != r.Title {
		t.Errorf("request page h1: got %q, want %q", got, r.Title)
	}
}

// testHarnessSeesPageErrors breaks the rules on purpose in a page, so that
// the checks every other browser test relies on are known to work: an
// inline script and style (refused by the Content-Security-Policy), an
// image from another origin, an uncaught exception, and an image and a
// field that axe-core must find (no alt text, no label).
func testHarnessSeesPageErrors(t *testing.T, s *site) {
	w := s.newWindow(t, "anyone")
	w.open("/login")
	step(w, "break the rules", chromedp.Evaluate[chromedp.Void](`
		const s = document.createElement("script"); s.textContent = "1"; document.body.append(s);
		const d = document.createElement("div"); d.setAttribute("style", "color: red"); document.body.append(d);
		const i = document.createElement("img"); i.src = "http://example.invalid/x.png"; document.body.append(i);
		const a = document.createElement("img"); a.src = "data:,"; document.querySelector("main").append(a);
		const f = document.createElement("input"); document.querySelector("main").append(f);
		setTimeout(() => { throw new Error("thrown on purpose"); });`))
	var rules []string
	for _, v := range w.axe("/login, broken") {
		rules = append(rules, v.ID+" ("+v.Impact+")")
	}
	if missing := missingFrom(rules, []string{"image-alt (critical)", "label (critical)"}); len(missing) > 0 {
		t.Errorf("axe on a page with an image without alt and a field without label: got %q, want also %q", rules, missing)
	}
	want := []string{"script-src", "style-src", "request to another origin: GET http://example.invalid/x.png", "thrown on purpose"}
	deadline := time.Now().Add(5 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		got = append(got, w.takeProblems()...)
		if len(missingFrom(got, want)) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("problems seen: %q; want ones mentioning each of %q", got, missingFrom(got, want))
}

// missingFrom returns the strings of want that no string of got contains.
func missingFrom(got, want []string) []string {
	var missing []string
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || strings.Contains(g, w)
		}
		if !found {
			missing = append(missing, w)
		}
	}
	return missing
}

// testRequestLifecycle takes a restricted request from draft to
// shared, each role in its own window.
func testRequestLifecycle(t *testing.T, s *site) {
	const title = "Concession card holders in ComCare families"

	manager := s.newWindow(t, "LTA manager")
	manager.signIn("lta.manager@demo.gov.sg")
	if st := manager.follow("Reports"); st != http.StatusOK {
		t.Fatalf("Reports: got %d, want 200", st)
	}
	before := manager.compliance()

	requester := s.newWindow(t, "MSF requester")
	requester.signIn("msf.requester@demo.gov.sg")
	if st := requester.follow("Requests"); st != http.StatusOK {
		t.Fatalf("Requests: got %d, want 200", st)
	}
	if st := requester.follow("New request"); st != http.StatusOK || requester.path() != "/requests/new" {
		t.Fatalf("New request: got %d at %s, want 200 at /requests/new", st, requester.path())
	}
	if got := requester.mainText(); !strings.Contains(got, "If submitted now, due by") {
		t.Errorf("new request page: got %q, want the due-date preview", got)
	}
	purpose := "Offer transport vouchers to ComCare families who travel far to work."
	requester.fill("Purpose", purpose)
	requester.fill("Data description", "Count of concession card holders per ComCare household, latest month.")
	requester.choose("Classification", "restricted")
	requester.choose("Owner agency", "LTA")
	requester.fill("Project", "ComCare transport")
	if st := requester.press("Save draft"); st != http.StatusUnprocessableEntity {
		t.Errorf("Save draft with no Title: got %d, want 422", st)
	}
	if msg := requester.fieldMessage("Title"); msg == "" {
		t.Errorf("Save draft with no Title: no message tied to the Title field (aria-describedby)")
	}
	if !requester.has(`//*[@role="alert"]`) {
		t.Errorf("Save draft with no Title: no error summary with role=alert")
	}
	for label, want := range map[string]string{"Purpose": purpose, "Classification": "restricted", "Owner agency": "LTA", "Project": "ComCare transport"} {
		if got := requester.value(label); got != want {
			t.Errorf("%s after the refused save: got %q, want %q kept", label, got, want)
		}
	}
	requester.fill("Title", title)
	if st := requester.press("Save draft"); st != http.StatusOK {
		t.Fatalf("Save draft: got %d, want 200", st)
	}
	page := requester.path()
	if !regexp.MustCompile(`^/requests/\d+$`).MatchString(page) {
		t.Fatalf("after Save draft: got %s, want the new request's page", page)
	}
	requester.wantState("Draft")
	requester.act("Submit", "", "Submitted")

	approver := s.newWindow(t, "LTA approver")
	approver.signIn("lta.approver@demo.gov.sg")
	approver.follow("Inbox")
	if st := approver.follow(title); st != http.StatusOK || approver.path() != page {
		t.Fatalf("the request from the Inbox: got %d at %s, want 200 at %s", st, approver.path(), page)
	}
	approver.act("Ask for clarification", "Which legal basis lets LTA share this with MSF?", "Clarification requested")

	requester.open(page)
	requester.act("Respond", "Section 12 of the ComCare Act; see the attached letter.", "Submitted")

	approver.open(page)
	approver.act("Approve", "", "Submitted")
	second := s.newWindow(t, "LTA second approver")
	second.signIn("lta.approver2@demo.gov.sg")
	second.open(page)
	second.act("Approve", "", "Approved")
	approver.open(page)
	approver.act("Mark as shared", "Shared through the secure file exchange.", "Shared")
	approver.screenshot("request")

	manager.follow("Reports")
	after := manager.compliance()
	t.Logf("LTA's compliance rate this quarter: %s (%d met, %d missed) before, %s (%d met, %d missed) after",
		before.rate, before.met, before.missed, after.rate, after.met, after.missed)
	if after.met != before.met+1 || after.missed != before.missed {
		t.Errorf("Reports after sharing within the target: got %d met, %d missed; want %d met, %d missed",
			after.met, after.missed, before.met+1, before.missed)
	}
	if want := fmt.Sprintf("%.1f%%", 100*float64(after.met)/float64(after.met+after.missed)); after.rate != want || after.rate == before.rate {
		t.Errorf("Compliance rate on Reports: got %s before and %s after sharing, want %s after", before.rate, after.rate, want)
	}
	manager.screenshot("report")
	csv := manager.download("Download CSV")
	if csv.Status != http.StatusOK || !strings.HasPrefix(csv.ContentType, "text/csv") || !strings.HasPrefix(csv.Head, "group,met,missed,compliance_rate\n") {
		t.Errorf("Download CSV: got %d %q starting %q, want 200 text/csv starting with the header", csv.Status, csv.ContentType, csv.Head)
	}
	xlsx := manager.download("Download XLSX")
	if xlsx.Status != http.StatusOK || !strings.Contains(xlsx.ContentType, "spreadsheetml") || !strings.HasPrefix(xlsx.Head, "PK") || xlsx.Size < 1000 {
		t.Errorf("Download XLSX: got %d %q, %d bytes starting %q, want 200, a spreadsheetml workbook (a zip)", xlsx.Status, xlsx.ContentType, xlsx.Size, xlsx.Head[:min(len(xlsx.Head), 4)])
	}

	// The demo's past months have published statements.
	if st := manager.follow("Statements"); st != http.StatusOK {
		t.Fatalf("Statements: got %d, want 200", st)
	}
	statement := manager.download("CSV")
	if statement.Status != http.StatusOK || !strings.HasPrefix(statement.Head, "field,value\nformat,datashare statement v1\n") || !strings.Contains(statement.Head, "\nagency,LTA\n") {
		t.Errorf("a statement's CSV: got %d starting %q, want LTA's canonical text", statement.Status, statement.Head)
	}
	manager.press("Sign out")
	if manager.open("/reports"); pageName(manager.path()) != "/login" {
		t.Errorf("/reports after Sign out: got %s, want /login", manager.path())
	}

	visitPersonalPages(t, requester, "MSF Requester")
	requester.press("Sign out")
	if requester.open(page); pageName(requester.path()) != "/login" {
		t.Errorf("%s after Sign out: got %s, want /login", page, requester.path())
	}
}

// compliance is the headline of the report page.
type compliance struct {
	rate        string
	met, missed int
}

func (w *window) compliance() compliance {
	w.t.Helper()
	return compliance{
		rate:   w.text(`//*[@id="compliance-rate"]`),
		met:    mustAtoi(w.t, w.text(`//*[@id="met"]`)),
		missed: mustAtoi(w.t, w.text(`//*[@id="missed"]`)),
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("got %q, want a whole number", s)
	}
	return n
}

// visitPersonalPages goes through the pages every user has, from the
// header's links: notifications, preferences and the account.
func visitPersonalPages(t *testing.T, w *window, name string) {
	t.Helper()
	if st := w.follow("Notifications"); st != http.StatusOK {
		t.Fatalf("Notifications: got %d, want 200", st)
	}
	if w.has(button("Mark all as read")) {
		if st := w.press("Mark all as read"); st != http.StatusOK {
			t.Errorf("Mark all as read: got %d, want 200", st)
		}
		if got := w.mainText(); !strings.Contains(got, "You have no unread notifications.") {
			t.Errorf("after Mark all as read: got %q, want no unread notifications", got)
		}
	}
	if st := w.follow("notification preferences"); st != http.StatusOK || w.path() != "/preferences" {
		t.Fatalf("notification preferences: got %d at %s, want 200 at /preferences", st, w.path())
	}
	if st := w.press("Save preferences"); st != http.StatusOK {
		t.Errorf("Save preferences unchanged: got %d, want 200", st)
	}
	if st := w.follow(name); st != http.StatusOK || w.path() != "/account" {
		t.Fatalf("the header's %s: got %d at %s, want 200 at /account", name, st, w.path())
	}
	w.fill("Current password", "not the password")
	if st := w.press("Change password"); st == http.StatusOK || st >= 500 {
		t.Errorf("Change password with a wrong current one: got %d, want a refusal (4xx)", st)
	}
}
