package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"datashare/accounts"
	"datashare/models"
	"datashare/models/modelstest"
)

// mustToken issues an API token to email.
func (s *site) mustToken(tb testing.TB, email string) string {
	tb.Helper()
	me := s.actor(email)
	_, secret, err := s.Accounts.IssueToken(context.Background(), me, me.ID, "laptop", nil)
	if err != nil {
		tb.Fatal(err)
	}
	return secret
}

// api sends a JSON call to the site's API with token and returns the
// status and the error message, if any.
func (s *site) api(tb testing.TB, method, path, token string, body any) (int, string) {
	tb.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	var e struct {
		Error struct{ Message string } `json:"error"`
	}
	_ = json.NewDecoder(res.Body).Decode(&e)
	return res.StatusCode, e.Error.Message
}

// TestUserChangesTakeEffectAtOnce changes a signed-in user through the API
// and checks, on the very next request to either replica, their session
// cookie and their bearer token.
func TestUserChangesTakeEffectAtOnce(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		other := s.replica(t, siteOptions{})
		admin := s.mustToken(t, "admin@govtech.gov.sg")
		for _, tc := range []struct {
			email          string
			patch          map[string]any
			sessionEnds    bool
			tokenRefused   bool
			refusalMessage string
		}{
			{"req@msf.gov.sg", map[string]any{"active": false}, true, true, "deactivating a user"},
			{"req2@msf.gov.sg", map[string]any{"agency": "HDB"}, true, true, "changing their agency"},
			{"approver1@moh.gov.sg", map[string]any{"roles": []string{"approver", "manager"}}, true, false, ""},
			{"approver2@moh.gov.sg", map[string]any{"password": "an admin-set passphrase"}, true, false, ""},
			{"manager@moh.gov.sg", map[string]any{"name": "Renamed Manager"}, false, false, ""},
		} {
			t.Run(fmt.Sprint(tc.patch), func(t *testing.T) {
				here := s.signIn(t, tc.email)
				there := other.signIn(t, tc.email)
				token := s.mustToken(t, tc.email)
				if st, _ := other.api(t, "GET", "/api/v1/me", token, nil); st != http.StatusOK {
					t.Fatalf("token before the change: %d", st)
				}
				st, msg := s.api(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", s.Users[tc.email].ID), admin, tc.patch)
				if st != http.StatusOK {
					t.Fatalf("PATCH: %d %s", st, msg)
				}
				for name, b := range map[string]*browser{"this replica": here, "another replica": there} {
					a := b.get("/account")
					ended := a.Status == http.StatusSeeOther && strings.HasPrefix(a.Location, "/login")
					if ended != tc.sessionEnds {
						t.Errorf("session on %s: /account answered %d to %q; ended %v, want %v", name, a.Status, a.Location, ended, tc.sessionEnds)
					}
				}
				for _, r := range []*site{other, s} {
					st, msg := r.api(t, "GET", "/api/v1/me", token, nil)
					if refused := st == http.StatusUnauthorized; refused != tc.tokenRefused {
						t.Errorf("token on the next request: %d %q; refused %v, want %v", st, msg, refused, tc.tokenRefused)
					}
					if tc.tokenRefused && !strings.Contains(msg, tc.refusalMessage) {
						t.Errorf("token refusal: got %q, want it to say %q", msg, tc.refusalMessage)
					}
				}
			})
		}
	})
}

func TestDeactivatedUserCannotSignIn(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		ctx := context.Background()
		const email = "req@hdb.gov.sg"
		off, on := false, true
		if _, err := s.Accounts.UpdateUser(ctx, s.actor("admin@govtech.gov.sg"), s.Users[email].ID, accountsPatch(&off)); err != nil {
			t.Fatal(err)
		}
		b := s.browser(t)
		b.get("/login")
		a := b.post("/login", url.Values{"email": {email}, "password": {password}})
		if a.Status != http.StatusUnauthorized || !strings.Contains(a.Body, "This account is deactivated") {
			t.Fatalf("deactivated sign-in: %d, want 401 saying the account is deactivated\n%s", a.Status, a.Body)
		}
		if b.signedIn() {
			t.Errorf("a deactivated user is signed in")
		}
		// A wrong password tells nothing more than for anyone.
		a = b.post("/login", url.Values{"email": {email}, "password": {"not the password at all"}})
		if a.Status != http.StatusUnauthorized || strings.Contains(a.Body, "deactivated") {
			t.Errorf("wrong password of a deactivated user: %d, want 401 without a word of deactivation", a.Status)
		}
		if _, err := s.Accounts.UpdateUser(ctx, s.actor("admin@govtech.gov.sg"), s.Users[email].ID, accountsPatch(&on)); err != nil {
			t.Fatal(err)
		}
		if a := b.post("/login", url.Values{"email": {email}, "password": {password}}); a.Status != http.StatusSeeOther || !b.signedIn() {
			t.Errorf("reactivated sign-in: %d, want 303 and signed in", a.Status)
		}
	})
}

func accountsPatch(active *bool) accounts.UserPatch { return accounts.UserPatch{Active: active} }
