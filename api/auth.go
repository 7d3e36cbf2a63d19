package api

import (
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"datashare/accounts"
	"datashare/errs"
	"datashare/models"
	"datashare/workflow"
)

const userKey = "datashare.user"

// An address may present tokenFailureBurst unknown or revoked tokens at
// once, then one every tokenFailureEvery; past that it is answered 429, so
// that scanning for tokens shows in the logs and goes slowly. Only failures
// count: a valid token is never slowed, whoever shares its address.
const (
	tokenFailureBurst = 20
	tokenFailureEvery = 3 * time.Second
)

// principal is the authenticated caller.
type principal struct {
	user  models.User
	actor workflow.Actor
}

// authenticate resolves "Authorization: Bearer <token>" to a user.
func (s *server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		scheme, token, ok := strings.Cut(h, " ")
		if h == "" {
			return errs.E(errs.Unauthenticated, "send an API token as Authorization: Bearer TOKEN")
		}
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return errs.E(errs.Unauthenticated, "the Authorization header must be Bearer TOKEN")
		}
		u, err := s.Accounts.Authenticate(c.Request().Context(), strings.TrimSpace(token))
		if errs.Is(err, errs.Unauthenticated) {
			if ok, _ := s.tokenFailures.Allow(c.RealIP()); !ok {
				s.Log.Warn("unknown API tokens limited", "address", c.RealIP(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
				return &errs.Error{Code: errs.TooManyRequests, RetryAfter: tokenFailureEvery,
					Message: "too many requests with an unknown or revoked API token from this address; check the token, and try again later"}
			}
		}
		if err != nil {
			return err
		}
		c.Set(userKey, &principal{user: u, actor: accounts.ActorOf(u)})
		return next(c)
	}
}

func caller(c echo.Context) *principal {
	return c.Get(userKey).(*principal)
}
