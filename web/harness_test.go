package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/models"
	"datashare/web"
	"datashare/workflow"
)

// password is every test user's password.
const password = "correct horse battery staple"

// cast is the people of the page tests: MSF files requests to MOH, which
// has two approvers and a manager; HDB is a third agency that sees nothing
// of theirs; MSF also has an approver, who may not act on MSF's requests.
var cast = []apptest.Person{
	{Email: "req@msf.gov.sg", Agency: "MSF", Role: "requester"},
	{Email: "req2@msf.gov.sg", Agency: "MSF", Role: "requester"},
	{Email: "approver@msf.gov.sg", Agency: "MSF", Role: "approver"},
	{Email: "manager@msf.gov.sg", Agency: "MSF", Role: "manager"},
	{Email: "approver1@moh.gov.sg", Agency: "MOH", Role: "approver"},
	{Email: "approver2@moh.gov.sg", Agency: "MOH", Role: "approver"},
	{Email: "manager@moh.gov.sg", Agency: "MOH", Role: "manager"},
	{Email: "req@hdb.gov.sg", Agency: "HDB", Role: "requester"},
	{Email: "admin@govtech.gov.sg", Agency: "GOVTECH", Role: "admin"},
}

// site is the whole service (API and pages) over one database, served by a
// real HTTP server.
type site struct {
	*apptest.App
	URL   string
	Users map[string]models.User // by email
}

type siteOptions struct {
	App apptest.Options
	Web web.Settings // zero: the defaults
	// SSO, when set, gives the single sign-on settings of the site at
	// address url (known only once it listens).
	SSO func(tb testing.TB, url string) web.SSO
}

// newSite serves a fresh database of the test's dialect with the cast, each
// person signing in with password.
func newSite(tb testing.TB, db *models.DB, o siteOptions) *site {
	tb.Helper()
	a := apptest.Wire(tb, db, o.App)
	users := a.MustSeed(tb, []string{"MSF", "MOH", "HDB", "GOVTECH"}, cast)
	var ids []int64
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	if err := a.Accounts.SetPasswordsUnchecked(context.Background(), ids, password); err != nil {
		tb.Fatal(err)
	}
	for email := range users {
		u, err := a.Accounts.UserByID(context.Background(), users[email].ID)
		if err != nil {
			tb.Fatal(err)
		}
		users[email] = u
	}
	srv := httptest.NewUnstartedServer(nil)
	url := "http://" + srv.Listener.Addr().String()
	if o.SSO != nil {
		if o.Web == (web.Settings{}) {
			o.Web = web.DefaultSettings()
		}
		o.Web.SSO = o.SSO(tb, url)
	}
	h, err := a.Handler(o.Web)
	if err != nil {
		tb.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	tb.Cleanup(srv.Close)
	return &site{App: a, URL: srv.URL, Users: users}
}

// actor is the cast member as the services see them.
func (s *site) actor(email string) workflow.Actor {
	return accounts.ActorOf(s.Users[email])
}

// browser is one person's cookie jar against the site; it does not follow
// redirects by itself, so that tests see where each answer sends them.
type browser struct {
	tb     testing.TB
	site   *site
	client *http.Client
	addr   string // the client address the requests come from, when set
}

func (s *site) browser(tb testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &browser{tb: tb, site: s, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// signIn returns a browser signed in as email.
func (s *site) signIn(tb testing.TB, email string) *browser {
	tb.Helper()
	b := s.browser(tb)
	b.get("/login")
	p := b.post("/login", url.Values{"email": {email}, "password": {password}})
	if p.Status != http.StatusSeeOther {
		tb.Fatalf("sign in as %s: status %d, want 303\n%s", email, p.Status, p.Body)
	}
	return b
}

// answer is one HTTP answer.
type answer struct {
	Status   int
	Body     string
	Location string
	Header   http.Header
}

func (b *browser) do(req *http.Request) answer {
	b.tb.Helper()
	if b.addr != "" {
		// The test server's peer is loopback, which the service trusts as
		// a proxy of the deployment.
		req.Header.Set("X-Forwarded-For", b.addr)
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.tb.Fatal(err)
	}
	return answer{Status: res.StatusCode, Body: string(body), Location: res.Header.Get("Location"), Header: res.Header}
}

// get fetches path without following a redirect.
func (b *browser) get(path string) answer {
	b.tb.Helper()
	req, err := http.NewRequest(http.MethodGet, b.site.URL+path, nil)
	if err != nil {
		b.tb.Fatal(err)
	}
	return b.do(req)
}

// follow fetches path and follows redirects on this site, up to five.
func (b *browser) follow(path string) answer {
	b.tb.Helper()
	a := b.get(path)
	for i := 0; i < 5 && a.Location != ""; i++ {
		a = b.get(a.Location)
	}
	return a
}

// csrf is the form token the site set in this browser's jar.
func (b *browser) csrf() string { return b.cookie("datashare_csrf") }

// cookie is the value of the site's cookie name in this browser's jar.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.site.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// post sends a form as a page of the site would, with its CSRF token.
func (b *browser) post(path string, form url.Values) answer {
	b.tb.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf") {
		form.Set("csrf", b.csrf())
	}
	req, err := http.NewRequest(http.MethodPost, b.site.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// clock is a test's settable time, read by the server's goroutines. Tests
// keep it in the past: the session manager stamps expiry by the real clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(at string) *clock { return &clock{now: apptest.Time(at).UTC()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(at string) { c.at(apptest.Time(at)) }

func (c *clock) at(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t.UTC()
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// replica serves the same database as s from a second server, as another
// replica of one deployment does; its users are s's.
func (s *site) replica(tb testing.TB, o siteOptions) *site {
	tb.Helper()
	a := apptest.Wire(tb, s.DB, o.App)
	h, err := a.Handler(o.Web)
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return &site{App: a, URL: srv.URL, Users: s.Users}
}

// on is the same browser (the same cookie jar) pointed at another server
// of the same host.
func (b *browser) on(s *site) *browser {
	return &browser{tb: b.tb, site: s, client: b.client, addr: b.addr}
}

// from is the same browser sending from the client address addr, as a
// proxy in front of the service would tell it.
func (b *browser) from(addr string) *browser {
	return &browser{tb: b.tb, site: b.site, client: b.client, addr: addr}
}

// send sends a form with the given headers and nothing added: no CSRF
// token unless form holds one.
func (b *browser) send(method, path string, form url.Values, header http.Header) answer {
	b.tb.Helper()
	req, err := http.NewRequest(method, b.site.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range header {
		req.Header[k] = vs
	}
	return b.do(req)
}
