package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"datashare/accounts"
	"datashare/errs"
	"datashare/sso"
)

// Session keys of a single sign-on under way: removed at the callback, so
// that each is used once.
const (
	keySSOState    = "sso_state"
	keySSONonce    = "sso_nonce"
	keySSOVerifier = "sso_verifier"
	keySSONext     = "sso_next"
)

func (a *app) handleSSOLogin(c echo.Context) error {
	ctx := c.Request().Context()
	attempt, to := a.Settings.SSO.Provider.Begin()
	a.sessions.Put(ctx, keySSOState, attempt.State)
	a.sessions.Put(ctx, keySSONonce, attempt.Nonce)
	a.sessions.Put(ctx, keySSOVerifier, attempt.Verifier)
	a.sessions.Put(ctx, keySSONext, localPath(c.QueryParam("next")))
	return c.Redirect(http.StatusSeeOther, to)
}

func (a *app) handleSSOCallback(c echo.Context) error {
	ctx := c.Request().Context()
	attempt := sso.Attempt{
		State:    a.sessions.PopString(ctx, keySSOState),
		Nonce:    a.sessions.PopString(ctx, keySSONonce),
		Verifier: a.sessions.PopString(ctx, keySSOVerifier),
	}
	next := localPath(a.sessions.PopString(ctx, keySSONext))
	id, err := a.Settings.SSO.Provider.Finish(ctx, attempt, c.QueryParams())
	var refusal *sso.Refusal
	switch {
	case errors.As(err, &refusal):
		if err := a.Accounts.SSORefused(ctx, refusal.Email, c.RealIP(), refusal.Reason, refusal.Detail); err != nil {
			return err
		}
		return a.renderSSORefusal(c, refusal.Reason, refusal.Email)
	case err != nil:
		return err
	}
	u, err := a.Accounts.SSOSignIn(ctx, id.Email, c.RealIP())
	var e *errs.Error
	if errors.As(err, &e) && e.Code == errs.Forbidden {
		return a.renderSSORefusal(c, e.Field, id.Email)
	}
	if err != nil {
		return err
	}
	if err := a.signIn(c, u); err != nil {
		return err
	}
	return seeOther(c, next)
}

// ssoRefusals say, per reason, what a person turned away should do.
var ssoRefusals = map[string]struct {
	status  int
	message string // %s: the email the provider named
}{
	accounts.ReasonUnknownEmail: {http.StatusForbidden, "Your identity provider signed you in as %s, but datashare has no account with that email. Ask your agency's datashare admin to create your account."},
	accounts.ReasonDeactivated:  {http.StatusForbidden, "The datashare account of %s is deactivated. Ask your agency's datashare admin to reactivate it."},
	sso.ReasonUnverified:        {http.StatusForbidden, "Your identity provider did not confirm that %s is your email address. Ask your agency's datashare admin to have it confirmed."},
	sso.ReasonState:             {http.StatusBadRequest, "This sign-in was already used, or was not begun in this browser. Start again from the sign-in page; if it happens again, ask your agency's datashare admin."},
	sso.ReasonProviderError:     {http.StatusUnauthorized, "Your identity provider did not sign you in. Start again from the sign-in page; if it happens again, ask your agency's datashare admin."},
}

// ssoUnconfirmed is the message of every other refusal: the provider's
// answer could not be trusted.
const ssoUnconfirmed = "datashare could not confirm your sign-in with your identity provider. Start again from the sign-in page; if it happens again, ask your agency's datashare admin."

// renderSSORefusal answers a refused single sign-on with the error page,
// saying what to do. The reason itself is in the log and in the user's
// recent sign-ins.
func (a *app) renderSSORefusal(c echo.Context, reason, email string) error {
	r, ok := ssoRefusals[reason]
	if !ok {
		r.status, r.message = http.StatusUnauthorized, ssoUnconfirmed
	}
	msg := r.message
	if strings.Contains(msg, "%s") {
		if email == "" {
			email = "no email"
		}
		msg = fmt.Sprintf(msg, email)
	}
	v := &errorView{Status: r.status, Heading: "Single sign-on did not sign you in", Message: sentence(msg)}
	return a.render(c, r.status, "error", v)
}
