package main

import (
	"net/http"
	"strings"
	"testing"

	"datashare/sso/ssotest"
)

// TestBrowserSSO signs in through a real identity provider in the test
// process, from the button of the sign-in page, and is turned away for an
// email without an account; axe judges the sign-in page with its button
// and the refusal page.
func TestBrowserSSO(t *testing.T) {
	idp := ssotest.Start(t)
	addr := "127.0.0.1:" + freePort(t)
	s := startSiteWith(t, map[string]string{
		envOIDCIssuer: idp.Issuer(), envOIDCClientID: idp.ClientID, envOIDCSecret: idp.ClientSecret,
		envOIDCName: "Sign in with TechPass", envBaseURL: "http://" + addr,
	}, addr)
	logA11y(t)

	t.Run("SignIn", func(t *testing.T) {
		w := s.newWindow(t, "MOH requester", idp.Addr())
		if st := w.open("/login"); st != http.StatusOK {
			t.Fatalf("GET /login: got %d, want 200", st)
		}
		idp.Queue(ssotest.Verified(mohRequester))
		if st := w.follow("Sign in with TechPass"); st != http.StatusOK {
			t.Fatalf("single sign-on: got %d, want 200", st)
		}
		if got := w.path(); got != "/" {
			t.Errorf("after single sign-on: at %s, want the home page /", got)
		}
		if !w.has(button("Sign out")) {
			t.Fatalf("home page after single sign-on has no button Sign out")
		}
		if got := w.mainText(); !strings.Contains(got, "Welcome, MOH Requester") {
			t.Errorf("home page after single sign-on: got %q, want the MOH requester's", got)
		}
		if st := w.open("/account"); st != http.StatusOK || !strings.Contains(w.mainText(), "Signed in with single sign-on") {
			t.Errorf("account page: got %d without the single sign-on in recent sign-ins:\n%s", st, w.mainText())
		}
	})

	t.Run("UnknownEmailIsTurnedAway", func(t *testing.T) {
		w := s.newWindow(t, "stranger", idp.Addr())
		if st := w.open("/login"); st != http.StatusOK {
			t.Fatalf("GET /login: got %d, want 200", st)
		}
		idp.Queue(ssotest.Verified("stranger@demo.gov.sg"))
		if st := w.follow("Sign in with TechPass"); st != http.StatusForbidden {
			t.Errorf("single sign-on of an unknown email: got %d, want 403", st)
		}
		got := w.mainText()
		for _, want := range []string{"Single sign-on did not sign you in", "stranger@demo.gov.sg", "Ask your agency's datashare admin to create your account."} {
			if !strings.Contains(got, want) {
				t.Errorf("refusal page: got %q, want it to say %q", got, want)
			}
		}
		if !w.has(link("sign in")) {
			t.Errorf("the refusal page has no way back to the sign-in page")
		}
		if st := w.open("/"); st != http.StatusOK || pageName(w.path()) != "/login" {
			t.Errorf("after the refusal, GET /: got %d at %s, want the sign-in page", st, w.path())
		}
	})
}
