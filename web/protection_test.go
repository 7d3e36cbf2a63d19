package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
)

// otherPort is an origin on the same host as the site, another port.
func otherPort(s *site) string {
	u, _ := url.Parse(s.URL)
	return "http://" + u.Hostname() + ":1"
}

func TestCrossSiteFormPostsAreRefused(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{App: apptest.Options{Notify: true}})
		r := s.mustSubmitted(t, "Household sizes")
		const email = "approver1@moh.gov.sg"
		id := s.notificationIDs(t, email)[r.ID]
		b := s.signIn(t, email)
		b.get("/notifications")
		token := b.csrf()
		read := fmt.Sprintf("/notifications/%d/read", id)
		change := url.Values{"current_password": {password}, "new_password": {"a brand new passphrase"}, "confirm_password": {"a brand new passphrase"}}

		for _, tc := range []struct {
			name   string
			token  string
			header http.Header
		}{
			{"cross-site", "", http.Header{"Sec-Fetch-Site": {"cross-site"}}},
			{"cross-site with the token", token, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
			{"same-site from another port", token, http.Header{"Sec-Fetch-Site": {"same-site"}, "Origin": {otherPort(s)}}},
			{"no header, no token", "", nil},
			{"no header, a wrong token", "not-the-token", nil},
		} {
			for _, post := range []struct {
				path string
				form url.Values
			}{{read, url.Values{}}, {"/notifications/read-all", url.Values{}}, {"/account/password", change}, {"/preferences", url.Values{"shown": {"email.request.submitted"}}}} {
				form := url.Values{}
				for k, v := range post.form {
					form[k] = v
				}
				if tc.token != "" {
					form.Set("csrf", tc.token)
				}
				a := b.send(http.MethodPost, post.path, form, tc.header)
				if a.Status != http.StatusForbidden || !strings.HasPrefix(a.Header.Get("Content-Type"), "text/html") ||
					!strings.Contains(a.Body, "<h1>You do not have access to this</h1>") || !strings.Contains(a.Body, "nothing was changed") {
					t.Errorf("%s POST %s: status %d (%s), want a 403 HTML page", tc.name, post.path, a.Status, a.Header.Get("Content-Type"))
				}
			}
		}
		ctx := context.Background()
		if n, _ := s.Notifications.Unread(ctx, s.Users[email].ID); n != 1 {
			t.Errorf("after refused posts, unread: got %d, want 1", n)
		}
		if _, err := s.Accounts.SignIn(ctx, email, password, "192.0.2.1"); err != nil {
			t.Errorf("after refused posts the password changed: %v", err)
		}
		if prefs, _, _ := s.Notifications.Preferences(ctx, s.Users[email]); !prefs["email"]["request.submitted"] {
			t.Errorf("after refused posts a preference changed")
		}
		if a := b.get("/notifications"); a.Status != http.StatusOK || unreadInHeader(a.Body) != 1 {
			t.Errorf("after refused posts /notifications: status %d, unread %d, want 200 and 1", a.Status, unreadInHeader(a.Body))
		}

		a := b.send(http.MethodPost, read, url.Values{}, http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {s.URL}})
		if a.Status != http.StatusSeeOther {
			t.Fatalf("same-origin POST without a token: status %d, want 303", a.Status)
		}
		if n, _ := s.Notifications.Unread(ctx, s.Users[email].ID); n != 0 {
			t.Errorf("after the same-origin post, unread: got %d, want 0", n)
		}
	})
}

func TestAPIIsNotBehindCSRF(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		secret, err := s.Accounts.IssueDemoToken(context.Background(), s.Users["req@msf.gov.sg"].ID)
		if err != nil {
			t.Fatal(err)
		}
		body := `{"title":"Household sizes","purpose":"Plan services","data_description":"Counts by town","classification":"official-open","owner_agency":"MOH"}`
		for _, site := range []string{"", "cross-site"} {
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/requests", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("Content-Type", "application/json")
			if site != "" {
				req.Header.Set("Sec-Fetch-Site", site)
			}
			a := s.browser(t).do(req)
			if a.Status != http.StatusCreated || !strings.HasPrefix(a.Header.Get("Content-Type"), "application/json") {
				t.Errorf("POST /api/v1/requests with a token (Sec-Fetch-Site %q): status %d (%s), want 201 JSON\n%s", site, a.Status, a.Header.Get("Content-Type"), a.Body)
			}
		}
	})
}

