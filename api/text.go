package api

import (
	"errors"
	"mime"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"

	"datashare/errs"
	"datashare/input"
)

// textHeaders are the request headers whose value reaches the database.
var textHeaders = []string{"Idempotency-Key"}

// refuseBadText holds every text a request carries outside a JSON body to
// the input rule, on every route, the pages' included: the path, the
// query, the headers of textHeaders and the fields of a form. A JSON body
// is checked where it is decoded (decodeJSON), and imported records one by
// one.
func refuseBadText(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if !input.Valid(req.URL.Path) {
			return errs.E(errs.Malformed, "the address holds a character that is not allowed: send UTF-8 without NUL")
		}
		if err := checkValues(c.QueryParams(), "query parameter"); err != nil {
			return err
		}
		for _, h := range textHeaders {
			for _, v := range req.Header.Values(h) {
				if err := input.Text(h, v); err != nil {
					return err
				}
			}
		}
		mt, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
		if mt == echo.MIMEApplicationForm || mt == echo.MIMEMultipartForm {
			if _, err := c.FormParams(); err != nil {
				var he *echo.HTTPError
				if errors.As(err, &he) {
					return he
				}
				// The fields read before the error are what a page would
				// use: they are checked below all the same.
			}
			if err := checkValues(req.PostForm, "form field"); err != nil {
				return err
			}
			if req.MultipartForm != nil {
				if err := checkValues(req.MultipartForm.Value, "form field"); err != nil {
					return err
				}
			}
		}
		return next(c)
	}
}

// checkValues checks names and values in name order, so that the first
// offending field named is always the same one.
func checkValues(vs url.Values, kind string) error {
	names := make([]string, 0, len(vs))
	for k := range vs {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !input.Valid(k) {
			return errs.E(errs.Malformed, "a %s name holds a character that is not allowed: send UTF-8 without NUL", kind)
		}
		for _, v := range vs[k] {
			if err := input.Text(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}
