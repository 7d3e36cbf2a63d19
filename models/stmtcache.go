package models

import (
	"context"
	"database/sql"
	"strings"
	"sync"

	"gorm.io/gorm"
)

// stmtPool is the connection pool gorm runs SQLite through. It prepares
// each statement once and keeps it for the life of the pool, and lets
// transactions use the statements prepared on their connection.
//
// gorm's own PrepareStmt cannot do that for transactions: it prepares a
// statement on the transaction, which database/sql closes at commit, so
// every transaction of the single writer connection compiled its statements
// again (a good part of a short write). A statement prepared on the pool is
// kept per connection, and Tx.StmtContext reuses it on the transaction's
// connection without compiling.
//
// PostgreSQL needs none of this: pgx caches prepared statements per
// connection itself.
type stmtPool struct {
	db *sql.DB

	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

// maxCachedStmts bounds the cache: statements with IN lists differ by
// their number of values, and a query past the bound is simply run
// unprepared.
const maxCachedStmts = 2000

func newStmtPool(db *sql.DB) *stmtPool { return &stmtPool{db: db, stmts: map[string]*sql.Stmt{}} }

// cached returns the statement of query if it has been prepared.
func (p *stmtPool) cached(query string) *sql.Stmt {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.stmts[query]
}

// stmt returns the statement of query, preparing it on first use; nil means
// run it unprepared. Only call it outside a transaction: preparing takes a
// connection of the pool, and the writer's pool has one.
func (p *stmtPool) stmt(ctx context.Context, query string) *sql.Stmt {
	if s := p.cached(query); s != nil {
		return s
	}
	p.prepare(ctx, query)
	return p.cached(query)
}

// prepare compiles query and keeps it, unless it holds several statements
// (migrations), which cannot be prepared as one, or the cache is full.
// A query that fails to prepare is left to fail when run, with the error
// its caller expects.
func (p *stmtPool) prepare(ctx context.Context, query string) {
	if strings.Contains(query, ";") {
		return
	}
	p.mu.RLock()
	_, ok := p.stmts[query]
	full := len(p.stmts) >= maxCachedStmts
	p.mu.RUnlock()
	if ok || full {
		return
	}
	// Compile without holding the lock: preparing waits for a connection,
	// which a transaction that needs the lock may be holding.
	s, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.stmts[query]; ok {
		s.Close()
		return
	}
	p.stmts[query] = s
}

func (p *stmtPool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return p.db.PrepareContext(ctx, query)
}

func (p *stmtPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := p.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return p.db.ExecContext(ctx, query, args...)
}

func (p *stmtPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := p.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, query, args...)
}

func (p *stmtPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := p.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, query, args...)
}

// BeginTx makes stmtPool a gorm.ConnPoolBeginner.
func (p *stmtPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	tx, err := p.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &stmtTx{Tx: tx, pool: p}, nil
}

// GetDBConn lets gorm's DB() reach the pool.
func (p *stmtPool) GetDBConn() (*sql.DB, error) { return p.db, nil }

// stmtTx is a transaction running the pool's statements. A statement the
// pool does not have yet runs unprepared and is prepared on the pool once
// the transaction has given its connection back.
type stmtTx struct {
	*sql.Tx
	pool    *stmtPool
	missed  []string
	context context.Context
}

func (t *stmtTx) stmt(ctx context.Context, query string) *sql.Stmt {
	if s := t.pool.cached(query); s != nil {
		return t.Tx.StmtContext(ctx, s)
	}
	t.missed = append(t.missed, query)
	t.context = context.WithoutCancel(ctx)
	return nil
}

func (t *stmtTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := t.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t *stmtTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *stmtTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

func (t *stmtTx) Commit() error {
	err := t.Tx.Commit()
	t.prepareMissed()
	return err
}

func (t *stmtTx) Rollback() error {
	err := t.Tx.Rollback()
	t.prepareMissed()
	return err
}

func (t *stmtTx) prepareMissed() {
	for _, q := range t.missed {
		t.pool.prepare(t.context, q)
	}
	t.missed = nil
}