func TestErrorPagesAreHTML(t *testing.T) {
	s := newSite(t, modelstest.MustOpen(t, models.SQLite), siteOptions{})
	signedOut := s.browser(t)
	signedIn := s.signIn(t, "req@msf.gov.sg")
	for _, tc := range []struct {
		name    string
		b       *browser
		method  string
		path    string
		status  []int
		heading string
	}{
		{"unknown path, signed out", signedOut, http.MethodGet, "/no/such/page", []int{404}, "Page not found"},
		{"unknown path, signed in", signedIn, http.MethodGet, "/no/such/page", []int{404}, "Page not found"},
		{"unknown static file", signedIn, http.MethodGet, "/static/nothing.css", []int{404}, "Page not found"},
		{"wrong method", signedIn, http.MethodDelete, "/notifications", []int{404, 405}, "Page not found"},
		{"wrong method on a form", signedIn, http.MethodPut, "/account/password", []int{404, 405}, "Page not found"},
	} {
		a := tc.b.send(tc.method, tc.path, url.Values{}, http.Header{"Sec-Fetch-Site": {"same-origin"}})
		ok := false
		for _, st := range tc.status {
			ok = ok || a.Status == st
		}
		if !ok || !strings.HasPrefix(a.Header.Get("Content-Type"), "text/html") || !strings.Contains(a.Body, "<h1>"+tc.heading+"</h1>") {
			t.Errorf("%s: %s %s answered %d (%s), want %v HTML with <h1>%s</h1>", tc.name, tc.method, tc.path, a.Status, a.Header.Get("Content-Type"), tc.status, tc.heading)
		}
		if !strings.Contains(a.Body, `<html lang="en-SG">`) || !strings.Contains(a.Body, "A Singapore Government Agency Website") {
			t.Errorf("%s: the error page is not in the layout", tc.name)
		}
		if got, want := strings.Contains(a.Body, ">Sign out</button>"), tc.b == signedIn; got != want {
			t.Errorf("%s: the header's Sign out shown %v, want %v (who is signed in is shown on every page)", tc.name, got, want)
		}
	}
	a := signedIn.get("/api/v1/unknown")
	if a.Status != http.StatusNotFound || !strings.HasPrefix(a.Header.Get("Content-Type"), "application/json") || !strings.Contains(a.Body, `"error"`) {
		t.Errorf("/api/v1/unknown: %d (%s) %s, want a 404 JSON error", a.Status, a.Header.Get("Content-Type"), a.Body)
	}
}

var (
	inlineScript = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>`)
	inlineStyle  = regexp.MustCompile(`(?i)\sstyle\s*=|<style[\s>]`)
	inlineEvent  = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
)

// TestEveryPageIsLockedDown fetches each page of this part of the site as
// a person would meet it, including its refusals, and checks the headers
// and that nothing runs or styles inline.
func TestEveryPageIsLockedDown(t *testing.T) {
	s := newSite(t, modelstest.MustOpen(t, models.SQLite), siteOptions{App: apptest.Options{Notify: true}})
	s.mustSubmitted(t, "Household sizes")
	b := s.signIn(t, "approver1@moh.gov.sg")
	answers := map[string]answer{
		"sign-in":         s.browser(t).get("/login"),
		"home":            b.get("/"),
		"notifications":   b.get("/notifications"),
		"preferences":     b.get("/preferences"),
		"account":         b.get("/account"),
		"404":             b.get("/no/such/page"),
		"403":             b.send(http.MethodPost, "/notifications/read-all", url.Values{}, http.Header{"Sec-Fetch-Site": {"cross-site"}}),
		"422 account":     b.post("/account/password", url.Values{"current_password": {"wrong"}}),
		"422 preferences": b.post("/preferences", url.Values{"shown": {"email.sla.breached"}}),
	}
	for name, a := range answers {
		h := a.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: Content-Security-Policy %q lacks %q", name, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: Content-Security-Policy allows inline code: %q", name, csp)
		}
		if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options: got %q, want nosniff", name, got)
		}
		if got := h.Get("Referrer-Policy"); got == "" {
			t.Errorf("%s: no Referrer-Policy", name)
		}
		for _, m := range inlineScript.FindAllString(a.Body, -1) {
			if !strings.Contains(m, " src=") {
				t.Errorf("%s: an inline script: %s", name, m)
			}
		}
		if m := inlineStyle.FindString(a.Body); m != "" {
			t.Errorf("%s: inline style: %q", name, m)
		}
		if m := inlineEvent.FindString(a.Body); m != "" {
			t.Errorf("%s: an inline event handler: %q", name, m)
		}
	}
}

var assetURL = regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`)

