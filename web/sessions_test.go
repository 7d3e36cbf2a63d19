package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
	"datashare/web"
)

const sessionCookie = "datashare_session"

// sessionToken is the session cookie this browser holds for the site.
func (b *browser) sessionToken() string {
	u, _ := url.Parse(b.site.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

// setCookie is the cookie named name that an answer set.
func setCookie(a answer, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: a.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signedIn reports whether the browser's session opens the home page.
func (b *browser) signedIn() bool {
	b.tb.Helper()
	a := b.get("/account")
	return a.Status == http.StatusOK
}

func TestSessionCookie(t *testing.T) {
	for _, secure := range []bool{false, true} {
		settings := web.DefaultSettings()
		settings.Secure = secure
		s := newSite(t, modelstest.MustOpen(t, models.SQLite), siteOptions{Web: settings})
		// A Secure cookie never goes back over plain http, so the browser
		// proves it is on the page by Sec-Fetch-Site instead of the token.
		a := s.browser(t).send(http.MethodPost, "/login", url.Values{"email": {"req@msf.gov.sg"}, "password": {password}},
			http.Header{"Sec-Fetch-Site": {"same-origin"}})
		c := setCookie(a, sessionCookie)
		if a.Status != http.StatusSeeOther || c == nil {
			t.Fatalf("Secure %v: sign in answered %d with cookie %v, want 303 setting %s", secure, a.Status, c, sessionCookie)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure || c.Path != "/" {
			t.Errorf("Secure %v: session cookie HttpOnly %v SameSite %v Secure %v Path %q, want HttpOnly, Lax, Secure %v, /",
				secure, c.HttpOnly, c.SameSite, c.Secure, c.Path, secure)
		}
	}
}

func TestSessionTokenIsRenewed(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})

		// A token planted before sign-in is worth nothing after it.
		b := s.browser(t)
		u, _ := url.Parse(s.URL)
		b.client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "planted-by-someone-else", Path: "/"}})
		b.get("/login")
		if a := b.post("/login", url.Values{"email": {"req@msf.gov.sg"}, "password": {password}}); a.Status != http.StatusSeeOther {
			t.Fatalf("sign in: status %d, want 303", a.Status)
		}
		first := b.sessionToken()
		if first == "" || first == "planted-by-someone-else" {
			t.Fatalf("the session token after sign-in: got %q, want a new one", first)
		}

		stale := s.browser(t)
		stale.client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: first, Path: "/"}})
		if !stale.signedIn() {
			t.Fatalf("a copy of the signed-in cookie does not open /account")
		}

		if a := b.post("/logout", nil); a.Status != http.StatusSeeOther {
			t.Fatalf("sign out: status %d, want 303", a.Status)
		}
		second := b.sessionToken()
		if second == "" || second == first {
			t.Errorf("the session token after sign-out: got %q, want a new one (before %q)", second, first)
		}
		if stale.signedIn() {
			t.Errorf("the token of before sign-out still opens /account")
		}
		if a := b.follow("/login"); !strings.Contains(a.Body, "You have signed out.") {
			t.Errorf("the sign-in page after sign-out lacks the goodbye message")
		}

		if a := b.post("/login", url.Values{"email": {"req@msf.gov.sg"}, "password": {password}}); a.Status != http.StatusSeeOther {
			t.Fatalf("sign in again: status %d, want 303", a.Status)
		}
		if third := b.sessionToken(); third == second || third == first {
			t.Errorf("the session token after signing in again: got %q, want a new one", third)
		}
	})
}

// TestSessionExpiry: a session used often enough outlives its idle
// timeout, and ends when left idle that long; however much it is used, it
// ends at its lifetime.
func TestSessionExpiry(t *testing.T) {
	const margin = 400 * time.Millisecond
	for _, tc := range []struct {
		name     string
		settings web.Settings
		busy     time.Duration // the browser opens a page every margin for this long after sign-in
		idle     time.Duration // then leaves it alone this long (or until past the lifetime)
	}{
		{"idle", web.Settings{IdleTimeout: 1500 * time.Millisecond, Lifetime: time.Hour}, 2 * time.Second, 1500*time.Millisecond + margin},
		{"lifetime", web.Settings{IdleTimeout: time.Hour, Lifetime: 2 * time.Second}, 2*time.Second - margin, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
				s := newSite(t, db, siteOptions{Web: tc.settings})
				start := time.Now() // the session's lifetime starts after this
				b := s.signIn(t, "req@msf.gov.sg")
				signedIn := time.Now() // and before this
				for time.Since(start)+margin < tc.busy {
					time.Sleep(margin)
					if !b.signedIn() {
						t.Fatalf("signed out %v after sign-in, while in use", time.Since(start))
					}
				}
				wait := tc.idle
				if tc.settings.Lifetime < time.Minute {
					wait = time.Until(signedIn.Add(tc.settings.Lifetime + margin))
				}
				time.Sleep(wait)
				a := b.get("/account")
				if a.Status != http.StatusSeeOther || a.Location != "/login?next=%2Faccount" {
					t.Errorf("past the %s limit /account: %d to %q, want 303 to /login?next=%%2Faccount", tc.name, a.Status, a.Location)
				}
			})
		})
	}
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		other := s.replica(t, siteOptions{})
		const email = "approver1@moh.gov.sg"
		here := s.signIn(t, email)
		laptop := s.signIn(t, email)
		phone := other.signIn(t, email) // on another replica
		colleague := s.signIn(t, "approver2@moh.gov.sg")
		before := here.sessionToken()

		const fresh = "a brand new passphrase"
		a := here.post("/account/password", url.Values{"current_password": {password}, "new_password": {fresh}, "confirm_password": {fresh}})
		if a.Status != http.StatusSeeOther {
			t.Fatalf("change password: status %d, want 303\n%s", a.Status, a.Body)
		}
		if !here.signedIn() {
			t.Errorf("the browser that changed the password was signed out")
		}
		if after := here.sessionToken(); after == before {
			t.Errorf("the session token was not renewed after the password change")
		}
		for name, b := range map[string]*browser{"second browser": laptop, "browser on another replica": phone} {
			a := b.get("/account")
			if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Location, "/login") {
				t.Errorf("%s after the change: /account answered %d to %q, want 303 to /login", name, a.Status, a.Location)
			}
		}
		if !colleague.signedIn() {
			t.Errorf("another user's session ended too")
		}
		if a := laptop.post("/login", url.Values{"email": {email}, "password": {fresh}}); a.Status != http.StatusSeeOther || !laptop.signedIn() {
			t.Errorf("signing in with the new password: status %d, want 303 and signed in", a.Status)
		}
	})
}

func TestSessionsAreSharedByReplicas(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		other := s.replica(t, siteOptions{})
		b := s.signIn(t, "req@msf.gov.sg")
		there := b.on(other)
		a := there.get("/account")
		if a.Status != http.StatusOK || !strings.Contains(a.Body, "<dd>req@msf.gov.sg</dd>") {
			t.Fatalf("the session of one replica on another: /account answered %d, want 200 with the user", a.Status)
		}
		if a := there.post("/logout", nil); a.Status != http.StatusSeeOther {
			t.Fatalf("sign out on the other replica: status %d, want 303", a.Status)
		}
		if b.signedIn() {
			t.Errorf("signed out on one replica, still signed in on the first")
		}
	})
}
