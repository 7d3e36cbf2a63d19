package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"datashare/accounts"
	"datashare/errs"
	"datashare/models"
)

const usersUsage = "usage: datashare users set-password [flags] EMAIL (the password on standard input) | datashare users deactivate [flags] EMAIL"

// usersCmd changes a user from the operator's shell, with no admin's
// token: to set a password when nobody can sign in, or to shut a departed
// user out at once. Both end the user's web sessions; deactivate also
// revokes their API tokens, as PATCH /api/v1/users/{id} does.
func usersCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintln(stdout, usersUsage)
		fmt.Fprintln(stdout, `Run "datashare users set-password -h" or "datashare users deactivate -h" for their flags.`)
		return nil
	}
	if len(args) == 0 || args[0] != "set-password" && args[0] != "deactivate" {
		return errors.New(usersUsage)
	}
	name := "users " + args[0]
	cfg, rest, err := loadConfigWith(name, args[1:], getenv, stdout, nil)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return fmt.Errorf("usage: %s (one email)", commands[name].synopsis)
	}
	email := rest[0]
	var password string
	if args[0] == "set-password" {
		// Read before the database opens, so that a missing password
		// changes nothing.
		if password, err = readPassword(stdin); err != nil {
			return err
		}
	}
	if !models.IsPostgres(cfg.DB) {
		// A mistyped path must not become a new, empty database.
		if _, err := os.Stat(cfg.DB); err != nil {
			return fmt.Errorf("no database at %s: %w", cfg.DB, err)
		}
	}
	db, err := openDB(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	acc := accounts.NewService(db, clock).WithLog(newLogger(cfg, stderr))
	switch args[0] {
	case "set-password":
		u, err := acc.SetPasswordByEmail(ctx, email, password)
		if err != nil {
			return userError(err)
		}
		fmt.Fprintf(stdout, "password of %s set; their web sessions have ended\n", u.Email)
	default:
		u, err := acc.DeactivateByEmail(ctx, email)
		if err != nil {
			return userError(err)
		}
		fmt.Fprintf(stdout, "%s deactivated; their web sessions have ended and their API tokens are revoked\n", u.Email)
	}
	return nil
}

// readPassword reads the first line of r: typed at a terminal, or piped
// from a secret store. Only its line ending is dropped.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the new password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("no password on standard input: give the new password as its first line, e.g. printf '%s\\n' \"$PASSWORD\" | datashare users set-password EMAIL")
	}
	return line, nil
}

// userError says what a refusal means on the command line.
func userError(err error) error {
	var e *errs.Error
	if errors.As(err, &e) && e.Code != errs.Internal {
		return errors.New(e.Message)
	}
	return err
}
