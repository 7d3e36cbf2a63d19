package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"datashare/statements"
)

const statementsUsage = "usage: datashare statements publish --month YYYY-MM [flags]"

func statementsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		args = []string{"publish", "-h"}
	}
	if len(args) == 0 || args[0] != "publish" {
		return errors.New(statementsUsage)
	}
	var month string
	cfg, rest, err := loadConfigWith("statements publish", args[1:], getenv, stdout, func(fs *flag.FlagSet) {
		fs.StringVar(&month, "month", "", "the month, YYYY-MM, in the time zone; it must be over")
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("datashare statements publish: unexpected argument %q", rest[0])
	}
	m, err := statements.ParseMonth(month)
	if err != nil {
		return fmt.Errorf("--month: want YYYY-MM, such as 2026-11, got %q", month)
	}
	a, _, err := openApp(ctx, "statements publish", cfg, stderr)
	if err != nil {
		return err
	}
	defer a.DB.Close()
	res, err := a.Statements.Publish(ctx, m, clock())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "statements of %s: %d published, %d revised, %d unchanged\n", res.Month, res.Published, res.Revised, res.Unchanged)
	return nil
}

// demoStatementMonths is how many months before this one the demo
// publishes statements of: those its history covers.
const demoStatementMonths = 5

func publishDemoStatements(ctx context.Context, svc *statements.Service, loc *time.Location) error {
	now := clock()
	m := statements.MonthOf(now, loc)
	for range demoStatementMonths {
		m = m.Previous()
	}
	for range demoStatementMonths {
		if _, err := svc.Publish(ctx, m, now); err != nil {
			return err
		}
		m = m.Next()
	}
	return nil
}
