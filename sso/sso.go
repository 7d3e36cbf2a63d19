package sso

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config is how datashare is known to the provider.
type Config struct {
	Issuer       string // the provider's issuer URL, whose discovery document is read
	ClientID     string
	ClientSecret string
	RedirectURL  string // BASE_URL/auth/oidc/callback, as registered with the provider
	// Now is the clock a token's expiry is checked against; nil: the real
	// one.
	Now func() time.Time
	// HTTPClient talks to the provider; nil: one with a 10-second timeout.
	HTTPClient *http.Client
}

// Provider is one discovered OpenID Connect provider.
type Provider struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	client   *http.Client
	clientID string
}

// Discover reads the provider's discovery document and returns the
// provider. Its signing keys are fetched when the first token is checked,
// and again whenever a token is signed by a key not yet seen.
func Discover(ctx context.Context, c Config) (*Provider, error) {
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, client), c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover the OpenID Connect provider %s: %w", c.Issuer, err)
	}
	return &Provider{
		oauth: oauth2.Config{
			ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: c.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email"},
		},
		// The audience is checked by Finish, to tell that refusal apart.
		verifier: p.Verifier(&oidc.Config{SkipClientIDCheck: true, Now: c.Now}),
		client:   client,
		clientID: c.ClientID,
	}, nil
}

// Attempt is what the browser's session keeps of one sign-in between the
// redirect to the provider and the callback; it is used once.
type Attempt struct {
	State    string // returned by the provider with the code
	Nonce    string // echoed in the ID token
	Verifier string // the PKCE code verifier
}

// Begin starts a sign-in: the attempt to keep, and the provider's address
// to send the browser to.
func (p *Provider) Begin() (Attempt, string) {
	a := Attempt{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier()}
	return a, p.oauth.AuthCodeURL(a.State, oidc.Nonce(a.Nonce), oauth2.S256ChallengeOption(a.Verifier))
}

// Reasons of a Refusal.
const (
	ReasonState         = "state"          // no sign-in was begun in this session, or it was finished already
	ReasonProviderError = "provider_error" // the provider answered with an error, such as access_denied
	ReasonExchange      = "code_exchange"  // the provider refused the code, e.g. one used already
	ReasonSignature     = "token_invalid"  // not signed by the provider's keys, or not a token of this issuer
	ReasonExpired       = "token_expired"
	ReasonAudience      = "wrong_audience" // issued to another client
	ReasonNonce         = "wrong_nonce"    // issued for another sign-in
	ReasonUnverified    = "email_unverified"
)

// Refusal is a sign-in refused for what the provider or the browser sent.
// Its text never holds a code or a token.
type Refusal struct {
	Reason string
	Email  string // the email the token named, once a token was verified
	Detail string // for the log
}

func (r *Refusal) Error() string {
	msg := "single sign-on refused: " + r.Reason
	if r.Detail != "" {
		msg += ": " + r.Detail
	}
	return msg
}

func refuse(reason, detail string) *Refusal { return &Refusal{Reason: reason, Detail: detail} }

// Identity is who the provider vouches for.
type Identity struct {
	Email   string // verified by the provider
	Subject string
}

type claims struct {
	Email         string `json:"email"`
	EmailVerified any    `json:"email_verified"` // some providers send "true"
}

// Finish ends the sign-in a of the callback's query: it checks the state,
// exchanges the code (with a's verifier) and verifies the ID token. Errors:
// *Refusal for anything wrong in what was sent; others when the provider
// could not be reached.
func (p *Provider) Finish(ctx context.Context, a Attempt, query url.Values) (Identity, error) {
	if a.State == "" || subtle.ConstantTimeCompare([]byte(a.State), []byte(query.Get("state"))) != 1 {
		return Identity{}, refuse(ReasonState, "the state does not match this session's sign-in")
	}
	if e := query.Get("error"); e != "" {
		return Identity{}, refuse(ReasonProviderError, e)
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.client)
	tok, err := p.oauth.Exchange(ctx, query.Get("code"), oauth2.VerifierOption(a.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return Identity{}, refuse(ReasonExchange, "the provider answered "+re.ErrorCode)
		}
		return Identity{}, fmt.Errorf("exchange the code with the provider: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, refuse(ReasonExchange, "the provider sent no ID token")
	}
	id, err := p.verifier.Verify(ctx, raw)
	var expired *oidc.TokenExpiredError
	switch {
	case errors.As(err, &expired):
		return Identity{}, refuse(ReasonExpired, "expired at "+expired.Expiry.UTC().Format(time.RFC3339))
	case err != nil:
		return Identity{}, refuse(ReasonSignature, err.Error())
	}
	if !slices.Contains(id.Audience, p.clientID) {
		return Identity{}, refuse(ReasonAudience, fmt.Sprintf("issued to %q", id.Audience))
	}
	if subtle.ConstantTimeCompare([]byte(id.Nonce), []byte(a.Nonce)) != 1 {
		return Identity{}, refuse(ReasonNonce, "the nonce is not this sign-in's")
	}
	var c claims
	if err := id.Claims(&c); err != nil {
		return Identity{}, refuse(ReasonSignature, err.Error())
	}
	if c.Email == "" || !(c.EmailVerified == true || c.EmailVerified == "true") {
		return Identity{}, &Refusal{Reason: ReasonUnverified, Email: c.Email, Detail: fmt.Sprintf("email_verified is %v", c.EmailVerified)}
	}
	return Identity{Email: c.Email, Subject: id.Subject}, nil
}

// random is 32 bytes from the system's generator, as URL-safe text.
func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}
