package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"datashare/audit"
	"datashare/models"
	"datashare/models/modelstest"
)

func (e *env) patchUser(tb testing.TB, who string, id int64, body any) resp {
	tb.Helper()
	return e.do(tb, request{method: "PATCH", path: fmt.Sprintf("/api/v1/users/%d", id), token: who, body: body})
}

func (e *env) mustPatchUser(tb testing.TB, id int64, body any) userView {
	tb.Helper()
	r := e.patchUser(tb, "admin", id, body)
	mustStatus(tb, r, http.StatusOK, "")
	var u userView
	r.decode(tb, &u)
	return u
}

// mustStored reads user id from the database.
func (e *env) mustStored(tb testing.TB, id int64) models.User {
	tb.Helper()
	u, err := e.acc.UserByID(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func hashOf(u models.User) string {
	if u.PasswordHash == nil {
		return ""
	}
	return *u.PasswordHash
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func (e *env) tokenCount(tb testing.TB, id int64) int64 {
	tb.Helper()
	return mustRowCount(tb, e.db, "api_tokens", "user_id = ?", id)
}

func TestUserPatchChangesEachField(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		me := func(who string) int {
			return e.do(t, request{method: "GET", path: "/api/v1/me", token: who}).Status
		}
		type effect struct{ endsSessions, revokesTokens bool }
		for _, tc := range []struct {
			name   string
			who    string
			body   map[string]any
			check  func(t *testing.T, u userView)
			effect effect
		}{
			{"name", "MOH.requester", map[string]any{"name": "  Tan Ah Kow "}, func(t *testing.T, u userView) {
				if u.Name != "Tan Ah Kow" {
					t.Errorf("name: got %q, want Tan Ah Kow", u.Name)
				}
			}, effect{}},
			{"roles", "MOH.requester2", map[string]any{"roles": []string{"requester", "approver", "requester"}}, func(t *testing.T, u userView) {
				if !slices.Equal(u.Roles, []string{"approver", "requester"}) {
					t.Errorf("roles: got %v, want [approver requester]", u.Roles)
				}
			}, effect{endsSessions: true}},
			{"agency", "MOH.approver", map[string]any{"agency": "HDB"}, func(t *testing.T, u userView) {
				if u.Agency != "HDB" {
					t.Errorf("agency: got %q, want HDB", u.Agency)
				}
			}, effect{endsSessions: true, revokesTokens: true}},
			{"password", "MOH.approver2", map[string]any{"password": "a long new passphrase"}, func(t *testing.T, u userView) {
				if _, err := e.acc.SignIn(context.Background(), u.Email, "a long new passphrase", "192.0.2.1"); err != nil {
					t.Errorf("sign in with the password set: %v", err)
				}
			}, effect{endsSessions: true}},
			{"deactivate", "MOH.manager", map[string]any{"active": false}, func(t *testing.T, u userView) {
				if u.Active || u.DeactivatedAt == nil {
					t.Errorf("deactivated: got active %v deactivated_at %v, want false and a time", u.Active, u.DeactivatedAt)
				}
			}, effect{endsSessions: true, revokesTokens: true}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				id := e.users[tc.who].ID
				before := e.mustStored(t, id)
				u := e.mustPatchUser(t, id, tc.body)
				tc.check(t, u)
				after := e.mustStored(t, id)
				if ended := after.SessionEpoch != before.SessionEpoch; ended != tc.effect.endsSessions {
					t.Errorf("session epoch %d -> %d: ended sessions %v, want %v", before.SessionEpoch, after.SessionEpoch, ended, tc.effect.endsSessions)
				}
				n := e.tokenCount(t, id)
				if revoked := n == 0; revoked != tc.effect.revokesTokens {
					t.Errorf("tokens left %d: revoked %v, want %v", n, revoked, tc.effect.revokesTokens)
				}
				want := http.StatusOK
				if tc.effect.revokesTokens {
					want = http.StatusUnauthorized
				}
				if got := me(tc.who); got != want {
					t.Errorf("the user's token on the next request: got %d, want %d", got, want)
				}
			})
		}

		t.Run("reactivate_keeps_tokens_revoked", func(t *testing.T) {
			id := e.users["MOH.manager"].ID
			u := e.mustPatchUser(t, id, map[string]any{"active": true})
			if !u.Active || u.DeactivatedAt != nil {
				t.Errorf("reactivated: got active %v deactivated_at %v, want true and null", u.Active, u.DeactivatedAt)
			}
			if n := e.tokenCount(t, id); n != 0 {
				t.Errorf("tokens after reactivation: got %d, want 0", n)
			}
		})

		t.Run("empty_patch_changes_nothing", func(t *testing.T) {
			id := e.users["HDB.requester"].ID
			before := e.mustStored(t, id)
			e.mustPatchUser(t, id, map[string]any{})
			if after := e.mustStored(t, id); after.SessionEpoch != before.SessionEpoch || after.Name != before.Name {
				t.Errorf("empty patch changed the user: %+v -> %+v", before, after)
			}
		})

		t.Run("the_same_roles_end_no_session", func(t *testing.T) {
			id := e.users["HDB.requester"].ID
			before := e.mustStored(t, id)
			e.mustPatchUser(t, id, map[string]any{"roles": []string{"requester"}, "agency": "HDB"})
			if after := e.mustStored(t, id); after.SessionEpoch != before.SessionEpoch {
				t.Errorf("unchanged roles and agency moved the epoch %d -> %d", before.SessionEpoch, after.SessionEpoch)
			}
			if n := e.tokenCount(t, id); n == 0 {
				t.Errorf("unchanged agency revoked the tokens")
			}
		})
	})
}

