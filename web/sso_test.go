package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/sso"
	"datashare/sso/ssotest"
	"datashare/web"
)

const ssoLabel = "Sign in with TechPass"

// newSSOSite is a site whose pages offer single sign-on through idp.
func newSSOSite(tb testing.TB, db *models.DB, idp *ssotest.Provider, o siteOptions) *site {
	tb.Helper()
	noPasswords := o.Web.SSO.NoPasswords
	o.Web.SSO = web.SSO{}
	o.SSO = func(tb testing.TB, url string) web.SSO {
		return web.SSO{Provider: idp.Discover(tb, url+"/auth/oidc/callback"), Label: ssoLabel, NoPasswords: noPasswords}
	}
	return newSite(tb, db, o)
}

// getURL fetches an address of any host with b's cookies, without
// following a redirect.
func (b *browser) getURL(to string) answer {
	b.tb.Helper()
	req, err := http.NewRequest(http.MethodGet, to, nil)
	if err != nil {
		b.tb.Fatal(err)
	}
	return b.do(req)
}

// ssoCallback begins a single sign-on from b and lets the provider answer:
// it returns the callback's path and query, as the provider sent b there.
func (b *browser) ssoCallback() string {
	b.tb.Helper()
	return b.ssoCallbackFrom("/auth/oidc/login")
}

// ssoCallbackFrom is ssoCallback begun at start, the button's address.
func (b *browser) ssoCallbackFrom(start string) string {
	b.tb.Helper()
	begin := b.get(start)
	if begin.Status != http.StatusSeeOther || !strings.Contains(begin.Location, "/oidc/authorize?") {
		b.tb.Fatalf("/auth/oidc/login: status %d to %q, want 303 to the provider", begin.Status, begin.Location)
	}
	q, _ := url.Parse(begin.Location)
	for _, want := range []string{"state", "nonce", "code_challenge"} {
		if q.Query().Get(want) == "" {
			b.tb.Errorf("the authorization request has no %s: %s", want, begin.Location)
		}
	}
	if got := q.Query().Get("code_challenge_method"); got != "S256" {
		b.tb.Errorf("code_challenge_method %q, want S256", got)
	}
	back := b.getURL(begin.Location)
	if back.Status != http.StatusFound || !strings.HasPrefix(back.Location, b.site.URL+"/auth/oidc/callback?") {
		b.tb.Fatalf("provider: status %d to %q, want 302 to the callback\n%s", back.Status, back.Location, back.Body)
	}
	return strings.TrimPrefix(back.Location, b.site.URL)
}

// lastSignIn is the newest sign-in event.
func (s *site) lastSignIn(tb testing.TB) models.SignInEvent {
	tb.Helper()
	var ev models.SignInEvent
	if err := s.DB.Gorm.Order("id DESC").Limit(1).Find(&ev).Error; err != nil {
		tb.Fatal(err)
	}
	return ev
}

func (s *site) countUsers(tb testing.TB) int64 {
	tb.Helper()
	var n int64
	if err := s.DB.Gorm.Model(&models.User{}).Count(&n).Error; err != nil {
		tb.Fatal(err)
	}
	return n
}

func newJar() (http.CookieJar, error) { return cookiejar.New(nil) }

func (b *browser) sessionCookie() string { return b.cookie("datashare_session") }

