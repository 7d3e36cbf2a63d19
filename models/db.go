package models

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the database behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

//go:embed migrations
var migrations embed.FS

// DB is an open database and the dialect it speaks.
type DB struct {
	Gorm    *gorm.DB
	Dialect Dialect
	// writer runs transactions. On SQLite it is a pool of one connection,
	// so that writers queue in the process instead of sleeping in SQLite's
	// busy handler; on PostgreSQL it is Gorm.
	writer *gorm.DB
}

// IsPostgres reports whether dsn names a PostgreSQL database rather than an
// SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database named by dsn: a postgres:// URL, or else the path
// of an SQLite file (created if missing) in WAL mode with foreign keys on, a
// busy timeout, and IMMEDIATE transactions so that concurrent writers queue
// instead of failing when a read lock cannot be upgraded.
func Open(dsn string) (*DB, error) {
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		SkipDefaultTransaction: true,
		TranslateError:         true,
	}
	if IsPostgres(dsn) {
		g, err := gorm.Open(postgres.Open(dsn), cfg)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sqlDB, err := g.DB()
		if err != nil {
			return nil, err
		}
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(20)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		return &DB{Gorm: g, Dialect: Postgres, writer: g}, nil
	}
	if dsn == "" {
		return nil, errors.New("open sqlite: empty database path")
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "on")
	q.Set("_busy_timeout", "10000")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	q.Set("_loc", "UTC")
	// WAL allows many readers beside the one writer; IMMEDIATE transactions
	// make a writer that must wait do so on the busy timeout rather than
	// fail when its read lock cannot be upgraded.
	// Both pools keep their prepared statements (stmtPool): SQLite spends
	// a good part of a short statement compiling it.
	open := func(conns int) (*gorm.DB, error) {
		sqlDB, err := sql.Open(sqlite.DriverName, "file:"+dsn+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
		}
		sqlDB.SetMaxOpenConns(conns)
		sqlDB.SetMaxIdleConns(conns)
		if err := sqlDB.Ping(); err != nil {
			sqlDB.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
		}
		g, err := gorm.Open(&sqlite.Dialector{Conn: newStmtPool(sqlDB)}, cfg)
		if err != nil {
			sqlDB.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
		}
		return g, nil
	}
	readers, err := open(8)
	if err != nil {
		return nil, err
	}
	writer, err := open(1)
	if err != nil {
		if sqlDB, err := readers.DB(); err == nil {
			sqlDB.Close()
		}
		return nil, err
	}
	return &DB{Gorm: readers, Dialect: SQLite, writer: writer}, nil
}

