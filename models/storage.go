package models

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"datashare/errs"
)

// minFreeBytes is the room an SQLite database needs to count as writable:
// below it, a write is likely to fail half-way for want of space.
const minFreeBytes = 1 << 20

// pageCheckWait bounds how long readiness waits for the writer's
// connection to read its page limit.
const pageCheckWait = 250 * time.Millisecond

// Ready reports whether the database can serve requests: it answers and,
// on SQLite, has room for writes (1 MiB free on its disk and within its
// page limit). The error is a storage fault (see Fault) or the ping's error.
func (db *DB) Ready(ctx context.Context) error {
	if err := db.Ping(ctx); err != nil {
		return err
	}
	if db.Dialect != SQLite {
		return nil
	}
	full := &errs.Error{Code: errs.StorageFull, Message: fullMessage}
	if free, ok := freeBytes(filepath.Dir(db.path)); ok && free < minFreeBytes {
		full.Err = fmt.Errorf("%d bytes free on the disk of %s", free, db.path)
		return full
	}
	// The page limit is per connection, so it is read on the writer's. A
	// writer busy for longer than pageCheckWait is writing, so not full:
	// readiness does not wait for it.
	wctx, cancel := context.WithTimeout(ctx, pageCheckWait)
	defer cancel()
	var size, limit, unused, page int64
	for _, p := range []struct {
		pragma string
		dest   *int64
	}{{"page_size", &page}, {"page_count", &size}, {"max_page_count", &limit}, {"freelist_count", &unused}} {
		err := db.writer.WithContext(wctx).Raw("PRAGMA " + p.pragma).Scan(p.dest).Error
		if err != nil && wctx.Err() != nil && ctx.Err() == nil {
			return nil
		}
		if err != nil {
			return err
		}
	}
	if page > 0 && (limit-size+unused)*page < minFreeBytes {
		full.Err = fmt.Errorf("%d of %d pages used in %s", size-unused, limit, db.path)
		return full
	}
	return nil
}

// openError says why an SQLite file could not be opened, in place of
// SQLite's own message, which names neither the file nor the cause.
type openError struct {
	msg string
	err error
}

func (e *openError) Error() string { return e.msg }
func (e *openError) Unwrap() error { return e.err }

// explainOpen returns err, which SQLite gave when opening path, with the
// cause found on the file system: a folder missing or not a folder, or a
// file or folder the service may not write. SQLite in WAL mode creates
// path-wal and path-shm beside the file, so the folder must be writable
// even when the file exists.
func explainOpen(path string, err error) error {
	dir := filepath.Dir(path)
	explain := func(format string, args ...any) error {
		return &openError{msg: fmt.Sprintf(format, args...), err: err}
	}
	fi, statErr := os.Stat(dir)
	switch {
	case errors.Is(statErr, fs.ErrNotExist):
		return explain("the folder %s does not exist", dir)
	case errors.Is(statErr, syscall.ENOTDIR):
		return explain("the folder %s cannot be used: part of its path is a file, not a folder", dir)
	case statErr != nil:
		return explain("the folder %s cannot be read: %v", dir, cause(statErr))
	case !fi.IsDir():
		return explain("%s is a file, not a folder", dir)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return explain("%s is a folder, not a database file", path)
	}
	if why := fileNotWritable(path); why != "" {
		return explain("%s", why)
	}
	probe, werr := os.CreateTemp(dir, ".datashare-probe-*")
	if werr != nil {
		name := filepath.Base(path)
		return explain("the folder %s is not writable: %v (SQLite creates %s-wal and %s-shm beside the database, so the folder must be writable too)",
			dir, cause(werr), name, name)
	}
	probe.Close()
	os.Remove(probe.Name())
	return err
}

// fileNotWritable says why the existing file at path cannot be written,
// or "" when it can or does not exist. SQLite opens a file it may not
// write read-only without a word, and every write fails later.
//
// It asks the kernel (access(2)) rather than opening the file: closing any
// descriptor of a database file drops every POSIX lock this process holds
// on it, including those of SQLite's own connections, and another process
// (a running service beside a command) could then write over them.
func fileNotWritable(path string) string {
	switch err := unix.Access(path, unix.W_OK); {
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM), errors.Is(err, unix.EROFS):
		return fmt.Sprintf("the database file %s is not writable: %v", path, err)
	default:
		// Missing, or a path that is no file at all: opening it says why.
		return ""
	}
}

// cause is the system's reason behind a file operation's error, such as
// "permission denied", without the path the message already names.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