func TestSSOSignsInTheExistingUser(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		idp := ssotest.Start(t)
		var logs logBuffer
		s := newSSOSite(t, db, idp, siteOptions{App: apptest.Options{Log: logs.logger()}})
		users := s.countUsers(t)

		b := s.browser(t).from("192.0.2.20")
		login := b.get("/login?next=/requests")
		if !strings.Contains(login.Body, ssoLabel) || !strings.Contains(login.Body, `href="/auth/oidc/login?next=%2frequests"`) {
			t.Fatalf("the sign-in page has no single sign-on button to come back to /requests:\n%s", login.Body)
		}
		if !strings.Contains(login.Body, `name="password"`) {
			t.Errorf("the sign-in page lost its password form")
		}
		// The provider's email differs in case from the account's.
		idp.Queue(ssotest.Verified("Req@MSF.gov.sg"))
		cb := b.ssoCallbackFrom("/auth/oidc/login?next=%2Frequests")
		before := b.sessionCookie()
		done := b.get(cb)
		if done.Status != http.StatusSeeOther || done.Location != "/requests" {
			t.Fatalf("callback: status %d to %q, want 303 to /requests\n%s", done.Status, done.Location, done.Body)
		}
		if after := b.sessionCookie(); after == before || after == "" {
			t.Errorf("the session token was not renewed at sign-in")
		}
		home := b.get("/")
		if home.Status != http.StatusOK || !strings.Contains(home.Body, "req@msf.gov.sg") {
			t.Fatalf("after single sign-on, / answered %d:\n%s", home.Status, home.Body)
		}
		ev := s.lastSignIn(t)
		if ev.Outcome != accounts.OutcomeSSOSignedIn || ev.UserID == nil || *ev.UserID != s.Users["req@msf.gov.sg"].ID || ev.Address != "192.0.2.20" {
			t.Errorf("event %+v, want sso_signed_in of req@msf.gov.sg from 192.0.2.20", ev)
		}
		if n := s.countUsers(t); n != users {
			t.Errorf("%d users after sign-in, want %d", n, users)
		}
		account := b.get("/account")
		if !strings.Contains(account.Body, "Signed in with single sign-on") {
			t.Errorf("recent sign-ins do not show the single sign-on:\n%s", account.Body)
		}
		if want := `msg="signed in with single sign-on" outcome=sso_signed_in email=req@msf.gov.sg address=192.0.2.20`; !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}

		// The session is a session like any other: signing out ends it.
		b.post("/logout", nil)
		if a := b.get("/"); a.Status != http.StatusSeeOther {
			t.Errorf("after sign-out / answered %d, want 303", a.Status)
		}
	})
}

// refusal is one way a single sign-on must fail.
type refusal struct {
	name string
	// arrange prepares the provider and returns the callback as b is sent
	// there; most let the flow run and tamper with one thing.
	arrange func(t *testing.T, idp *ssotest.Provider, b *browser) string
	status  int
	says    string
	reason  string
	email   string // whose event it is, when the user is known
}

// logEmail is the email the refusal's log line names: the provider's, or
// none before the provider named one.
func (r refusal) logEmail() string {
	switch {
	case r.email != "":
		return r.email
	case r.reason == accounts.ReasonUnknownEmail:
		return "stranger@msf.gov.sg"
	}
	return `""`
}

func run(idp *ssotest.Provider, u ssotest.User) func(*testing.T, *ssotest.Provider, *browser) string {
	return func(t *testing.T, _ *ssotest.Provider, b *browser) string {
		idp.Queue(u)
		return b.ssoCallback()
	}
}

func withQuery(cb string, change func(url.Values)) string {
	u, _ := url.Parse(cb)
	q := u.Query()
	change(q)
	u.RawQuery = q.Encode()
	return u.String()
}