// Close closes the underlying connections.
func (db *DB) Close() error {
	pools := []*gorm.DB{db.Gorm}
	if db.writer != nil && db.writer != db.Gorm {
		pools = append(pools, db.writer)
	}
	var errs []error
	for _, g := range pools {
		sqlDB, err := g.DB()
		if err == nil {
			err = sqlDB.Close()
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	sqlDB, err := db.Gorm.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(d Dialect) ([]migration, error) {
	dir := "migrations/" + string(d)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		prefix, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and an underscore", name)
		}
		body, err := fs.ReadFile(migrations, dir+"/"+name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// Migrate applies every migration not yet recorded in schema_migrations, each
// in a transaction with its record. Replicas starting together on PostgreSQL
// take turns through an advisory lock, so each file runs once.
func (db *DB) Migrate(ctx context.Context, log *slog.Logger) error {
	return db.migrateTo(ctx, log, math.MaxInt)
}

// migrateTo is Migrate up to version last, so that a test can fill an
// older schema and watch a migration carry its rows over.
func (db *DB) migrateTo(ctx context.Context, log *slog.Logger, last int) error {
	all, err := loadMigrations(db.Dialect)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	return db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if db.Dialect == Postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(7261001)").Error; err != nil {
				return fmt.Errorf("lock migrations: %w", err)
			}
		}
		if err := tx.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`).Error; err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var applied []int
		if err := tx.Raw("SELECT version FROM schema_migrations").Scan(&applied).Error; err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		done := map[int]bool{}
		for _, v := range applied {
			done[v] = true
		}
		for _, m := range all {
			if done[m.version] || m.version > last {
				continue
			}
			if err := applyMigration(tx, m); err != nil {
				return fmt.Errorf("apply migration %s: %w", m.name, err)
			}
			if err := tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, time.Now().UTC().Format(time.RFC3339)).Error; err != nil {
				return fmt.Errorf("record migration %s: %w", m.name, err)
			}
			if log != nil {
				log.Info("migration applied", "migration", m.name)
			}
		}
		return nil
	})
}

// stepMarker starts a line of a migration file naming a step written in Go
// (steps), run at that point of the file in the migration's transaction:
// for what SQL alone cannot do on both dialects, such as computing hashes.
const stepMarker = "-- step: "

// steps are the Go steps a migration file may name.
var steps = map[string]func(tx *gorm.DB) error{
	"hash history": hashHistory,
}

// applyMigration runs m's statements and steps in file order.
func applyMigration(tx *gorm.DB, m migration) error {
	var chunk strings.Builder
	flush := func() error {
		if strings.TrimSpace(chunk.String()) == "" {
			return nil
		}
		err := tx.Exec(chunk.String()).Error
		chunk.Reset()
		return err
	}
	for _, line := range strings.SplitAfter(m.sql, "\n") {
		name, ok := strings.CutPrefix(line, stepMarker)
		if !ok {
			chunk.WriteString(line)
			continue
		}
		step, ok := steps[strings.TrimSpace(name)]
		if !ok {
			return fmt.Errorf("unknown step %q", strings.TrimSpace(name))
		}
		if err := flush(); err != nil {
			return err
		}
		if err := step(tx); err != nil {
			return fmt.Errorf("step %s: %w", strings.TrimSpace(name), err)
		}
	}
	return flush()
}

// SchemaVersion returns the highest applied migration, 0 for none.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := db.Gorm.WithContext(ctx).Raw("SELECT MAX(version) FROM schema_migrations").Scan(&v).Error
	return int(v.Int64), err
}

type txKey struct{}

// txState is the transaction a context carries and what to run once it
// has committed.
type txState struct {
	tx    *gorm.DB
	after []func()
}

// Tx runs fn in a transaction carried by the context given to fn. When ctx
// already carries one, fn joins it, so that an outer caller (idempotency,
// imports) can make several steps commit together.
func (db *DB) Tx(ctx context.Context, fn func(ctx context.Context, tx *gorm.DB) error) error {
	if st, ok := ctx.Value(txKey{}).(*txState); ok {
		return fn(ctx, st.tx)
	}
	st := &txState{}
	w := db.writer
	if w == nil {
		w = db.Gorm
	}
	err := w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		st.tx = tx
		return fn(context.WithValue(ctx, txKey{}, st), tx)
	})
	if err == nil {
		for _, f := range st.after {
			f()
		}
	}
	return err
}

// AfterCommit runs f once the transaction carried by ctx has committed, or
// at once when ctx carries none. A rolled-back transaction never runs f.
func (db *DB) AfterCommit(ctx context.Context, f func()) {
	if st, ok := ctx.Value(txKey{}).(*txState); ok {
		st.after = append(st.after, f)
		return
	}
	f()
}

// Conn returns the transaction carried by ctx, or the pool.
func (db *DB) Conn(ctx context.Context) *gorm.DB {
	if st, ok := ctx.Value(txKey{}).(*txState); ok {
		return st.tx
	}
	return db.Gorm.WithContext(ctx)
}

// IsUniqueViolation reports whether err is a unique-constraint violation.
func IsUniqueViolation(err error) bool {
	return errors.Is(err, gorm.ErrDuplicatedKey)
}
