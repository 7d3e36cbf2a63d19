package sso_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"datashare/sso"
	"datashare/sso/ssotest"
)

// authorize begins a sign-in with p and lets idp answer it, as a browser
// would; it returns the attempt and the callback's query.
func authorize(t *testing.T, p *sso.Provider) (sso.Attempt, url.Values) {
	t.Helper()
	a, to := p.Begin()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	return a, back.Query()
}

func TestBeginMakesFreshSecretsEachTime(t *testing.T) {
	idp := ssotest.Start(t)
	p := idp.Discover(t, "https://datashare.test/auth/oidc/callback")
	a1, to := p.Begin()
	a2, _ := p.Begin()
	if a1.State == a2.State || a1.Nonce == a2.Nonce || a1.Verifier == a2.Verifier || a1.State == a1.Nonce {
		t.Errorf("two attempts share secrets: %+v and %+v", a1, a2)
	}
	q, _ := url.Parse(to)
	for k, want := range map[string]string{
		"state": a1.State, "nonce": a1.Nonce, "code_challenge_method": "S256", "response_type": "code",
		"redirect_uri": "https://datashare.test/auth/oidc/callback", "scope": "openid email",
	} {
		if got := q.Query().Get(k); got != want {
			t.Errorf("authorization %s: got %q, want %q", k, got, want)
		}
	}
	if strings.Contains(to, a1.Verifier) {
		t.Errorf("the authorization address holds the code verifier itself")
	}
}

func TestFinish(t *testing.T) {
	idp := ssotest.Start(t)
	p := idp.Discover(t, "https://datashare.test/auth/oidc/callback")
	cases := []struct {
		name   string
		user   ssotest.User
		reason string // empty: signed in
	}{
		{"email_verified true", ssotest.Verified("a@msf.gov.sg"), ""},
		{"email_verified as text", ssotest.User{Email: "a@msf.gov.sg", Verified: "true"}, ""},
		{"email_verified false as text", ssotest.User{Email: "a@msf.gov.sg", Verified: "false"}, sso.ReasonUnverified},
		{"email_verified a number", ssotest.User{Email: "a@msf.gov.sg", Verified: 1}, sso.ReasonUnverified},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			idp.Queue(c.user)
			a, q := authorize(t, p)
			id, err := p.Finish(context.Background(), a, q)
			var r *sso.Refusal
			switch {
			case c.reason == "" && err != nil:
				t.Fatalf("got %v, want a sign-in", err)
			case c.reason == "" && (id.Email != c.user.Email || id.Subject == ""):
				t.Errorf("identity %+v, want %s with a subject", id, c.user.Email)
			case c.reason != "" && (!errors.As(err, &r) || r.Reason != c.reason):
				t.Errorf("got %v, want a refusal for %s", err, c.reason)
			}
		})
	}
}

func TestDiscoverNamesTheIssuer(t *testing.T) {
	_, err := sso.Discover(context.Background(), sso.Config{Issuer: "http://127.0.0.1:1/oidc", ClientID: "x", ClientSecret: "y"})
	if err == nil || !strings.Contains(err.Error(), "discover the OpenID Connect provider http://127.0.0.1:1/oidc") {
		t.Errorf("got %v, want an error naming the issuer", err)
	}
}
