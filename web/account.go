package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"datashare/accounts"
	"datashare/errs"
	"datashare/models"
	"datashare/sso"
)

type accountView struct {
	Page
	User                  models.User
	AgencyName            string
	Roles                 string
	Current, New, Confirm fieldView
	Problems              []problem
	SignIns               []models.SignInEvent
	Tokens                []tokenRow
	TokenName, TokenDate  fieldView
	TokenProblems         []problem
	NewToken              *newToken // the token just created, whose secret is shown this once
	Passwords             bool      // false where only single sign-on signs in
}

// tokenRow is one of the user's API tokens as the page lists it.
type tokenRow struct {
	models.Token
	Expired bool
}

type newToken struct {
	Name, Secret string
}

// accountView never carries a password back into the form: a refused
// attempt shows empty password fields.
func (a *app) accountView(c echo.Context) (*accountView, error) {
	ctx := c.Request().Context()
	u, err := a.Accounts.UserByID(ctx, viewer(c).ID)
	if err != nil {
		return nil, err
	}
	v := &accountView{Page: Page{Nav: "account"}, User: u, AgencyName: u.AgencyCode, Passwords: !a.Settings.SSO.NoPasswords}
	agencies, err := a.Accounts.ListAgencies(ctx)
	if err != nil {
		return nil, err
	}
	for _, ag := range agencies {
		if ag.Code == u.AgencyCode {
			v.AgencyName = ag.Name
		}
	}
	var roles []string
	for _, r := range accounts.RolesOf(u) {
		roles = append(roles, roleLabel(string(r)))
	}
	v.Roles = strings.Join(roles, ", ")
	if v.SignIns, err = a.Accounts.RecentSignIns(ctx, viewer(c).Actor); err != nil {
		return nil, err
	}
	v.Current = fieldView{ID: "current_password", Name: "current_password", Label: "Current password", Type: "password", Required: true, Autocomplete: "current-password"}
	v.New = fieldView{ID: "new_password", Name: "new_password", Label: "New password", Type: "password", Required: true, Autocomplete: "new-password",
		Hint: "At least 12 characters (at most 72). A few unrelated words make a strong password that is easy to remember."}
	v.Confirm = fieldView{ID: "confirm_password", Name: "confirm_password", Label: "Confirm new password", Type: "password", Required: true, Autocomplete: "new-password"}
	tokens, err := a.Accounts.Tokens(ctx, viewer(c).Actor, u.ID)
	if err != nil {
		return nil, err
	}
	now := a.Now()
	for _, t := range tokens {
		v.Tokens = append(v.Tokens, tokenRow{Token: t, Expired: t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)})
	}
	v.TokenName = fieldView{ID: "token_name", Name: "token_name", Label: "Token name", Required: true, MaxLength: 100,
		Hint: "Say where the token will be used, like laptop script."}
	v.TokenDate = fieldView{ID: "token_expires", Name: "token_expires", Label: "Expires on", Type: "date",
		Hint: "The token works until the end of this day (" + a.zone(now) + "). Leave it empty for a token that does not expire."}
	return v, nil
}

var roleLabels = map[string]string{"requester": "Requester", "approver": "Approver", "manager": "Manager", "admin": "Admin"}

var signInLabels = map[string]string{
	accounts.OutcomeSignedIn:    "Signed in",
	accounts.OutcomeFailed:      "Wrong password",
	accounts.OutcomeLocked:      fmt.Sprintf("Wrong password; sign-in locked for %g minutes", accounts.LockoutPeriod.Minutes()),
	accounts.OutcomeRefused:     "Refused: sign-in locked after failed attempts",
	accounts.OutcomeSignedOut:   "Signed out",
	accounts.OutcomeDeactivated: "Refused: account deactivated",
	accounts.OutcomeSSOSignedIn: "Signed in with single sign-on",
	accounts.OutcomeSSORefused:  "Single sign-on refused",
}

// ssoReasonLabels say why a single sign-on was refused, as the user's list
// shows it.
var ssoReasonLabels = map[string]string{
	accounts.ReasonUnknownEmail: "no account has this email",
	accounts.ReasonDeactivated:  "the account is deactivated",
	sso.ReasonUnverified:        "the email was not verified by the identity provider",
	sso.ReasonState:             "the sign-in was already used or not begun in this browser",
	sso.ReasonProviderError:     "the identity provider did not sign in",
	sso.ReasonExchange:          "the identity provider refused the code",
	sso.ReasonSignature:         "the token was not signed by the identity provider",
	sso.ReasonExpired:           "the token had expired",
	sso.ReasonAudience:          "the token was issued to another service",
	sso.ReasonNonce:             "the token was issued for another sign-in",
}

