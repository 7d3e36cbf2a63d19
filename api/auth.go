package api

import (
	"strings"

	"github.com/labstack/echo/v4"

	"datashare/accounts"
	"datashare/errs"
	"datashare/models"
	"datashare/workflow"
)

const userKey = "datashare.user"

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
