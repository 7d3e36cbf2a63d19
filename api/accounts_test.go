package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
)

type userView struct {
	ID            int64      `json:"id"`
	Email         string     `json:"email"`
	Name          string     `json:"name"`
	Agency        string     `json:"agency"`
	Roles         []string   `json:"roles"`
	Active        bool       `json:"active"`
	DeactivatedAt *time.Time `json:"deactivated_at"`
}

type tokenView struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Token string `json:"token"`
}

func TestMe(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		for who, want := range map[string]userView{
			"MOH.requester": {ID: e.users["MOH.requester"].ID, Email: "moh.requester@gov.sg", Name: "MOH requester", Agency: "MOH", Roles: []string{"requester"}},
			"HDB.approver":  {ID: e.users["HDB.approver"].ID, Email: "hdb.approver@gov.sg", Name: "HDB approver", Agency: "HDB", Roles: []string{"approver"}},
			"admin":         {ID: e.users["admin"].ID, Email: "admin@govtech.gov.sg", Name: "Administrator", Agency: "GOVTECH", Roles: []string{"admin"}},
		} {
			r := e.do(t, request{method: "GET", path: "/api/v1/me", token: who})
			mustStatus(t, r, http.StatusOK, "")
			var got userView
			r.decode(t, &got)
			if got.ID != want.ID || got.Email != want.Email || got.Name != want.Name || got.Agency != want.Agency || !slices.Equal(got.Roles, want.Roles) {
				t.Errorf("/me as %s: got %+v, want %+v", who, got, want)
			}
		}
	})
}

func TestAgencies(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		create := func(who string, body any) resp {
			return e.do(t, request{method: "POST", path: "/api/v1/agencies", token: who, body: body})
		}

		t.Run("admin_creates_201", func(t *testing.T) {
			r := create("admin", map[string]any{"code": " MOE ", "name": " Ministry of Education "})
			mustStatus(t, r, http.StatusCreated, "")
			var a struct{ Code, Name string }
			r.decode(t, &a)
			if a.Code != "MOE" || a.Name != "Ministry of Education" {
				t.Errorf("got %+v, want MOE, Ministry of Education", a)
			}
			l := e.do(t, request{method: "GET", path: "/api/v1/agencies", token: "X.requester"})
			mustStatus(t, l, http.StatusOK, "")
			var list struct{ Items []struct{ Code string } }
			l.decode(t, &list)
			var codes []string
			for _, it := range list.Items {
				codes = append(codes, it.Code)
			}
			if want := []string{"GOVTECH", "HDB", "MOE", "MOH", "X"}; !slices.Equal(codes, want) {
				t.Errorf("agencies: got %v, want %v (ordered by code)", codes, want)
			}
			// The new agency can be asked for data at once.
			mustStatus(t, e.do(t, request{method: "POST", path: "/api/v1/requests", token: "MOH.requester", body: newRequestBody("restricted", "MOE")}), http.StatusCreated, "")
		})

		t.Run("non_admin_is_403", func(t *testing.T) {
			for _, who := range []string{"MOH.requester", "HDB.approver", "HDB.manager"} {
				mustErrorBody(t, create(who, map[string]any{"code": "LTA", "name": "Land Transport"}), http.StatusForbidden, "forbidden")
			}
			if n := mustRowCount(t, db, "agencies", "code = ?", "LTA"); n != 0 {
				t.Errorf("agency LTA after refused creates: got %d rows, want 0", n)
			}
		})

		t.Run("bad_code_or_name_is_422", func(t *testing.T) {
			for _, tc := range []struct {
				code, name, field string
			}{
				{"moe2", "x", "code"},
				{"M", "x", "code"},
				{strings.Repeat("A", 17), "x", "code"},
				{"MO-E", "x", "code"},
				{"", "x", "code"},
				{"LTA", "", "name"},
				{"LTA", "   ", "name"},
				{"LTA", strings.Repeat("n", 201), "name"},
			} {
				mustFieldError(t, create("admin", map[string]any{"code": tc.code, "name": tc.name}), tc.field)
			}
		})

		t.Run("duplicate_is_409", func(t *testing.T) {
			mustErrorBody(t, create("admin", map[string]any{"code": "MOH", "name": "Again"}), http.StatusConflict, "conflict")
		})
	})
}

