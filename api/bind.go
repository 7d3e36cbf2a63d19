package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"datashare/errs"
	"datashare/input"
)

// strictBinder decodes JSON bodies and refuses unknown fields, trailing data,
// other media types and oversized bodies, each with a clear error.
type strictBinder struct{}

func (strictBinder) Bind(i any, c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	return decodeJSON(body, i)
}

// readBody reads the whole body once, so handlers can both decode it and
// fingerprint it for idempotency.
func readBody(c echo.Context) ([]byte, error) {
	if b, ok := c.Get(bodyKey).([]byte); ok {
		return b, nil
	}
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != echo.MIMEApplicationJSON {
			return nil, errs.E(errs.UnsupportedMedia, "send the body as application/json")
		}
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		var maxErr *http.MaxBytesError
		var he *echo.HTTPError
		if errors.As(err, &maxErr) || errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge {
			return nil, errs.E(errs.TooLarge, "the request body is larger than 1 MiB")
		}
		return nil, errs.E(errs.Malformed, "could not read the request body")
	}
	c.Set(bodyKey, b)
	return b, nil
}

const bodyKey = "datashare.body"

// decodeJSON decodes body into v and holds every string of it to the input
// rule (package input).
func decodeJSON(body []byte, v any) error {
	if err := decodeStrict(body, v); err != nil {
		return err
	}
	return input.JSON(body)
}

// decodeStrict decodes body into v, refusing what is not one JSON object of
// v's fields; the strings it holds are the caller's to check.
func decodeStrict(body []byte, v any) error {
	if err := input.UTF8(body); err != nil {
		return err
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return errs.E(errs.Malformed, "the request body is empty; send a JSON object")
	}
	if trimmed[0] != '{' {
		return errs.E(errs.Malformed, "the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return &errs.Error{Code: errs.Malformed, Field: typeErr.Field,
				Message: fmt.Sprintf("field %s must be a %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()))}
		case errors.As(err, &syntaxErr):
			return errs.E(errs.Malformed, "the body is not valid JSON (at byte %d)", syntaxErr.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &errs.Error{Code: errs.Malformed, Field: name, Message: fmt.Sprintf("unknown field %q", name)}
		default:
			return errs.E(errs.Malformed, "the body is not a valid JSON object")
		}
	}
	if dec.More() {
		return errs.E(errs.Malformed, "the body must hold exactly one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errs.E(errs.Malformed, "the body must hold exactly one JSON object")
	}
	return nil
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "int", "int64", "int32", "float64":
		return "number"
	case "slice":
		return "list"
	case "bool":
		return "boolean"
	}
	return "JSON " + k
}

func pathID(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.E(errs.NotFound, "no such %s", strings.TrimSuffix(name, "_id"))
	}
	return id, nil
}

// ifMatch reads If-Match: "<version>"; 0 when absent or "*".
func ifMatch(c echo.Context) (int, error) {
	h := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	h = strings.TrimPrefix(h, "W/")
	v, err := strconv.Atoi(strings.Trim(h, `"`))
	if err != nil || v <= 0 {
		return 0, errs.E(errs.Malformed, `If-Match must be a version in quotes, like "3"`)
	}
	return v, nil
}

func etag(version int) string { return `"` + strconv.Itoa(version) + `"` }
