package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"datashare/accounts"
	"datashare/errs"
	"datashare/models"
	"datashare/sla"
	"datashare/workflow"
)

// Session keys.
const (
	keyUser  = "uid"
	keyEpoch = "epoch"
	keyFlash = "flash"
)

const viewerKey = "datashare.viewer"

func newSessionManager(store scs.Store, s Settings) *scs.SessionManager {
	m := scs.New()
	m.Store = store
	m.IdleTimeout = s.IdleTimeout
	m.Lifetime = s.Lifetime
	m.Cookie.Name = "datashare_session"
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	m.Cookie.Secure = s.Secure
	m.Cookie.Path = "/"
	return m
}

// Viewer is the signed-in user as pages see them: the actor the services
// are called with (templates read its ID, Name, Email and Agency).
type Viewer struct {
	workflow.Actor
}

// Has reports whether the viewer holds role r (templates call it).
func (v *Viewer) Has(r string) bool { return v.Actor.Has(workflow.Role(r)) }

// MayReport reports whether the viewer may open a compliance report, by
// the rule the report itself applies (sla.Authorize).
func (v *Viewer) MayReport() bool {
	_, err := sla.Authorize(v.Actor, "")
	return err == nil
}

// MayFile reports whether the viewer may file a request (workflow.CanCreate),
// so that a New request link is never refused.
func (v *Viewer) MayFile() bool { return workflow.CanCreate(v.Actor) == nil }

func viewerOf(u models.User) *Viewer {
	return &Viewer{Actor: accounts.ActorOf(u)}
}

func viewer(c echo.Context) *Viewer {
	v, _ := c.Get(viewerKey).(*Viewer)
	return v
}

// signedInUser returns the session's user, or not_found when nobody is
// signed in, the user is gone or deactivated, or their credentials changed
// since the session began (another replica may have changed them).
func (a *app) signedInUser(c echo.Context) (models.User, error) {
	ctx := c.Request().Context()
	id := a.sessions.GetInt64(ctx, keyUser)
	if id == 0 {
		return models.User{}, errs.E(errs.NotFound, "not signed in")
	}
	u, err := a.Accounts.UserByID(ctx, id)
	if err != nil {
		return models.User{}, err
	}
	if u.SessionEpoch != a.sessions.GetInt(ctx, keyEpoch) {
		return models.User{}, errs.E(errs.NotFound, "the session predates a change of credentials")
	}
	if !u.Active() {
		return models.User{}, errs.E(errs.NotFound, "the user is deactivated")
	}
	return u, nil
}

// requireUser lets a signed-in user through and sends anyone else to the
// sign-in page, which brings them back here afterwards.
func (a *app) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := a.signedInUser(c)
		switch {
		case err == nil:
			c.Set(viewerKey, viewerOf(u))
			return next(c)
		case !errs.Is(err, errs.NotFound):
			return err
		}
		ctx := c.Request().Context()
		if a.sessions.GetInt64(ctx, keyUser) != 0 {
			// Credentials changed or the user is gone: this session is over.
			if err := a.sessions.Destroy(ctx); err != nil {
				return err
			}
		}
		target := "/login"
		if m := c.Request().Method; (m == http.MethodGet || m == http.MethodHead) && c.Request().URL.RequestURI() != "/" {
			target += "?next=" + url.QueryEscape(c.Request().URL.RequestURI())
		}
		return c.Redirect(http.StatusSeeOther, target)
	}
}

// signIn starts a session for u under a new token, so that a token planted
// before sign-in is worth nothing after.
func (a *app) signIn(c echo.Context, u models.User) error {
	ctx := c.Request().Context()
	if err := a.sessions.RenewToken(ctx); err != nil {
		return err
	}
	a.sessions.Put(ctx, keyUser, u.ID)
	a.sessions.Put(ctx, keyEpoch, u.SessionEpoch)
	return nil
}

// signOut ends the session and starts an empty one under a new token, which
// carries only the goodbye message.
func (a *app) signOut(c echo.Context, flash string) error {
	ctx := c.Request().Context()
	if err := a.sessions.RenewToken(ctx); err != nil {
		return err
	}
	a.sessions.Remove(ctx, keyUser)
	a.sessions.Remove(ctx, keyEpoch)
	a.flash(c, flash)
	return nil
}

// flash leaves a message for the next page the user sees.
func (a *app) flash(c echo.Context, msg string) {
	if msg != "" {
		a.sessions.Put(c.Request().Context(), keyFlash, msg)
	}
}

func (a *app) popFlash(c echo.Context) string {
	return a.sessions.PopString(c.Request().Context(), keyFlash)
}

// localPath returns next when it is a path on this site, else "/": a
// sign-in link must not send anyone to another site.
func localPath(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	if strings.HasPrefix(u.Path, "/login") || strings.HasPrefix(u.Path, "/logout") {
		return "/"
	}
	return next
}
