package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
)

// These tests boot the whole program through run, as main does, on
// 127.0.0.1:0 with a real database, and talk to it over real HTTP.

// startTimeout bounds how long a start may take: migrations and demo seeding
// under -race on a busy 2-core machine, or on PostgreSQL.
const startTimeout = 60 * time.Second

// stopTimeout bounds how long run may take to return once its context is
// cancelled with no request in flight.
const stopTimeout = 10 * time.Second

// syncBuffer is an io.Writer that the program writes to from its goroutine
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// envOf returns a getenv over m only: the tests never read the real
// environment through the program.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// program is one running "datashare serve".
type program struct {
	t      testing.TB
	url    string // http://127.0.0.1:port
	stdout *syncBuffer
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error // receives run's result once
	result *error     // set once run has returned and been collected
}

var listeningRE = regexp.MustCompile(`datashare listening on (http://\S+)`)

// mustServe starts run(ctx, ["serve", args...]) in a goroutine and waits for
// the "listening on" line. The program is stopped when tb ends if the test
// has not stopped it.
func mustServe(tb testing.TB, getenv func(string) string, args ...string) *program {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &program{t: tb, stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		p.done <- run(ctx, append([]string{"serve"}, args...), getenv, p.stdout, p.stderr)
	}()
	tb.Cleanup(func() {
		cancel()
		if p.result == nil {
			select {
			case <-p.done:
			case <-time.After(stopTimeout):
				tb.Errorf("run did not return within %s of the end of the test", stopTimeout)
			}
		}
	})
	deadline := time.Now().Add(startTimeout)
	for {
		if m := listeningRE.FindStringSubmatch(p.stdout.String()); m != nil {
			p.url = m[1]
			return p
		}
		select {
		case err := <-p.done:
			p.result = &err
			tb.Fatalf("run returned before listening: %v\nstdout:\n%s\nstderr:\n%s", err, p.stdout, p.stderr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no \"listening on\" line within %s\nstdout:\n%s\nstderr:\n%s", startTimeout, p.stdout, p.stderr)
		}
	}
}

// stop cancels the context, as SIGTERM does through signal.NotifyContext,
// and returns what run returned.
func (p *program) stop() error {
	p.t.Helper()
	p.cancel()
	return p.wait(stopTimeout)
}

func (p *program) wait(d time.Duration) error {
	p.t.Helper()
	if p.result != nil {
		return *p.result
	}
	select {
	case err := <-p.done:
		p.result = &err
		return err
	case <-time.After(d):
		p.t.Fatalf("run did not return within %s of cancel\nstderr:\n%s", d, p.stderr)
		return nil
	}
}

// mustStop stops the program and fails the test unless run returned nil.
func (p *program) mustStop() {
	p.t.Helper()
	if err := p.stop(); err != nil {
		p.t.Fatalf("run returned %v after cancel, want nil\nstderr:\n%s", err, p.stderr)
	}
}

// tokens returns the demo tokens printed on stdout, by email.
func (p *program) tokens() map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(p.stdout.String(), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && strings.HasSuffix(f[0], "@demo.gov.sg") {
			out[f[0]] = f[2]
		}
	}
	return out
}

func (p *program) mustToken(email string) string {
	p.t.Helper()
	tok, ok := p.tokens()[email]
	if !ok {
		p.t.Fatalf("no demo token printed for %s; stdout:\n%s", email, p.stdout)
	}
	return tok
}

// get sends GET path with token (none when empty) and decodes a JSON answer
// into out when out is not nil.
func (p *program) get(path, token string, out any) int {
	p.t.Helper()
	return p.do(http.MethodGet, path, token, nil, out)
}

func (p *program) do(method, path, token string, body any, out any) int {
	p.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			p.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.url+path, rd)
	if err != nil {
		p.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		p.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			p.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return res.StatusCode
}

type requestItem struct {
	ID               int64  `json:"id"`
	State            string `json:"state"`
	RequestingAgency string `json:"requesting_agency"`
	OwnerAgency      string `json:"owner_agency"`
}

