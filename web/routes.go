package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"datashare/api"
	"datashare/errs"
)

func isAPIPath(p string) bool {
	return strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/readyz"
}

// router adds pages with the middleware every page runs behind: gzip,
// the session, CSRF, and (for signed-in pages) the signed-in user. echo's
// group middleware is not used because a group at "/" would catch the
// API's unknown paths too.
type router struct {
	e      *echo.Echo
	public []echo.MiddlewareFunc // pages anyone may open (sign-in)
	signed []echo.MiddlewareFunc // pages for a signed-in user
}

func (r router) page(method, path string, h echo.HandlerFunc) {
	add(r.e, method, path, h, r.signed)
}

func (r router) open(method, path string, h echo.HandlerFunc) {
	add(r.e, method, path, h, r.public)
}

// add also answers HEAD wherever GET is answered: echo does not, and link
// checkers and uptime monitors ask with HEAD. net/http drops the body.
func add(e *echo.Echo, method, path string, h echo.HandlerFunc, mw []echo.MiddlewareFunc) {
	e.Add(method, path, h, mw...)
	if method == http.MethodGet {
		e.Add(http.MethodHead, path, h, mw...)
	}
}

// registerRoutes is the one place that lists every page.
func (a *app) registerRoutes(e *echo.Echo) {
	gzip := middleware.GzipWithConfig(middleware.GzipConfig{Level: 5})
	session := []echo.MiddlewareFunc{echo.WrapMiddleware(a.sessions.LoadAndSave), a.pageErrors, a.csrf()}
	base := append([]echo.MiddlewareFunc{gzip, api.NoStore}, session...)
	r := router{e: e, public: base, signed: append(append([]echo.MiddlewareFunc{}, base...), a.requireUser)}

	add(e, http.MethodGet, assetPrefix+"*", a.handleAsset, []echo.MiddlewareFunc{gzip})

	r.open(http.MethodGet, "/login", a.handleLoginForm)
	// The limit comes before the session, so that a flood costs no
	// database read.
	add(e, http.MethodPost, "/login", a.handleLogin, append([]echo.MiddlewareFunc{gzip, api.NoStore, loginLimit()}, session...))
	r.page(http.MethodPost, "/logout", a.handleLogout)
	if a.Settings.SSO.Provider != nil {
		// Limited as POST /login is: each start stores a session, each
		// refusal is written down.
		add(e, http.MethodGet, "/auth/oidc/login", a.handleSSOLogin, append([]echo.MiddlewareFunc{gzip, api.NoStore, loginLimit()}, session...))
		add(e, http.MethodGet, "/auth/oidc/callback", a.handleSSOCallback, append([]echo.MiddlewareFunc{gzip, api.NoStore, loginLimit()}, session...))
	}

	r.page(http.MethodGet, "/", a.handleHome)
	a.registerRequestPages(r)
	a.registerProjectPages(r)
	a.registerReportPages(r)
	a.registerStatementPages(r)
	a.registerPersonalPages(r)
	a.registerAdminPages(r)
}

// Each client address may try to sign in loginBurst times at once, then
// once every loginEvery: enough for a person, too few for a flood, which
// the lockout of each email does not bound.
const (
	loginBurst = 10
	loginEvery = 6 * time.Second
)

// loginLimit refuses the sign-in attempts of an address past the limit
// with too_many_requests. Its count is each replica's own.
func loginLimit() echo.MiddlewareFunc {
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: rate.Every(loginEvery), Burst: loginBurst, ExpiresIn: loginBurst * loginEvery,
		}),
		IdentifierExtractor: func(c echo.Context) (string, error) { return c.RealIP(), nil },
		DenyHandler: func(echo.Context, string, error) error {
			return &errs.Error{Code: errs.TooManyRequests, RetryAfter: loginEvery,
				Message: "there have been too many sign-in attempts from your address; wait a minute and try again"}
		},
	})
}
