package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// testAccountTokensAndPassword creates an API token on /account, uses it,
// revokes it, and changes the password, with the refusals of each form on
// the way; axe judges every page it lands on. Its user is used by no other
// flow, as its password changes.
func testAccountTokensAndPassword(t *testing.T, s *site) {
	const email = "iras.manager@demo.gov.sg"
	w := s.newWindow(t, "IRAS manager")
	if st := w.signIn(email); st != http.StatusOK {
		t.Fatalf("sign in: got %d, want 200", st)
	}
	if st := w.open("/account"); st != http.StatusOK {
		t.Fatalf("/account: got %d, want 200", st)
	}

	if st := w.press("Create token"); st != http.StatusUnprocessableEntity {
		t.Errorf("Create token without a name: got %d, want 422", st)
	}
	if got := w.fieldMessage("Token name"); !strings.Contains(got, "Token name is required") {
		t.Errorf("Token name's description after the refusal: got %q, want it to say the name is required", got)
	}
	w.fill("Token name", "nightly export")
	w.setValue("Expires on", field("Expires on"), time.Now().AddDate(1, 0, 0).Format(time.DateOnly))
	if st := w.press("Create token"); st != http.StatusCreated {
		t.Fatalf("Create token: got %d, want 201", st)
	}
	secret := w.value("Token")
	if !strings.HasPrefix(secret, "dst_") {
		t.Fatalf("the new token's field: got %q, want a dst_ secret", secret)
	}
	if st := s.program.get("/api/v1/me", secret, nil); st != http.StatusOK {
		t.Errorf("the token made on /account: GET /api/v1/me got %d, want 200", st)
	}
	if row := w.text(`//table[@id="tokens"]//tr[td[1][normalize-space()="nightly export"]]`); strings.Contains(row, "Never") {
		t.Errorf("the token's row: got %q, want its expiry date", row)
	}

	if st := w.press("Revoke token nightly export"); st != http.StatusOK || w.path() != "/account" {
		t.Fatalf("Revoke: got %d at %s, want 200 at /account", st, w.path())
	}
	if got := w.mainText(); !strings.Contains(got, `The token "nightly export" has been revoked`) {
		t.Errorf("after Revoke: got %q, want the notice", got)
	}
	if st := s.program.get("/api/v1/me", secret, nil); st != http.StatusUnauthorized {
		t.Errorf("the revoked token: GET /api/v1/me got %d, want 401", st)
	}

	w.fill("Current password", s.password)
	w.fill("New password", email)
	w.fill("Confirm new password", email)
	if st := w.press("Change password"); st != http.StatusUnprocessableEntity {
		t.Errorf("the email as the new password: got %d, want 422", st)
	}
	if got := w.fieldMessage("New password"); !strings.Contains(got, "must not be the email address") {
		t.Errorf("New password's description: got %q, want it to refuse the email", got)
	}
	const fresh = "a long and fresh passphrase"
	w.fill("Current password", s.password)
	w.fill("New password", fresh)
	w.fill("Confirm new password", fresh)
	if st := w.press("Change password"); st != http.StatusOK || w.path() != "/account" {
		t.Fatalf("Change password: got %d at %s, want 200 at /account", st, w.path())
	}
	if got := w.mainText(); !strings.Contains(got, "Your password has been changed") {
		t.Errorf("after Change password: got %q, want the notice", got)
	}
	if st := w.press("Sign out"); st != http.StatusOK {
		t.Fatalf("Sign out: got %d", st)
	}
	if st := w.submitSignIn(email, fresh); st != http.StatusOK || pageName(w.path()) == "/login" {
		t.Errorf("sign in with the new password: got %d at %s, want signed in", st, w.path())
	}
}
