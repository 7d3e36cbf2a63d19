package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// testLockout: five wrong passwords for one email, then the right one is
// refused with a page that says when to try again. The window sends from
// an address of its own (the service trusts X-Forwarded-For from loopback,
// as from its proxy), so that its attempts do not use up the allowance of
// the address every other flow signs in from.
func testLockout(t *testing.T, s *site) {
	const email = "iras.requester@demo.gov.sg"
	w := s.newWindow(t, "IRAS requester mistyping")
	step(w, "send from 198.51.100.7", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"X-Forwarded-For": "198.51.100.7"},
		})
		return err
	}))
	if st := w.open("/login"); st != http.StatusOK {
		t.Fatalf("GET /login: got %d, want 200", st)
	}
	for i := 1; i <= 5; i++ {
		if st := w.submitSignIn(email, s.password+"-wrong"); st != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: got %d, want 401", i, st)
		}
	}
	if st := w.submitSignIn(email, s.password); st != http.StatusTooManyRequests {
		t.Fatalf("the right password after five wrong ones: got %d, want 429", st)
	}
	if got := w.mainText(); !strings.Contains(got, "Too many failed sign-ins for this email. Try again after ") || !strings.Contains(got, "SGT.") {
		t.Errorf("the locked page: got %q, want it to say when to try again", got)
	}
	if got := w.path(); got != "/login" {
		t.Errorf("after the refused sign-in: at %s, want /login", got)
	}
	w.screenshot("lockout")
}
