package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"datashare/errs"
)

const (
	csrfField  = "csrf"
	csrfCookie = "datashare_csrf"
)

var errCrossSite = errs.E(errs.Forbidden, "This form was sent from another site or an old page, so nothing was changed. Go back, reload the page and try again.")

// csrf refuses a state-changing request that a browser says came from
// another origin (Sec-Fetch-Site), including another port of the same host;
// a browser that does not say must send the form's token instead.
func (a *app) csrf() echo.MiddlewareFunc {
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "form:" + csrfField,
		ContextKey:     csrfField,
		CookieName:     csrfCookie,
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   a.Settings.Secure,
		CookieSameSite: http.SameSiteLaxMode,
		AllowSecFetchSiteFunc: func(echo.Context) (bool, error) {
			return false, errCrossSite
		},
		ErrorHandler: func(error, echo.Context) error { return errCrossSite },
	})
}

// csrfToken is the token a page's forms carry. The error page of an
// unknown address is answered outside the CSRF middleware, yet its header
// has a Sign out form: the cookie holds the same token.
func csrfToken(c echo.Context) string {
	if t, _ := c.Get(csrfField).(string); t != "" {
		return t
	}
	if ck, err := c.Cookie(csrfCookie); err == nil {
		return ck.Value
	}
	return ""
}
