package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
)

// logBuffer collects the log lines of a site, written by its goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// attempt posts one sign-in from b.
func (b *browser) attempt(email, pw string) answer {
	b.tb.Helper()
	b.get("/login")
	return b.post("/login", url.Values{"email": {email}, "password": {pw}})
}

const wrongPassword = "guess number one two three"

func TestLockoutAfterFiveFailures(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		clk := newClock("2026-06-01T10:00:00+08:00")
		var logs logBuffer
		s := newSite(t, db, siteOptions{App: apptest.Options{Now: clk.Now, Log: logs.logger()}})
		const email = "req@msf.gov.sg"

		b := s.browser(t).from("192.0.2.10")
		for i := 1; i <= 5; i++ {
			if a := b.attempt(email, wrongPassword); a.Status != http.StatusUnauthorized {
				t.Fatalf("failure %d: status %d, want 401", i, a.Status)
			}
		}
		locked := b.attempt(email, password)
		if locked.Status != http.StatusTooManyRequests {
			t.Fatalf("6th attempt with the right password: status %d, want 429", locked.Status)
		}
		if got := locked.Header.Get("Retry-After"); got != "900" {
			t.Errorf("Retry-After %q, want 900", got)
		}
		if want := "Try again after Mon 1 Jun 2026, 10:15 SGT."; !strings.Contains(locked.Body, want) {
			t.Errorf("locked page lacks %q:\n%s", want, locked.Body)
		}
		if a := b.get("/"); a.Status != http.StatusSeeOther {
			t.Errorf("the refused attempt signed in: / answered %d", a.Status)
		}

		clk.set("2026-06-01T10:14:59+08:00")
		if a := b.attempt(email, password); a.Status != http.StatusTooManyRequests || a.Header.Get("Retry-After") != "1" {
			t.Errorf("a second before the end: status %d, Retry-After %q, want 429 and 1", a.Status, a.Header.Get("Retry-After"))
		}

		clk.set("2026-06-01T10:15:00+08:00")
		if a := b.attempt(email, password); a.Status != http.StatusSeeOther {
			t.Fatalf("after 15 minutes: status %d, want 303", a.Status)
		}

		// The success cleared the count: four failures more, a success, and
		// four again never lock.
		b2 := s.browser(t).from("192.0.2.11")
		for round := range 2 {
			for i := 1; i <= 4; i++ {
				if a := b2.attempt(email, wrongPassword); a.Status != http.StatusUnauthorized {
					t.Fatalf("round %d failure %d: status %d, want 401", round, i, a.Status)
				}
			}
			if a := b2.attempt(email, password); a.Status != http.StatusSeeOther {
				t.Fatalf("round %d: the right password after 4 failures answered %d, want 303", round, a.Status)
			}
		}

		out := logs.String()
		for _, want := range []string{
			`msg="sign-in failed" outcome=failed email=req@msf.gov.sg address=192.0.2.10`,
			`level=WARN msg="sign-in locked" outcome=locked email=req@msf.gov.sg address=192.0.2.10`,
			`level=WARN msg="sign-in refused while locked" outcome=refused email=req@msf.gov.sg address=192.0.2.10`,
			`msg="signed in" outcome=signed_in email=req@msf.gov.sg address=192.0.2.10`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("log lacks %q", want)
			}
		}
		for _, secret := range []string{password, wrongPassword} {
			if strings.Contains(out, secret) {
				t.Errorf("log holds the password %q", secret)
			}
		}
	})
}

func TestUnknownEmailsAreLockedOutAlike(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		clk := newClock("2026-06-01T10:00:00+08:00")
		s := newSite(t, db, siteOptions{App: apptest.Options{Now: clk.Now}})
		var bodies []string
		for i, email := range []string{"req@msf.gov.sg", "nobody@msf.gov.sg"} {
			b := s.browser(t).from("192.0.2." + string(rune('1'+i)))
			for range 5 {
				b.attempt(email, wrongPassword)
			}
			a := b.attempt(email, wrongPassword)
			if a.Status != http.StatusTooManyRequests {
				t.Fatalf("%s, 6th attempt: status %d, want 429", email, a.Status)
			}
			_, summary, _ := strings.Cut(a.Body, `class="error-summary"`)
			summary, _, _ = strings.Cut(summary, "</div>")
			if !strings.Contains(summary, "Try again after Mon 1 Jun 2026, 10:15 SGT.") {
				t.Errorf("%s, 6th attempt: the page does not say when to try again:\n%s", email, a.Body)
			}
			bodies = append(bodies, summary)
		}
		if bodies[0] != bodies[1] {
			t.Errorf("the lockout of an unknown email reads differently from a known one's:\n%s\n---\n%s", bodies[0], bodies[1])
		}
	})
}

