package backup_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/audit"
	"datashare/backup"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/workflow"
)

// writer files and submits requests on a until stop is closed, and counts
// them.
func writer(t *testing.T, a *apptest.App, people map[string]models.User, stop <-chan struct{}, done *sync.WaitGroup, n *atomic.Int64) {
	defer done.Done()
	ctx := context.Background()
	req := accounts.ActorOf(people["req@msf.gov.sg"])
	for {
		select {
		case <-stop:
			return
		default:
		}
		r, err := a.Workflow.Create(ctx, req, workflow.NewRequest{Title: "Clinic visits", Purpose: "Plan outreach",
			DataDescription: "Visits by planning area", Classification: "official-open", OwnerAgency: "MOH"})
		if err != nil {
			t.Errorf("create: %v", err)
			return
		}
		if _, err := a.Workflow.Apply(ctx, req, r.ID, workflow.Submit, "", 0); err != nil {
			t.Errorf("submit: %v", err)
			return
		}
		n.Add(1)
	}
}

func mustOpenCopy(t *testing.T, file string) *models.DB {
	t.Helper()
	db, err := models.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countRequests(t *testing.T, db *models.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Gorm.Model(&models.Request{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBackupCopiesALiveDatabaseConsistently(t *testing.T) {
	db := modelstest.MustOpen(t, models.SQLite)
	a := apptest.Wire(t, db, apptest.Options{})
	people := a.MustSeed(t, apptest.CastAgencies, apptest.CastPeople)
	stop := make(chan struct{})
	var done sync.WaitGroup
	var written atomic.Int64
	for range 2 {
		done.Add(1)
		go writer(t, a, people, stop, &done, &written)
	}
	dir := t.TempDir()
	var files []string
	var during []int64 // requests written when each backup finished
	for i := range 3 {
		for written.Load() < int64(10*(i+1)) {
			time.Sleep(5 * time.Millisecond)
		}
		file := filepath.Join(dir, "backup-"+string(rune('a'+i))+".db")
		if err := backup.Backup(context.Background(), db, file); err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		files = append(files, file)
		during = append(during, written.Load())
	}
	close(stop)
	done.Wait()
	if during[len(during)-1] == written.Load() {
		t.Log("the writers finished no request after the last backup")
	}
	for i, file := range files {
		info, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("backup %d: mode %o, want 600 (it holds password and token hashes)", i, perm)
		}
		copy := mustOpenCopy(t, file)
		var check string
		copy.Gorm.Raw("PRAGMA integrity_check").Scan(&check)
		if check != "ok" {
			t.Errorf("backup %d: integrity_check %q", i, check)
		}
		// Every request in the copy has its whole history and the state
		// its last row ends in: no transaction was copied in part.
		sum, err := audit.Verify(context.Background(), copy)
		if err != nil {
			t.Errorf("backup %d: verify: %v", i, err)
		}
		if n := countRequests(t, copy); n < int64(10*(i+1)) || n > during[i]+2 || int(n) != sum.Requests {
			t.Errorf("backup %d: %d requests (%d verified), want between %d and %d", i, n, sum.Requests, 10*(i+1), during[i]+2)
		}
	}
}

func TestBackupRefusesAnExistingFileAndPostgres(t *testing.T) {
	db := modelstest.MustOpen(t, models.SQLite)
	file := filepath.Join(t.TempDir(), "exists.db")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := backup.Backup(context.Background(), db, file)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("backup onto a file: got %v, want already exists", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Errorf("the existing file now holds %q", b)
	}
	if os.Getenv(modelstest.PostgresEnv) == "" {
		return
	}
	pg := modelstest.MustOpen(t, models.Postgres)
	file = filepath.Join(t.TempDir(), "pg.db")
	if err := backup.Backup(context.Background(), pg, file); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("backup of PostgreSQL: got %v, want pg_dump named", err)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup of PostgreSQL left %s", file)
	}
}

// mustBackup returns a backup of a database with n requests.
func mustBackup(t *testing.T, n int) string {
	t.Helper()
	db := modelstest.MustOpen(t, models.SQLite)
	a := apptest.Wire(t, db, apptest.Options{})
	people := a.MustSeed(t, apptest.CastAgencies, apptest.CastPeople)
	for range n {
		if _, err := a.Workflow.Create(context.Background(), accounts.ActorOf(people["req@msf.gov.sg"]), workflow.NewRequest{Title: "t",
			Purpose: "p", DataDescription: "d", Classification: "official-open", OwnerAgency: "MOH"}); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "backup.db")
	if err := backup.Backup(context.Background(), db, file); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestRestoreRefusesADatabaseInUse(t *testing.T) {
	file := mustBackup(t, 3)
	target := filepath.Join(t.TempDir(), "datashare.db")
	live, err := models.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	if err := live.Migrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// A service holds its pools open between requests: idle, it is still
	// in use.
	err = backup.Restore(context.Background(), file, target)
	if !errors.Is(err, backup.ErrInUse) {
		t.Fatalf("restore over an open database: got %v, want ErrInUse", err)
	}
	if n := countRequests(t, live); n != 0 {
		t.Fatalf("the open database has %d requests after a refused restore, want 0", n)
	}
	if err := live.Close(); err != nil {
		t.Fatal(err)
	}
	if err := backup.Restore(context.Background(), file, target); err != nil {
		t.Fatalf("restore over a closed database: %v", err)
	}
	restored := mustOpenCopy(t, target)
	if n := countRequests(t, restored); n != 3 {
		t.Errorf("restored requests: got %d, want 3", n)
	}
	if _, err := audit.Verify(context.Background(), restored); err != nil {
		t.Errorf("verify the restored database: %v", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(target), "*.restore-*"))
	if len(leftovers) > 0 {
		t.Errorf("restore left %v", leftovers)
	}
}

func TestRestoreChecksTheBackup(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	os.WriteFile(notDB, []byte(strings.Repeat("not a database\n", 100)), 0o600)
	plain := filepath.Join(dir, "plain.db")
	p, err := models.Open(plain)
	if err != nil {
		t.Fatal(err)
	}
	p.Gorm.Exec("CREATE TABLE t (x)")
	p.Close()
	cases := []struct {
		name, file, want string
	}{
		{"a missing file", filepath.Join(dir, "missing.db"), "no such file"},
		{"a text file", notDB, "not an SQLite database"},
		{"another SQLite database", plain, "not a datashare database"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "datashare.db")
			err := backup.Restore(context.Background(), tc.file, target)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused restore created %s", target)
			}
		})
	}
	if err := backup.Restore(context.Background(), "b.db", "postgres://ds@db/ds"); err == nil || !strings.Contains(err.Error(), "pg_restore") {
		t.Errorf("restore onto PostgreSQL: got %v, want pg_restore named", err)
	}
}