func TestUsers(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		create := func(who string, body map[string]any) resp {
			return e.do(t, request{method: "POST", path: "/api/v1/users", token: who, body: body})
		}
		newUser := func(k string, v any) map[string]any {
			b := map[string]any{"email": "Tan.Ah.Kow@MOH.gov.sg", "name": "Tan Ah Kow", "agency": "MOH", "roles": []string{"requester", "approver", "requester"}}
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
			return b
		}

		t.Run("admin_creates_and_lists", func(t *testing.T) {
			r := create("admin", newUser("", nil))
			mustStatus(t, r, http.StatusCreated, "")
			var u userView
			r.decode(t, &u)
			if u.Email != "tan.ah.kow@moh.gov.sg" || u.Agency != "MOH" || !slices.Equal(u.Roles, []string{"approver", "requester"}) {
				t.Errorf("got %+v, want lower-case email, MOH, roles [approver requester]", u)
			}
			l := e.do(t, request{method: "GET", path: "/api/v1/users", token: "admin"})
			mustStatus(t, l, http.StatusOK, "")
			var list struct{ Items []userView }
			l.decode(t, &list)
			if len(list.Items) != 1+3*len(castPeople)+1 {
				t.Errorf("users: got %d, want %d", len(list.Items), 1+3*len(castPeople)+1)
			}
			found := false
			for i, it := range list.Items {
				if it.ID == u.ID {
					found = true
				}
				if i > 0 && it.ID <= list.Items[i-1].ID {
					t.Errorf("users not ordered by id at %d: %d after %d", i, it.ID, list.Items[i-1].ID)
				}
			}
			if !found {
				t.Errorf("new user %d not in the list", u.ID)
			}
			// A password is accepted and never shown.
			p := create("admin", map[string]any{"email": "lim@hdb.gov.sg", "name": "Lim", "agency": "HDB", "roles": []string{"manager"}, "password": "correct horse battery"})
			mustStatus(t, p, http.StatusCreated, "")
			if strings.Contains(string(p.Body), "password") || strings.Contains(string(p.Body), "horse") {
				t.Errorf("created user shows the password: %s", p.Body)
			}
		})

		t.Run("non_admin_is_403", func(t *testing.T) {
			for _, who := range []string{"MOH.requester", "HDB.approver", "X.manager"} {
				mustErrorBody(t, create(who, newUser("email", "new@gov.sg")), http.StatusForbidden, "forbidden")
				mustErrorBody(t, e.do(t, request{method: "GET", path: "/api/v1/users", token: who}), http.StatusForbidden, "forbidden")
			}
			if n := mustRowCount(t, db, "users", "email = ?", "new@gov.sg"); n != 0 {
				t.Errorf("users after refused creates: got %d, want 0", n)
			}
		})

		t.Run("invalid_fields_are_422", func(t *testing.T) {
			for _, tc := range []struct {
				name  string
				body  map[string]any
				field string
			}{
				{"not_an_email", newUser("email", "not-an-email"), "email"},
				{"email_with_display_name", newUser("email", "Tan <tan@moh.gov.sg>"), "email"},
				{"missing_email", newUser("email", nil), "email"},
				{"missing_name", newUser("name", nil), "name"},
				{"unknown_role", newUser("roles", []string{"superuser"}), "roles"},
				{"no_roles", newUser("roles", []string{}), "roles"},
				{"unknown_agency", newUser("agency", "NOPE"), "agency"},
				{"short_password", newUser("password", "short"), "password"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					mustFieldError(t, create("admin", tc.body), tc.field)
				})
			}
		})

		t.Run("duplicate_email_is_409", func(t *testing.T) {
			mustErrorBody(t, create("admin", newUser("email", "MOH.Requester@gov.sg")), http.StatusConflict, "conflict")
		})
	})
}

