package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"datashare/accounts"
	"datashare/models"
)

// runUsers runs "datashare users ARGS" with stdin.
func runUsers(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var stdout bytes.Buffer
	err := runWithStdin(context.Background(), append([]string{"users"}, args...), envOf(nil), strings.NewReader(stdin), &stdout, io.Discard)
	return stdout.String(), err
}

// TestUsersCommands changes users of a running service from the command
// line and checks that the service refuses their old credentials on the
// next request.
func TestUsersCommands(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		p := mustServe(t, envOf(nil), "--demo", "--addr", "127.0.0.1:0", "--db", dsn)
		defer p.mustStop()
		const leaver, forgetful = "moh.manager@demo.gov.sg", "moh.approver2@demo.gov.sg"
		token := p.mustToken(leaver)
		if st := p.get("/api/v1/me", token, nil); st != http.StatusOK {
			t.Fatalf("the token before: %d", st)
		}
		db, err := models.Open(dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		acc := accounts.NewService(db, time.Now)

		t.Run("deactivate", func(t *testing.T) {
			out, err := runUsers(t, "", "deactivate", "--db", dsn, strings.ToUpper(leaver))
			if err != nil || out != leaver+" deactivated; their web sessions have ended and their API tokens are revoked\n" {
				t.Fatalf("users deactivate: got %q, %v", out, err)
			}
			if st := p.get("/api/v1/me", token, nil); st != http.StatusUnauthorized {
				t.Errorf("the deactivated user's token on the next request: %d, want 401", st)
			}
			u, err := acc.UserByEmail(context.Background(), leaver)
			if err != nil || u.Active() {
				t.Errorf("stored user: active %v, %v; want deactivated", u.Active(), err)
			}
		})

		t.Run("set_password", func(t *testing.T) {
			before, err := acc.UserByEmail(context.Background(), forgetful)
			if err != nil {
				t.Fatal(err)
			}
			out, err := runUsers(t, "a password set by the operator\r\n", "set-password", "--db", dsn, forgetful)
			if err != nil || out != "password of "+forgetful+" set; their web sessions have ended\n" {
				t.Fatalf("users set-password: got %q, %v", out, err)
			}
			if _, err := acc.SignIn(context.Background(), forgetful, "a password set by the operator", "192.0.2.1"); err != nil {
				t.Errorf("sign in with the password set: %v", err)
			}
			after, _ := acc.UserByEmail(context.Background(), forgetful)
			if after.SessionEpoch == before.SessionEpoch {
				t.Errorf("set-password left the sessions (epoch %d)", after.SessionEpoch)
			}
		})

		t.Run("refusals_change_nothing", func(t *testing.T) {
			before, _ := acc.UserByEmail(context.Background(), forgetful)
			for _, tc := range []struct {
				stdin string
				args  []string
				want  string
			}{
				{"", []string{"set-password", "--db", dsn, forgetful}, "no password on standard input"},
				{"\n", []string{"set-password", "--db", dsn, forgetful}, "no password on standard input"},
				{"short\n", []string{"set-password", "--db", dsn, forgetful}, "12 to 72 characters"},
				{forgetful + "\n", []string{"set-password", "--db", dsn, forgetful}, "must not be the email"},
				{"a long enough password\n", []string{"set-password", "--db", dsn, "nobody@demo.gov.sg"}, "no user with email nobody@demo.gov.sg"},
				{"", []string{"deactivate", "--db", dsn, "nobody@demo.gov.sg"}, "no user with email nobody@demo.gov.sg"},
				{"", []string{"deactivate", "--db", dsn}, "usage: datashare users deactivate"},
				{"", []string{"deactivate", "--db", dsn, "a@b", "c@d"}, "usage: datashare users deactivate"},
				{"", []string{"frobnicate"}, "usage: datashare users set-password"},
				{"", nil, "usage: datashare users set-password"},
			} {
				out, err := runUsers(t, tc.stdin, tc.args...)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("users %q: got %q, %v; want an error saying %q", tc.args, out, err, tc.want)
				}
			}
			after, _ := acc.UserByEmail(context.Background(), forgetful)
			if after.SessionEpoch != before.SessionEpoch || *after.PasswordHash != *before.PasswordHash {
				t.Errorf("a refused command changed the user")
			}
		})
	})
}

func TestUsersCommandsNeedAnExistingDatabase(t *testing.T) {
	file := filepath.Join(t.TempDir(), "missing.db")
	if _, err := runUsers(t, "", "deactivate", "--db", file, "a@b.gov.sg"); err == nil || !strings.Contains(err.Error(), "no database at") {
		t.Errorf("users deactivate on a missing file: got %v, want no database at", err)
	}
	if _, err := runUsers(t, "", "deactivate", "--db", file, "a@b.gov.sg"); err == nil {
		t.Errorf("a second run found a database: the first created one")
	}
}
