package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
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

var newTokenSecret = regexp.MustCompile(`id="new-token-secret" type="text" readonly value="(dst_[^"]+)"`)

func TestAccountTokens(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		const email = "req@msf.gov.sg"
		b := s.signIn(t, email)
		b.get("/account")

		t.Run("refusals_name_their_field_and_create_nothing", func(t *testing.T) {
			for _, tc := range []struct {
				name, day, field, message string
			}{
				{"", "", "token_name", "Token name is required"},
				{strings.Repeat("n", 101), "", "token_name", "Token name is required"},
				{"laptop", "31/12/2030", "token_expires", "Enter the expiry date as a date"},
				{"laptop", "2020-01-01", "token_expires", "The expiry date must be today or later"},
			} {
				a := b.post("/account/tokens", url.Values{"token_name": {tc.name}, "token_expires": {tc.day}})
				if a.Status != http.StatusUnprocessableEntity {
					t.Fatalf("%q %q: status %d, want 422", tc.name, tc.day, a.Status)
				}
				if !strings.Contains(a.Body, `id="`+tc.field+`-error"`) || !strings.Contains(a.Body, tc.message) || !strings.Contains(a.Body, `href="#`+tc.field+`"`) {
					t.Errorf("%q %q: want the error %q at %s and in the summary\n%s", tc.name, tc.day, tc.message, tc.field, a.Body)
				}
			}
			if n := countRows(t, db, "api_tokens", "user_id = ?", s.Users[email].ID); n != 0 {
				t.Errorf("tokens after refusals: %d, want 0", n)
			}
		})

		var secret string
		t.Run("create_shows_the_secret_once_and_it_works", func(t *testing.T) {
			a := b.post("/account/tokens", url.Values{"token_name": {"laptop script"}, "token_expires": {"2099-12-31"}})
			if a.Status != http.StatusCreated {
				t.Fatalf("create: status %d, want 201\n%s", a.Status, a.Body)
			}
			m := newTokenSecret.FindStringSubmatch(a.Body)
			if m == nil {
				t.Fatalf("the page does not show the new secret\n%s", a.Body)
			}
			secret = m[1]
			if st, _ := s.api(t, "GET", "/api/v1/me", secret, nil); st != http.StatusOK {
				t.Errorf("the new token: %d, want 200", st)
			}
			list := b.get("/account")
			if strings.Contains(list.Body, secret) {
				t.Errorf("the secret is shown again")
			}
			if !strings.Contains(list.Body, "<td>laptop script</td>") || !strings.Contains(list.Body, "Fri 1 Jan 2100, 00:00 SGT") {
				t.Errorf("the list lacks the token and its expiry at the end of 31 Dec 2099\n%s", list.Body)
			}
		})

		t.Run("revoke_stops_the_token_at_once", func(t *testing.T) {
			var id int64
			if err := db.Gorm.Table("api_tokens").Select("id").Where("user_id = ? AND name = ?", s.Users[email].ID, "laptop script").Scan(&id).Error; err != nil || id == 0 {
				t.Fatalf("token id: %v", err)
			}
			other := s.signIn(t, "req2@msf.gov.sg")
			other.get("/account")
			if a := other.post(fmt.Sprintf("/account/tokens/%d/revoke", id), nil); a.Status != http.StatusNotFound {
				t.Errorf("another user revoking: status %d, want 404", a.Status)
			}
			if a := b.send(http.MethodPost, fmt.Sprintf("/account/tokens/%d/revoke", id), url.Values{}, nil); a.Status != http.StatusForbidden {
				t.Errorf("revoking without the CSRF token: status %d, want 403", a.Status)
			}
			if st, _ := s.api(t, "GET", "/api/v1/me", secret, nil); st != http.StatusOK {
				t.Fatalf("the token after refused revocations: %d, want 200", st)
			}
			a := b.post(fmt.Sprintf("/account/tokens/%d/revoke", id), nil)
			if a.Status != http.StatusSeeOther || a.Location != "/account" {
				t.Fatalf("revoke: %d to %q, want 303 to /account", a.Status, a.Location)
			}
			if st, _ := s.api(t, "GET", "/api/v1/me", secret, nil); st != http.StatusUnauthorized {
				t.Errorf("the revoked token: %d, want 401", st)
			}
			if page := b.get("/account"); !strings.Contains(page.Body, "has been revoked") || strings.Contains(page.Body, "<td>laptop script</td>") {
				t.Errorf("after revoking: want the notice and no token listed\n%s", page.Body)
			}
		})
	})
}

func TestPasswordChangeRefusesTheEmail(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		const email = "manager@msf.gov.sg"
		b := s.signIn(t, email)
		b.get("/account")
		a := b.post("/account/password", url.Values{"current_password": {password}, "new_password": {"Manager@MSF.gov.sg"}, "confirm_password": {"Manager@MSF.gov.sg"}})
		if a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "The password must not be the email address") || !strings.Contains(a.Body, `id="new_password-error"`) {
			t.Fatalf("the email as the new password: %d, want 422 at new_password\n%s", a.Status, a.Body)
		}
		if _, err := s.Accounts.SignIn(context.Background(), email, password, "192.0.2.1"); err != nil {
			t.Errorf("the old password after the refusal: %v", err)
		}
	})
}

func countRows(tb testing.TB, db *models.DB, table, where string, args ...any) int64 {
	tb.Helper()
	var n int64
	if err := db.Gorm.Table(table).Where(where, args...).Count(&n).Error; err != nil {
		tb.Fatal(err)
	}
	return n
}

// TestHandedOverRequestShowsInItsHistory hands a submitted request over and
// reads its page as the new requester, who may now act on it.
func TestHandedOverRequestShowsInItsHistory(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		id := s.mustRequest(t, "req@msf.gov.sg", "MOH", "official-open", "Household counts")
		s.mustApply(t, id, [2]string{"req@msf.gov.sg", "submit"})
		if _, err := s.Workflow.Reassign(context.Background(), s.actor("admin@govtech.gov.sg"), id, s.Users["req2@msf.gov.sg"].ID, "", 0); err != nil {
			t.Fatal(err)
		}
		a := s.signIn(t, "req2@msf.gov.sg").get(fmt.Sprintf("/requests/%d", id))
		if a.Status != http.StatusOK {
			t.Fatalf("the request page: %d", a.Status)
		}
		for _, want := range []string{"<strong>Handed over</strong> by ", "Handed over from req@msf.gov.sg &lt;req@msf.gov.sg&gt; to req2@msf.gov.sg &lt;req2@msf.gov.sg&gt;", `>Withdraw</button>`} {
			if !strings.Contains(a.Body, want) {
				t.Errorf("the request page lacks %q", want)
			}
		}
	})
}