type requestPage struct {
	Items      []requestItem `json:"items"`
	NextCursor *string       `json:"next_cursor"`
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type me struct {
	ID     int64    `json:"id"`
	Email  string   `json:"email"`
	Agency string   `json:"agency"`
	Roles  []string `json:"roles"`
}

// mustListAll pages through GET /api/v1/requests as token and returns every
// request the user may see.
func (p *program) mustListAll(token string) []requestItem {
	p.t.Helper()
	var all []requestItem
	path := "/api/v1/requests?limit=100"
	for range 1000 {
		var page requestPage
		if st := p.get(path, token, &page); st != http.StatusOK {
			p.t.Fatalf("GET %s: got status %d, want 200", path, st)
		}
		all = append(all, page.Items...)
		if page.NextCursor == nil {
			return all
		}
		path = "/api/v1/requests?limit=100&cursor=" + *page.NextCursor
	}
	p.t.Fatalf("more than 1000 pages of requests")
	return nil
}

// forEachDialect runs fn as a subtest per dialect with a fresh, empty database; the
// PostgreSQL subtest skips unless DATASHARE_TEST_POSTGRES_URL is set.
func forEachDialect(t *testing.T, fn func(t *testing.T, dsn string)) {
	for _, d := range []models.Dialect{models.SQLite, models.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			fn(t, modelstest.DSN(t, d))
		})
	}
}

const (
	mohRequester = "moh.requester@demo.gov.sg"
	govtechAdmin = "govtech.admin@demo.gov.sg"
)

func TestServeDemoAnswersWithPrintedTokenAndStopsOnCancel(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		p := mustServe(t, envOf(nil), "--demo", "--addr", "127.0.0.1:0", "--db", dsn)
		tok := p.mustToken(mohRequester)

		if st := p.get("/healthz", "", nil); st != http.StatusOK {
			t.Errorf("GET /healthz: got %d, want 200", st)
		}
		if st := p.get("/readyz", "", nil); st != http.StatusOK {
			t.Errorf("GET /readyz: got %d, want 200", st)
		}

		var page requestPage
		if st := p.get("/api/v1/requests", tok, &page); st != http.StatusOK {
			t.Fatalf("GET /api/v1/requests with the printed MOH token: got %d, want 200", st)
		}
		if len(page.Items) == 0 {
			t.Fatalf("GET /api/v1/requests as MOH: got no items, want the demo requests MOH takes part in")
		}
		for _, r := range p.mustListAll(tok) {
			switch {
			case r.RequestingAgency == "MOH":
			case r.OwnerAgency == "MOH" && r.State != "draft":
			default:
				t.Errorf("MOH sees request %d (%s → %s, %s); want only requests MOH files, or owns once submitted",
					r.ID, r.RequestingAgency, r.OwnerAgency, r.State)
			}
		}

		var eb errorBody
		if st := p.get("/api/v1/requests", "", &eb); st != http.StatusUnauthorized {
			t.Errorf("GET /api/v1/requests without a token: got %d, want 401", st)
		}
		if eb.Error.Code != "unauthenticated" {
			t.Errorf("error code without a token: got %q, want %q", eb.Error.Code, "unauthenticated")
		}
		if st := p.get("/api/v1/requests", "dst_not-a-real-token", nil); st != http.StatusUnauthorized {
			t.Errorf("GET /api/v1/requests with an unknown token: got %d, want 401", st)
		}

		p.mustStop()
		if !strings.Contains(p.stderr.String(), "request_id=") {
			t.Errorf("stderr has no request log line with a request_id:\n%s", p.stderr)
		}
		if _, err := net.DialTimeout("tcp", strings.TrimPrefix(p.url, "http://"), time.Second); err == nil {
			t.Errorf("%s still accepts connections after run returned", p.url)
		}
	})
}

