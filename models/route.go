package models

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"unicode"

	"gorm.io/gorm"
)

// routedPool is the pool behind DB.Gorm on SQLite: a statement that only
// reads goes to the readers, anything else, and every transaction, to the
// single writer, so that writes made outside a transaction queue in the
// process like transactions do.
type routedPool struct {
	readers, writer *stmtPool
}

// errWriteBesideTx refuses a write made outside the transaction its
// context carries: the writer's one connection is held by that transaction,
// so the write would wait for it for ever.
var errWriteBesideTx = errors.New("write outside the transaction the context carries; use DB.Conn(ctx)")

func (p *routedPool) pick(ctx context.Context, query string) (*stmtPool, error) {
	if readOnly(query) {
		return p.readers, nil
	}
	if st, ok := ctx.Value(txKey{}).(*txState); ok && st.active.Load() {
		return nil, errWriteBesideTx
	}
	return p.writer, nil
}

func (p *routedPool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	pool, err := p.pick(ctx, query)
	if err != nil {
		return nil, err
	}
	return pool.PrepareContext(ctx, query)
}

func (p *routedPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	pool, err := p.pick(ctx, query)
	if err != nil {
		return nil, err
	}
	return pool.ExecContext(ctx, query, args...)
}

func (p *routedPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	pool, err := p.pick(ctx, query)
	if err != nil {
		return nil, err
	}
	return pool.QueryContext(ctx, query, args...)
}

func (p *routedPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	pool, err := p.pick(ctx, query)
	if err != nil {
		// A *sql.Row cannot carry an error of ours; the query-only readers
		// refuse the write at once rather than let it wait for ever.
		pool = p.readers
	}
	return pool.QueryRowContext(ctx, query, args...)
}

// BeginTx makes routedPool a gorm.ConnPoolBeginner: transactions write.
func (p *routedPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	if st, ok := ctx.Value(txKey{}).(*txState); ok && st.active.Load() {
		return nil, errWriteBesideTx
	}
	return p.writer.BeginTx(ctx, opts)
}

// GetDBConn lets gorm's DB() reach the readers (Ping, Close).
func (p *routedPool) GetDBConn() (*sql.DB, error) { return p.readers.db, nil }

// readOnly reports whether query only reads: a SELECT, or a WITH that
// neither inserts, updates nor deletes. A write taken for a read fails
// loudly on the query-only readers; a read taken for a write only waits
// for the writer.
func readOnly(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	word := func(s string) string {
		end := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
		if end < 0 {
			end = len(s)
		}
		return strings.ToUpper(s[:end])
	}
	switch word(q) {
	case "SELECT":
		return !strings.HasSuffix(strings.ToUpper(strings.TrimSpace(q)), "FOR UPDATE")
	case "WITH":
		for _, f := range strings.FieldsFunc(strings.ToUpper(q), func(r rune) bool { return !unicode.IsLetter(r) && r != '_' }) {
			switch f {
			case "INSERT", "UPDATE", "DELETE", "REPLACE":
				return false
			}
		}
		return true
	}
	return false
}
