package ssotest

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"datashare/sso"
)

// Provider is a running provider. Its settings may be changed between
// sign-ins; they are read by its handlers under a lock.
type Provider struct {
	*mockoidc.MockOIDC

	genuine   *mockoidc.Keypair
	mu        sync.Mutex
	published *mockoidc.Keypair // served as the provider's keys
	signer    *mockoidc.Keypair // signs the tokens
	behind    time.Duration     // how far the provider's clock is behind
	applied   time.Duration
	deny      string // the error the next authorization answers with
}

// Start runs a provider on a loopback port until the test ends.
func Start(tb testing.TB) *Provider {
	tb.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	p := &Provider{MockOIDC: m, genuine: m.Keypair, published: m.Keypair, signer: m.Keypair}
	if err := m.AddMiddleware(p.misbehave); err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = m.Shutdown() })
	return p
}

// misbehave applies the test's settings to each request.
func (p *Provider) misbehave(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		switch r.URL.Path {
		case mockoidc.JWKSEndpoint:
			keys, err := p.published.JWKS()
			p.mu.Unlock()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(keys)
			return
		case mockoidc.AuthorizationEndpoint:
			if deny := p.deny; deny != "" {
				p.deny = ""
				p.mu.Unlock()
				to, err := url.Parse(r.FormValue("redirect_uri"))
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				to.RawQuery = url.Values{"error": {deny}, "state": {r.FormValue("state")}}.Encode()
				http.Redirect(w, r, to.String(), http.StatusFound)
				return
			}
		case mockoidc.TokenEndpoint:
			p.Keypair = p.signer
			p.FastForward(p.applied - p.behind)
			p.applied = p.behind
		}
		p.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// Discover is the provider as datashare's service at redirectURL knows it.
func (p *Provider) Discover(tb testing.TB, redirectURL string) *sso.Provider {
	tb.Helper()
	sp, err := sso.Discover(context.Background(), sso.Config{
		Issuer: p.Issuer(), ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: redirectURL,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return sp
}

// SignWith has the tokens signed with k from now on.
func (p *Provider) SignWith(k *mockoidc.Keypair) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signer = k
}

// Publish serves k as the provider's only key from now on.
func (p *Provider) Publish(k *mockoidc.Keypair) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published = k
}

// Behind sets the provider's clock d behind the real one: the tokens it
// issues expire d earlier.
func (p *Provider) Behind(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.behind = d
}

// Deny has the next authorization redirect back with the error code
// (such as access_denied) instead of a code.
func (p *Provider) Deny(code string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deny = code
}

// Genuine is the key the provider starts with.
func (p *Provider) Genuine() *mockoidc.Keypair { return p.genuine }

// NewKey is a fresh signing key; with kid it claims that key id.
func NewKey(tb testing.TB, kid string) *mockoidc.Keypair {
	tb.Helper()
	k, err := mockoidc.RandomKeypair(2048)
	if err != nil {
		tb.Fatal(err)
	}
	k.Kid = kid
	return k
}

// KeyID is k's key id.
func KeyID(tb testing.TB, k *mockoidc.Keypair) string {
	tb.Helper()
	kid, err := k.KeyID()
	if err != nil {
		tb.Fatal(err)
	}
	return kid
}

// User is who the next authorization signs in: Email, with email_verified
// as Verified (nil: the claim is left out); Tamper may change any claim of
// the ID token before it is signed.
type User struct {
	Email    string
	Verified any
	Tamper   func(claims map[string]any)
}

// Verified is a user whose email the provider vouches for.
func Verified(email string) User { return User{Email: email, Verified: true} }

// Queue has the next authorization sign u in.
func (p *Provider) Queue(u User) { p.QueueUser(user(u)) }

type user User

func (u user) ID() string { return "sub-" + u.Email }

func (u user) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.ID(), "email": u.Email})
}

func (u user) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	b, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	c := jwt.MapClaims{}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	c["email"] = u.Email
	if u.Verified != nil {
		c["email_verified"] = u.Verified
	}
	if u.Tamper != nil {
		u.Tamper(c)
	}
	return c, nil
}
