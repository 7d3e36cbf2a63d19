// Package sso signs people in through their agency's OpenID Connect
// provider: the authorization code flow with PKCE, a state and a nonce
// that the caller keeps in the browser's session between the redirect and
// the callback, and an ID token verified for its issuer, audience, expiry
// and signature by the provider's published keys (fetched again when the
// provider rotates them).
//
// It answers who the provider vouches for, by a verified email, and never
// who that is in datashare: accounts decides that. It knows nothing of
// HTTP servers or sessions, only of the provider.
package sso
