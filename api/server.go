package api

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"datashare/accounts"
	"datashare/errs"
	"datashare/holidays"
	"datashare/idempotency"
	"datashare/imports"
	"datashare/notifications"
	"datashare/projects"
	"datashare/sla"
	"datashare/statements"
	"datashare/workflow"
)

//go:embed openapi.yaml
var openapiSpec []byte

// OpenAPISpec returns the OpenAPI 3 document served at /api/v1/openapi.yaml.
func OpenAPISpec() []byte { return openapiSpec }

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

// Readiness tells whether the database can serve: it answers and has room
// for writes. Its error is a storage fault (models.Fault) or the cause of
// one.
type Readiness interface {
	Ready(ctx context.Context) error
}

// Deps are the services the handlers call.
type Deps struct {
	Log           *slog.Logger
	Now           func() time.Time
	Accounts      *accounts.Service
	Workflow      *workflow.Service
	Projects      *projects.Service
	Idempotency   *idempotency.Store
	SLA           *sla.Keeper
	Checker       *sla.Checker
	Reporter      *sla.Reporter
	Statements    *statements.Service
	Holidays      *holidays.Service
	Importer      *imports.Importer
	Notifications *notifications.Service
	DB            Readiness
	// Metrics, when set, receives the count and latency of every answer
	// by route; one registerer serves one server.
	Metrics prometheus.Registerer
	// HTTPS says the service is reached over https (DATASHARE_BASE_URL):
	// every answer then carries Strict-Transport-Security.
	HTTPS bool
}

type server struct {
	Deps
	// tokenFailures counts, per client address, the requests whose bearer
	// token is unknown or revoked.
	tokenFailures *middleware.RateLimiterMemoryStore
}

// New returns the echo instance serving every route.
func New(d Deps) *echo.Echo {
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC() }
	}
	s := &server{Deps: d, tokenFailures: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate: rate.Every(tokenFailureEvery), Burst: tokenFailureBurst, ExpiresIn: tokenFailureBurst * tokenFailureEvery,
	})}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	// The client's address, as limits and logs see it, is the connection's,
	// or the one X-Forwarded-For names when the connection comes from a
	// loopback or private address (a proxy of the deployment): a client on
	// the internet cannot choose its own by sending the header.
	e.IPExtractor = echo.ExtractIPFromXFFHeader()
	e.HTTPErrorHandler = s.handleError
	e.Binder = strictBinder{}
	if d.Metrics != nil {
		// Outermost, so that it sees the status the error handler chose.
		e.Use(httpMetrics(d.Metrics))
	}
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		TargetHeader: echo.HeaderXRequestID,
	}))
	e.Use(securityHeaders(d.HTTPS))
	e.Use(s.logRequests)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		s.Log.Error("panic", "error", err, "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "stack", string(stack))
		return err
	}}))
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{
		Limit:   "1MiB",
		Skipper: func(c echo.Context) bool { return c.Path() == importPath || c.Path() == "/api/v1"+holidayImportPath },
	}))
	e.Use(refuseBadText)

	e.GET("/healthz", s.handleHealth)
	e.GET("/readyz", s.handleReady)

	v1 := e.Group("/api/v1")
	v1.GET("/openapi.yaml", s.handleOpenAPI)
	// Authentication is per route rather than group middleware, so that a
	// wrong method on a known path answers 405, not 404.
	authed := authedGroup{g: v1, auth: s.authenticate}
	registerAccountRoutes(authed, s)
	registerRequestRoutes(authed, s)
	registerCalendarRoutes(authed, s)
	registerSLARoutes(authed, s)
	registerStatementRoutes(authed, s)
	registerNotificationRoutes(authed, s)
	registerProjectRoutes(authed, s)
	return e
}

func (s *server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		req, res := c.Request(), c.Response()
		attrs := []any{
			"request_id", res.Header().Get(echo.HeaderXRequestID),
			"method", req.Method,
			"path", req.URL.Path,
			"status", res.Status,
			"bytes", res.Size,
			"duration_ms", float64(time.Since(start).Microseconds()) / 1000,
		}
		if u, ok := c.Get(userKey).(*principal); ok {
			attrs = append(attrs, "user_id", u.user.ID)
		}
		s.Log.Info("http", attrs...)
		return nil
	}
}

// readyTimeout bounds the readiness check, so that a load balancer learns
// of a database that stopped answering within it.
const readyTimeout = 1500 * time.Millisecond

func (s *server) handleHealth(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) handleReady(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	if err := s.DB.Ready(ctx); err != nil {
		code := errs.Unavailable
		if e := Classify(err); e != nil && e.Code == errs.StorageFull {
			code = e.Code
		}
		s.Log.Warn("database not ready", "code", code, "error", err)
		SetRetryAfter(c.Response().Header(), &errs.Error{Code: errs.Unavailable})
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": string(code)})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) handleOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", openapiSpec)
}

// authedGroup registers routes that require a bearer token; their answers,
// refusals included, are never cached.
type authedGroup struct {
	g    *echo.Group
	auth echo.MiddlewareFunc
}

func (a authedGroup) add(method, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	a.g.Add(method, path, h, append([]echo.MiddlewareFunc{NoStore, a.auth}, m...)...)
}

func (a authedGroup) GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	a.add(http.MethodGet, path, h, m...)
}

func (a authedGroup) POST(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	a.add(http.MethodPost, path, h, m...)
}

func (a authedGroup) PATCH(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	a.add(http.MethodPatch, path, h, m...)
}

func (a authedGroup) PUT(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	a.add(http.MethodPut, path, h, m...)
}

func (a authedGroup) DELETE(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	a.add(http.MethodDelete, path, h, m...)
}
