package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"datashare/accounts"
	"datashare/holidays"
	"datashare/notifications"
	"datashare/projects"
	"datashare/sla"
	"datashare/sso"
	"datashare/statements"
	"datashare/workflow"
)

// Settings are what the pages need to know of the deployment.
type Settings struct {
	// Secure marks the session and CSRF cookies Secure, and has every
	// answer carry Strict-Transport-Security (wiring passes it to the API,
	// which sets the headers); set it whenever the service is reached over
	// https.
	Secure bool
	// IdleTimeout ends a session not used for this long; Lifetime ends any
	// session this long after sign-in.
	IdleTimeout time.Duration
	Lifetime    time.Duration
	SSO         SSO
}

// SSO is single sign-on through the agency's identity provider.
type SSO struct {
	Provider *sso.Provider // nil: no single sign-on
	// Label is the text of the sign-in button, such as "Sign in with
	// TechPass".
	Label string
	// NoPasswords hides the password form and refuses password sign-ins,
	// for a deployment that trusts its identity provider alone.
	NoPasswords bool
}

// DefaultSettings are 30 minutes idle and 12 hours at most.
func DefaultSettings() Settings {
	return Settings{IdleTimeout: 30 * time.Minute, Lifetime: 12 * time.Hour}
}

// Deps are the services the pages call, the same ones the API calls.
type Deps struct {
	Log           *slog.Logger
	Now           func() time.Time
	Accounts      *accounts.Service
	Workflow      *workflow.Service
	Projects      *projects.Service
	SLA           *sla.Keeper
	Reporter      *sla.Reporter
	Statements    *statements.Service
	Holidays      *holidays.Service
	Reprojector   *sla.Reprojector // previews what a change of the calendar moves
	Notifications *notifications.Service
	Sessions      scs.Store // shared by every replica
	Settings      Settings
}

// app serves the pages.
type app struct {
	Deps
	sessions *scs.SessionManager
	pages    *pages
	assets   *assets
}

// Mount adds the pages to e, the API's echo instance: every path outside
// /api/ answers HTML, including its errors. It fails when a template does
// not parse, so that a broken page stops the start rather than a visitor.
func Mount(e *echo.Echo, d Deps) error {
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC() }
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	zero := Settings{}
	if d.Settings == zero {
		d.Settings = DefaultSettings()
	}
	a := &app{Deps: d}
	var err error
	if a.assets, err = loadAssets(); err != nil {
		return fmt.Errorf("web assets: %w", err)
	}
	if a.pages, err = parsePages(a.funcs()); err != nil {
		return fmt.Errorf("web templates: %w", err)
	}
	a.sessions = newSessionManager(d.Sessions, d.Settings)
	// A session that cannot be read or saved (the database is away) is
	// answered by the error page with its status, not scs's bare 500.
	a.sessions.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		a.renderError(e.NewContext(r, w), err)
	}
	apiErrors := e.HTTPErrorHandler
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if isAPIPath(c.Request().URL.Path) {
			apiErrors(err, c)
			return
		}
		a.renderError(c, err)
	}
	a.registerRoutes(e)
	return nil
}
