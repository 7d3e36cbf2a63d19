package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"datashare/models"
	"datashare/models/modelstest"
)

func TestSignIn(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})

		b := s.browser(t)
		if a := b.get("/?tab=mine"); a.Status != http.StatusSeeOther || a.Location != "/login?next=%2F%3Ftab%3Dmine" {
			t.Fatalf("signed out /?tab=mine: %d to %q, want 303 to /login?next=%%2F%%3Ftab%%3Dmine", a.Status, a.Location)
		}
		login := b.get("/login?next=%2Frequests")
		for _, want := range []string{`<label for="email">Email`, `<label for="password">Password`, `>Sign in</button>`, `name="next" value="/requests"`} {
			if !strings.Contains(login.Body, want) {
				t.Errorf("sign-in page lacks %q", want)
			}
		}

		for _, tc := range []struct{ name, email, password string }{
			{"wrong password", "req@msf.gov.sg", "not the password at all"},
			{"unknown email", "nobody@msf.gov.sg", password},
		} {
			a := b.post("/login", url.Values{"email": {tc.email}, "password": {tc.password}, "next": {"/requests"}})
			if a.Status != http.StatusUnauthorized || !strings.Contains(a.Body, "Email or password is incorrect") {
				t.Errorf("%s: status %d, want 401 with the one message", tc.name, a.Status)
			}
			if a := b.get("/"); a.Status != http.StatusSeeOther {
				t.Errorf("%s signed someone in: / answered %d", tc.name, a.Status)
			}
		}

		a := b.post("/login", url.Values{"email": {"REQ@msf.gov.sg"}, "password": {password}, "next": {"/requests"}})
		if a.Status != http.StatusSeeOther || a.Location != "/requests" {
			t.Fatalf("sign in: %d to %q, want 303 to /requests", a.Status, a.Location)
		}
		home := b.get("/")
		if home.Status != http.StatusOK || !strings.Contains(home.Body, "req@msf.gov.sg") || !strings.Contains(home.Body, ">Sign out</button>") {
			t.Fatalf("home after sign-in: %d\n%s", home.Status, home.Body)
		}

		out := b.post("/logout", nil)
		if out.Status != http.StatusSeeOther || out.Location != "/login" {
			t.Fatalf("sign out: %d to %q", out.Status, out.Location)
		}
		if a := b.get("/"); a.Status != http.StatusSeeOther {
			t.Errorf("after sign-out / answered %d, want 303 to sign in", a.Status)
		}
	})
}

func TestNextIsOnlyALocalPath(t *testing.T) {
	s := newSite(t, modelstest.MustOpen(t, models.SQLite), siteOptions{})
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "/logout"} {
		b := s.browser(t)
		b.get("/login")
		a := b.post("/login", url.Values{"email": {"req@msf.gov.sg"}, "password": {password}, "next": {next}})
		if a.Status != http.StatusSeeOther || a.Location != "/" {
			t.Errorf("next=%q: %d to %q, want 303 to /", next, a.Status, a.Location)
		}
	}
}
