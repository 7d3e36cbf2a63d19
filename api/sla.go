package api

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"datashare/calendar"
	"datashare/errs"
	"datashare/imports"
	"datashare/input"
	"datashare/sla"
	"datashare/spreadsheet"
	"datashare/statements"
	"datashare/workflow"
)

// importPath takes up to importLimit, since years of records exceed the
// 1 MiB limit of every other route: 10,000 records (imports.MaxRecords) of
// 1.6 KiB on average. The body is read one record at a time, so the limit
// bounds the time an import takes rather than memory.
const (
	importPath       = "/api/v1/admin/import"
	importLimit      = "16MiB"
	importLimitWords = "16 MiB"
)

func registerSLARoutes(g authedGroup, s *server) {
	g.GET("/reports/sla", s.handleReport)
	g.GET("/reports/sla.csv", s.handleReportFile("csv"))
	g.GET("/reports/sla.xlsx", s.handleReportFile("xlsx"))
	g.POST("/admin/jobs/sla-check", s.handleSLACheck)
	g.POST("/admin/import", s.handleImport, middleware.BodyLimit(importLimit))
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
	switch c.QueryParam("as_published") {
	case "", "false":
		return s.Reporter.Compute(c.Request().Context(), q, s.Now())
	case "true":
		return s.published(c, q)
	}
	return nil, errs.Field("as_published", "as_published must be true or false")
}

// published answers q from the latest published statement of its month
// rather than from live data: q must cover one whole month, grouped by
// owner or requesting agency or not at all. Errors: invalid; not_found
// when the month has no statement.
func (s *server) published(c echo.Context, q sla.Query) (*sla.Report, error) {
	m, ok := statements.WholeMonth(q.From, q.To)
	if !ok {
		return nil, errs.Field("as_published", "as_published answers for one whole month: from its first day to the first day of the next")
	}
	st, err := s.Statements.Published(c.Request().Context(), caller(c).actor, m, q.Agency)
	if err != nil {
		return nil, err
	}
	rep := st.Figures.Report(st.GeneratedAt)
	switch q.GroupBy {
	case "":
		rep.GroupBy, rep.Groups = nil, []sla.Group{}
	case sla.ByOwnerAgency:
	case sla.ByRequestingAgency:
		rep.GroupBy, rep.Groups = &q.GroupBy, st.Figures.ByRequestingAgency
	default:
		return nil, errs.Field("group_by", "a published statement is grouped by owner_agency or requesting_agency")
	}
	return rep, nil
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
	return Download(c, f)
}

// Download answers f as a file to download, for the API and the pages.
func Download(c echo.Context, f spreadsheet.File) error {
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
	// Streamed, so held to the text rule as it is read (see input.Reader).
	body := input.Reader(tooLargeReader{c.Request().Body})
	var src imports.Source
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	switch {
	case err != nil && c.Request().Header.Get(echo.HeaderContentType) != "":
		return errs.E(errs.UnsupportedMedia, "send the import as application/json or text/csv")
	case mt == "" || mt == echo.MIMEApplicationJSON:
		src = imports.NewJSONSource(body, false)
	case mt == "text/csv":
		src = imports.NewCSVSource(body)
	default:
		return errs.E(errs.UnsupportedMedia, "send the import as application/json or text/csv")
	}
	res, err := s.Importer.ImportFrom(c.Request().Context(), caller(c).actor, src)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// tooLargeReader names the body limit when a body passes it.
type tooLargeReader struct{ r io.Reader }

func (t tooLargeReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	var he *echo.HTTPError
	var maxErr *http.MaxBytesError
	if err != nil && (errors.As(err, &maxErr) || errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge) {
		return n, errs.E(errs.TooLarge, "the request body is larger than %s", importLimitWords)
	}
	return n, err
}