// TestServeDrainsInFlightRequestOnCancel holds a request in flight by
// sending its body in two halves, cancels the program between them, and
// checks that the request still completes before run returns nil. No route
// is slow on purpose; a slow client holds the request open just as well.
func TestServeDrainsInFlightRequestOnCancel(t *testing.T) {
	dsn := modelstest.DSN(t, models.SQLite)
	p := mustServe(t, envOf(nil), "--demo", "--addr", "127.0.0.1:0", "--db", dsn)
	tok := p.mustToken(mohRequester)
	addr := strings.TrimPrefix(p.url, "http://")

	body := []byte(`{"title":"Drained on shutdown","purpose":"Check that SIGTERM lets this finish.",` +
		`"data_description":"Anything.","classification":"official-open","owner_agency":"HDB"}`)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	half := len(body) / 2
	fmt.Fprintf(conn, "POST /api/v1/requests HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", addr, tok, len(body))
	if _, err := conn.Write(body[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the server read the headers and enter the handler

	p.cancel()
	// Shutdown closes the listener first: new connections are refused while
	// the one in flight is still being served.
	refused := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			refused = true
			break
		}
		c.Close()
	}
	if !refused {
		t.Errorf("new connections still accepted 5 s after cancel")
	}
	select {
	case err := <-p.done:
		p.result = &err
		t.Fatalf("run returned %v while a request was in flight; want it to wait", err)
	case <-time.After(300 * time.Millisecond):
	}

	if _, err := conn.Write(body[half:]); err != nil {
		t.Fatalf("finish the body after cancel: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read the answer to the in-flight request: %v", err)
	}
	defer res.Body.Close()
	var created requestItem
	if err := json.NewDecoder(res.Body).Decode(&created); err != nil {
		t.Fatalf("decode the answer: %v", err)
	}
	if res.StatusCode != http.StatusCreated || created.State != "draft" {
		t.Errorf("in-flight POST /api/v1/requests: got %d state %q, want 201 state draft", res.StatusCode, created.State)
	}
	if err := p.wait(stopTimeout); err != nil {
		t.Errorf("run returned %v after draining, want nil", err)
	}
}

func TestServeDemoTwiceOnOneDatabaseSeedsOnceAndPrintsFreshTokens(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		first := mustServe(t, envOf(nil), "--demo", "--addr", "127.0.0.1:0", "--db", dsn)
		firstTokens := first.tokens()
		seeded := first.mustListAll(first.mustToken(govtechAdmin))
		if len(seeded) < 12 {
			t.Errorf("first start seeded %d requests, want at least a dozen", len(seeded))
		}
		first.mustStop()

		second := mustServe(t, envOf(nil), "--demo", "--addr", "127.0.0.1:0", "--db", dsn)
		secondTokens := second.tokens()
		if len(secondTokens) != len(firstTokens) {
			t.Errorf("second start printed %d tokens, want %d as the first", len(secondTokens), len(firstTokens))
		}
		for email, tok := range secondTokens {
			if tok == firstTokens[email] {
				t.Errorf("second start printed the same token for %s; want a fresh one", email)
			}
		}
		again := second.mustListAll(second.mustToken(govtechAdmin))
		if len(again) != len(seeded) {
			t.Errorf("after a second --demo start: got %d requests, want %d (demo data must not be added twice)", len(again), len(seeded))
		}
		var who me
		if st := second.get("/api/v1/me", second.mustToken(mohRequester), &who); st != http.StatusOK || who.Email != mohRequester {
			t.Errorf("GET /api/v1/me with the fresh MOH token: got %d %q, want 200 %q", st, who.Email, mohRequester)
		}
		// The first start's tokens may be in a terminal or a file still;
		// only the newest printed ones may work. Past 20 unknown tokens
		// from one address, the refusal is 429.
		for email, tok := range firstTokens {
			if st := second.get("/api/v1/me", tok, nil); st != http.StatusUnauthorized && st != http.StatusTooManyRequests {
				t.Errorf("GET /api/v1/me with %s's token of the first start: got %d, want 401 or 429", email, st)
			}
		}
		second.mustStop()
	})
}

