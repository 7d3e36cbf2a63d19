package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"datashare/audit"
	"datashare/backup"
	"datashare/calendar"
	"datashare/models"
)

// openExisting opens the database of cfg as it is: no migration, and no
// SQLite file created where none is, so that a mistyped path or a backup
// checked with audit verify is never changed into something else.
func openExisting(cfg Config) (*models.DB, error) {
	if !models.IsPostgres(cfg.DB) {
		if _, err := os.Stat(cfg.DB); err != nil {
			return nil, fmt.Errorf("no database at %s: %w", cfg.DB, err)
		}
	}
	return models.Open(cfg.DB)
}

const auditUsage = "usage: datashare audit verify [flags] | datashare audit export [--from YYYY-MM-DD] [--to YYYY-MM-DD] [flags]"

func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintln(stdout, auditUsage)
		fmt.Fprintln(stdout, `Run "datashare audit verify -h" or "datashare audit export -h" for their flags.`)
		return nil
	}
	if len(args) == 0 {
		return errors.New(auditUsage)
	}
	switch args[0] {
	case "verify":
		return auditVerify(ctx, args[1:], getenv, stdout)
	case "export":
		return auditExport(ctx, args[1:], getenv, stdout)
	default:
		return errors.New(auditUsage)
	}
}

func auditVerify(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig("audit verify", args, getenv, stdout)
	if err != nil {
		return err
	}
	db, err := openExisting(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	sum, err := audit.Verify(ctx, db)
	var b *audit.Break
	if errors.As(err, &b) {
		return fmt.Errorf("history chain broken after %d intact rows: %w", sum.Rows, b)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "verified %d history rows of %d requests: every chain holds\n", sum.Rows, sum.Requests)
	return nil
}

func auditExport(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var fromText, toText string
	cfg, rest, err := loadConfigWith("audit export", args, getenv, stdout, func(fs *flag.FlagSet) {
		fs.StringVar(&fromText, "from", "", "first date of the rows, YYYY-MM-DD in the time zone; empty: from the first row")
		fs.StringVar(&toText, "to", "", "date after the rows, YYYY-MM-DD (exclusive); empty: up to the last row")
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("datashare audit export: unexpected argument %q", rest[0])
	}
	from, err := startOf(fromText, cfg.Location)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	to, err := startOf(toText, cfg.Location)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return fmt.Errorf("--to %s must be later than --from %s", toText, fromText)
	}
	db, err := openExisting(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = audit.Export(ctx, db, from, to, stdout)
	return err
}

// startOf is the first instant of the date s in loc; the zero time for "".
func startOf(s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	d, err := calendar.ParseDate(s)
	if err != nil {
		return time.Time{}, err
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc), nil
}

func backupCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, files, err := loadConfigWith("backup", args, getenv, stdout, nil)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return errors.New("usage: datashare backup [flags] FILE (a file that does not exist yet)")
	}
	db, err := openExisting(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := backup.Backup(ctx, db, files[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s; check it with: datashare audit verify --db %s\n", cfg.DB, files[0], files[0])
	return nil
}

func restoreCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, files, err := loadConfigWith("restore", args, getenv, stdout, nil)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return errors.New("usage: datashare restore [flags] FILE (a backup made by datashare backup)")
	}
	if err := backup.Restore(ctx, files[0], cfg.DB); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s from %s; the next start applies any newer migrations\n", cfg.DB, files[0])
	return nil
}