func TestUserPatchRefusals(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		target := e.users["X.requester"]
		admin := e.users["admin"]
		for _, tc := range []struct {
			name   string
			who    string
			id     int64
			body   any
			status int
			code   string
			field  string
		}{
			{"non_admin", "X.manager", target.ID, map[string]any{"name": "x"}, http.StatusForbidden, "forbidden", ""},
			{"non_admin_before_lookup", "X.manager", 999999, map[string]any{"name": "x"}, http.StatusForbidden, "forbidden", ""},
			{"unknown_user", "admin", 999999, map[string]any{"name": "x"}, http.StatusNotFound, "not_found", ""},
			{"blank_name", "admin", target.ID, map[string]any{"name": "  "}, http.StatusUnprocessableEntity, "invalid", "name"},
			{"long_name", "admin", target.ID, map[string]any{"name": strings.Repeat("n", 201)}, http.StatusUnprocessableEntity, "invalid", "name"},
			{"no_roles", "admin", target.ID, map[string]any{"roles": []string{}}, http.StatusUnprocessableEntity, "invalid", "roles"},
			{"unknown_role", "admin", target.ID, map[string]any{"roles": []string{"boss"}}, http.StatusUnprocessableEntity, "invalid", "roles"},
			{"unknown_agency", "admin", target.ID, map[string]any{"agency": "NOPE"}, http.StatusUnprocessableEntity, "invalid", "agency"},
			{"short_password", "admin", target.ID, map[string]any{"password": "short"}, http.StatusUnprocessableEntity, "invalid", "password"},
			{"password_is_the_email", "admin", target.ID, map[string]any{"password": "X.Requester@gov.sg"}, http.StatusUnprocessableEntity, "invalid", "password"},
			{"long_password", "admin", target.ID, map[string]any{"password": strings.Repeat("p", 73)}, http.StatusUnprocessableEntity, "invalid", "password"},
			{"wrong_type", "admin", target.ID, map[string]any{"active": "no"}, http.StatusBadRequest, "malformed", ""},
			{"unknown_field", "admin", target.ID, map[string]any{"email": "a@b.c"}, http.StatusBadRequest, "malformed", ""},
			{"deactivate_self", "admin", admin.ID, map[string]any{"active": false}, http.StatusUnprocessableEntity, "invalid", "active"},
			{"drop_own_admin_role", "admin", admin.ID, map[string]any{"roles": []string{"manager"}}, http.StatusUnprocessableEntity, "invalid", "roles"},
			{"change_own_agency", "admin", admin.ID, map[string]any{"agency": "MOH"}, http.StatusUnprocessableEntity, "invalid", "agency"},
			{"a_good_field_beside_a_bad_one", "admin", target.ID, map[string]any{"name": "Renamed", "active": false, "agency": "NOPE"}, http.StatusUnprocessableEntity, "invalid", "agency"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var before models.User
				if tc.id != 999999 {
					before = e.mustStored(t, tc.id)
				}
				tokens := e.tokenCount(t, tc.id)
				r := e.patchUser(t, tc.who, tc.id, tc.body)
				mustErrorBody(t, r, tc.status, tc.code)
				if tc.field != "" {
					mustFieldError(t, r, tc.field)
				}
				if tc.id == 999999 {
					return
				}
				after := e.mustStored(t, tc.id)
				if after.Name != before.Name || after.Roles != before.Roles || after.AgencyCode != before.AgencyCode ||
					after.SessionEpoch != before.SessionEpoch || after.Active() != before.Active() || hashOf(after) != hashOf(before) {
					t.Errorf("a refused patch changed the user: %+v -> %+v", before, after)
				}
				if n := e.tokenCount(t, tc.id); n != tokens {
					t.Errorf("a refused patch changed the tokens: %d -> %d", tokens, n)
				}
			})
		}

		t.Run("another_admin_may_do_what_one_may_not_do_to_oneself", func(t *testing.T) {
			second := e.mustPatchUser(t, e.users["X.manager"].ID, map[string]any{"roles": []string{"admin"}})
			if !slices.Equal(second.Roles, []string{"admin"}) {
				t.Fatalf("roles: got %v", second.Roles)
			}
			r := e.patchUser(t, "X.manager", admin.ID, map[string]any{"roles": []string{"admin", "manager"}})
			mustStatus(t, r, http.StatusOK, "")
			u := e.mustPatchUser(t, second.ID, map[string]any{"active": false})
			if u.Active {
				t.Errorf("the second admin is still active")
			}
		})
	})
}