func TestServeDemoSeedsBesideBootstrapAdmin(t *testing.T) {
	dsn := modelstest.DSN(t, models.SQLite)
	env := envOf(map[string]string{
		"DATASHARE_ADMIN_EMAIL": "admin@tech.gov.sg",
		"DATASHARE_ADMIN_TOKEN": strings.Repeat("a", 40),
	})
	// An admin alone is not "other data": the demo still seeds.
	p := mustServe(t, env, "--demo", "--addr", "127.0.0.1:0", "--db", dsn)
	if _, ok := p.tokens()[mohRequester]; !ok {
		t.Fatalf("--demo after a bootstrap admin printed no demo tokens; stdout:\n%s", p.stdout)
	}
	var who me
	if st := p.get("/api/v1/me", strings.Repeat("a", 40), &who); st != http.StatusOK || who.Agency != "GOVTECH" {
		t.Errorf("bootstrap admin beside demo data: got %d agency %q, want 200 GOVTECH", st, who.Agency)
	}
	p.mustStop()
}

var schemaLineRE = regexp.MustCompile(`^schema at version (\d+)\n$`)

func TestMigrateReportsVersionAndIsRepeatable(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		var versions []string
		for i := range 2 {
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), []string{"migrate", "--db", dsn}, envOf(nil), &stdout, &stderr); err != nil {
				t.Fatalf("migrate run %d: %v\nstderr:\n%s", i+1, err, &stderr)
			}
			m := schemaLineRE.FindStringSubmatch(stdout.String())
			if m == nil {
				t.Fatalf("migrate run %d printed %q, want \"schema at version N\"", i+1, stdout.String())
			}
			if m[1] == "0" {
				t.Errorf("migrate run %d: schema at version 0, want at least 1", i+1)
			}
			versions = append(versions, m[1])
		}
		if versions[0] != versions[1] {
			t.Errorf("second migrate: got version %s, want %s as the first", versions[1], versions[0])
		}
		// The migrated database serves at once, without migrating again.
		p := mustServe(t, envOf(nil), "--addr", "127.0.0.1:0", "--db", dsn)
		if st := p.get("/readyz", "", nil); st != http.StatusOK {
			t.Errorf("GET /readyz after migrate: got %d, want 200", st)
		}
		p.mustStop()
	})
}

func TestMigrateTakesDBFromEnvironment(t *testing.T) {
	dsn := modelstest.DSN(t, models.SQLite)
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"migrate"}, envOf(map[string]string{"DATASHARE_DB": dsn}), &stdout, &stderr); err != nil {
		t.Fatalf("migrate with DATASHARE_DB: %v\nstderr:\n%s", err, &stderr)
	}
	if !schemaLineRE.MatchString(stdout.String()) {
		t.Errorf("migrate printed %q, want \"schema at version N\"", stdout.String())
	}
}

func TestServeBootstrapsAdminFromEnvironment(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		token := "bootstrap-token-0123456789abcdefghijklmnop"
		env := envOf(map[string]string{
			"DATASHARE_ADMIN_EMAIL": "admin@tech.gov.sg",
			"DATASHARE_ADMIN_TOKEN": token,
		})
		for i := range 2 { // the second start finds the admin and creates nothing
			p := mustServe(t, env, "--addr", "127.0.0.1:0", "--db", dsn)
			var who me
			if st := p.get("/api/v1/me", token, &who); st != http.StatusOK {
				t.Fatalf("start %d: GET /api/v1/me with DATASHARE_ADMIN_TOKEN: got %d, want 200", i+1, st)
			}
			if who.Email != "admin@tech.gov.sg" || who.Agency != "GOVTECH" || strings.Join(who.Roles, ",") != "admin" {
				t.Errorf("start %d: got %+v, want admin@tech.gov.sg of GOVTECH with roles [admin]", i+1, who)
			}
			var users struct {
				Items []me `json:"items"`
			}
			if st := p.get("/api/v1/users", token, &users); st != http.StatusOK || len(users.Items) != 1 {
				t.Errorf("start %d: GET /api/v1/users: got %d with %d users, want 200 with the one admin", i+1, st, len(users.Items))
			}
			if strings.Contains(p.stderr.String(), token) {
				t.Errorf("start %d: the admin token appears in the logs:\n%s", i+1, p.stderr)
			}
			p.mustStop()
		}
	})
}