func TestTokens(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		issue := func(who string, userID int64, name string) resp {
			return e.do(t, request{method: "POST", path: fmt.Sprintf("/api/v1/users/%d/tokens", userID), token: who, body: map[string]any{"name": name}})
		}
		mustIssue := func(who string, userID int64) tokenView {
			t.Helper()
			r := issue(who, userID, "laptop")
			mustStatus(t, r, http.StatusCreated, "")
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control: got %q, want no-store", cc)
			}
			var tok tokenView
			r.decode(t, &tok)
			if !strings.HasPrefix(tok.Token, "dst_") || tok.Name != "laptop" || tok.ID == 0 {
				t.Fatalf("token: got %+v, want an id, name laptop and a dst_ secret", tok)
			}
			return tok
		}
		me := func(secret string) resp {
			return e.do(t, request{method: "GET", path: "/api/v1/me", token: secret})
		}
		moh := e.users["MOH.requester"].ID

		t.Run("own_token_is_shown_once_and_works", func(t *testing.T) {
			tok := mustIssue("MOH.requester", moh)
			r := me(tok.Token)
			mustStatus(t, r, http.StatusOK, "")
			var u userView
			r.decode(t, &u)
			if u.ID != moh {
				t.Errorf("/me with the new token: got user %d, want %d", u.ID, moh)
			}
			// Only a digest is stored.
			if n := mustRowCount(t, db, "api_tokens", "hash = ?", tok.Token); n != 0 {
				t.Errorf("token stored in clear: got %d rows, want 0", n)
			}
			two := mustIssue("MOH.requester", moh)
			if two.Token == tok.Token {
				t.Errorf("two tokens share a secret")
			}
		})

		t.Run("non_admin_for_another_user_is_403", func(t *testing.T) {
			for _, who := range []string{"MOH.requester2", "HDB.approver", "MOH.manager"} {
				mustErrorBody(t, issue(who, moh, "stolen"), http.StatusForbidden, "forbidden")
			}
			// Not a way to probe which user ids exist either.
			mustErrorBody(t, issue("MOH.requester2", 999999, "x"), http.StatusForbidden, "forbidden")
			if n := mustRowCount(t, db, "api_tokens", "name = ?", "stolen"); n != 0 {
				t.Errorf("tokens after refused issues: got %d, want 0", n)
			}
		})

		t.Run("admin_issues_for_anyone_and_404_for_unknown_user", func(t *testing.T) {
			tok := mustIssue("admin", e.users["HDB.manager"].ID)
			mustStatus(t, me(tok.Token), http.StatusOK, "")
			mustErrorBody(t, issue("admin", 999999, "x"), http.StatusNotFound, "not_found")
		})

		t.Run("bad_name_is_422", func(t *testing.T) {
			mustFieldError(t, issue("MOH.requester", moh, ""), "name")
			mustFieldError(t, issue("MOH.requester", moh, "  "), "name")
			mustFieldError(t, issue("MOH.requester", moh, strings.Repeat("n", 101)), "name")
		})

		t.Run("owner_revokes_204_and_the_token_stops_at_once", func(t *testing.T) {
			tok := mustIssue("MOH.requester", moh)
			mustStatus(t, me(tok.Token), http.StatusOK, "")
			r := e.do(t, request{method: "DELETE", path: fmt.Sprintf("/api/v1/tokens/%d", tok.ID), token: "MOH.requester"})
			mustStatus(t, r, http.StatusNoContent, "")
			if len(r.Body) != 0 {
				t.Errorf("204 body: got %q, want empty", r.Body)
			}
			mustErrorBody(t, me(tok.Token), http.StatusUnauthorized, "unauthenticated")
			// Revoking it again: it is gone.
			mustErrorBody(t, e.do(t, request{method: "DELETE", path: fmt.Sprintf("/api/v1/tokens/%d", tok.ID), token: "MOH.requester"}), http.StatusNotFound, "not_found")
			// The user's other tokens still work.
			mustStatus(t, me(e.tokens["MOH.requester"]), http.StatusOK, "")
		})

		t.Run("a_token_revokes_itself", func(t *testing.T) {
			tok := mustIssue("MOH.requester", moh)
			mustStatus(t, e.do(t, request{method: "DELETE", path: fmt.Sprintf("/api/v1/tokens/%d", tok.ID), token: tok.Token}), http.StatusNoContent, "")
			mustErrorBody(t, me(tok.Token), http.StatusUnauthorized, "unauthenticated")
		})

		t.Run("another_non_admin_revoking_is_404_and_the_token_still_works", func(t *testing.T) {
			tok := mustIssue("MOH.requester", moh)
			for _, who := range []string{"MOH.requester2", "HDB.approver", "X.manager"} {
				mustErrorBody(t, e.do(t, request{method: "DELETE", path: fmt.Sprintf("/api/v1/tokens/%d", tok.ID), token: who}), http.StatusNotFound, "not_found")
			}
			mustStatus(t, me(tok.Token), http.StatusOK, "")
		})

		t.Run("admin_revokes_anyones_token", func(t *testing.T) {
			tok := mustIssue("MOH.requester", moh)
			mustStatus(t, e.do(t, request{method: "DELETE", path: fmt.Sprintf("/api/v1/tokens/%d", tok.ID), token: "admin"}), http.StatusNoContent, "")
			mustErrorBody(t, me(tok.Token), http.StatusUnauthorized, "unauthenticated")
			mustErrorBody(t, e.do(t, request{method: "DELETE", path: "/api/v1/tokens/999999", token: "admin"}), http.StatusNotFound, "not_found")
		})
	})
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newQuietEnv(t, db)
		for _, path := range []string{"/healthz", "/readyz"} {
			r := e.do(t, request{method: "GET", path: path})
			mustStatus(t, r, http.StatusOK, "")
			if strings.TrimSpace(string(r.Body)) != `{"status":"ok"}` {
				t.Errorf("%s: got %s, want {\"status\":\"ok\"}", path, r.Body)
			}
		}
		r := e.do(t, request{method: "GET", path: "/api/v1/openapi.yaml"})
		mustStatus(t, r, http.StatusOK, "")
		if !strings.HasPrefix(string(r.Body), "openapi: 3") {
			t.Errorf("openapi.yaml: got %.40q, want an OpenAPI 3 document", r.Body)
		}

		t.Run("readyz_is_503_when_the_database_is_gone", func(t *testing.T) {
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			// Not e.do: a 5xx is the right answer here.
			req, res, body, err := e.send(request{method: "GET", path: "/readyz"})
			if err != nil {
				t.Fatal(err)
			}
			e.validate(t, req, res, body)
			r := resp{Status: res.StatusCode, Header: res.Header, Body: body}
			if r.Status != http.StatusServiceUnavailable || strings.TrimSpace(string(r.Body)) != `{"status":"unavailable"}` {
				t.Errorf("got %d %s, want 503 {\"status\":\"unavailable\"}", r.Status, r.Body)
			}
			h := e.do(t, request{method: "GET", path: "/healthz"})
			mustStatus(t, h, http.StatusOK, "")
		})
	})
}