func TestDeactivatedUserTokenAnswers401SayingSo(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		u := e.users["HDB.manager"]
		e.mustPatchUser(t, u.ID, map[string]any{"active": false})
		mustErrorBody(t, e.do(t, request{method: "GET", path: "/api/v1/me", token: "HDB.manager"}), http.StatusUnauthorized, "unauthenticated")
		// Tokens cannot be issued to them until reactivated.
		r := e.do(t, request{method: "POST", path: fmt.Sprintf("/api/v1/users/%d/tokens", u.ID), token: "admin", body: map[string]any{"name": "again"}})
		mustErrorBody(t, r, http.StatusConflict, "conflict")
		// Should a token survive (one stored behind the service's back),
		// it is refused with the reason.
		if err := db.Gorm.Exec("INSERT INTO api_tokens (user_id, name, hash, created_at) VALUES (?, 'kept', ?, ?)",
			u.ID, sha256Hex("dst_kept-token"), time.Now().UTC()).Error; err != nil {
			t.Fatal(err)
		}
		r = e.do(t, request{method: "GET", path: "/api/v1/me", token: "dst_kept-token"})
		mustErrorBody(t, r, http.StatusUnauthorized, "unauthenticated")
		if !strings.Contains(string(r.Body), "deactivated") {
			t.Errorf("message: got %s, want it to say the account is deactivated", r.Body)
		}
		// Their name stays in the user list.
		var us struct{ Items []userView }
		e.do(t, request{method: "GET", path: "/api/v1/users", token: "admin"}).decode(t, &us)
		i := slices.IndexFunc(us.Items, func(x userView) bool { return x.ID == u.ID })
		if i < 0 || us.Items[i].Name != u.Name || us.Items[i].Active {
			t.Errorf("user list: got %+v, want %s listed as inactive", us.Items, u.Name)
		}
	})
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		moh := e.users["MOH.requester"].ID
		issue := func(body map[string]any) resp {
			return e.do(t, request{method: "POST", path: fmt.Sprintf("/api/v1/users/%d/tokens", moh), token: "MOH.requester", body: body})
		}
		t.Run("refused_when_not_in_the_future", func(t *testing.T) {
			for _, at := range []time.Time{e.now().Add(-time.Second), e.now().Add(-24 * time.Hour)} {
				mustFieldError(t, issue(map[string]any{"name": "past", "expires_at": at.Format(time.RFC3339Nano)}), "expires_at")
			}
			mustErrorBody(t, issue(map[string]any{"name": "bad", "expires_at": "tomorrow"}), http.StatusBadRequest, "malformed")
			if n := mustRowCount(t, db, "api_tokens", "name IN ?", []string{"past", "bad"}); n != 0 {
				t.Errorf("tokens stored after refusals: %d", n)
			}
		})
		t.Run("works_until_it_expires_then_401_saying_so", func(t *testing.T) {
			at := e.now().Add(2 * time.Second).Truncate(time.Second)
			r := issue(map[string]any{"name": "short-lived", "expires_at": at.Format(time.RFC3339)})
			mustStatus(t, r, http.StatusCreated, "")
			var tok struct {
				ID        int64
				Token     string
				ExpiresAt *time.Time `json:"expires_at"`
			}
			r.decode(t, &tok)
			if tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(at) {
				t.Fatalf("expires_at: got %v, want %v", tok.ExpiresAt, at)
			}
			mustStatus(t, e.do(t, request{method: "GET", path: "/api/v1/me", token: tok.Token}), http.StatusOK, "")
			var list struct {
				Items []struct {
					ID        int64
					ExpiresAt *time.Time `json:"expires_at"`
				}
			}
			e.do(t, request{method: "GET", path: fmt.Sprintf("/api/v1/users/%d/tokens", moh), token: "MOH.requester"}).decode(t, &list)
			found := false
			for _, it := range list.Items {
				if it.ID == tok.ID {
					found = it.ExpiresAt != nil && it.ExpiresAt.Equal(at)
				} else if it.ExpiresAt != nil {
					t.Errorf("token %d without expiry listed with %v", it.ID, it.ExpiresAt)
				}
			}
			if !found {
				t.Errorf("token list: got %+v, want token %d expiring at %v", list.Items, tok.ID, at)
			}
			for e.now().Before(at) {
				time.Sleep(100 * time.Millisecond)
			}
			r = e.do(t, request{method: "GET", path: "/api/v1/me", token: tok.Token})
			mustErrorBody(t, r, http.StatusUnauthorized, "unauthenticated")
			if want := "expired at " + at.UTC().Format(time.RFC3339); !strings.Contains(string(r.Body), want) {
				t.Errorf("message: got %s, want it to hold %q", r.Body, want)
			}
			// The user's token without expiry still works.
			mustStatus(t, e.do(t, request{method: "GET", path: "/api/v1/me", token: "MOH.requester"}), http.StatusOK, "")
		})
	})
}

