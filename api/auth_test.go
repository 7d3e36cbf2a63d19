package api_test

import (
	"net/http"
	"testing"

	"datashare/models"
	"datashare/models/modelstest"
)

// TestUnknownTokensAnswer429AsDocumented: past the burst, an address's
// unknown tokens answer the documented 429 with Retry-After, and a valid
// token from the same address is not slowed.
func TestUnknownTokensAnswer429AsDocumented(t *testing.T) {
	e := newEnv(t, modelstest.MustOpen(t, models.SQLite))
	me := request{method: http.MethodGet, path: "/api/v1/me", token: "dst_not-a-token"}
	for range 20 {
		mustStatus(t, e.do(t, me), http.StatusUnauthorized, "unauthenticated")
	}
	r := e.do(t, me)
	mustStatus(t, r, http.StatusTooManyRequests, "too_many_requests")
	if got := r.Header.Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After %q, want 3", got)
	}
	mustStatus(t, e.do(t, request{method: http.MethodGet, path: "/api/v1/me", token: "admin"}), http.StatusOK, "")
}
