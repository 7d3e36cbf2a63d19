package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"datashare/errs"
)

type loginView struct {
	Page
	Next            string
	Error           string
	Email, Password fieldView
}

func (a *app) loginView(email, next, msg string) *loginView {
	v := &loginView{
		Next:     next,
		Error:    msg,
		Email:    fieldView{ID: "email", Name: "email", Label: "Email", Type: "email", Value: email, Required: true, Autocomplete: "username"},
		Password: fieldView{ID: "password", Name: "password", Label: "Password", Type: "password", Required: true, Autocomplete: "current-password"},
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
	u, err := a.Accounts.SignIn(c.Request().Context(), email, password)
	if errs.Is(err, errs.Unauthenticated) {
		a.Log.Info("sign-in refused", "email", email, "address", c.RealIP())
		v := a.loginView(email, next, "Email or password is incorrect")
		return a.render(c, http.StatusUnauthorized, "login", v)
	}
	if err != nil {
		return err
	}
	if err := a.signIn(c, u); err != nil {
		return err
	}
	a.Log.Info("signed in", "user_id", u.ID, "email", u.Email, "address", c.RealIP())
	return seeOther(c, next)
}

func (a *app) handleLogout(c echo.Context) error {
	v := viewer(c)
	if err := a.signOut(c, "You have signed out."); err != nil {
		return err
	}
	a.Log.Info("signed out", "user_id", v.ID, "email", v.Email, "address", c.RealIP())
	return seeOther(c, "/login")
}