// reassignView is what the reassign tests read of a request.
type reassignView struct {
	ID        int64
	State     string
	Version   int
	Requester struct{ ID int64 }
}

func TestReassign(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		reassign := func(who string, id int64, body any) resp {
			return e.do(t, request{method: "POST", path: requestPath(id, "/reassign"), token: who, body: body})
		}
		from, to := e.users["MOH.requester"], e.users["MOH.requester2"]
		open := e.mustReach(t, "official-open", "submitted")

		t.Run("admin_hands_over_and_history_records_it", func(t *testing.T) {
			r := reassign("admin", open.ID, map[string]any{"requester": to.ID, "comment": "left the agency"})
			mustStatus(t, r, http.StatusOK, "")
			var got reassignView
			r.decode(t, &got)
			if got.Requester.ID != to.ID || got.State != "submitted" || got.Version != open.Version+1 {
				t.Fatalf("after reassign: got %+v, want requester %d, submitted, version %d", got, to.ID, open.Version+1)
			}
			if r.Header.Get("ETag") != fmt.Sprintf(`"%d"`, got.Version) {
				t.Errorf("ETag: got %q", r.Header.Get("ETag"))
			}
			var h struct {
				Items []struct {
					Action    string
					FromState *string `json:"from_state"`
					ToState   string  `json:"to_state"`
					Actor     *struct{ ID int64 }
					Comment   string
				}
			}
			e.do(t, request{method: "GET", path: requestPath(open.ID, "/history"), token: "admin"}).decode(t, &h)
			last := h.Items[len(h.Items)-1]
			wantComment := fmt.Sprintf("Handed over from %s <%s> to %s <%s>: left the agency", from.Name, from.Email, to.Name, to.Email)
			if last.Action != "reassign" || last.Actor == nil || last.Actor.ID != e.users["admin"].ID ||
				last.FromState == nil || *last.FromState != "submitted" || last.ToState != "submitted" || last.Comment != wantComment {
				t.Errorf("last history row: got %+v, want reassign by the admin, submitted to submitted, %q", last, wantComment)
			}
			sum, err := audit.Verify(context.Background(), db)
			if err != nil {
				t.Fatalf("audit verify after a reassign: %v", err)
			}
			if sum.Rows == 0 {
				t.Errorf("audit verify checked no rows")
			}
			// The new requester acts on it; the former one no longer may.
			mustStatus(t, e.act(t, open.ID, "MOH.requester2", "withdraw", ""), http.StatusOK, "")
		})

		t.Run("refusals_change_nothing", func(t *testing.T) {
			draft := e.mustCreate(t, "official-open")
			closed := e.mustReach(t, "official-open", "rejected")
			gone := e.users["MOH.manager"]
			e.mustPatchUser(t, gone.ID, map[string]any{"roles": []string{"requester"}})
			e.mustPatchUser(t, gone.ID, map[string]any{"active": false})
			for _, tc := range []struct {
				name   string
				who    string
				id     int64
				body   any
				status int
				field  string
			}{
				{"non_admin", "MOH.requester", draft.ID, map[string]any{"requester": to.ID}, http.StatusForbidden, ""},
				{"unknown_request", "admin", 999999, map[string]any{"requester": to.ID}, http.StatusNotFound, ""},
				{"closed_request", "admin", closed.ID, map[string]any{"requester": to.ID}, http.StatusConflict, ""},
				{"missing_requester", "admin", draft.ID, map[string]any{}, http.StatusUnprocessableEntity, "requester"},
				{"unknown_user", "admin", draft.ID, map[string]any{"requester": 999999}, http.StatusUnprocessableEntity, "requester"},
				{"other_agency", "admin", draft.ID, map[string]any{"requester": e.users["HDB.requester"].ID}, http.StatusUnprocessableEntity, "requester"},
				{"not_a_requester", "admin", draft.ID, map[string]any{"requester": e.users["MOH.approver"].ID}, http.StatusUnprocessableEntity, "requester"},
				{"deactivated", "admin", draft.ID, map[string]any{"requester": gone.ID}, http.StatusUnprocessableEntity, "requester"},
				{"already_the_requester", "admin", draft.ID, map[string]any{"requester": from.ID}, http.StatusUnprocessableEntity, "requester"},
				{"long_comment", "admin", draft.ID, map[string]any{"requester": to.ID, "comment": strings.Repeat("c", 5001)}, http.StatusUnprocessableEntity, "comment"},
				{"as_a_string", "admin", draft.ID, map[string]any{"requester": "moh.requester2@gov.sg"}, http.StatusBadRequest, ""},
				{"stale_if_match", "admin", draft.ID, map[string]any{"requester": to.ID}, http.StatusPreconditionFailed, ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					id := tc.id
					if id == 999999 {
						id = draft.ID
					}
					before := e.mustSnapshot(t, id)
					rq := request{method: "POST", path: requestPath(tc.id, "/reassign"), token: tc.who, body: tc.body}
					if tc.name == "stale_if_match" {
						rq.header = map[string]string{"If-Match": `"99"`}
					}
					r := e.do(t, rq)
					if r.Status != tc.status {
						t.Fatalf("got %d %s, want %d", r.Status, r.Body, tc.status)
					}
					if tc.field != "" {
						mustFieldError(t, r, tc.field)
					}
					e.mustBeUnchanged(t, id, before)
				})
			}
		})
	})
}

