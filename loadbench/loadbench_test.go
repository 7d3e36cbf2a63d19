package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"datashare/audit"
	"datashare/loadbench/bare"
	"datashare/models"
	"datashare/models/modelstest"
)

// TestMain lets the test binary stand in for the loadbench executable when
// the orchestrator starts its bare server and load generator from it.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == "bare" || os.Args[1] == "drive") {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestLayoutOwnerIsAnotherAgencyAndPoolHoldsEachSubmittedRequestOnce(t *testing.T) {
	l := layout{n: 5000, agencies: 10}
	owners := map[int]int{}
	for id := int64(1); id <= int64(l.n); id++ {
		if l.owner(id) == l.requesting(id) {
			t.Fatalf("request %d: owner %d is its requesting agency", id, l.owner(id))
		}
		if l.requesting(id) == 0 {
			owners[l.owner(id)]++
		}
	}
	if len(owners) != l.agencies-1 {
		t.Errorf("agency AG01 asks %d other agencies, want %d", len(owners), l.agencies-1)
	}
	pool, seen := l.approvePool(), map[int64]bool{}
	for _, id := range pool {
		if l.state(id) != "submitted" || seen[id] {
			t.Fatalf("pool holds %d (state %s, seen before %v)", id, l.state(id), seen[id])
		}
		seen[id] = true
	}
	if got, want := len(pool), l.n*18/20; got != want {
		t.Errorf("pool holds %d requests, want %d", got, want)
	}
	for _, n := range []int{100, 101, 119, 120, 121, 99999} {
		l := layout{n: n, agencies: 10}
		if got, want := l.submitted(), len(l.approvePool()); got != want {
			t.Errorf("n=%d: submitted() = %d, want %d", n, got, want)
		}
	}
}

// TestRunDrivesBothServersWithoutErrors runs the whole benchmark, tiny:
// the real binary, the bare server and the load generator as processes on
// loopback. It asserts that every call of every scenario succeeded on both
// servers, which fails when the seeded tokens or rows are not what the
// product accepts; it asserts no speed, nor that a call completed inside
// the short measured window.
func TestRunDrivesBothServersWithoutErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "datashare")
	if out, err := exec.Command("go", "build", "-o", bin, "datashare/cmd/datashare").CombinedOutput(); err != nil {
		t.Fatalf("build datashare: %v\n%s", err, out)
	}
	dbs := []string{"sqlite"}
	pg := os.Getenv("DATASHARE_TEST_POSTGRES_URL")
	if pg != "" {
		dbs = append(dbs, "postgres")
	}
	for _, db := range dbs {
		t.Run(db, func(t *testing.T) {
			jsonFile := filepath.Join(t.TempDir(), "out.json")
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"-db", db, "-n", "300", "-duration", "200ms", "-warmup", "50ms",
				"-rounds", "1", "-c", "4", "-binary", bin, "-json", jsonFile}, &stdout, &stderr)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			var got struct {
				Runs []measurement `json:"runs"`
			}
			b, err := os.ReadFile(jsonFile)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if want := 2 * len(scenarios); len(got.Runs) != want {
				t.Fatalf("got %d measurements, want %d", len(got.Runs), want)
			}
			for _, m := range got.Runs {
				if m.Result.Calls == 0 || m.Result.Failed != 0 {
					t.Errorf("%s on %s: got %d calls, %d failed (%s); want calls and no failure\n%s",
						m.Scenario, m.Server, m.Result.Calls, m.Result.Failed, m.Result.Sample, stderr.String())
				}
			}
			if rows := strings.Count(stdout.String(), "\n| "); rows != len(scenarios)+1 {
				t.Errorf("table has %d rows, want a header and %d scenarios:\n%s", rows, len(scenarios), stdout.String())
			}
			if db == "postgres" {
				assertDatabasesDropped(t, pg)
			}
		})
	}
}

func assertDatabasesDropped(t *testing.T, base string) {
	t.Helper()
	g, err := openGorm(base)
	if err != nil {
		t.Fatal(err)
	}
	defer closeGorm(g)
	var left []string
	prefix := fmt.Sprintf("loadbench_%d_", os.Getpid())
	if err := g.Raw("SELECT datname FROM pg_database WHERE starts_with(datname, ?)", prefix).Scan(&left).Error; err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("databases left behind: %v", left)
	}
}

// TestBareSchemaHasNoSecondaryIndexes keeps the yardstick bare: only the
// indexes the databases make for primary keys.
func TestBareSchemaHasNoSecondaryIndexes(t *testing.T) {
	cases := []struct {
		db, indexes string
	}{
		{"sqlite", "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'"},
		{"postgres", "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'"},
	}
	for _, c := range cases {
		t.Run(c.db, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "bare.db")
			if c.db == "postgres" {
				pg := os.Getenv("DATASHARE_TEST_POSTGRES_URL")
				if pg == "" {
					t.Skip("set DATASHARE_TEST_POSTGRES_URL to check the PostgreSQL schema")
				}
				tg := &target{name: "schema"}
				drop, err := createDatabases(context.Background(), pg, tg)
				t.Cleanup(drop)
				if err != nil {
					t.Fatal(err)
				}
				dsn = tg.dsn
			}
			db, err := bare.Open(dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.CreateSchema(context.Background()); err != nil {
				t.Fatal(err)
			}
			var idx []string
			if err := db.Read.Raw(c.indexes).Scan(&idx).Error; err != nil {
				t.Fatal(err)
			}
			if len(idx) > 0 {
				t.Errorf("bare schema has indexes %v, want none beyond the primary keys", idx)
			}
		})
	}
}

// The seeded history chains as the product's does, so that the benchmark
// writes onto chains the product would have written.
func TestSeededHistoryVerifies(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		l := layout{n: 1200, agencies: 4}
		if err := seedProduct(context.Background(), db.Gorm, l, l.tokens(), time.Now().UTC().Add(-48*time.Hour)); err != nil {
			t.Fatal(err)
		}
		sum, err := audit.Verify(context.Background(), db)
		if err != nil {
			t.Fatalf("verify the seeded history: %v", err)
		}
		if sum.Requests != l.n {
			t.Errorf("requests verified: got %d, want %d", sum.Requests, l.n)
		}
	})
}