func TestServeRefusesShortAdminToken(t *testing.T) {
	dsn := modelstest.DSN(t, models.SQLite)
	env := envOf(map[string]string{
		"DATASHARE_ADMIN_EMAIL": "admin@tech.gov.sg",
		"DATASHARE_ADMIN_TOKEN": "too-short",
	})
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	err := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", dsn}, env, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "DATASHARE_ADMIN_TOKEN") {
		t.Fatalf("serve with a 9-character admin token: got %v, want an error naming DATASHARE_ADMIN_TOKEN", err)
	}
	if strings.Contains(stdout.String(), "listening") {
		t.Errorf("serve listened despite the configuration error: %q", stdout.String())
	}
}

func TestRunRefusesBadCommandLines(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string // in the error
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown serve flag", []string{"serve", "--no-such-flag"}, "no-such-flag"},
		{"serve flag without its value", []string{"serve", "--addr"}, "addr"},
		{"serve argument after flags", []string{"serve", "--db", dir + "/x.db", "extra"}, `unexpected argument "extra"`},
		{"serve-only flag on migrate", []string{"migrate", "--addr", ":9999"}, "addr"},
		{"bad log level", []string{"migrate", "--db", dir + "/x.db", "--log-level", "loud"}, "DATASHARE_LOG_LEVEL"},
		{"bad shutdown timeout", []string{"serve", "--db", dir + "/x.db", "--shutdown-timeout", "soon"}, "DATASHARE_SHUTDOWN_TIMEOUT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
			defer cancel()
			err := run(ctx, tc.args, envOf(nil), &stdout, &stderr)
			if err == nil {
				t.Fatalf("run %q: got nil, want an error containing %q", tc.args, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run %q: got error %q, want it to contain %q", tc.args, err, tc.want)
			}
			if strings.Contains(stdout.String(), "listening") {
				t.Errorf("run %q listened: %q", tc.args, stdout.String())
			}
		})
	}
}

func TestServeFailsWhenAddressIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	err = run(ctx, []string{"serve", "--addr", ln.Addr().String(), "--db", modelstest.DSN(t, models.SQLite)}, envOf(nil), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("serve on a taken address: got %v, want a listen error", err)
	}
}

func TestSLACheckAndReportCommandsOnDemoData(t *testing.T) {
	dsn := modelstest.DSN(t, models.SQLite)
	mustServe(t, envOf(nil), "--demo", "--addr", "127.0.0.1:0", "--db", dsn).mustStop()

	runOK := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, envOf(nil), &stdout, &stderr); err != nil {
			t.Fatalf("run %q: %v\nstderr:\n%s", args, err, &stderr)
		}
		return stdout.String()
	}
	checkRE := regexp.MustCompile(`^checked \d+ open requests: \d+ newly at risk, \d+ newly breached; projects: \d+ newly at risk, \d+ newly breached\n$`)
	if out := runOK("sla", "check", "--db", dsn); !checkRE.MatchString(out) {
		t.Errorf("sla check printed %q, want \"checked N open requests: …\"", out)
	}
	if out := runOK("sla", "check", "--db", dsn); !strings.HasSuffix(out, ": 0 newly at risk, 0 newly breached; projects: 0 newly at risk, 0 newly breached\n") {
		t.Errorf("second sla check printed %q, want nothing newly flagged", out)
	}

	from, to := time.Now().AddDate(-1, 0, 0).Format("2006-01-02"), time.Now().AddDate(0, 0, 2).Format("2006-01-02")
	if out := runOK("report", "--from", from, "--to", to, "--db", dsn); !strings.HasPrefix(out, "SLA compliance "+from+" to "+to) || !strings.Contains(out, "\ntotal ") {
		t.Errorf("report printed %q, want a table with a total row", out)
	}
	var rep struct {
		Met    *int `json:"met"`
		Missed *int `json:"missed"`
	}
	out := runOK("report", "--from", from, "--to", to, "--group-by", "owner_agency", "--format", "json", "--db", dsn)
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Met == nil || rep.Missed == nil {
		t.Errorf("report --format json printed %q (%v), want JSON with met and missed", out, err)
	} else if *rep.Met+*rep.Missed == 0 {
		t.Errorf("report over the last year of demo data counts nothing; want the demo history counted")
	}

	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"report", "--to", to, "--db", dsn}, envOf(nil), &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "--from") {
		t.Errorf("report without --from: got %v, want an error naming --from", err)
	}
	if err := run(context.Background(), []string{"sla", "--db", dsn}, envOf(nil), &stdout, &stderr); err == nil {
		t.Errorf("sla without check: got nil, want a usage error")
	}
}