func TestUserOpenRequests(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		draft := e.mustCreate(t, "official-open")
		submitted := e.mustReach(t, "official-open", "submitted")
		e.mustReach(t, "official-open", "fulfilled")
		e.mustReach(t, "official-open", "withdrawn")
		u := e.users["MOH.requester"]
		e.mustPatchUser(t, u.ID, map[string]any{"active": false})

		r := e.do(t, request{method: "GET", path: fmt.Sprintf("/api/v1/users/%d/open-requests", u.ID), token: "admin"})
		mustStatus(t, r, http.StatusOK, "")
		var got struct{ Items []reassignView }
		r.decode(t, &got)
		var ids []int64
		for _, it := range got.Items {
			ids = append(ids, it.ID)
			if it.Requester.ID != u.ID {
				t.Errorf("request %d has requester %d, want %d", it.ID, it.Requester.ID, u.ID)
			}
		}
		if !slices.Equal(ids, []int64{draft.ID, submitted.ID}) {
			t.Errorf("open requests of the deactivated requester: got %v, want [%d %d] (oldest first, closed ones left out)", ids, draft.ID, submitted.ID)
		}
		mustErrorBody(t, e.do(t, request{method: "GET", path: fmt.Sprintf("/api/v1/users/%d/open-requests", u.ID), token: "MOH.manager"}), http.StatusForbidden, "forbidden")
		mustErrorBody(t, e.do(t, request{method: "GET", path: "/api/v1/users/999999/open-requests", token: "admin"}), http.StatusNotFound, "not_found")
		// The deactivated requester's name stays in the history.
		var h struct {
			Items []struct{ Actor *struct{ Name string } }
		}
		e.do(t, request{method: "GET", path: requestPath(submitted.ID, "/history"), token: "admin"}).decode(t, &h)
		if len(h.Items) == 0 || h.Items[0].Actor == nil || h.Items[0].Actor.Name != u.Name {
			t.Errorf("history of a deactivated requester's request: got %+v, want %s as the creator", h.Items, u.Name)
		}
	})
}
