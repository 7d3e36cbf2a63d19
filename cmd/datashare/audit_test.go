package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
)

// runCmd runs the program with args and returns its stdout and error.
func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout bytes.Buffer
	err := run(context.Background(), args, envOf(nil), &stdout, io.Discard)
	return stdout.String(), err
}

// mustDemoDB seeds the demo into the database at dsn through the real
// program, and stops it.
func mustDemoDB(t *testing.T, dsn string) {
	t.Helper()
	p := mustServe(t, envOf(nil), "--demo", "--addr", "127.0.0.1:0", "--db", dsn)
	p.mustStop()
}

// editBehindTheService rewrites one history row's comment with the
// append-only trigger dropped, as someone with the database's password
// could, and returns the row's request and id.
func editBehindTheService(t *testing.T, dsn string) (req, id int64) {
	t.Helper()
	db, err := models.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Gorm.Raw("SELECT request_id, id FROM transitions WHERE action = 'submit' ORDER BY id LIMIT 1").Row().Scan(&req, &id); err != nil {
		t.Fatal(err)
	}
	stmts := []string{"DROP TRIGGER transitions_no_update", "UPDATE transitions SET comment = 'edited' WHERE id = " + strconv.FormatInt(id, 10)}
	if db.Dialect == models.Postgres {
		stmts[0] = "DROP TRIGGER transitions_no_change ON transitions"
	}
	for _, s := range stmts {
		if err := db.Gorm.Exec(s).Error; err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return req, id
}

func TestAuditVerifyNamesARowEditedBehindTheService(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		mustDemoDB(t, dsn)
		out, err := runCmd(t, "audit", "verify", "--db", dsn)
		if err != nil || !regexp.MustCompile(`^verified [1-9][0-9]* history rows of [1-9][0-9]* requests: every chain holds\n$`).MatchString(out) {
			t.Fatalf("audit verify of the demo: got %q, %v; want every chain to hold", out, err)
		}
		req, id := editBehindTheService(t, dsn)
		out, err = runCmd(t, "audit", "verify", "--db", dsn)
		want := fmt.Sprintf("request %d, history row %d: hash", req, id)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "the row was changed") {
			t.Fatalf("audit verify after the edit: got %q, %v; want an error naming %q", out, err, want)
		}
		if code := exitCode(err, io.Discard); code == 0 {
			t.Errorf("exit code after a break: got 0, want non-zero")
		}
	})
}

func TestAuditVerifyLeavesAMissingDatabaseMissing(t *testing.T) {
	file := filepath.Join(t.TempDir(), "typo.db")
	if _, err := runCmd(t, "audit", "verify", "--db", file); err == nil || !strings.Contains(err.Error(), "no database at") {
		t.Errorf("audit verify of a missing file: got %v, want no database at", err)
	}
	if _, err := os.Stat(file); err == nil {
		t.Errorf("audit verify created %s", file)
	}
}

// readmeProgram returns the Go program the README gives for checking an
// export, between its marker comment and the end of its code block.
func readmeProgram(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- readme-test: file verify-export.go -->\n```go\n")
	prog, _, ok2 := strings.Cut(rest, "```\n")
	if !ok || !ok2 {
		t.Fatal("the README has no verify-export.go block")
	}
	return prog
}

