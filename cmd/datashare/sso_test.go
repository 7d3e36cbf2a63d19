package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
)

// mustDevOIDC runs "datashare dev-oidc" in a goroutine, signing in as
// email, and returns the settings it printed, by variable.
func mustDevOIDC(tb testing.TB, email string) map[string]string {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dev-oidc", "--listen", "127.0.0.1:0", "--email", email}, envOf(nil), out, io.Discard)
	}()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("dev-oidc returned %v after cancel, want nil", err)
		}
	})
	exports := regexp.MustCompile(`(?m)^export (DATASHARE_OIDC_[A-Z_]+)=(\S+)$`)
	for deadline := time.Now().Add(startTimeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(out.String(), "dev-oidc listening on") {
			settings := map[string]string{}
			for _, m := range exports.FindAllStringSubmatch(out.String(), -1) {
				settings[m[1]] = m[2]
			}
			return settings
		}
	}
	tb.Fatalf("dev-oidc did not listen within %s:\n%s", startTimeout, out)
	return nil
}

// TestDevOIDCSignsInToTheDemo is the README's way of trying single sign-on:
// dev-oidc, then serve --demo with the settings it printed, then the
// sign-in button, followed through the provider as a browser does.
func TestDevOIDCSignsInToTheDemo(t *testing.T) {
	env := mustDevOIDC(t, "moh.requester@demo.gov.sg")
	for _, k := range []string{envOIDCIssuer, envOIDCClientID, envOIDCSecret} {
		if env[k] == "" {
			t.Fatalf("dev-oidc printed no %s: %v", k, env)
		}
	}
	addr := "127.0.0.1:" + freePort(t)
	env[envBaseURL] = "http://" + addr
	p := mustServe(t, envOf(env), "--demo", "--addr", addr, "--db", modelstest.DSN(t, models.SQLite))
	if !strings.Contains(p.stderr.String(), `msg="single sign-on ready" issuer=`+env[envOIDCIssuer]) {
		t.Errorf("serve did not log that single sign-on is ready:\n%s", p.stderr)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	login := mustGetPage(t, client, p.url+"/login")
	if !strings.Contains(login, `href="/auth/oidc/login">Sign in with your agency account</a>`) {
		t.Fatalf("the sign-in page has no single sign-on button:\n%s", login)
	}
	home := mustGetPage(t, client, p.url+"/auth/oidc/login")
	if !strings.Contains(home, "Welcome, MOH Requester") {
		t.Errorf("after the button and the provider, the page is not the requester's home:\n%s", home)
	}
	if !strings.Contains(p.stderr.String(), "outcome=sso_signed_in email=moh.requester@demo.gov.sg") {
		t.Errorf("the sign-in is not logged:\n%s", p.stderr)
	}
	p.mustStop()
}

func mustGetPage(tb testing.TB, c *http.Client, url string) string {
	tb.Helper()
	res, err := c.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: status %d, want 200\n%s", url, res.StatusCode, b)
	}
	return string(b)
}

func TestServeRefusesAnIdentityProviderThatDoesNotAnswer(t *testing.T) {
	issuer := "http://127.0.0.1:" + freePort(t) + "/oidc" // nothing listens there
	env := envOf(map[string]string{envOIDCIssuer: issuer, envOIDCClientID: "datashare", envOIDCSecret: "s3cret-of-the-client"})
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	err := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", modelstest.DSN(t, models.SQLite)}, env, &stdout, &stderr)
	if want := "DATASHARE_OIDC_ISSUER: discover the OpenID Connect provider " + issuer; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("serve with an issuer that does not answer: got %v, want an error containing %q", err, want)
	}
	if strings.Contains(stdout.String(), "listening") {
		t.Errorf("serve listened without its identity provider: %q", stdout.String())
	}
	if strings.Contains(stderr.String(), "s3cret-of-the-client") {
		t.Errorf("the log shows the client secret:\n%s", stderr.String())
	}
}

func TestDevOIDCRefuses(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no email", nil, "--email: want the email to sign in as"},
		{"not an email", []string{"--email", "moh requester"}, "--email: want the email to sign in as"},
		{"an address of the network", []string{"--email", "a@b.gov.sg", "--listen", "0.0.0.0:9400"}, "--listen: want a loopback address"},
		{"a name", []string{"--email", "a@b.gov.sg", "--listen", "localhost:9400"}, "--listen: want a loopback address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), append([]string{"dev-oidc"}, tc.args...), envOf(nil), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