func TestLockoutCountIsSharedByReplicas(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		clk := newClock("2026-06-01T10:00:00+08:00")
		o := siteOptions{App: apptest.Options{Now: clk.Now}}
		one := newSite(t, db, o)
		two := one.replica(t, o)
		const email = "approver1@moh.gov.sg"
		b := one.browser(t).from("192.0.2.20")
		for i := 1; i <= 5; i++ {
			on := b
			if i%2 == 0 {
				on = b.on(two)
			}
			if a := on.attempt(email, wrongPassword); a.Status != http.StatusUnauthorized {
				t.Fatalf("failure %d: status %d, want 401", i, a.Status)
			}
		}
		for name, s := range map[string]*site{"first": one, "second": two} {
			if a := b.on(s).attempt(email, password); a.Status != http.StatusTooManyRequests {
				t.Errorf("%s replica after 5 failures spread over both: status %d, want 429", name, a.Status)
			}
		}
	})
}

func TestSignInsPerAddressAreLimited(t *testing.T) {
	s := newSite(t, modelstest.MustOpen(t, models.SQLite), siteOptions{})
	flood := s.browser(t).from("203.0.113.9")
	flood.get("/login")
	// Every attempt counts, even one the form's check refuses; these are
	// quick, so that the limit does not refill meanwhile.
	for i := range 9 {
		if a := flood.post("/login", url.Values{"csrf": {"forged"}, "email": {"req@msf.gov.sg"}, "password": {password}}); a.Status != http.StatusForbidden {
			t.Fatalf("attempt %d without the form's token: status %d, want 403", i+1, a.Status)
		}
	}
	if a := flood.post("/login", url.Values{"email": {"nobody@msf.gov.sg"}, "password": {wrongPassword}}); a.Status != http.StatusUnauthorized {
		t.Fatalf("10th attempt: status %d, want 401", a.Status)
	}
	a := flood.post("/login", url.Values{"email": {"req@msf.gov.sg"}, "password": {password}})
	if a.Status != http.StatusTooManyRequests || a.Header.Get("Retry-After") != "6" || !strings.Contains(a.Body, "Too many attempts") {
		t.Fatalf("11th attempt from one address: status %d, Retry-After %q, want 429, 6 and the page\n%s", a.Status, a.Header.Get("Retry-After"), a.Body)
	}
	if a := flood.get("/"); a.Status != http.StatusSeeOther {
		t.Errorf("the refused attempt signed in: / answered %d", a.Status)
	}
	other := s.browser(t).from("203.0.113.10")
	if a := other.attempt("req@msf.gov.sg", password); a.Status != http.StatusSeeOther {
		t.Errorf("another address: status %d, want 303", a.Status)
	}
}

func TestUnknownTokensArePerAddressLimited(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		var logs logBuffer
		s := newSite(t, db, siteOptions{App: apptest.Options{Log: logs.logger()}})
		ctx := context.Background()
		me := s.actor("req@msf.gov.sg")
		_, valid, err := s.Accounts.IssueToken(ctx, me, me.ID, "laptop", nil)
		if err != nil {
			t.Fatal(err)
		}
		revoked, revokedSecret, err := s.Accounts.IssueToken(ctx, me, me.ID, "old", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Accounts.RevokeToken(ctx, me, revoked.ID); err != nil {
			t.Fatal(err)
		}
		get := func(token, addr string) (int, http.Header, string) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("X-Forwarded-For", addr)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct {
				Error struct{ Code string } `json:"error"`
			}
			_ = json.NewDecoder(res.Body).Decode(&body)
			return res.StatusCode, res.Header, body.Error.Code
		}
		const scanner = "198.51.100.7"
		for i := range 20 {
			token := "dst_guess" + strings.Repeat("x", i)
			if i%2 == 1 {
				token = revokedSecret
			}
			if st, _, code := get(token, scanner); st != http.StatusUnauthorized || code != "unauthenticated" {
				t.Fatalf("unknown token %d: %d %s, want 401 unauthenticated", i+1, st, code)
			}
		}
		st, h, code := get("dst_guess-21", scanner)
		if st != http.StatusTooManyRequests || code != "too_many_requests" || h.Get("Retry-After") != "3" {
			t.Fatalf("21st unknown token: %d %s Retry-After %q, want 429 too_many_requests 3", st, code, h.Get("Retry-After"))
		}
		if st, _, _ := get(revokedSecret, scanner); st != http.StatusTooManyRequests {
			t.Errorf("revoked token after the burst: %d, want 429", st)
		}
		for i := range 30 {
			if st, _, code := get(valid, scanner); st != http.StatusOK {
				t.Fatalf("valid token %d from the scanning address: %d %s, want 200", i+1, st, code)
			}
		}
		if st, _, _ := get("dst_guess-other", "198.51.100.8"); st != http.StatusUnauthorized {
			t.Errorf("an unknown token from another address: %d, want 401", st)
		}
		out := logs.String()
		if !strings.Contains(out, `msg="unknown API tokens limited" address=198.51.100.7`) {
			t.Errorf("log lacks the limited address:\n%s", out)
		}
		for _, secret := range []string{valid, revokedSecret, "dst_guess-21"} {
			if strings.Contains(out, secret) {
				t.Errorf("log holds the token %q", secret)
			}
		}
	})
}

