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
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
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
	// Gorm serves statements outside a transaction. On SQLite it sends
	// those that only read to a pool of readers and every other one, and
	// every transaction, to the writer.
	Gorm    *gorm.DB
	Dialect Dialect
	// writer runs transactions. On SQLite it is a pool of one connection,
	// so that writers queue in the process instead of sleeping in SQLite's
	// busy handler; on PostgreSQL it is Gorm.
	writer *gorm.DB
	// path is the SQLite file; empty on PostgreSQL.
	path string
	// readers is the query-only pool behind Gorm's reads on SQLite; nil on
	// PostgreSQL.
	readers *sql.DB
}

// Options bound how long the database may take.
type Options struct {
	// ConnectTimeout bounds opening a connection to PostgreSQL, from the
	// dial to the server's first answer.
	ConnectTimeout time.Duration
	// StatementTimeout bounds one statement: PostgreSQL cancels it
	// (statement_timeout), and a server that sends nothing for a second
	// longer is taken for gone; on SQLite it is how long a write waits for
	// the file's lock.
	StatementTimeout time.Duration
}

// DefaultOptions are the timeouts of a deployment that sets none.
func DefaultOptions() Options {
	return Options{ConnectTimeout: 5 * time.Second, StatementTimeout: 10 * time.Second}
}

// IsPostgres reports whether dsn names a PostgreSQL database rather than an
// SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database named by dsn with DefaultOptions.
func Open(dsn string) (*DB, error) { return OpenWith(dsn, DefaultOptions()) }

// OpenWith opens the database named by dsn: a postgres:// URL, or else the
// path of an SQLite file (created if missing) in WAL mode with foreign keys
// on, a busy timeout, and IMMEDIATE transactions so that concurrent writers
// queue instead of failing when a read lock cannot be upgraded. An SQLite
// file that cannot be opened is explained: which folder or file is
// missing or not writable.
func OpenWith(dsn string, o Options) (*DB, error) {
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		SkipDefaultTransaction: true,
		TranslateError:         true,
	}
	if IsPostgres(dsn) {
		g, err := gorm.Open(postgres.New(postgres.Config{DSN: dsn, OptionOpenDB: []stdlib.OptionOpenDB{
			stdlib.OptionBeforeConnect(o.bounds()),
		}}), cfg)
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
	q.Set("_busy_timeout", strconv.FormatInt(max(o.StatementTimeout.Milliseconds(), 1), 10))
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	q.Set("_loc", "UTC")
	// WAL allows many readers beside the one writer; IMMEDIATE transactions
	// make a writer that must wait do so on the busy timeout rather than
	// fail when its read lock cannot be upgraded.
	// Both pools keep their prepared statements (stmtPool): SQLite spends
	// a good part of a short statement compiling it.
	open := func(conns int, q url.Values) (*sql.DB, error) {
		sqlDB, err := sql.Open(sqlite.DriverName, "file:"+dsn+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
		}
		sqlDB.SetMaxOpenConns(conns)
		sqlDB.SetMaxIdleConns(conns)
		if err := sqlDB.Ping(); err != nil {
			sqlDB.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", dsn, explainOpen(dsn, err))
		}
		return sqlDB, nil
	}
	if why := fileNotWritable(dsn); why != "" {
		return nil, fmt.Errorf("open sqlite %s: %s", dsn, why)
	}
	// The writer opens first: it creates the file and switches it to WAL,
	// which a query-only connection could not do.
	writerDB, err := open(1, q)
	if err != nil {
		return nil, err
	}
	// A write sent to a reader would not queue behind the writer: it would
	// sleep in the busy handler and fail with "database is locked" while a
	// long transaction runs. The readers are query-only so that such a path
	// fails at once, and routedPool sends every write to the writer.
	rq := url.Values{}
	for k, v := range q {
		rq[k] = v
	}
	rq.Set("_query_only", "true")
	readerDB, err := open(8, rq)
	if err != nil {
		writerDB.Close()
		return nil, err
	}
	writerPool, readerPool := newStmtPool(writerDB), newStmtPool(readerDB)
	writer, err := gorm.Open(&sqlite.Dialector{Conn: writerPool}, cfg)
	if err == nil {
		var g *gorm.DB
		g, err = gorm.Open(&sqlite.Dialector{Conn: &routedPool{readers: readerPool, writer: writerPool}}, cfg)
		if err == nil {
			return &DB{Gorm: g, Dialect: SQLite, writer: writer, readers: readerDB, path: dsn}, nil
		}
	}
	readerDB.Close()
	writerDB.Close()
	return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
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

// WriterPool returns the connections that write, for loading rows in bulk
// through database/sql: on SQLite the one writer, since the pool behind
// Gorm.DB() only reads.
func (db *DB) WriterPool() (*sql.DB, error) { return db.writer.DB() }

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
			if err := lockPatiently(ctx, tx, 7261001); err != nil {
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

// lockPatiently takes the transaction's advisory lock key on PostgreSQL,
// waiting for as long as ctx allows. It asks again and again rather than
// wait in one statement, which the statement timeout would cancel while
// another replica's migrations run.
func lockPatiently(ctx context.Context, tx *gorm.DB, key int64) error {
	for {
		var got bool
		if err := tx.Raw("SELECT pg_try_advisory_xact_lock(?)", key).Scan(&got).Error; err != nil {
			return err
		}
		if got {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

type txKey struct{}

// txState is the transaction a context carries and what to run once it
// has committed.
type txState struct {
	tx    *gorm.DB
	after []func()
	// active is true while tx runs: routedPool refuses writes beside it.
	active atomic.Bool
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
		st.active.Store(true)
		defer st.active.Store(false)
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
