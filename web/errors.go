package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"datashare/api"
	"datashare/errs"
)

type errorView struct {
	Page
	Status  int
	Heading string
	Message string
}

var headings = map[int]string{
	http.StatusBadRequest:            "The page could not read what was sent",
	http.StatusUnauthorized:          "Please sign in",
	http.StatusForbidden:             "You do not have access to this",
	http.StatusNotFound:              "Page not found",
	http.StatusMethodNotAllowed:      "Page not found",
	http.StatusConflict:              "This cannot be done now",
	http.StatusPreconditionFailed:    "Someone else changed this meanwhile",
	http.StatusRequestEntityTooLarge: "What was sent is too large",
	http.StatusUnprocessableEntity:   "Please check what you entered",
	http.StatusTooManyRequests:       "Too many attempts",
	http.StatusInternalServerError:   "Something went wrong on our side",
	http.StatusServiceUnavailable:    "The service cannot reach its database",
	http.StatusInsufficientStorage:   "The service has no room to save this",
}

// renderError answers err as an HTML page with the API's status for its
// code. Causes of internal errors are logged, never shown.
func (a *app) renderError(c echo.Context, err error) {
	if c.Response().Committed {
		return
	}
	var (
		e   *errs.Error
		he  *echo.HTTPError
		v   = errorView{}
		msg string
	)
	e = api.Classify(err)
	switch {
	case e != nil:
		v.Status, msg = api.Status(e.Code), sentence(e.Message)
	case errors.As(err, &he):
		v.Status = he.Code
		if m, ok := he.Message.(string); ok && he.Code < 500 {
			msg = m
		}
	}
	if e != nil {
		api.SetRetryAfter(c.Response().Header(), e)
	}
	if e != nil && e.Code.OfStorage() {
		a.Log.Warn("storage fault", "code", e.Code, "error", err, "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method, "path", c.Request().URL.Path)
	} else if v.Status == 0 || v.Status >= 500 {
		a.Log.Error("internal error", "error", err, "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method, "path", c.Request().URL.Path)
		v.Status = http.StatusInternalServerError
		msg = "Please try again in a moment. If it happens again, tell your agency's datashare admin the reference " +
			c.Response().Header().Get(echo.HeaderXRequestID) + "."
	}
	switch v.Status {
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		msg = "There is no such page, or you do not have access to it. Check the address, or go back to your requests."
	}
	v.Heading = headings[v.Status]
	if v.Heading == "" {
		v.Heading = http.StatusText(v.Status)
	}
	v.Message = msg
	if e != nil && e.Code.OfStorage() {
		// The page is drawn for nobody: the header's user and unread count
		// would ask the database again, and wait for it again.
		c.Set(viewerKey, (*Viewer)(nil))
	} else if v.Viewer = viewer(c); v.Viewer == nil {
		v.Viewer = a.readViewer(c)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(v.Status)
		return
	}
	if rerr := a.render(c, v.Status, "error", &v); rerr != nil {
		a.Log.Error("render error page", "error", rerr)
		_ = c.String(v.Status, v.Heading+"\n")
	}
}

const sessionKey = "datashare.session"

// pageErrors runs inside the session: it renders a handler's error as a
// page while the session can still be read and saved (a flash popped by the
// error page is not lost).
func (a *app) pageErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(sessionKey, true)
		if err := next(c); err != nil {
			a.renderError(c, err)
		}
		return nil
	}
}

// hasSession reports whether the session was loaded for this request: the
// error page of an unknown address is rendered outside any session.
func hasSession(c echo.Context) bool {
	ok, _ := c.Get(sessionKey).(bool)
	return ok
}

// readViewer finds who is signed in for an error page. An unknown address
// is answered outside any page's middleware, so its session is read here,
// only to draw the header: nothing is saved.
func (a *app) readViewer(c echo.Context) *Viewer {
	if !hasSession(c) {
		ck, err := c.Cookie(a.sessions.Cookie.Name)
		if err != nil {
			return nil
		}
		ctx, err := a.sessions.Load(c.Request().Context(), ck.Value)
		if err != nil {
			return nil
		}
		c.SetRequest(c.Request().WithContext(ctx))
	}
	u, err := a.signedInUser(c)
	if err != nil {
		return nil
	}
	return viewerOf(u)
}
