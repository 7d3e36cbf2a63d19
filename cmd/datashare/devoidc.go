package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"

	"github.com/oauth2-proxy/mockoidc"
)

// The client of datashare at the dev-oidc provider: fixed, so that the
// settings to start the service with can be written down once.
const (
	devOIDCClientID = "datashare-dev"
	devOIDCSecret   = "dev-oidc-secret-for-this-computer-only"
	devOIDCAddr     = "127.0.0.1:9400"
)

// devOIDC runs an OpenID Connect provider on this computer, for trying
// single sign-on: every sign-in it is asked for is approved at once, as
// the one email given. It is the provider the tests sign in with.
func devOIDC(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var addr, email string
	_, rest, err := loadConfigWith("dev-oidc", args, getenv, stdout, func(fs *flag.FlagSet) {
		fs.StringVar(&addr, "listen", devOIDCAddr, "loopback address to listen on")
		fs.StringVar(&email, "email", "", "the email every sign-in is approved as, verified (required)")
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("datashare dev-oidc: unexpected argument %q", rest[0])
	}
	if _, err := mail.ParseAddress(email); err != nil || email == "" {
		return fmt.Errorf("datashare dev-oidc: --email: want the email to sign in as, got %q", email)
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("datashare dev-oidc: --listen: want a loopback address such as %s, got %q: this provider signs anyone in", devOIDCAddr, addr)
	}
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		return err
	}
	m.ClientID, m.ClientSecret = devOIDCClientID, devOIDCSecret
	user := &mockoidc.MockUser{Subject: email, Email: email, EmailVerified: true}
	if err := m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.AuthorizationEndpoint {
				m.QueueUser(user)
			}
			next.ServeHTTP(w, r)
		})
	}); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if err := m.Start(ln, nil); err != nil {
		return err
	}
	defer m.Shutdown()
	fmt.Fprintf(stdout, "Every sign-in is approved as %s. Start the service with:\n", email)
	fmt.Fprintf(stdout, "export %s=%s\n", envOIDCIssuer, m.Issuer())
	fmt.Fprintf(stdout, "export %s=%s\n", envOIDCClientID, m.ClientID)
	fmt.Fprintf(stdout, "export %s=%s\n", envOIDCSecret, m.ClientSecret)
	fmt.Fprintf(stdout, "datashare dev-oidc listening on %s\n", m.Addr())
	<-ctx.Done()
	return nil
}
