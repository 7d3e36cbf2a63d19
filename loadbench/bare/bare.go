// Package bare is the yardstick of the load benchmark: an echo + gorm server
// with the product's route shapes for requests and nothing else, on a schema
// of its own that has only the primary and foreign keys a bare application
// would declare. It imports nothing of the product, so that it stays what a
// plain implementation costs.
package bare

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

// IsPostgres reports whether dsn is a PostgreSQL URL rather than an SQLite
// file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// DB is the bare server's database: a reading pool and the pool that runs
// transactions, which on SQLite is a single connection, as in the product,
// so that both queue their writers the same way.
type DB struct {
	Read, Write *gorm.DB
	Postgres    bool
}

// Open opens dsn with the settings the product uses: on SQLite WAL, foreign
// keys, synchronous NORMAL, a 10 s busy timeout and IMMEDIATE transactions;
// on PostgreSQL a pool of 20.
func Open(dsn string) (*DB, error) {
	cfg := func(prepare bool) *gorm.Config {
		return &gorm.Config{
			Logger:                 logger.Discard,
			NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
			SkipDefaultTransaction: true,
			TranslateError:         true,
			PrepareStmt:            prepare,
		}
	}
	if IsPostgres(dsn) {
		g, err := gorm.Open(postgres.Open(dsn), cfg(false))
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sqlDB, err := g.DB()
		if err != nil {
			return nil, err
		}
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(20)
		return &DB{Read: g, Write: g, Postgres: true}, nil
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "on")
	q.Set("_busy_timeout", "10000")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	q.Set("_loc", "UTC")
	open := func(conns int, prepare bool) (*gorm.DB, error) {
		g, err := gorm.Open(sqlite.Open("file:"+dsn+"?"+q.Encode()), cfg(prepare))
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
		}
		sqlDB, err := g.DB()
		if err != nil {
			return nil, err
		}
		sqlDB.SetMaxOpenConns(conns)
		sqlDB.SetMaxIdleConns(conns)
		return g, sqlDB.Ping()
	}
	r, err := open(8, false)
	if err != nil {
		return nil, err
	}
	w, err := open(1, true)
	if err != nil {
		return nil, err
	}
	return &DB{Read: r, Write: w}, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	var errs []error
	for _, g := range []*gorm.DB{db.Read, db.Write} {
		if sqlDB, err := g.DB(); err == nil {
			errs = append(errs, sqlDB.Close())
		}
		if db.Read == db.Write {
			break
		}
	}
	return errors.Join(errs...)
}

const sqliteSchema = `
CREATE TABLE agencies (code TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE users (
    id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL,
    agency_code TEXT NOT NULL REFERENCES agencies(code), roles TEXT NOT NULL);
CREATE TABLE api_tokens (hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id));
CREATE TABLE requests (
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, purpose TEXT NOT NULL,
    data_description TEXT NOT NULL, classification TEXT NOT NULL,
    requesting_agency TEXT NOT NULL REFERENCES agencies(code),
    owner_agency TEXT NOT NULL REFERENCES agencies(code),
    requester_id INTEGER NOT NULL REFERENCES users(id),
    state TEXT NOT NULL, approvals_required INTEGER NOT NULL, version INTEGER NOT NULL,
    created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL, submitted_at DATETIME);
CREATE TABLE approvals (
    request_id INTEGER NOT NULL REFERENCES requests(id),
    approver_id INTEGER NOT NULL REFERENCES users(id),
    at DATETIME NOT NULL, PRIMARY KEY (request_id, approver_id));
CREATE TABLE transitions (
    id INTEGER PRIMARY KEY, request_id INTEGER NOT NULL REFERENCES requests(id),
    action TEXT NOT NULL, from_state TEXT, to_state TEXT NOT NULL,
    actor_id INTEGER REFERENCES users(id), at DATETIME NOT NULL);
`

const postgresSchema = `
CREATE TABLE agencies (code TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL,
    agency_code TEXT NOT NULL REFERENCES agencies(code), roles TEXT NOT NULL);
CREATE TABLE api_tokens (hash TEXT PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users(id));
CREATE TABLE requests (
    id BIGSERIAL PRIMARY KEY, title TEXT NOT NULL, purpose TEXT NOT NULL,
    data_description TEXT NOT NULL, classification TEXT NOT NULL,
    requesting_agency TEXT NOT NULL REFERENCES agencies(code),
    owner_agency TEXT NOT NULL REFERENCES agencies(code),
    requester_id BIGINT NOT NULL REFERENCES users(id),
    state TEXT NOT NULL, approvals_required INTEGER NOT NULL, version INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, submitted_at TIMESTAMPTZ);
CREATE TABLE approvals (
    request_id BIGINT NOT NULL REFERENCES requests(id),
    approver_id BIGINT NOT NULL REFERENCES users(id),
    at TIMESTAMPTZ NOT NULL, PRIMARY KEY (request_id, approver_id));
CREATE TABLE transitions (
    id BIGSERIAL PRIMARY KEY, request_id BIGINT NOT NULL REFERENCES requests(id),
    action TEXT NOT NULL, from_state TEXT, to_state TEXT NOT NULL,
    actor_id BIGINT REFERENCES users(id), at TIMESTAMPTZ NOT NULL);
`

