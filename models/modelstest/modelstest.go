// Package modelstest opens real, empty, migrated databases for tests: an
// SQLite file in the test's temporary folder, and a PostgreSQL schema of its
// own when DATASHARE_TEST_POSTGRES_URL is set.
package modelstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/models"
)

// PostgresEnv names the variable holding the PostgreSQL URL for tests, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresEnv = "DATASHARE_TEST_POSTGRES_URL"

// pgTimeouts are those of PostgreSQL test databases: the test server is
// shared with every package's tests at once, so a checkpoint or a schema
// drop may take far longer than in a deployment. SQLite files keep the
// defaults; tests of the timeouts set their own.
var pgTimeouts = models.Options{ConnectTimeout: 5 * time.Second, StatementTimeout: 2 * time.Minute}

func timeoutsFor(d models.Dialect) models.Options {
	if d == models.Postgres {
		return pgTimeouts
	}
	return models.DefaultOptions()
}

// Dialects returns the dialects to test against: SQLite always, PostgreSQL
// when PostgresEnv is set.
func Dialects() []models.Dialect {
	if os.Getenv(PostgresEnv) != "" {
		return []models.Dialect{models.SQLite, models.Postgres}
	}
	return []models.Dialect{models.SQLite}
}

// ForEach runs fn as a subtest per dialect, each with a fresh database. When
// PostgreSQL is not configured its subtest is skipped with a message saying
// how to enable it.
func ForEach(t *testing.T, fn func(t *testing.T, db *models.DB)) {
	t.Helper()
	for _, d := range []models.Dialect{models.SQLite, models.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			fn(t, MustOpen(t, d))
		})
	}
}

// DSN returns a fresh, empty database of dialect d as a DSN, dropped when tb
// ends.
func DSN(tb testing.TB, d models.Dialect) string {
	tb.Helper()
	if d == models.SQLite {
		return filepath.Join(tb.TempDir(), "datashare.db")
	}
	base := os.Getenv(PostgresEnv)
	if base == "" {
		tb.Skipf("PostgreSQL tests skipped: set %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run them", PostgresEnv)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := models.OpenWith(base, pgTimeouts)
	if err != nil {
		tb.Fatalf("open postgres: %v", err)
	}
	if err := admin.Gorm.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		admin.Gorm.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// MustOpen returns a fresh migrated database of dialect d, closed when tb
// ends.
func MustOpen(tb testing.TB, d models.Dialect) *models.DB {
	tb.Helper()
	db, err := models.OpenWith(DSN(tb, d), timeoutsFor(d))
	if err != nil {
		tb.Fatalf("open %s: %v", d, err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background(), nil); err != nil {
		tb.Fatalf("migrate %s: %v", d, err)
	}
	return db
}

// MustSeedRequests stores n requests straight into the database, in batches
// in one transaction: preparing thousands through the services would take
// longer than the benchmark that reads them. fill sets request i's columns
// (its SLA clock included) and returns its history, whose RequestID is set
// here once the request has its id. It returns the ids in order.
func MustSeedRequests(tb testing.TB, db *models.DB, n int, fill func(i int, r *models.Request) []models.Transition) []int64 {
	tb.Helper()
	const batch = 500
	ids := make([]int64, 0, n)
	err := db.Gorm.Transaction(func(tx *gorm.DB) error {
		for start := 0; start < n; start += batch {
			rs := make([]models.Request, min(batch, n-start))
			hist := make([][]models.Transition, len(rs))
			for i := range rs {
				hist[i] = fill(start+i, &rs[i])
			}
			if err := tx.Omit(clause.Associations).Create(&rs).Error; err != nil {
				return err
			}
			var ts []models.Transition
			for i, r := range rs {
				if r.ID == 0 {
					return fmt.Errorf("seeded request without an id")
				}
				ids = append(ids, r.ID)
				for _, t := range hist[i] {
					t.RequestID = r.ID
					ts = append(ts, t)
				}
			}
			if err := models.AppendHistory(tx, ts); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("seed %d requests: %v", n, err)
	}
	return ids
}

// MustFill makes the SQLite database db full, as a full disk would, until
// MustUnfill: SQLite's max_page_count, set on the writer connection, fails
// every write that needs a new page with SQLITE_FULL.
func MustFill(tb testing.TB, db *models.DB) { mustLimitPages(tb, db, "1") } // raised to the current size

// MustUnfill gives a database MustFill filled its room back.
func MustUnfill(tb testing.TB, db *models.DB) { mustLimitPages(tb, db, "1073741823") }

func mustLimitPages(tb testing.TB, db *models.DB, pages string) {
	tb.Helper()
	// The limit is the writer connection's, which the writer keeps.
	if err := db.Tx(context.Background(), func(ctx context.Context, tx *gorm.DB) error {
		return tx.Exec("PRAGMA max_page_count = " + pages).Error
	}); err != nil {
		tb.Fatal(err)
	}
}