func signInLabel(ev models.SignInEvent) string {
	l, ok := signInLabels[ev.Outcome]
	if !ok {
		l = ev.Outcome
	}
	if ev.Reason != "" {
		r, ok := ssoReasonLabels[ev.Reason]
		if !ok {
			r = ev.Reason
		}
		l += ": " + r
	}
	return l
}

func roleLabel(r string) string {
	if l, ok := roleLabels[r]; ok {
		return l
	}
	return r
}

func (a *app) handleAccount(c echo.Context) error {
	v, err := a.accountView(c)
	if err != nil {
		return err
	}
	return a.render(c, http.StatusOK, "account", v)
}

// handlePasswordChange ends every other session of the user at once (the
// service moves their session epoch on) and keeps this one, under a new
// token that carries the new epoch.
func (a *app) handlePasswordChange(c echo.Context) error {
	if a.Settings.SSO.NoPasswords {
		return errs.E(errs.Forbidden, "passwords are turned off here: you sign in through your agency's identity provider")
	}
	current, next, confirm := c.FormValue("current_password"), c.FormValue("new_password"), c.FormValue("confirm_password")
	if next != confirm {
		return a.refusePassword(c, "confirm_password", "The new password and its confirmation are not the same")
	}
	u, err := a.Accounts.ChangePassword(c.Request().Context(), viewer(c).Actor, current, next)
	if field, msg, ok := fieldProblem(err); ok {
		return a.refusePassword(c, field, msg)
	}
	if err != nil {
		return err
	}
	if err := a.signIn(c, u); err != nil {
		return err
	}
	a.Log.Info("password changed", "user_id", u.ID, "email", u.Email, "address", c.RealIP())
	a.flash(c, "Your password has been changed; other sessions have been signed out.")
	return seeOther(c, "/account")
}

func (a *app) refusePassword(c echo.Context, field, msg string) error {
	v, err := a.accountView(c)
	if err != nil {
		return err
	}
	v.Problems = markField(field, msg, &v.Current, &v.New, &v.Confirm)
	return a.render(c, http.StatusUnprocessableEntity, "account", v)
}

// handleTokenCreate shows the new token's secret on the page it answers
// with, this once: it is never stored, not even in the session.
func (a *app) handleTokenCreate(c echo.Context) error {
	name, day := c.FormValue("token_name"), strings.TrimSpace(c.FormValue("token_expires"))
	var expires *time.Time
	if day != "" {
		d, err := time.ParseInLocation(time.DateOnly, day, a.Holidays.Location())
		if err != nil {
			return a.refuseToken(c, name, day, "token_expires", "Enter the expiry date as a date, like 2026-12-31")
		}
		end := d.AddDate(0, 0, 1)
		expires = &end
	}
	me := viewer(c).Actor
	_, secret, err := a.Accounts.IssueToken(c.Request().Context(), me, me.ID, name, expires)
	if field, msg, ok := fieldProblem(err); ok {
		if field == "expires_at" {
			return a.refuseToken(c, name, day, "token_expires", "The expiry date must be today or later")
		}
		return a.refuseToken(c, name, day, "token_name", msg)
	}
	if err != nil {
		return err
	}
	a.Log.Info("API token created", "user_id", me.ID, "email", me.Email, "address", c.RealIP())
	v, err := a.accountView(c)
	if err != nil {
		return err
	}
	v.NewToken = &newToken{Name: strings.TrimSpace(name), Secret: secret}
	return a.render(c, http.StatusCreated, "account", v)
}

func (a *app) refuseToken(c echo.Context, name, day, field, msg string) error {
	v, err := a.accountView(c)
	if err != nil {
		return err
	}
	v.TokenName.Value, v.TokenDate.Value = name, day
	if field != v.TokenDate.Name {
		field = v.TokenName.Name // a refusal of no field of its own is the name's
	}
	v.TokenProblems = markField(field, msg, &v.TokenName, &v.TokenDate)
	return a.render(c, http.StatusUnprocessableEntity, "account", v)
}

// handleTokenRevoke revokes one of the viewer's own tokens; another's
// answers not found, as the API does.
func (a *app) handleTokenRevoke(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return errs.E(errs.NotFound, "no such token")
	}
	me := viewer(c).Actor
	ctx := c.Request().Context()
	tokens, err := a.Accounts.Tokens(ctx, me, me.ID)
	if err != nil {
		return err
	}
	name := ""
	for _, t := range tokens {
		if t.ID == id {
			name = t.Name
		}
	}
	if name == "" {
		// An admin may revoke anyone's token through the API, not here.
		return errs.E(errs.NotFound, "no such token")
	}
	if err := a.Accounts.RevokeToken(ctx, me, id); err != nil {
		return err
	}
	a.Log.Info("API token revoked", "user_id", me.ID, "email", me.Email, "token_id", id, "address", c.RealIP())
	a.flash(c, fmt.Sprintf("The token %q has been revoked; it no longer works.", name))
	return seeOther(c, "/account")
}