// CreateSchema creates the bare schema in an empty database.
func (db *DB) CreateSchema(ctx context.Context) error {
	ddl := sqliteSchema
	if db.Postgres {
		ddl = postgresSchema
	}
	for _, stmt := range strings.Split(ddl, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if err := db.Read.WithContext(ctx).Exec(stmt).Error; err != nil {
			return fmt.Errorf("create bare schema: %w", err)
		}
	}
	return nil
}

// HashToken is how a token secret is stored: hex SHA-256.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

type user struct {
	ID         int64  `json:"id"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	AgencyCode string `json:"-"`
	Roles      string `json:"-"`
}

type token struct {
	Hash   string `gorm:"primaryKey"`
	UserID int64
}

func (token) TableName() string { return "api_tokens" }

type request struct {
	ID                int64      `json:"id"`
	Title             string     `json:"title"`
	Purpose           string     `json:"purpose"`
	DataDescription   string     `json:"data_description"`
	Classification    string     `json:"classification"`
	RequestingAgency  string     `json:"requesting_agency"`
	OwnerAgency       string     `json:"owner_agency"`
	RequesterID       int64      `json:"-"`
	Requester         user       `json:"requester" gorm:"foreignKey:RequesterID"`
	State             string     `json:"state"`
	ApprovalsRequired int        `json:"approvals_required"`
	Approvals         []approval `json:"approvals" gorm:"foreignKey:RequestID"`
	Version           int        `json:"version"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	SubmittedAt       *time.Time `json:"submitted_at"`
}

type approval struct {
	RequestID  int64     `json:"-" gorm:"primaryKey"`
	ApproverID int64     `json:"-" gorm:"primaryKey"`
	Approver   user      `json:"approver" gorm:"foreignKey:ApproverID"`
	At         time.Time `json:"at"`
}

type transition struct {
	ID        int64
	RequestID int64
	Action    string
	FromState *string
	ToState   string
	ActorID   int64
	At        time.Time
}

var approvalsNeeded = map[string]int{"official-open": 1, "official-closed": 1, "restricted": 2, "confidential": 2}

type server struct {
	db  *DB
	now func() time.Time
}

// Handler returns the bare server's routes over db.
func Handler(db *DB) http.Handler {
	s := &server{db: db, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.Recover())
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	g := e.Group("/api/v1", s.authenticate)
	g.POST("/requests", s.create)
	g.GET("/requests", s.list)
	g.GET("/requests/:id", s.get)
	g.POST("/requests/:id/transitions", s.transition)
	return e
}

const userKey = "user"

func (s *server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		secret, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok || secret == "" {
			return echo.NewHTTPError(http.StatusUnauthorized, "missing token")
		}
		var u user
		err := s.db.Read.WithContext(c.Request().Context()).
			Joins("JOIN api_tokens ON api_tokens.user_id = users.id").
			Where("api_tokens.hash = ?", HashToken(secret)).Take(&u).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return echo.NewHTTPError(http.StatusUnauthorized, "unknown token")
		}
		if err != nil {
			return err
		}
		c.Set(userKey, &u)
		return next(c)
	}
}

func me(c echo.Context) *user { return c.Get(userKey).(*user) }

func hasRole(u *user, role string) bool {
	for _, r := range strings.Split(u.Roles, ",") {
		if r == role {
			return true
		}
	}
	return false
}

func visible(u *user, r *request) bool {
	return r.RequestingAgency == u.AgencyCode || (r.OwnerAgency == u.AgencyCode && r.SubmittedAt != nil)
}

