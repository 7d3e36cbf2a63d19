package api

import "github.com/labstack/echo/v4"

// contentSecurityPolicy allows nothing from another origin, no inline script
// or style, and no framing. It is written for the pages, and holds for the
// API's JSON too.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// strictTransportSecurity tells a browser that met the service over https
// once to use nothing else for a year.
const strictTransportSecurity = "max-age=31536000"

// securityHeaders is the one home of the headers every answer carries, the
// API's and the pages' alike, errors included.
func securityHeaders(https bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set(echo.HeaderContentSecurityPolicy, contentSecurityPolicy)
			h.Set(echo.HeaderXContentTypeOptions, "nosniff")
			h.Set(echo.HeaderReferrerPolicy, "same-origin")
			h.Set(echo.HeaderXFrameOptions, "DENY")
			if https {
				h.Set(echo.HeaderStrictTransportSecurity, strictTransportSecurity)
			}
			return next(c)
		}
	}
}

// NoStore keeps an answer that holds one user's data out of every cache:
// the API sets it on every authenticated answer, the pages on every page.
func NoStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		return next(c)
	}
}