func TestTokenListShowsNamesNeverSecrets(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		me := e.users["MOH.requester"]
		path := fmt.Sprintf("/api/v1/users/%d/tokens", me.ID)
		r := e.do(t, request{method: "POST", path: path, token: "MOH.requester", body: map[string]string{"name": "laptop"}})
		if r.Status != http.StatusCreated {
			t.Fatalf("create: got %d %s", r.Status, r.Body)
		}
		var created struct {
			ID    int64
			Token string
		}
		r.decode(t, &created)

		r = e.do(t, request{method: "GET", path: path, token: "MOH.requester"})
		var got struct {
			Items []struct {
				ID   int64
				Name string
			}
		}
		r.decode(t, &got)
		if r.Status != http.StatusOK || len(got.Items) != 2 || got.Items[1].ID != created.ID || got.Items[1].Name != "laptop" {
			t.Fatalf("own tokens: got %d %s, want the harness token and laptop (%d)", r.Status, r.Body, created.ID)
		}
		if strings.Contains(string(r.Body), created.Token) || strings.Contains(string(r.Body), "dst_") {
			t.Fatalf("token list shows a secret: %s", r.Body)
		}
		if r := e.do(t, request{method: "GET", path: path, token: "admin"}); r.Status != http.StatusOK {
			t.Fatalf("admin lists another user's tokens: got %d, want 200", r.Status)
		}
		if r := e.do(t, request{method: "GET", path: path, token: "MOH.requester2"}); r.Status != http.StatusForbidden {
			t.Fatalf("colleague lists my tokens: got %d, want 403", r.Status)
		}
		if r := e.do(t, request{method: "GET", path: "/api/v1/users/999999/tokens", token: "admin"}); r.Status != http.StatusNotFound {
			t.Fatalf("unknown user: got %d, want 404", r.Status)
		}
	})
}
