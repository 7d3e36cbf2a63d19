package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"datashare/accounts"
	"datashare/api"
	"datashare/errs"
)

type loginView struct {
	Page
	Next            string
	Error           string
	Email, Password fieldView
	SSOLabel        string // the single sign-on button's, when there is one
	Passwords       bool   // the password form is shown
}

func (a *app) loginView(email, next, msg string) *loginView {
	v := &loginView{
		Next:      next,
		Error:     msg,
		Passwords: !a.Settings.SSO.NoPasswords,
		Email:     fieldView{ID: "email", Name: "email", Label: "Email", Type: "email", Value: email, Required: true, Autocomplete: "username"},
		Password:  fieldView{ID: "password", Name: "password", Label: "Password", Type: "password", Required: true, Autocomplete: "current-password"},
	}
	if a.Settings.SSO.Provider != nil {
		v.SSOLabel = a.Settings.SSO.Label
	}
	return v
}

func (a *app) handleLoginForm(c echo.Context) error {
	next := localPath(c.QueryParam("next"))
	if _, err := a.signedInUser(c); err == nil {
		return seeOther(c, next)
	}
	v := a.loginView("", next, "")
	if next != "/" {
		v.Flash = "Please sign in to continue."
	}
	return a.render(c, http.StatusOK, "login", v)
}

func (a *app) handleLogin(c echo.Context) error {
	email, password := c.FormValue("email"), c.FormValue("password")
	next := localPath(c.FormValue("next"))
	if a.Settings.SSO.NoPasswords {
		v := a.loginView("", next, "Sign-in with a password is turned off here: use the button below.")
		return a.render(c, http.StatusForbidden, "login", v)
	}
	u, err := a.Accounts.SignIn(c.Request().Context(), email, password, c.RealIP())
	switch {
	case err == accounts.ErrDeactivated:
		v := a.loginView(email, next, "This account is deactivated. If you still need access, ask your agency's datashare admin.")
		return a.render(c, http.StatusUnauthorized, "login", v)
	case errs.Is(err, errs.Unauthenticated):
		v := a.loginView(email, next, "Email or password is incorrect")
		return a.render(c, http.StatusUnauthorized, "login", v)
	case errs.Is(err, errs.TooManyRequests):
		e := api.Classify(err)
		api.SetRetryAfter(c.Response().Header(), e)
		v := a.loginView(email, next, "Too many failed sign-ins for this email. Try again after "+a.when(untilMinute(a.Now().Add(e.RetryAfter)))+".")
		return a.render(c, api.Status(e.Code), "login", v)
	case err != nil:
		return err
	}
	if err := a.signIn(c, u); err != nil {
		return err
	}
	return seeOther(c, next)
}

// untilMinute rounds t up to the minute, as the page shows it: a person
// told 10:15 must not be refused at 10:15.
func untilMinute(t time.Time) time.Time {
	if m := t.Truncate(time.Minute); !m.Equal(t) {
		return m.Add(time.Minute)
	}
	return t
}

func (a *app) handleLogout(c echo.Context) error {
	v := viewer(c)
	if err := a.signOut(c, "You have signed out."); err != nil {
		return err
	}
	if err := a.Accounts.SignedOut(c.Request().Context(), v.Actor, c.RealIP()); err != nil {
		return err
	}
	return seeOther(c, "/login")
}
