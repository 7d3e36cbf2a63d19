package api_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"datashare/api"
	"datashare/models"
	"datashare/models/modelstest"
)

// TestEveryAnswerCarriesTheSecurityHeaders: answers of every kind carry
// nosniff and the denial of framing; authenticated ones are never cached;
// Strict-Transport-Security is sent exactly when the service is reached
// over https.
func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	db := modelstest.MustOpen(t, models.SQLite)
	e := newQuietEnv(t, db) // the cast and their tokens
	for _, https := range []bool{false, true} {
		d, _ := mustDeps(t, db, e.now, slog.New(slog.NewTextHandler(io.Discard, nil)))
		d.HTTPS = https
		srv := httptest.NewServer(api.New(d))
		t.Cleanup(srv.Close)
		for _, tc := range []struct {
			name, method, path, token, body string
			status                          int
			authed                          bool
		}{
			{"health", "GET", "/healthz", "", "", 200, false},
			{"openapi", "GET", "/api/v1/openapi.yaml", "", "", 200, false},
			{"unknown route", "GET", "/api/v1/nope", "", "", 404, false},
			{"wrong method", "DELETE", "/api/v1/me", "", "", 405, false},
			{"no token", "GET", "/api/v1/me", "", "", 401, true},
			{"me", "GET", "/api/v1/me", "MOH.requester", "", 200, true},
			{"list", "GET", "/api/v1/requests", "MOH.requester", "", 200, true},
			{"refused", "POST", "/api/v1/requests", "MOH.requester", `{"title":""}`, 422, true},
			{"report file", "GET", "/api/v1/reports/sla.csv?from=2025-01-01&to=2026-01-01", "admin", "", 200, true},
		} {
			t.Run(fmt.Sprintf("%s/https=%v", tc.name, https), func(t *testing.T) {
				req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
				if tc.token != "" {
					req.Header.Set("Authorization", "Bearer "+e.tokens[tc.token])
				}
				if tc.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				res, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != tc.status {
					t.Fatalf("got %d, want %d", res.StatusCode, tc.status)
				}
				h := res.Header
				for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
					if got := h.Get(name); got != want {
						t.Errorf("%s: got %q, want %q", name, got, want)
					}
				}
				if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
					t.Errorf("Content-Security-Policy: got %q, want frame-ancestors 'none'", csp)
				}
				if got := h.Get("Cache-Control"); tc.authed && got != "no-store" {
					t.Errorf("Cache-Control: got %q, want no-store", got)
				}
				hsts := h.Get("Strict-Transport-Security")
				if https && !strings.HasPrefix(hsts, "max-age=") {
					t.Errorf("Strict-Transport-Security over https: got %q, want max-age=…", hsts)
				}
				if !https && hsts != "" {
					t.Errorf("Strict-Transport-Security over http: got %q, want none", hsts)
				}
			})
		}
	}
}