func ssoRefusals(idp *ssotest.Provider) []refusal {
	const known = "req@msf.gov.sg"
	verified := ssotest.Verified(known)
	tampered := func(f func(map[string]any)) ssotest.User {
		u := verified
		u.Tamper = f
		return u
	}
	retry := "Start again from the sign-in page; if it happens again, ask your agency's datashare admin."
	unconfirmed := "Datashare could not confirm your sign-in with your identity provider. " + retry
	return []refusal{
		{name: "unknown email", arrange: run(idp, ssotest.Verified("stranger@msf.gov.sg")), status: http.StatusForbidden,
			says:   "Your identity provider signed you in as stranger@msf.gov.sg, but datashare has no account with that email. Ask your agency's datashare admin to create your account.",
			reason: accounts.ReasonUnknownEmail},
		{name: "email_verified false", arrange: run(idp, ssotest.User{Email: known, Verified: false}), status: http.StatusForbidden,
			says:   "Your identity provider did not confirm that req@msf.gov.sg is your email address. Ask your agency's datashare admin",
			reason: sso.ReasonUnverified, email: known},
		{name: "email_verified missing", arrange: run(idp, ssotest.User{Email: known}), status: http.StatusForbidden,
			says: "did not confirm that req@msf.gov.sg is your email address", reason: sso.ReasonUnverified, email: known},
		{name: "no email", arrange: run(idp, ssotest.User{Verified: true}), status: http.StatusForbidden,
			says: "did not confirm that no email is your email address", reason: sso.ReasonUnverified},
		{name: "wrong state", arrange: func(t *testing.T, _ *ssotest.Provider, b *browser) string {
			idp.Queue(verified)
			return withQuery(b.ssoCallback(), func(q url.Values) { q.Set("state", "forged") })
		}, status: http.StatusBadRequest, says: "This sign-in was already used, or was not begun in this browser. " + retry, reason: sso.ReasonState},
		{name: "missing state", arrange: func(t *testing.T, _ *ssotest.Provider, b *browser) string {
			idp.Queue(verified)
			return withQuery(b.ssoCallback(), func(q url.Values) { q.Del("state") })
		}, status: http.StatusBadRequest, says: "This sign-in was already used", reason: sso.ReasonState},
		{name: "callback in another browser", arrange: func(t *testing.T, _ *ssotest.Provider, b *browser) string {
			idp.Queue(verified)
			cb := b.ssoCallback()
			b.client.Jar, _ = newJar() // the session that began it is not this one
			return cb
		}, status: http.StatusBadRequest, says: "not begun in this browser", reason: sso.ReasonState},
		{name: "replayed state", arrange: func(t *testing.T, _ *ssotest.Provider, b *browser) string {
			idp.Queue(ssotest.Verified("stranger@msf.gov.sg"))
			cb := b.ssoCallback()
			if a := b.get(cb); a.Status != http.StatusForbidden {
				t.Fatalf("first callback: status %d, want 403", a.Status)
			}
			return cb
		}, status: http.StatusBadRequest, says: "This sign-in was already used", reason: sso.ReasonState},
		{name: "replayed code", arrange: func(t *testing.T, _ *ssotest.Provider, b *browser) string {
			idp.Queue(ssotest.Verified("stranger@msf.gov.sg"))
			used := b.ssoCallback()
			b.get(used)
			idp.Queue(verified)
			fresh := b.ssoCallback()
			code, _ := url.Parse(used)
			return withQuery(fresh, func(q url.Values) { q.Set("code", code.Query().Get("code")) })
		}, status: http.StatusUnauthorized, says: unconfirmed, reason: sso.ReasonExchange},
		{name: "expired token", arrange: func(t *testing.T, idp *ssotest.Provider, b *browser) string {
			idp.Behind(time.Hour) // its tokens live 10 minutes
			t.Cleanup(func() { idp.Behind(0) })
			idp.Queue(verified)
			return b.ssoCallback()
		}, status: http.StatusUnauthorized, says: "could not confirm your sign-in", reason: sso.ReasonExpired},
		{name: "mis-signed token", arrange: func(t *testing.T, idp *ssotest.Provider, b *browser) string {
			// Another key, claiming the genuine key's id.
			idp.SignWith(ssotest.NewKey(t, ssotest.KeyID(t, idp.Genuine())))
			t.Cleanup(func() { idp.SignWith(idp.Genuine()) })
			idp.Queue(verified)
			return b.ssoCallback()
		}, status: http.StatusUnauthorized, says: "could not confirm your sign-in", reason: sso.ReasonSignature},
		{name: "token of another issuer", arrange: run(idp, tampered(func(c map[string]any) { c["iss"] = "https://idp.example" })),
			status: http.StatusUnauthorized, says: "could not confirm your sign-in", reason: sso.ReasonSignature},
		{name: "wrong audience", arrange: run(idp, tampered(func(c map[string]any) { c["aud"] = []string{"another-service"} })),
			status: http.StatusUnauthorized, says: "could not confirm your sign-in", reason: sso.ReasonAudience},
		{name: "wrong nonce", arrange: run(idp, tampered(func(c map[string]any) { c["nonce"] = "another-sign-in" })),
			status: http.StatusUnauthorized, says: "could not confirm your sign-in", reason: sso.ReasonNonce},
		{name: "provider error", arrange: func(t *testing.T, idp *ssotest.Provider, b *browser) string {
			idp.Deny("access_denied")
			return b.ssoCallback()
		}, status: http.StatusUnauthorized, says: "Your identity provider did not sign you in. " + retry, reason: sso.ReasonProviderError},
	}
}

