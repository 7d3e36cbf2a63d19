package api

import (
	"bytes"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"datashare/calendar"
	"datashare/errs"
	"datashare/imports"
	"datashare/sla"
	"datashare/spreadsheet"
	"datashare/workflow"
)

// importPath takes up to 64 MiB, since years of records exceed the 1 MiB
// limit of every other route.
const importPath = "/api/v1/admin/import"

func registerSLARoutes(g authedGroup, s *server) {
	g.GET("/reports/sla", s.handleReport)
	g.GET("/reports/sla.csv", s.handleReportFile("csv"))
	g.GET("/reports/sla.xlsx", s.handleReportFile("xlsx"))
	g.POST("/admin/jobs/sla-check", s.handleSLACheck)
	g.POST("/admin/import", s.handleImport, middleware.BodyLimit("64MiB"))
}

func (s *server) report(c echo.Context) (*sla.Report, error) {
	agency, err := sla.Authorize(caller(c).actor, c.QueryParam("agency"))
	if err != nil {
		return nil, err
	}
	q := sla.Query{GroupBy: c.QueryParam("group_by"), Agency: agency}
	if q.From, q.To, err = parseWindow(c.QueryParam("from"), c.QueryParam("to")); err != nil {
		return nil, err
	}
	return s.Reporter.Compute(c.Request().Context(), q, s.Now())
}

// parseWindow reads a report's from and to, Singapore dates written
// YYYY-MM-DD. Errors: invalid naming the parameter missing or unreadable.
func parseWindow(from, to string) (calendar.Date, calendar.Date, error) {
	var out [2]calendar.Date
	for i, p := range []struct{ name, value string }{{"from", from}, {"to", to}} {
		if p.value == "" {
			return calendar.Date{}, calendar.Date{}, errs.Field(p.name, "%s is required, as YYYY-MM-DD (Singapore date)", p.name)
		}
		d, err := calendar.ParseDate(p.value)
		if err != nil {
			return calendar.Date{}, calendar.Date{}, errs.Field(p.name, "%s must be a date written YYYY-MM-DD", p.name)
		}
		out[i] = d
	}
	return out[0], out[1], nil
}

func (s *server) handleReport(c echo.Context) error {
	rep, err := s.report(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

// handleReportFile answers the report as a file to download.
func (s *server) handleReportFile(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		rep, err := s.report(c)
		if err != nil {
			return err
		}
		return Attachment(c, rep, format)
	}
}

// Attachment answers rep as a file of format (csv or xlsx) to download;
// the web pages answer their downloads with it too.
func Attachment(c echo.Context, rep *sla.Report, format string) error {
	f, err := spreadsheet.Download(rep, format)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+f.Name+`"`)
	return c.Blob(http.StatusOK, f.ContentType, f.Body)
}

func (s *server) handleSLACheck(c echo.Context) error {
	if !caller(c).actor.Has(workflow.Admin) {
		return errs.E(errs.Forbidden, "only an admin may run the SLA check")
	}
	res, err := s.Checker.Check(c.Request().Context(), s.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (s *server) handleImport(c echo.Context) error {
	if !caller(c).actor.Has(workflow.Admin) {
		return errs.E(errs.Forbidden, "only an admin may import requests")
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' {
		return errs.E(errs.Malformed, `send the requests as {"requests": [...]}, not a bare JSON list`)
	}
	// The records' strings are checked one record at a time, so that one
	// bad record is refused with its reason and the others imported.
	var b imports.Batch
	if err := decodeStrict(body, &b); err != nil {
		return err
	}
	res, err := s.Importer.Import(c.Request().Context(), caller(c).actor, b)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
