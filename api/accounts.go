package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"datashare/accounts"
	"datashare/models"
)

type agencyJSON struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type userJSON struct {
	ID            int64      `json:"id"`
	Email         string     `json:"email"`
	Name          string     `json:"name"`
	Agency        string     `json:"agency"`
	Roles         []string   `json:"roles"`
	Active        bool       `json:"active"`
	DeactivatedAt *time.Time `json:"deactivated_at"`
}

func toUser(u models.User) userJSON {
	roles := []string{}
	for _, r := range accounts.RolesOf(u) {
		roles = append(roles, string(r))
	}
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Agency: u.AgencyCode, Roles: roles,
		Active: u.Active(), DeactivatedAt: utc(u.DeactivatedAt)}
}

type tokenJSON struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Token     string     `json:"token"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

type list[T any] struct {
	Items []T `json:"items"`
}

func registerAccountRoutes(g authedGroup, s *server) {
	g.GET("/me", s.handleMe)
	g.GET("/agencies", s.handleAgencyList)
	g.POST("/agencies", s.handleAgencyCreate)
	g.GET("/users", s.handleUserList)
	g.POST("/users", s.handleUserCreate)
	g.PATCH("/users/:user_id", s.handleUserUpdate)
	g.GET("/users/:user_id/open-requests", s.handleUserOpenRequests)
	g.POST("/users/:user_id/tokens", s.handleTokenCreate)
	g.GET("/users/:user_id/tokens", s.handleTokenList)
	g.DELETE("/tokens/:token_id", s.handleTokenDelete)
}

func (s *server) handleMe(c echo.Context) error {
	return c.JSON(http.StatusOK, toUser(caller(c).user))
}

func (s *server) handleAgencyList(c echo.Context) error {
	as, err := s.Accounts.ListAgencies(c.Request().Context())
	if err != nil {
		return err
	}
	out := list[agencyJSON]{Items: []agencyJSON{}}
	for _, a := range as {
		out.Items = append(out.Items, agencyJSON{Code: a.Code, Name: a.Name})
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) handleAgencyCreate(c echo.Context) error {
	var in agencyJSON
	if err := c.Bind(&in); err != nil {
		return err
	}
	a, err := s.Accounts.CreateAgency(c.Request().Context(), caller(c).actor, in.Code, in.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, agencyJSON{Code: a.Code, Name: a.Name})
}

func (s *server) handleUserList(c echo.Context) error {
	us, err := s.Accounts.ListUsers(c.Request().Context(), caller(c).actor)
	if err != nil {
		return err
	}
	out := list[userJSON]{Items: []userJSON{}}
	for _, u := range us {
		out.Items = append(out.Items, toUser(u))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) handleUserCreate(c echo.Context) error {
	var in struct {
		Email    string   `json:"email"`
		Name     string   `json:"name"`
		Agency   string   `json:"agency"`
		Roles    []string `json:"roles"`
		Password *string  `json:"password"`
	}
	if err := c.Bind(&in); err != nil {
		return err
	}
	u, err := s.Accounts.CreateUser(c.Request().Context(), caller(c).actor, accounts.NewUser{
		Email: in.Email, Name: in.Name, Agency: in.Agency, Roles: in.Roles, Password: in.Password,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toUser(u))
}

func (s *server) handleUserUpdate(c echo.Context) error {
	id, err := pathID(c, "user_id")
	if err != nil {
		return err
	}
	var in struct {
		Name     *string  `json:"name"`
		Roles    []string `json:"roles"`
		Agency   *string  `json:"agency"`
		Active   *bool    `json:"active"`
		Password *string  `json:"password"`
	}
	if err := c.Bind(&in); err != nil {
		return err
	}
	u, err := s.Accounts.UpdateUser(c.Request().Context(), caller(c).actor, id, accounts.UserPatch{
		Name: in.Name, Roles: in.Roles, Agency: in.Agency, Active: in.Active, Password: in.Password,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toUser(u))
}

func (s *server) handleUserOpenRequests(c echo.Context) error {
	id, err := pathID(c, "user_id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	// An admin naming an unknown user is told so, rather than given an
	// empty list; anyone else is refused first.
	rs, err := s.Workflow.OpenRequestsOf(ctx, caller(c).actor, id)
	if err != nil {
		return err
	}
	if _, err := s.Accounts.UserByID(ctx, id); err != nil {
		return err
	}
	out := list[requestJSON]{Items: make([]requestJSON, 0, len(rs))}
	for i := range rs {
		out.Items = append(out.Items, s.toRequest(&rs[i]))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) handleTokenCreate(c echo.Context) error {
	id, err := pathID(c, "user_id")
	if err != nil {
		return err
	}
	var in struct {
		Name      string     `json:"name"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := c.Bind(&in); err != nil {
		return err
	}
	t, secret, err := s.Accounts.IssueToken(c.Request().Context(), caller(c).actor, id, in.Name, in.ExpiresAt)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, tokenJSON{ID: t.ID, Name: t.Name, Token: secret, CreatedAt: t.CreatedAt.UTC(), ExpiresAt: utc(t.ExpiresAt)})
}

type tokenInfoJSON struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func (s *server) handleTokenList(c echo.Context) error {
	id, err := pathID(c, "user_id")
	if err != nil {
		return err
	}
	ts, err := s.Accounts.Tokens(c.Request().Context(), caller(c).actor, id)
	if err != nil {
		return err
	}
	out := list[tokenInfoJSON]{Items: []tokenInfoJSON{}}
	for _, t := range ts {
		out.Items = append(out.Items, tokenInfoJSON{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt.UTC(), ExpiresAt: utc(t.ExpiresAt)})
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) handleTokenDelete(c echo.Context) error {
	id, err := pathID(c, "token_id")
	if err != nil {
		return err
	}
	if err := s.Accounts.RevokeToken(c.Request().Context(), caller(c).actor, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