func TestSSORefusals(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		idp := ssotest.Start(t)
		var logs logBuffer
		s := newSSOSite(t, db, idp, siteOptions{App: apptest.Options{Log: logs.logger()}})
		users := s.countUsers(t)
		for i, c := range ssoRefusals(idp) {
			t.Run(c.name, func(t *testing.T) {
				// An address per case: each may try to sign in 10 times at once.
				addr := fmt.Sprintf("192.0.2.%d", 100+i)
				b := s.browser(t).from(addr)
				cb := c.arrange(t, idp, b)
				a := b.get(cb)
				if a.Status != c.status {
					t.Errorf("status %d, want %d\n%s", a.Status, c.status, a.Body)
				}
				for _, want := range []string{"Single sign-on did not sign you in", html.EscapeString(c.says)} {
					if !strings.Contains(a.Body, want) {
						t.Errorf("the page lacks %q:\n%s", want, a.Body)
					}
				}
				if !strings.Contains(a.Body, "datashare admin") {
					t.Errorf("the page does not say whom to ask")
				}
				if h := b.get("/"); h.Status != http.StatusSeeOther {
					t.Errorf("after the refusal / answered %d, want 303 to sign in", h.Status)
				}
				ev := s.lastSignIn(t)
				if ev.Outcome != accounts.OutcomeSSORefused || ev.Reason != c.reason || ev.Address != addr {
					t.Errorf("event %+v, want sso_refused for %s from %s", ev, c.reason, addr)
				}
				switch {
				case c.email != "" && (ev.UserID == nil || *ev.UserID != s.Users[c.email].ID):
					t.Errorf("event of user %v, want %s's", ev.UserID, c.email)
				case c.email == "" && ev.UserID != nil:
					t.Errorf("event of user %d, want none", *ev.UserID)
				}
				if n := s.countUsers(t); n != users {
					t.Errorf("%d users, want %d: a refusal created one", n, users)
				}
				if want := `level=WARN msg="single sign-on refused" outcome=sso_refused email=` + c.logEmail() + ` address=` + addr; !strings.Contains(logs.String(), want) {
					t.Errorf("log lacks %q:\n%s", want, logs.String())
				}
				if want := "reason=" + c.reason; !strings.Contains(logs.String(), want) {
					t.Errorf("log lacks %q", want)
				}
			})
		}
		out := logs.String()
		// A JSON Web Token: three base64url parts, the first a JSON object.
		// (A bare "eyJ" turns up in random request ids now and then.)
		if jwtPattern.MatchString(out) {
			t.Errorf("the log holds a token:\n%s", out)
		}
		// The refusals of a known user are in their recent sign-ins.
		account := s.signIn(t, "req@msf.gov.sg").get("/account")
		if !strings.Contains(account.Body, "Single sign-on refused: the email was not verified by the identity provider") {
			t.Errorf("recent sign-ins do not show the refused single sign-on:\n%s", account.Body)
		}
	})
}

// A deactivated user is turned away. Users are deactivated by setting
// users.deactivated_at; where the schema has no such column yet, nobody
// can be deactivated and the test skips. Once it exists, this test fails
// until accounts.mayStartSession refuses a deactivated user.
func TestSSORefusesADeactivatedUser(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		if !db.Gorm.Migrator().HasColumn("users", "deactivated_at") {
			t.Skip("users cannot be deactivated in this schema (no users.deactivated_at)")
		}
		idp := ssotest.Start(t)
		s := newSSOSite(t, db, idp, siteOptions{})
		const email = "req@msf.gov.sg"
		if err := db.Gorm.Exec("UPDATE users SET deactivated_at = ? WHERE email = ?", time.Now().UTC(), email).Error; err != nil {
			t.Fatal(err)
		}
		b := s.browser(t)
		idp.Queue(ssotest.Verified(email))
		a := b.get(b.ssoCallback())
		if want := "The datashare account of req@msf.gov.sg is deactivated. Ask your agency&#39;s datashare admin to reactivate it."; a.Status != http.StatusForbidden || !strings.Contains(a.Body, want) {
			t.Fatalf("single sign-on of a deactivated user: status %d, want 403 saying %q\n%s", a.Status, want, a.Body)
		}
		if h := b.get("/"); h.Status != http.StatusSeeOther {
			t.Errorf("the deactivated user is signed in: / answered %d", h.Status)
		}
		ev := s.lastSignIn(t)
		if ev.Outcome != accounts.OutcomeSSORefused || ev.Reason != accounts.ReasonDeactivated || ev.UserID == nil || *ev.UserID != s.Users[email].ID {
			t.Errorf("event %+v, want sso_refused (deactivated) of %s", ev, email)
		}
	})
}

func TestSSOFollowsKeyRotation(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		idp := ssotest.Start(t)
		s := newSSOSite(t, db, idp, siteOptions{})
		b := s.browser(t)
		idp.Queue(ssotest.Verified("req@msf.gov.sg"))
		if a := b.get(b.ssoCallback()); a.Status != http.StatusSeeOther {
			t.Fatalf("with the first key: status %d, want 303", a.Status)
		}
		// The provider rotates to a new key, which the service has not seen.
		next := ssotest.NewKey(t, "")
		idp.Publish(next)
		idp.SignWith(next)
		b2 := s.browser(t)
		idp.Queue(ssotest.Verified("req2@msf.gov.sg"))
		if a := b2.get(b2.ssoCallback()); a.Status != http.StatusSeeOther {
			t.Fatalf("after the rotation: status %d, want 303\n%s", a.Status, a.Body)
		}
	})
}