var (
	signInRE       = regexp.MustCompile(`(?m)^sign in at (http://\S+/login)$`)
	demoPasswordRE = regexp.MustCompile(`(?m)^Demo password for every demo user below \(new at each start\): (\S+)$`)
)

// The demo prints where to sign in and one password for every demo user,
// and a person can sign in with it.
func TestServeDemoPrintsSignInAddressAndPassword(t *testing.T) {
	p := mustServe(t, envOf(nil), "--demo", "--addr", "127.0.0.1:0", "--db", modelstest.DSN(t, models.SQLite))
	out := p.stdout.String()
	m := signInRE.FindStringSubmatch(out)
	if m == nil || m[1] != p.url+"/login" {
		t.Fatalf("stdout has no \"sign in at %s/login\" line:\n%s", p.url, out)
	}
	pw := demoPasswordRE.FindStringSubmatch(out)
	if pw == nil {
		t.Fatalf("stdout has no demo password line:\n%s", out)
	}
	for _, email := range []string{mohRequester, govtechAdmin, "msf.approver2@demo.gov.sg"} {
		p.mustSignIn(t, email)
	}
}

// mustSignIn signs email in through the pages with the demo password and
// returns a client carrying the session.
func (p *program) mustSignIn(t *testing.T, email string) *http.Client {
	t.Helper()
	pw := demoPasswordRE.FindStringSubmatch(p.stdout.String())
	if pw == nil {
		t.Fatalf("stdout has no demo password line:\n%s", p.stdout)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(p.url + "/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var csrf string
	u, _ := url.Parse(p.url)
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "datashare_csrf" {
			csrf = ck.Value
		}
	}
	res, err = c.PostForm(p.url+"/login", url.Values{"email": {email}, "password": {pw[1]}, "csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("sign in as %s with the demo password: %d to %q, want 303 to /", email, res.StatusCode, res.Header.Get("Location"))
	}
	return c
}

// Right after start the demo has something for every SLA feature: a
// request at risk, one breached (flagged, so its notification is out), one
// paused for clarification and requests taken over by an import.
func TestServeDemoShowsEverySLAStatus(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		p := mustServe(t, envOf(nil), "--demo", "--addr", "127.0.0.1:0", "--db", dsn)
		p.mustShowEverySLAStatus()
		p.mustShowDemoProjects()

		// A breach is told to the owner's managers; MOH owns the demo's
		// breached request. Delivery to the inbox runs in the background.
		var inbox struct {
			Items []struct {
				Event string `json:"event"`
			} `json:"items"`
		}
		deadline := time.Now().Add(5 * time.Second)
		for found := false; !found; {
			if st := p.get("/api/v1/notifications", p.mustToken("moh.manager@demo.gov.sg"), &inbox); st != http.StatusOK {
				t.Fatalf("GET /api/v1/notifications as the MOH manager: got %d, want 200", st)
			}
			for _, n := range inbox.Items {
				found = found || n.Event == "sla.breached"
			}
			if !found && time.Now().After(deadline) {
				t.Fatalf("MOH manager's notifications: got %+v, want an sla.breached one right after start", inbox.Items)
			}
			time.Sleep(50 * time.Millisecond)
		}
		p.mustStop()

		db, err := models.Open(dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var imported int64
		if err := db.Gorm.Model(&models.Request{}).Where("external_ref IS NOT NULL AND state IN ?", []string{"submitted", "approved", "clarification_requested"}).Count(&imported).Error; err != nil {
			t.Fatal(err)
		}
		if imported < 3 {
			t.Errorf("open demo requests with an external_ref: got %d, want at least 3 (at risk, breached, paused)", imported)
		}
	})
}

// The late demo requests are late by the deployment's own SLA settings.
func TestServeDemoShowsEverySLAStatusWithOtherTargets(t *testing.T) {
	p := mustServe(t, envOf(map[string]string{"DATASHARE_SLA_TARGET_DAYS": "12"}),
		"--demo", "--addr", "127.0.0.1:0", "--sla-warn-days", "10", "--db", modelstest.DSN(t, models.SQLite))
	p.mustShowEverySLAStatus()
	p.mustShowDemoProjects()
	p.mustStop()
}

func (p *program) mustShowEverySLAStatus() {
	p.t.Helper()
	admin := p.mustToken(govtechAdmin)
	for _, query := range []string{"sla_status=at_risk", "sla_status=breached", "state=clarification_requested"} {
		var page requestPage
		if st := p.get("/api/v1/requests?"+query, admin, &page); st != http.StatusOK || len(page.Items) == 0 {
			p.t.Errorf("GET /api/v1/requests?%s as admin: got %d with %d requests, want 200 with at least one", query, st, len(page.Items))
		}
	}
}

// mustShowDemoProjects checks the outcome of each demo project's clock,
// which the demo times by the deployment's SLA settings.
func (p *program) mustShowDemoProjects() {
	p.t.Helper()
	var page struct {
		Items []struct {
			Code  string `json:"code"`
			Clock struct {
				Status string `json:"status"`
			} `json:"clock"`
		} `json:"items"`
	}
	if st := p.get("/api/v1/projects", p.mustToken(govtechAdmin), &page); st != http.StatusOK {
		p.t.Fatalf("GET /api/v1/projects as admin: got %d, want 200", st)
	}
	got := map[string]string{}
	for _, it := range page.Items {
		got[it.Code] = it.Clock.Status
	}
	want := map[string]string{
		"DIGITAL-INCLUSION-2026": "missed", "ELDERCARE-CAPACITY-2026": "met", "FAMILY-HOUSING-2026": "partial",
		"HEALTHIER-SG-RENTAL-2026": "met", "SCHOOL-TRANSPORT-2026": "met", "STUDENT-WELLBEING-2026": "at_risk",
	}
	if !maps.Equal(got, want) {
		p.t.Errorf("GET /api/v1/projects as admin: got %v, want %v", got, want)
	}
}

// A command that computes figures beside a running service on the same
// database counts the way the service does, or refuses: a report printed
// with target 7 while the service counts with 3 would be a wrong figure.
func TestCommandsRefuseOtherFigureSettingsThanTheService(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		serviceEnv := map[string]string{envTarget: "3", envWarn: "2"}
		mustServe(t, envOf(serviceEnv), "--addr", "127.0.0.1:0", "--db", dsn).mustStop()
		empty := filepath.Join(t.TempDir(), "empty.csv")
		header := "external_ref,title,purpose,data_description,classification,requesting_agency,owner_agency,requester_email,action,at,actor_email,comment\n"
		if err := os.WriteFile(empty, []byte(header), 0o600); err != nil {
			t.Fatal(err)
		}

		from, to := time.Now().AddDate(-1, 0, 0).Format("2006-01-02"), time.Now().AddDate(0, 0, 2).Format("2006-01-02")
		cases := []struct {
			name    string
			args    []string
			env     map[string]string
			refused []string // settings named in the refusal; none: it runs
		}{
			{"report with the defaults", []string{"report", "--from", from, "--to", to}, nil, []string{envTarget, envWarn}},
			{"report with one of the two", []string{"report", "--from", from, "--to", to, "--sla-warn-days", "2"}, nil, []string{envTarget}},
			{"report with the service's", []string{"report", "--from", from, "--to", to}, serviceEnv, nil},
			{"sla check with another zone", []string{"sla", "check"}, map[string]string{envTarget: "3", envWarn: "2", envTZ: "UTC"}, []string{envTZ}},
			{"sla check with the service's", []string{"sla", "check"}, serviceEnv, nil},
			{"import with other approvals", []string{"import", empty, "--approvals", "restricted=3"}, serviceEnv, []string{envApprovals}},
			{"import with the service's", []string{"import", empty}, serviceEnv, nil},
			{"migrate, which counts nothing", []string{"migrate"}, nil, nil},
		}
		for _, c := range cases {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append(c.args, "--db", dsn), envOf(c.env), &stdout, &stderr)
			if c.refused == nil {
				if err != nil {
					t.Errorf("%s: %v, want it to run", c.name, err)
				}
				continue
			}
			if err == nil || !strings.Contains(err.Error(), "the service on this database counts with other settings") {
				t.Errorf("%s: got %v, want a refusal naming the service's settings", c.name, err)
				continue
			}
			for _, env := range []string{envTarget, envWarn, envTZ, envApprovals} {
				if named := strings.Contains(err.Error(), env); named != slices.Contains(c.refused, env) {
					t.Errorf("%s: refusal %q names %s: %v, want %v", c.name, err, env, named, !named)
				}
			}
		}

		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{"report", "--from", from, "--to", to, "--db", dsn}, envOf(serviceEnv), &stdout, &stderr); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stdout.String(), "target 3 working days") {
			t.Errorf("report with the service's settings printed %q, want target 3", stdout.String())
		}
	})
}