func TestTheReadmesProgramChecksAnExport(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to run the README's program")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "verify-export.go")
	if err := os.WriteFile(src, []byte(readmeProgram(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "verify-export")
	build := exec.Command(goBin, "build", "-o", bin, src)
	build.Dir, build.Env = dir, append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the README's program: %v\n%s", err, out)
	}
	check := func(export string) (string, error) {
		cmd := exec.Command(bin)
		cmd.Stdin = strings.NewReader(export)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	dsn := modelstest.DSN(t, models.SQLite)
	mustDemoDB(t, dsn)
	export, err := runCmd(t, "audit", "export", "--db", dsn)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Count(export, "\n")
	if out, err := check(export); err != nil || out != fmt.Sprintf("%d rows, every hash holds\n", rows) {
		t.Fatalf("the README's program on an intact export: got %q, %v", out, err)
	}
	// A window holds parts of chains: each row still checks.
	now := time.Now().In(sgt(t))
	window, err := runCmd(t, "audit", "export", "--db", dsn, "--from", now.AddDate(0, -1, 0).Format("2006-01-02"), "--to", now.AddDate(0, 0, 1).Format("2006-01-02"))
	if err != nil || window == "" || strings.Count(window, "\n") >= rows {
		t.Fatalf("export of the last month: %d of %d rows, %v; want some, not all", strings.Count(window, "\n"), rows, err)
	}
	if out, err := check(window); err != nil {
		t.Errorf("the README's program on a window: got %q, %v", out, err)
	}

	lines := strings.SplitAfter(export, "\n")
	var r map[string]any
	target := -1
	for i, l := range lines {
		if json.Unmarshal([]byte(l), &r) == nil && r["action"] == "submit" {
			target = i
			break
		}
	}
	edited := strings.Replace(lines[target], `"to_state":"submitted"`, `"to_state":"approved"`, 1)
	if edited == lines[target] {
		t.Fatalf("no to_state to edit in %q", lines[target])
	}
	tampered := strings.Join(append(append(append([]string{}, lines[:target]...), edited), lines[target+1:]...), "")
	out, err := check(tampered)
	if want := fmt.Sprintf("row %v of request %v: hash does not match its content", r["id"], r["request_id"]); err == nil || !strings.Contains(out, want) {
		t.Errorf("the README's program on an edited row: got %q, %v; want %q", out, err, want)
	}
	// A row left out breaks the chain at the request's next row.
	dropped := strings.Join(append(append([]string{}, lines[:target]...), lines[target+1:]...), "")
	if out, err := check(dropped); err == nil || !strings.Contains(out, "prev_hash is not the hash") {
		t.Errorf("the README's program without a row: got %q, %v; want a broken link", out, err)
	}
}

func sgt(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Singapore")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestAuditExportRefusesABadWindow(t *testing.T) {
	dsn := modelstest.DSN(t, models.SQLite)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "2026-13-01"}, "--from: parse date"},
		{[]string{"--to", "yesterday"}, "--to: parse date"},
		{[]string{"--from", "2026-02-01", "--to", "2026-01-01"}, "must be later than --from"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		if _, err := runCmd(t, append([]string{"audit", "export", "--db", dsn}, tc.args...)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("audit export %q: got %v, want %q", tc.args, err, tc.want)
		}
	}
	if _, err := runCmd(t, "audit", "inspect"); err == nil || !strings.Contains(err.Error(), "usage: datashare audit verify") {
		t.Errorf("audit inspect: got %v, want the usage", err)
	}
}

// TestBackupWhileTheServiceWrites takes a backup through the binary while
// the service files requests, checks the copy with audit verify, and puts
// it back with restore once the service has stopped.
func TestBackupWhileTheServiceWrites(t *testing.T) {
	dsn := modelstest.DSN(t, models.SQLite)
	p := mustServe(t, envOf(nil), "--demo", "--addr", "127.0.0.1:0", "--db", dsn)
	tok := p.mustToken(mohRequester)
	stop := make(chan struct{})
	var created atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := `{"title":"Written during a backup","purpose":"Check the copy.","data_description":"Anything.","classification":"official-open","owner_agency":"HDB"}`
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodPost, p.url+"/api/v1/requests", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+tok)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Errorf("create during the backup: %v", err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					t.Errorf("create during the backup: status %d", res.StatusCode)
					return
				}
				created.Add(1)
			}
		}()
	}
	for created.Load() < 5 {
		time.Sleep(5 * time.Millisecond)
	}
	file := filepath.Join(t.TempDir(), "backup.db")
	out, err := runCmd(t, "backup", "--db", dsn, file)
	during := created.Load()
	if err != nil || !strings.Contains(out, "datashare audit verify --db "+file) {
		t.Fatalf("backup: got %q, %v", out, err)
	}
	for created.Load() < during+5 {
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if _, err := runCmd(t, "backup", "--db", dsn, file); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a second backup onto the same file: got %v, want already exists", err)
	}
	if out, err := runCmd(t, "audit", "verify", "--db", file); err != nil || !strings.HasPrefix(out, "verified ") {
		t.Errorf("audit verify of the backup: got %q, %v", out, err)
	}
	if _, err := runCmd(t, "restore", "--db", dsn, file); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("restore while the service runs: got %v, want in use", err)
	}
	p.mustStop()
	live := countIn(t, dsn)
	if out, err := runCmd(t, "restore", "--db", dsn, file); err != nil || !strings.HasPrefix(out, "restored ") {
		t.Fatalf("restore once the service stopped: got %q, %v", out, err)
	}
	if got, backedUp := countIn(t, dsn), countIn(t, file); got != backedUp || got >= live {
		t.Errorf("requests after the restore: got %d, want the backup's %d, fewer than the %d before", got, backedUp, live)
	}
}

func countIn(t *testing.T, dsn string) int64 {
	t.Helper()
	db, err := models.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.Gorm.Model(&models.Request{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}
