package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"

	"datashare/errs"
)

// Messages of storage faults, for a person: they say what to do, never the
// driver's text.
const (
	unavailableMessage = "the database cannot be reached or did not answer in time; please try again in a moment"
	fullMessage        = "the database has no room left for this change; nothing was saved. Reading still works; an administrator must free disk space"
	readOnlyMessage    = "the database cannot be written (its file or folder is read-only); nothing was saved"
)

// Fault returns the storage fault behind err as an *errs.Error carrying err:
// Unavailable when the database cannot be reached, refuses connections or
// did not answer in time, StorageFull when it has no room for a write. It
// returns nil for any other error (a constraint, a bug), which keeps its
// own meaning, as does an *errs.Error of another code.
//
// Faults are classified where errors reach a person (the API and the
// pages) rather than where they occur, so that the services see the
// driver's errors as before and abort as they did.
func Fault(err error) *errs.Error {
	var e *errs.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		if e.Code.OfStorage() {
			return e
		}
		return nil
	case isFull(err):
		return &errs.Error{Code: errs.StorageFull, Message: fullMessage, Err: err}
	case isReadOnly(err):
		return &errs.Error{Code: errs.Unavailable, Message: readOnlyMessage, Err: err}
	case isUnreachable(err):
		return &errs.Error{Code: errs.Unavailable, Message: unavailableMessage, Err: err}
	}
	return nil
}

func isFull(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrFull {
		return true
	}
	var pe *pgconn.PgError
	// 53100 disk_full; 53200 out_of_memory is not the disk's fault.
	return errors.As(err, &pe) && pe.Code == "53100" || errors.Is(err, syscall.ENOSPC)
}

func isReadOnly(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrReadonly {
		return true
	}
	var pe *pgconn.PgError
	// 25006 read_only_sql_transaction: a standby, or a primary demoted.
	return errors.As(err, &pe) && pe.Code == "25006" || errors.Is(err, syscall.EROFS)
}

func isUnreachable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"): // connection exception
			return true
		case pe.Code == "57014": // query_canceled: the statement timeout
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // shutting down, crashed, starting up
			return true
		case pe.Code == "53300": // too_many_connections
			return true
		case pe.Code == "55P03": // lock_not_available: the lock timeout
			return true
		}
		return false
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		// BUSY after the busy timeout, a failing disk, a file gone.
		return se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked || se.Code == sqlite3.ErrIoErr || se.Code == sqlite3.ErrCantOpen
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
