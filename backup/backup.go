package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gorm.io/driver/sqlite"

	"datashare/models"
)

// ErrInUse is returned by Restore when a process has the database open.
var ErrInUse = errors.New("the database is in use: stop every datashare process that opens it, then restore")

// Backup writes a consistent copy of the SQLite database db to file, while
// the service keeps reading and writing it: VACUUM INTO copies one read
// transaction's snapshot, so the copy holds every transaction committed
// before it began and none after. file must not exist; it is created
// readable by its owner only, since it holds password and token hashes.
func Backup(ctx context.Context, db *models.DB, file string) error {
	if db.Dialect == models.Postgres {
		return errors.New("backup copies SQLite databases; back up PostgreSQL with pg_dump (see the README's Backups section)")
	}
	// O_EXCL refuses an existing file without a race; VACUUM INTO accepts
	// the empty file it leaves.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("backup: %s already exists; a backup never overwrites a file", file)
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := db.Gorm.WithContext(ctx).Exec("VACUUM INTO ?", file).Error; err != nil {
		os.Remove(file)
		return fmt.Errorf("backup to %s: %w", file, err)
	}
	return nil
}

// Restore replaces the SQLite database at path with the backup in file,
// after checking that file is a sound datashare database. It refuses with
// ErrInUse when any process has the database open: leaving WAL mode needs
// every other connection closed, so Restore asks for it without waiting,
// then holds an exclusive lock while the copy is moved into place. The
// copy is written beside the database first, so the database is never
// half written. A path that does not exist yet is simply created.
func Restore(ctx context.Context, file, path string) error {
	if models.IsPostgres(path) {
		return errors.New("restore puts SQLite backups back; restore PostgreSQL with pg_restore or psql (see the README's Backups section)")
	}
	if err := check(ctx, file); err != nil {
		return err
	}
	tmp, err := copyBeside(file, path)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return rename(tmp, path)
	}
	conn, err := open(path, "rw")
	if err != nil {
		return err
	}
	defer conn.Close()
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode=DELETE").Scan(&mode); err != nil {
		if isBusy(err) {
			return ErrInUse
		}
		return fmt.Errorf("restore: %w", err)
	}
	if mode != "delete" {
		return ErrInUse
	}
	// Out of WAL mode, BEGIN EXCLUSIVE keeps every other process from
	// reading the old file until the new one is in place.
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		if isBusy(err) {
			return ErrInUse
		}
		return fmt.Errorf("restore: %w", err)
	}
	defer tx.Rollback()
	if err := rename(tmp, path); err != nil {
		return err
	}
	for _, side := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(path + side); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restore: %w", err)
		}
	}
	return nil
}

// open opens the SQLite file at path in mode (ro or rw), one connection
// that never waits for a lock.
func open(path, mode string) (*sql.DB, error) {
	q := url.Values{}
	q.Set("mode", mode)
	q.Set("_busy_timeout", "0")
	q.Set("_txlock", "exclusive")
	db, err := sql.Open(sqlite.DriverName, "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// check reports whether file is an intact datashare database.
func check(ctx context.Context, file string) error {
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	db, err := open(file, "ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("restore: %s is not an SQLite database: %w", file, err)
	}
	if res != "ok" {
		return fmt.Errorf("restore: %s is damaged: %s", file, res)
	}
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil || !v.Valid {
		return fmt.Errorf("restore: %s is not a datashare database (no schema version)", file)
	}
	return nil
}

func copyBeside(file, path string) (string, error) {
	src, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	defer src.Close()
	dst, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".restore-*")
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	_, err = io.Copy(dst, src)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst.Name())
		return "", fmt.Errorf("restore: copy %s: %w", file, err)
	}
	return dst.Name(), nil
}

func rename(tmp, path string) error {
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

func isBusy(err error) bool {
	return strings.Contains(err.Error(), "database is locked") || strings.Contains(err.Error(), "database is busy")
}
