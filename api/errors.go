package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"datashare/errs"
	"datashare/models"
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[errs.Code]int{
	errs.Malformed:          http.StatusBadRequest,
	errs.Unauthenticated:    http.StatusUnauthorized,
	errs.Forbidden:          http.StatusForbidden,
	errs.NotFound:           http.StatusNotFound,
	errs.Conflict:           http.StatusConflict,
	errs.PreconditionFailed: http.StatusPreconditionFailed,
	errs.TooLarge:           http.StatusRequestEntityTooLarge,
	errs.UnsupportedMedia:   http.StatusUnsupportedMediaType,
	errs.Invalid:            http.StatusUnprocessableEntity,
	errs.Unavailable:        http.StatusServiceUnavailable,
	errs.StorageFull:        http.StatusInsufficientStorage,
	errs.TooManyRequests:    http.StatusTooManyRequests,
	errs.Internal:           http.StatusInternalServerError,
}

// retryAfter is the Retry-After of the codes that pass by themselves, in
// seconds: about the time a connection attempt to the database may take.
var retryAfter = map[errs.Code]string{
	errs.Unavailable: "5",
}

// codeOfStatus turns echo's own errors (routing, body limit) into codes.
var codeOfStatus = map[int]errs.Code{
	http.StatusBadRequest:            errs.Malformed,
	http.StatusUnauthorized:          errs.Unauthenticated,
	http.StatusForbidden:             errs.Forbidden,
	http.StatusNotFound:              errs.NotFound,
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestEntityTooLarge: errs.TooLarge,
	http.StatusUnsupportedMediaType:  errs.UnsupportedMedia,
	http.StatusTooManyRequests:       errs.TooManyRequests,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// handleError writes DESIGN.md's error body. Only internal errors are
// logged here; their cause never reaches the client.
func (s *server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var (
		e      *errs.Error
		he     *echo.HTTPError
		status int
		body   errorDetail
	)
	e = Classify(err)
	switch {
	case e != nil:
		status = statusOf[e.Code]
		body = errorDetail{Code: string(e.Code), Message: e.Message, Field: e.Field}
	case errors.As(err, &he):
		status = he.Code
		code, ok := codeOfStatus[he.Code]
		if !ok {
			code = errs.Internal
		}
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && he.Code != http.StatusRequestEntityTooLarge {
			msg = m
		}
		if he.Code == http.StatusRequestEntityTooLarge {
			msg = "the request body is larger than 1 MiB"
			if c.Path() == importPath {
				msg = "the request body is larger than " + importLimitWords
			}
		}
		body = errorDetail{Code: string(code), Message: msg}
	}
	if e != nil {
		SetRetryAfter(c.Response().Header(), e)
	}
	// A storage fault keeps its status, and its cause is logged as a
	// warning rather than as a bug.
	if e != nil && e.Code.OfStorage() {
		s.Log.Warn("storage fault", "code", e.Code, "error", err, "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method, "path", c.Request().URL.Path)
	} else if status == 0 || status >= 500 {
		s.Log.Error("internal error", "error", err, "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method, "path", c.Request().URL.Path)
		status = http.StatusInternalServerError
		body = errorDetail{Code: string(errs.Internal), Message: "something went wrong on our side; the request id in X-Request-Id helps us find it"}
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, errorBody{Error: body})
}

// Classify returns the *errs.Error that err carries or, failing that, the
// storage fault it stands for (models.Fault); nil for anything else, which
// is an internal error.
func Classify(err error) *errs.Error {
	var e *errs.Error
	if errors.As(err, &e) {
		return e
	}
	return models.Fault(err)
}

// SetRetryAfter sets the Retry-After header of e: its own RetryAfter in
// whole seconds, rounded up, or else that of its code, if the code has one.
func SetRetryAfter(h http.Header, e *errs.Error) {
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(e.RetryAfter.Seconds())), 10))
		return
	}
	if v, ok := retryAfter[e.Code]; ok {
		h.Set("Retry-After", v)
	}
}

// Status is the HTTP status of an error code, from the one table; the web
// pages answer with the same statuses.
func Status(code errs.Code) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}