func TestRecentSignInsShowOutcomes(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		clk := newClock("2026-06-01T10:00:00+08:00")
		s := newSite(t, db, siteOptions{App: apptest.Options{Now: clk.Now}})
		const email = "req2@msf.gov.sg"
		elsewhere := s.browser(t).from("192.0.2.30")
		for range 3 { // signed in at 10:00, 10:02, 10:04; out a minute after each
			elsewhere.attempt(email, password)
			clk.advance(time.Minute)
			elsewhere.post("/logout", nil)
			clk.advance(time.Minute)
		}
		for range 5 {
			elsewhere.attempt(email, wrongPassword)
		}
		elsewhere.attempt(email, password)
		// Someone else's failure is not in this user's list.
		s.browser(t).from("192.0.2.32").attempt("req@msf.gov.sg", wrongPassword)

		clk.set("2026-06-01T10:30:00+08:00")
		b := s.browser(t).from("192.0.2.31")
		if a := b.attempt(email, password); a.Status != http.StatusSeeOther {
			t.Fatalf("sign in: %d", a.Status)
		}
		page := b.get("/account")
		if page.Status != http.StatusOK || !strings.Contains(page.Body, "Recent sign-ins") {
			t.Fatalf("/account: %d\n%s", page.Status, page.Body)
		}
		_, table, _ := strings.Cut(page.Body, `<table id="sign-ins">`)
		table, _, _ = strings.Cut(table, "</table>")
		if rows := strings.Count(table, "<tr><td>"); rows != 10 {
			t.Errorf("%d rows, want the last 10 of 13", rows)
		}
		want := []string{
			"<td>Mon 1 Jun 2026, 10:30 SGT</td><td>192.0.2.31</td><td>Signed in</td>",
			"<td>Mon 1 Jun 2026, 10:06 SGT</td><td>192.0.2.30</td><td>Refused: sign-in locked after failed attempts</td>",
			"<td>Mon 1 Jun 2026, 10:06 SGT</td><td>192.0.2.30</td><td>Wrong password; sign-in locked for 15 minutes</td>",
			"<td>Mon 1 Jun 2026, 10:06 SGT</td><td>192.0.2.30</td><td>Wrong password</td>",
			"<td>Mon 1 Jun 2026, 10:05 SGT</td><td>192.0.2.30</td><td>Signed out</td>",
			"<td>Mon 1 Jun 2026, 10:04 SGT</td><td>192.0.2.30</td><td>Signed in</td>",
			"<td>Mon 1 Jun 2026, 10:03 SGT</td><td>192.0.2.30</td><td>Signed out</td>",
		}
		last := -1
		for _, w := range want {
			i := strings.Index(table, w)
			if i < 0 || i < last {
				t.Errorf("the list lacks %q after the row before it:\n%s", w, table)
				continue
			}
			last = i
		}
		for _, gone := range []string{"10:02 SGT", "10:00 SGT", "192.0.2.32"} {
			if strings.Contains(table, gone) {
				t.Errorf("the list shows %q, beyond the last 10 or not this user's", gone)
			}
		}
	})
}

// TestGuessesAtOnceAreCountedAsTheyCome: twenty wrong guesses sent at the
// same moment, each from its own address so that no address limit applies.
// Each takes its place in the count before its password is checked: five
// are checked and the rest refused as locked; then the right password is
// refused too. (A right password among the guesses would clear the count,
// as a success does, and let later guesses be checked: only someone who
// knows the password can do that.)
func TestGuessesAtOnceAreCountedAsTheyCome(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		const email, guesses = "req@msf.gov.sg", 20
		statuses := make([]int, guesses)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range guesses {
			b := s.browser(t).from(fmt.Sprintf("192.0.2.%d", 100+i))
			b.get("/login") // the CSRF cookie, before the race
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				statuses[i] = b.attemptQuietly(email, wrongPassword)
			}()
		}
		close(start)
		wg.Wait()
		counts := map[int]int{}
		for _, st := range statuses {
			counts[st]++
		}
		if counts[http.StatusUnauthorized] != accounts.MaxFailures || counts[http.StatusTooManyRequests] != guesses-accounts.MaxFailures {
			t.Errorf("answers to %d wrong guesses at once: %v; want %d checked (401) and the rest 429", guesses, counts, accounts.MaxFailures)
		}
		if a := s.browser(t).from("192.0.2.99").attempt(email, password); a.Status != http.StatusTooManyRequests {
			t.Errorf("the right password after the guesses: status %d, want 429", a.Status)
		}
		var events []models.SignInEvent
		if err := db.Gorm.Where("email = ? AND outcome IN ?", email, []string{accounts.OutcomeFailed, accounts.OutcomeLocked}).Find(&events).Error; err != nil {
			t.Fatal(err)
		}
		if len(events) > accounts.MaxFailures {
			t.Errorf("passwords checked and refused: got %d, want at most %d", len(events), accounts.MaxFailures)
		}
	})
}

// attemptQuietly posts one sign-in from another goroutine than the test's,
// so it reports a failure to send as status 0 rather than through tb.
func (b *browser) attemptQuietly(email, pw string) int {
	form := url.Values{"email": {email}, "password": {pw}, "csrf": {b.csrf()}}
	req, err := http.NewRequest(http.MethodPost, b.site.URL+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", b.addr)
	res, err := b.client.Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}
