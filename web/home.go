package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

type homeView struct {
	Page
}

func (a *app) handleHome(c echo.Context) error {
	return a.render(c, http.StatusOK, "home", &homeView{})
}
