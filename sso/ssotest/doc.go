// Package ssotest runs a real OpenID Connect provider in the test process
// (github.com/oauth2-proxy/mockoidc) that tests can make misbehave: sign
// with a key it does not publish, send claims of its choosing, run its
// clock behind, or answer an error instead of a code.
package ssotest
