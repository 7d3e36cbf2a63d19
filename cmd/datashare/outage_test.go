package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
)

// answer is one HTTP answer with the time it took.
type answer struct {
	status int
	header http.Header
	body   string
	took   time.Duration
}

func send(t *testing.T, c *http.Client, method, addr, token string, body any) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, addr, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, addr, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: res.StatusCode, header: res.Header, body: string(b), took: time.Since(start)}
}

// The service answers 503 unavailable, with Retry-After, while PostgreSQL
// refuses connections or is frozen, /readyz says so within 2 s, and both
// pass again by themselves once the database is back. The outage is real
// networking: a TCP proxy between the service and the shared server
// refuses or stalls, since the server itself cannot be stopped.
func TestServeAnswers503WhilePostgresIsAwayAndRecovers(t *testing.T) {
	// The schema is built first with the default timeouts: the short
	// ones below are for the outage, not for migrations on a server that
	// other tests share.
	direct := modelstest.DSN(t, models.Postgres)
	var out strings.Builder
	if err := run(t.Context(), []string{"migrate", "--db", direct}, envOf(nil), &out, &out); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out.String())
	}
	dsn, proxy := modelstest.ProxyDSN(t, direct)
	const statementTimeout = time.Second
	p := mustServe(t, envOf(nil), "--demo", "--addr", "127.0.0.1:0", "--db", dsn,
		"--db-connect-timeout", "1s", "--db-statement-timeout", statementTimeout.String())
	tok := p.mustToken(mohRequester)
	page := p.mustSignIn(t, mohRequester)
	api := http.DefaultClient
	newRequest := map[string]any{
		"title": "Outage check", "purpose": "p", "data_description": "d",
		"classification": "official-open", "owner_agency": "HDB",
	}
	mustPass := func(when string) {
		t.Helper()
		if a := send(t, api, "GET", p.url+"/readyz", "", nil); a.status != http.StatusOK {
			t.Errorf("%s: GET /readyz got %d %s, want 200", when, a.status, a.body)
		}
		if a := send(t, api, "GET", p.url+"/api/v1/me", tok, nil); a.status != http.StatusOK {
			t.Errorf("%s: GET /api/v1/me got %d %s, want 200", when, a.status, a.body)
		}
		if a := send(t, api, "POST", p.url+"/api/v1/requests", tok, newRequest); a.status != http.StatusCreated {
			t.Errorf("%s: POST /api/v1/requests got %d %s, want 201", when, a.status, a.body)
		}
		if a := send(t, page, "GET", p.url+"/", "", nil); a.status != http.StatusOK {
			t.Errorf("%s: GET / (page) got %d, want 200", when, a.status)
		}
	}
	mustPass("before the outage")

	// A call may wait out one silent statement, plus a second of margin;
	// after that the service answers at once.
	callLimit := statementTimeout + 2*time.Second
	for _, outage := range []struct {
		name  string
		start func()
	}{
		{"refused", proxy.Refuse},
		{"frozen", proxy.Freeze},
	} {
		t.Run(outage.name, func(t *testing.T) {
			// Connections open before the outage are the ones a frozen
			// server strands.
			mustPass("just before")
			outage.start()
			ready := send(t, api, "GET", p.url+"/readyz", "", nil)
			t.Logf("%s: /readyz %d after %s", outage.name, ready.status, ready.took.Round(time.Millisecond))
			if ready.status != http.StatusServiceUnavailable || strings.TrimSpace(ready.body) != `{"status":"unavailable"}` || ready.took > 2*time.Second {
				t.Errorf("GET /readyz: got %d %s after %s, want 503 {\"status\":\"unavailable\"} within 2s", ready.status, ready.body, ready.took)
			}
			for _, call := range []struct {
				method, path string
				body         any
			}{
				{"GET", "/api/v1/me", nil},
				{"POST", "/api/v1/requests", newRequest},
				{"GET", "/api/v1/me", nil},
			} {
				a := send(t, api, call.method, p.url+call.path, tok, call.body)
				t.Logf("%s: %s %s %d after %s", outage.name, call.method, call.path, a.status, a.took.Round(time.Millisecond))
				var eb errorBody
				_ = json.Unmarshal([]byte(a.body), &eb)
				if a.status != http.StatusServiceUnavailable || eb.Error.Code != "unavailable" || a.header.Get("Retry-After") != "5" || a.took > callLimit {
					t.Errorf("%s %s: got %d %s (Retry-After %q) after %s, want 503 unavailable with Retry-After 5 within %s",
						call.method, call.path, a.status, a.body, a.header.Get("Retry-After"), a.took, callLimit)
				}
			}
			a := send(t, page, "GET", p.url+"/", "", nil)
			t.Logf("%s: page / %d after %s", outage.name, a.status, a.took.Round(time.Millisecond))
			if a.status != http.StatusServiceUnavailable || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") ||
				!strings.Contains(a.body, "cannot reach its database") || a.header.Get("Retry-After") != "5" || a.took > callLimit {
				t.Errorf("GET / (page): got %d %s, Retry-After %q, after %s; want a 503 HTML page saying the database cannot be reached",
					a.status, a.header.Get("Content-Type"), a.header.Get("Retry-After"), a.took)
			}

			proxy.Resume()
			back := time.Now()
			for {
				if r := send(t, api, "GET", p.url+"/readyz", "", nil); r.status == http.StatusOK {
					break
				}
				if time.Since(back) > 10*time.Second {
					t.Fatalf("/readyz still not 200 %s after the database came back", time.Since(back))
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("%s: /readyz 200 again %s after the database came back", outage.name, time.Since(back).Round(time.Millisecond))
			mustPass("once the database is back")
		})
	}
	p.mustStop()
}
