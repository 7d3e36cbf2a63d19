package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"datashare/errs"
	"datashare/models"
	"datashare/models/modelstest"
)

// fastTimeouts keep the outage tests short; the defaults behave alike,
// only slower.
var fastTimeouts = models.Options{ConnectTimeout: time.Second, StatementTimeout: time.Second}

// mustFault fails unless err is the storage fault code, and returns its
// message.
func mustFault(t *testing.T, what string, err error, code errs.Code) string {
	t.Helper()
	f := models.Fault(err)
	if f == nil {
		t.Fatalf("%s: got %v, which is no storage fault; want %s", what, err, code)
	}
	if f.Code != code {
		t.Fatalf("%s: got code %s (%v), want %s", what, f.Code, err, code)
	}
	return f.Message
}

func mustAnswer(t *testing.T, db *models.DB, what string) {
	t.Helper()
	var one int
	if err := db.Gorm.Raw("SELECT 1").Scan(&one).Error; err != nil || one != 1 {
		t.Fatalf("%s: SELECT 1 got %d, %v; want 1", what, one, err)
	}
}

// within fails unless d is at most limit; outages must end in an answer,
// not a hang.
func within(t *testing.T, what string, d, limit time.Duration) {
	t.Helper()
	t.Logf("%s after %s", what, d.Round(time.Millisecond))
	if d > limit {
		t.Errorf("%s: took %s, want at most %s", what, d, limit)
	}
}

// mustMigrated migrates the database at dsn with the default timeouts and
// returns dsn: the outage tests' short statement timeout is not meant for
// a schema built while other tests share the server.
func mustMigrated(t *testing.T, dsn string) string {
	t.Helper()
	db, err := models.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return dsn
}

func TestPostgresOutagesAreUnavailableAndPass(t *testing.T) {
	dsn, proxy := modelstest.ProxyDSN(t, mustMigrated(t, modelstest.DSN(t, models.Postgres)))
	db, err := models.OpenWith(dsn, fastTimeouts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	mustAnswer(t, db, "through the proxy")

	t.Run("a_slow_statement_is_cancelled_at_the_statement_timeout", func(t *testing.T) {
		start := time.Now()
		err := db.Gorm.Exec("SELECT pg_sleep(5)").Error
		within(t, "pg_sleep(5) cancelled", time.Since(start), 2*time.Second)
		mustFault(t, "pg_sleep(5)", err, errs.Unavailable)
		mustAnswer(t, db, "after the timeout")
	})

	t.Run("refused_connections_are_unavailable_then_pass", func(t *testing.T) {
		proxy.Refuse()
		start := time.Now()
		err := db.Gorm.Exec("SELECT 1").Error
		within(t, "refused", time.Since(start), time.Second)
		msg := mustFault(t, "SELECT 1 while refused", err, errs.Unavailable)
		if strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "dial") {
			t.Errorf("message %q shows the driver's text; want one for a person", msg)
		}
		err = db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error { return tx.Exec("SELECT 1").Error })
		mustFault(t, "a transaction while refused", err, errs.Unavailable)
		proxy.Resume()
		mustAnswer(t, db, "once the server takes connections again")
	})

	t.Run("a_frozen_server_is_unavailable_within_the_statement_timeout_then_passes", func(t *testing.T) {
		// The pool's connections are open: a frozen server leaves them
		// waiting for an answer that does not come.
		proxy.Freeze()
		limit := fastTimeouts.StatementTimeout + 2*time.Second
		start := time.Now()
		err := db.Gorm.Exec("SELECT 1").Error
		within(t, "frozen, open connection", time.Since(start), limit)
		mustFault(t, "SELECT 1 while frozen", err, errs.Unavailable)

		start = time.Now()
		err = db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error { return tx.Exec("SELECT 1").Error })
		within(t, "frozen, transaction", time.Since(start), limit)
		mustFault(t, "a transaction while frozen", err, errs.Unavailable)

		// A new connection waits for the server's greeting instead.
		start = time.Now()
		fresh, err := models.OpenWith(dsn, fastTimeouts)
		if err == nil {
			fresh.Close()
			t.Fatal("open while frozen: got a database, want an error")
		}
		within(t, "frozen, new connection", time.Since(start), fastTimeouts.ConnectTimeout+time.Second)
		mustFault(t, "open while frozen", err, errs.Unavailable)

		proxy.Resume()
		start = time.Now()
		mustAnswer(t, db, "once the server answers again")
		within(t, "recovered", time.Since(start), time.Second)
	})
}

// TestSQLiteFullDatabaseIsStorageFull fills a real database to its page
// limit (SQLite's max_page_count, which fails writes with SQLITE_FULL as a
// full disk does) and frees it again.
func TestSQLiteFullDatabaseIsStorageFull(t *testing.T) {
	db := modelstest.MustOpen(t, models.SQLite)
	ctx := context.Background()
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("Ready on a fresh database: %v", err)
	}
	limit := func(pages string) {
		t.Helper()
		// The limit is the writer connection's; the writer is one
		// connection, which keeps it.
		if err := db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
			return tx.Exec("PRAGMA max_page_count = " + pages).Error
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Below the current size, SQLite sets the limit to the current size.
	limit("1")
	write := func() error {
		return db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
			return tx.Exec("INSERT INTO agencies (code, name, created_at) VALUES (?, ?, ?)", "FULL", strings.Repeat("x", 64<<10), time.Now()).Error
		})
	}
	msg := mustFault(t, "a write past the limit", write(), errs.StorageFull)
	if !strings.Contains(msg, "no room") {
		t.Errorf("message %q: want it to say there is no room", msg)
	}
	mustFault(t, "Ready at the limit", db.Ready(ctx), errs.StorageFull)
	mustAnswer(t, db, "reading a full database")

	limit("1073741823")
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("Ready once there is room again: %v", err)
	}
	if err := write(); err != nil {
		t.Fatalf("a write once there is room again: %v", err)
	}
}

func TestFaultLeavesOtherErrorsAlone(t *testing.T) {
	for _, err := range []error{
		errors.New("a bug"),
		gorm.ErrRecordNotFound,
		gorm.ErrDuplicatedKey,
		errs.E(errs.Invalid, "bad"),
	} {
		if f := models.Fault(err); f != nil {
			t.Errorf("Fault(%v): got %s, want nil", err, f.Code)
		}
	}
}