func TestPasswordsOff(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		idp := ssotest.Start(t)
		s := newSSOSite(t, db, idp, siteOptions{Web: web.Settings{SSO: web.SSO{NoPasswords: true}}})
		b := s.browser(t)
		login := b.get("/login")
		if strings.Contains(login.Body, `name="password"`) || !strings.Contains(login.Body, ssoLabel) {
			t.Fatalf("the sign-in page should offer single sign-on alone:\n%s", login.Body)
		}
		a := b.post("/login", url.Values{"email": {"req@msf.gov.sg"}, "password": {password}})
		if a.Status != http.StatusForbidden || !strings.Contains(a.Body, "Sign-in with a password is turned off here") {
			t.Fatalf("password sign-in: status %d, want 403 saying it is off\n%s", a.Status, a.Body)
		}
		if h := b.get("/"); h.Status != http.StatusSeeOther {
			t.Errorf("the refused password signed in: / answered %d", h.Status)
		}
		// API tokens keep working.
		_, token, err := s.Accounts.IssueToken(t.Context(), apptest.Admin, s.Users["admin@govtech.gov.sg"].ID, "ops", nil)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if me := b.do(req); me.Status != http.StatusOK {
			t.Errorf("/api/v1/me with a token: status %d, want 200", me.Status)
		}
		idp.Queue(ssotest.Verified("req@msf.gov.sg"))
		if a := b.get(b.ssoCallback()); a.Status != http.StatusSeeOther {
			t.Errorf("single sign-on: status %d, want 303", a.Status)
		}
		// No password to change either.
		account := b.get("/account")
		if account.Status != http.StatusOK || strings.Contains(account.Body, "Change password") || strings.Contains(account.Body, "change your password") {
			t.Errorf("/account with passwords off: status %d, still offers a password:\n%s", account.Status, account.Body)
		}
		if a := b.post("/account/password", url.Values{"current_password": {password}, "new_password": {"another long passphrase"}, "confirm_password": {"another long passphrase"}}); a.Status != http.StatusForbidden {
			t.Errorf("POST /account/password with passwords off: status %d, want 403", a.Status)
		}
	})
}

func TestSSOCallbackIsLimitedPerAddress(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		idp := ssotest.Start(t)
		s := newSSOSite(t, db, idp, siteOptions{})
		b := s.browser(t).from("192.0.2.40")
		for i := 1; i <= 10; i++ {
			if a := b.get("/auth/oidc/callback?state=guess&code=guess"); a.Status != http.StatusBadRequest {
				t.Fatalf("callback %d: status %d, want 400", i, a.Status)
			}
		}
		a := b.get("/auth/oidc/callback?state=guess&code=guess")
		if a.Status != http.StatusTooManyRequests || a.Header.Get("Retry-After") == "" {
			t.Errorf("callback 11: status %d, Retry-After %q, want 429 with Retry-After", a.Status, a.Header.Get("Retry-After"))
		}
		var n int64
		db.Gorm.Model(&models.SignInEvent{}).Where("address = ?", "192.0.2.40").Count(&n)
		if n != 10 {
			t.Errorf("%d refusals recorded, want 10: the limited one is not", n)
		}
	})
}

var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)

// TestSSOStartIsLimitedPerAddress: each start of a single sign-on stores a
// session for a visitor not yet signed in, so an address may start only as
// many as it may try to sign in.
func TestSSOStartIsLimitedPerAddress(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		idp := ssotest.Start(t)
		s := newSSOSite(t, db, idp, siteOptions{})
		var before int64
		db.Gorm.Table("sessions").Count(&before)
		for i := 1; i <= 30; i++ {
			// A fresh browser each time: no cookie to reuse a session by.
			a := s.browser(t).from("192.0.2.41").get("/auth/oidc/login")
			switch {
			case i <= 10 && a.Status != http.StatusSeeOther:
				t.Fatalf("start %d: status %d, want 303 to the provider", i, a.Status)
			case i > 10 && a.Status != http.StatusTooManyRequests:
				t.Fatalf("start %d: status %d, want 429", i, a.Status)
			}
		}
		var after int64
		db.Gorm.Table("sessions").Count(&after)
		if after-before > 10 {
			t.Errorf("sessions stored by 30 starts from one address: got %d, want at most 10", after-before)
		}
	})
}

func TestNoSSOButtonWithoutAProvider(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		b := s.browser(t)
		if login := b.get("/login"); strings.Contains(login.Body, "/auth/oidc/login") {
			t.Errorf("the sign-in page offers single sign-on without a provider")
		}
		if a := b.get("/auth/oidc/login"); a.Status != http.StatusNotFound {
			t.Errorf("/auth/oidc/login without a provider: status %d, want 404", a.Status)
		}
	})
}