// TestServeTakesWebhookAllowListFromEnvironment: DATASHARE_WEBHOOK_ALLOW
// reaches the service: a webhook to the allowed loopback port registers,
// one to another port of the same address answers 422 on url, and the
// start-up log shows the list.
func TestServeTakesWebhookAllowListFromEnvironment(t *testing.T) {
	token := "bootstrap-token-0123456789abcdefghijklmnop"
	env := envOf(map[string]string{
		"DATASHARE_ADMIN_EMAIL":   "admin@tech.gov.sg",
		"DATASHARE_ADMIN_TOKEN":   token,
		"DATASHARE_WEBHOOK_ALLOW": "127.0.0.1/32:9000",
	})
	p := mustServe(t, env, "--addr", "127.0.0.1:0", "--db", t.TempDir()+"/datashare.db")
	hook := func(url string) map[string]any {
		return map[string]any{"url": url, "events": []string{"*"}, "secret": "s3cret-of-sixteen-chars"}
	}
	if st := p.do(http.MethodPost, "/api/v1/webhooks", token, hook("http://127.0.0.1:9000/hook"), nil); st != http.StatusCreated {
		t.Errorf("webhook to the allowed port: got %d, want 201", st)
	}
	var refused struct {
		Error struct{ Code, Field string }
	}
	if st := p.do(http.MethodPost, "/api/v1/webhooks", token, hook("http://127.0.0.1:9001/hook"), &refused); st != http.StatusUnprocessableEntity || refused.Error.Field != "url" {
		t.Errorf("webhook to another port: got %d %+v, want 422 on url", st, refused)
	}
	if !strings.Contains(p.stderr.String(), "127.0.0.1/32:9000") {
		t.Errorf("the start-up log does not show the allow-list:\n%s", p.stderr)
	}
	p.mustStop()
}