func (s *server) create(c echo.Context) error {
	u := me(c)
	var in struct {
		Title           string `json:"title"`
		Purpose         string `json:"purpose"`
		DataDescription string `json:"data_description"`
		Classification  string `json:"classification"`
		OwnerAgency     string `json:"owner_agency"`
	}
	if err := c.Bind(&in); err != nil {
		return err
	}
	n, ok := approvalsNeeded[in.Classification]
	switch {
	case !hasRole(u, "requester"):
		return echo.NewHTTPError(http.StatusForbidden, "not a requester")
	case in.Title == "" || in.Purpose == "" || in.DataDescription == "" || !ok:
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "missing or invalid field")
	case in.OwnerAgency == "" || in.OwnerAgency == u.AgencyCode:
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "invalid owner_agency")
	}
	now := s.now()
	r := request{
		Title: in.Title, Purpose: in.Purpose, DataDescription: in.DataDescription, Classification: in.Classification,
		RequestingAgency: u.AgencyCode, OwnerAgency: in.OwnerAgency, RequesterID: u.ID, State: "draft",
		ApprovalsRequired: n, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	err := s.db.Write.WithContext(c.Request().Context()).Transaction(func(tx *gorm.DB) error {
		if err := tx.Omit(clause.Associations).Create(&r).Error; err != nil {
			return err
		}
		return tx.Create(&transition{RequestID: r.ID, Action: "create", ToState: "draft", ActorID: u.ID, At: now}).Error
	})
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "unknown owner_agency")
	}
	if err != nil {
		return err
	}
	r.Requester, r.Approvals = *u, []approval{}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/requests/"+strconv.FormatInt(r.ID, 10))
	return c.JSON(http.StatusCreated, &r)
}

// withPeople reads the requester in the same statement and the approvals
// with their approvers in one more, whatever the number of requests.
func withPeople(q *gorm.DB) *gorm.DB {
	return q.Joins("Requester").Preload("Approvals", func(db *gorm.DB) *gorm.DB { return db.Joins("Approver") })
}

func (s *server) get(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "bad id")
	}
	var r request
	err = withPeople(s.db.Read.WithContext(c.Request().Context())).Take(&r, "requests.id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && !visible(me(c), &r)) {
		return echo.NewHTTPError(http.StatusNotFound, "not found")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, &r)
}

func (s *server) list(c echo.Context) error {
	limit := 50
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return echo.NewHTTPError(http.StatusUnprocessableEntity, "bad limit")
		}
		limit = n
	}
	u := me(c)
	var rs []request
	err := withPeople(s.db.Read.WithContext(c.Request().Context())).
		Where("requesting_agency = ? OR (owner_agency = ? AND submitted_at IS NOT NULL)", u.AgencyCode, u.AgencyCode).
		Order("requests.id DESC").Limit(limit).Find(&rs).Error
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": rs})
}

// transition knows only approve, the one action the benchmark drives.
func (s *server) transition(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "bad id")
	}
	var in struct {
		Action string `json:"action"`
	}
	if err := c.Bind(&in); err != nil {
		return err
	}
	if in.Action != "approve" {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "unsupported action")
	}
	u := me(c)
	var r request
	err = s.db.Write.WithContext(c.Request().Context()).Transaction(func(tx *gorm.DB) error {
		q := tx
		if s.db.Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := q.Take(&r, id).Error; err != nil {
			return err
		}
		switch {
		case !visible(u, &r):
			return gorm.ErrRecordNotFound
		case r.OwnerAgency != u.AgencyCode || !hasRole(u, "approver"):
			return echo.NewHTTPError(http.StatusForbidden, "not an approver of the owner agency")
		case r.State != "submitted":
			return echo.NewHTTPError(http.StatusConflict, "not submitted")
		}
		now := s.now()
		if err := tx.Omit(clause.Associations).Create(&approval{RequestID: id, ApproverID: u.ID, At: now}).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return echo.NewHTTPError(http.StatusConflict, "already approved")
			}
			return err
		}
		if err := tx.Joins("Approver").Where("approvals.request_id = ?", id).Find(&r.Approvals).Error; err != nil {
			return err
		}
		from := r.State
		if len(r.Approvals) >= r.ApprovalsRequired {
			r.State = "approved"
		}
		r.Version++
		r.UpdatedAt = now
		if err := tx.Model(&request{}).Where("id = ?", id).
			Updates(map[string]any{"state": r.State, "version": r.Version, "updated_at": now}).Error; err != nil {
			return err
		}
		return tx.Create(&transition{RequestID: id, Action: "approve", FromState: &from, ToState: r.State, ActorID: u.ID, At: now}).Error
	})
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "not found")
	}
	if err != nil {
		return err
	}
	if err := s.db.Read.WithContext(c.Request().Context()).Take(&r.Requester, r.RequesterID).Error; err != nil {
		return err
	}
	return c.JSON(http.StatusOK, &r)
}

// Main runs the bare server until ctx is done: flags -db and -addr; it
// prints "listening on http://ADDR" once it accepts connections.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := fs.String("db", "bare.db", "SQLite file or postgres:// URL, with the bare schema")
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := Open(*dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: Handler(db), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
