package api

import (
	"net/http"

	"github.com/labstack/echo-contrib/echoprometheus"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics counts and times every answer by status, method and route
// template. Every label is bounded whatever clients send: a path no route
// matches is counted under an empty route, an unknown method as OTHER, and
// the host label stays empty, since a client chooses its Host header.
func httpMetrics(reg prometheus.Registerer) echo.MiddlewareFunc {
	return echoprometheus.NewMiddlewareWithConfig(echoprometheus.MiddlewareConfig{
		Namespace:                 "datashare",
		Subsystem:                 "http",
		Registerer:                reg,
		DoNotUseRequestPathFor404: true,
		LabelFuncs: map[string]echoprometheus.LabelValueFunc{
			"method": func(c echo.Context, _ error) string { return knownMethod(c.Request().Method) },
			"host":   func(echo.Context, error) string { return "" },
		},
	})
}

func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}
