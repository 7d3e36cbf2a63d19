//go:build linux

package models_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"datashare/models"
)

// An SQLite file that cannot be opened is explained: which folder or file,
// and why, not SQLite's "unable to open database file".
func TestOpenSaysWhyTheFileCannotBeOpened(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "folder.db"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       string
	}{
		{"missing_folder", filepath.Join(dir, "missing", "datashare.db"), "the folder " + filepath.Join(dir, "missing") + " does not exist"},
		{"folder_is_a_file", filepath.Join(file, "datashare.db"), file + " is a file, not a folder"},
		{"folder_under_a_file", filepath.Join(file, "sub", "datashare.db"), "the folder " + filepath.Join(file, "sub") + " cannot be used: part of its path is a file, not a folder"},
		{"a_folder_for_the_file", filepath.Join(dir, "folder.db"), filepath.Join(dir, "folder.db") + " is a folder, not a database file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := models.Open(tc.path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%s): got a database, want an error", tc.path)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "unable to open database file") {
				t.Errorf("Open(%s): got %q, want it to say %q and not SQLite's own message", tc.path, err, tc.want)
			}
		})
	}
}

// unprivileged is the user the permission cases run as when the tests run
// as root, which the kernel lets write anywhere: nobody.
const unprivileged = 65534

// helperEnv names the database a child process opens and reports on.
const helperEnv = "DATASHARE_TEST_OPEN_AS_CHILD"

// TestOpenAsChild is the child's half of
// TestOpenSaysWhatIsNotWritable: it opens the database named by helperEnv
// and prints the error.
func TestOpenAsChild(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("run by TestOpenSaysWhatIsNotWritable")
	}
	fmt.Printf("OPEN-ERROR: %v\n", openAndMigrate(path))
}

func openAndMigrate(path string) error {
	db, err := models.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Migrate(context.Background(), nil)
}

// An existing database in a folder, or a file, the service may not write
// answers with the path and "permission denied". Run as root, the test
// drops to an unprivileged user in a child process, since root writes
// through any permission.
func TestOpenSaysWhatIsNotWritable(t *testing.T) {
	root := os.Geteuid() == 0
	base := t.TempDir()
	if root {
		// The child must reach the folders and run the test binary.
		for d := base; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name string
		// lock makes dir or db unwritable for the user the test opens as.
		lock func(t *testing.T, dir, db string)
		want func(dir, db string) string
	}{
		{
			name: "read_only_folder",
			lock: func(t *testing.T, dir, db string) {
				if root {
					mustDo(t, os.Chown(db, unprivileged, unprivileged))
				}
				mustDo(t, os.Chmod(dir, 0o555))
			},
			want: func(dir, db string) string { return "the folder " + dir + " is not writable: permission denied" },
		},
		{
			name: "read_only_file",
			lock: func(t *testing.T, dir, db string) {
				if root {
					mustDo(t, os.Chown(dir, unprivileged, unprivileged))
				}
				mustDo(t, os.Chmod(db, 0o444))
			},
			want: func(dir, db string) string { return "the database file " + db + " is not writable: permission denied" },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(base, tc.name)
			mustDo(t, os.Mkdir(dir, 0o755))
			db := filepath.Join(dir, "datashare.db")
			if err := openAndMigrate(db); err != nil {
				t.Fatal(err)
			}
			// A clean close leaves the file alone, as after a stop.
			if _, err := os.Stat(db + "-wal"); err == nil {
				t.Fatalf("%s-wal left after close", db)
			}
			tc.lock(t, dir, db)
			t.Cleanup(func() { os.Chmod(dir, 0o755) })
			var got string
			if root {
				got = openAsUnprivileged(t, base, db)
			} else if err := openAndMigrate(db); err != nil {
				got = err.Error()
			}
			if want := tc.want(dir, db); !strings.Contains(got, want) {
				t.Errorf("open %s: got %q, want it to say %q", db, got, want)
			}
		})
	}
}

// openAsUnprivileged runs TestOpenAsChild as the unprivileged user on db
// and returns the error it printed.
func openAsUnprivileged(t *testing.T, base, db string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "models.test")
	if _, err := os.Stat(bin); err != nil {
		mustDo(t, copyFile(self, bin))
	}
	cmd := exec.Command(bin, "-test.run=^TestOpenAsChild$", "-test.count=1")
	cmd.Dir = base
	cmd.Env = append(os.Environ(), helperEnv+"="+db)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: unprivileged, Gid: unprivileged}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child as uid %d: %v\n%s", unprivileged, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "OPEN-ERROR: "); ok {
			return rest
		}
	}
	t.Fatalf("child printed no OPEN-ERROR line:\n%s", out)
	return ""
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