func TestStaticAssets(t *testing.T) {
	s := newSite(t, modelstest.MustOpen(t, models.SQLite), siteOptions{})
	b := s.signIn(t, "req@msf.gov.sg")
	urls := assetURL.FindAllStringSubmatch(b.get("/account").Body, -1)
	if len(urls) != 3 {
		t.Fatalf("asset URLs in the page: got %v, want the icon, the stylesheet and the script", urls)
	}
	fingerprinted := regexp.MustCompile(`^/static/(app|favicon)\.[0-9a-f]{8}\.(css|js|svg)$`)
	for _, m := range urls {
		u := m[1]
		if !fingerprinted.MatchString(u) {
			t.Errorf("asset %s is not fingerprinted", u)
		}
		a := b.get(u)
		if a.Status != http.StatusOK || !strings.Contains(a.Header.Get("Cache-Control"), "immutable") || len(a.Body) == 0 {
			t.Errorf("GET %s: status %d, Cache-Control %q, %d bytes; want 200, immutable, a body", u, a.Status, a.Header.Get("Cache-Control"), len(a.Body))
		}
		wantType := map[string]string{".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}[filepath.Ext(u)]
		if got := a.Header.Get("Content-Type"); !strings.HasPrefix(got, wantType) {
			t.Errorf("GET %s: Content-Type %q, want %s", u, got, wantType)
		}
		req, _ := http.NewRequest(http.MethodGet, s.URL+u, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		z := b.do(req)
		if z.Status != http.StatusOK || z.Header.Get("Content-Encoding") != "gzip" || len(z.Body) >= len(a.Body) {
			t.Errorf("GET %s with Accept-Encoding gzip: status %d, Content-Encoding %q, %d bytes of %d; want 200 gzip, smaller",
				u, z.Status, z.Header.Get("Content-Encoding"), len(z.Body), len(a.Body))
		}
	}
	for _, u := range []string{"/static/app.css", "/static/app.00000000.css", "/static/nothing.js"} {
		if a := b.get(u); a.Status != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", u, a.Status)
		}
	}
}

// TestHeadIsAnsweredLikeGet: every page and asset that answers GET answers
// HEAD with the same status and no body, signed in or not.
func TestHeadIsAnsweredLikeGet(t *testing.T) {
	s := newSite(t, modelstest.MustOpen(t, models.SQLite), siteOptions{})
	id := s.mustRequest(t, "req@msf.gov.sg", "MOH", "official-open", "Household sizes")
	in := s.signIn(t, "manager@moh.gov.sg")
	css := assetURL.FindStringSubmatch(in.get("/account").Body)[1]
	for _, tc := range []struct {
		b    *browser
		path string
	}{
		{s.browser(t), "/login"}, {s.browser(t), "/requests"}, {s.browser(t), css},
		{in, "/"}, {in, "/requests"}, {in, "/reports"}, {in, "/notifications"}, {in, "/account"}, {in, "/preferences"},
		{in, path(id)}, {in, "/inbox"}, {in, "/no/such/page"},
	} {
		got := tc.b.send(http.MethodHead, tc.path, nil, nil)
		want := tc.b.get(tc.path)
		if got.Status != want.Status || got.Location != want.Location || got.Body != "" {
			t.Errorf("HEAD %s: got %d %q with %d bytes, want %d %q (as GET) with none", tc.path, got.Status, got.Location, len(got.Body), want.Status, want.Location)
		}
	}
}

var signOutToken = regexp.MustCompile(`<form method="post" action="/logout" class="inline">\s*<input type="hidden" name="csrf" value="([^"]*)">`)

// TestSignOutFromAnErrorPage: the header of every page, the error page of
// an unknown address too, signs out from a browser that sends no
// Sec-Fetch-Site and relies on the form's token.
func TestSignOutFromAnErrorPage(t *testing.T) {
	s := newSite(t, modelstest.MustOpen(t, models.SQLite), siteOptions{})
	b := s.signIn(t, "req@msf.gov.sg")
	page := b.get("/no/such/page")
	m := signOutToken.FindStringSubmatch(page.Body)
	if m == nil || m[1] == "" {
		t.Fatalf("the 404 page's Sign out form carries no token: %v", m)
	}
	a := b.send(http.MethodPost, "/logout", url.Values{"csrf": {m[1]}}, nil)
	if a.Status != http.StatusSeeOther || a.Location != "/login" {
		t.Fatalf("Sign out from the 404 page: got %d to %q, want 303 to /login", a.Status, a.Location)
	}
	if got := b.get("/requests"); got.Status != http.StatusSeeOther {
		t.Errorf("/requests after signing out: got %d, want 303 to the sign-in page", got.Status)
	}
}
