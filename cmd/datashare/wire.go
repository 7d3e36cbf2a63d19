package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"datashare/calendar"
	"datashare/deployment"
	"datashare/imports"
	"datashare/models"
	"datashare/notifications"
	"datashare/sla"
	"datashare/wiring"
	"datashare/workflow"
)

// wire builds the services over an open, migrated database, as the tests
// do (package wiring), with the deployment's settings; reg, when not nil,
// receives their metrics.
func wire(ctx context.Context, cfg Config, db *models.DB, log *slog.Logger, reg prometheus.Registerer) (*wiring.App, error) {
	return wiring.Wire(ctx, db, wiring.Settings{
		Now: clock, Location: cfg.Location, Hours: cfg.Hours, SLA: cfg.SLA, Approvals: cfg.Approvals, Log: log,
		EmailOn: cfg.SMTP != nil, SMTP: cfg.SMTP, MailFrom: cfg.MailFrom, BaseURL: cfg.BaseURL, MaxAttempts: cfg.MaxAttempts,
		WebhookAllow: cfg.WebhookAllow,
		Metrics:      reg,
	})
}

// schedule starts the SLA check on cfg.CheckSchedule in the calendar's time
// zone, and a refresh of the calendar so that a change made through another
// replica is seen within a minute. The returned function stops both and
// waits for a running check to finish.
func schedule(ctx context.Context, a *wiring.App, cfg Config, log *slog.Logger) (func(), error) {
	c := cron.New(cron.WithLocation(cfg.Location), cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	_, err := c.AddFunc(cfg.CheckSchedule, func() {
		if err := a.Holidays.Refresh(ctx); err != nil {
			log.Error("refresh calendar", "error", err)
		}
		res, err := a.Checker.RunExclusive(ctx, clock())
		switch {
		case err != nil:
			log.Error("sla check failed", "error", err)
		case res.Skipped:
			log.Debug("sla check run by another replica")
		default:
			log.Info("sla check", "checked", res.Checked, "at_risk", res.AtRisk, "breached", res.Breached,
				"projects_at_risk", res.ProjectsAtRisk, "projects_breached", res.ProjectsBreached)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("schedule sla check: %w", err)
	}
	if _, err := c.AddFunc(cfg.DigestSchedule, func() {
		n, err := a.Outbox.Digest(ctx, a.Holidays.Current(), clock())
		if err != nil {
			log.Error("daily digest failed", "error", err)
			return
		}
		log.Info("daily digest", "emails", n)
	}); err != nil {
		return nil, fmt.Errorf("schedule digest: %w", err)
	}
	if _, err := c.AddFunc(cfg.StatementSchedule, func() {
		results, err := a.Statements.Run(ctx, clock())
		for _, r := range results {
			if r.Published+r.Revised > 0 {
				log.Info("compliance statements", "month", r.Month, "published", r.Published, "revised", r.Revised, "unchanged", r.Unchanged)
			}
		}
		if err != nil {
			log.Error("compliance statements failed", "error", err)
		}
	}); err != nil {
		return nil, fmt.Errorf("schedule statements: %w", err)
	}
	if _, err := c.AddFunc("@every 10m", func() {
		if n, err := a.Sessions.Cleanup(ctx); err != nil {
			log.Error("clean up sessions", "error", err)
		} else if n > 0 {
			log.Debug("expired sessions deleted", "sessions", n)
		}
	}); err != nil {
		return nil, err
	}
	if _, err := c.AddFunc("@every 1m", func() {
		if err := a.Holidays.Refresh(ctx); err != nil {
			log.Error("refresh calendar", "error", err)
		}
	}); err != nil {
		return nil, err
	}
	c.Start()
	return func() { <-c.Stop().Done() }, nil
}

// openApp opens the database for the command name and wires the services
// over it. A command that computes figures refuses to run with other
// settings than those the service on the same database started with, so
// that what it prints is what the service would say.
func openApp(ctx context.Context, name string, cfg Config, stderr io.Writer) (*wiring.App, *slog.Logger, error) {
	log := newLogger(cfg, stderr)
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	if err := sameFiguresAsService(ctx, db, cfg.figures(commands[name].uses)); err != nil {
		db.Close()
		return nil, nil, err
	}
	a, err := wire(ctx, cfg, db, log, nil)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return a, log, nil
}

func sameFiguresAsService(ctx context.Context, db *models.DB, figures []deployment.Setting) error {
	diffs, err := deployment.Compare(ctx, db, figures)
	if err != nil || len(diffs) == 0 {
		return err
	}
	var b strings.Builder
	b.WriteString("the service on this database counts with other settings than this command; give the command the service's:")
	for _, d := range diffs {
		fmt.Fprintf(&b, "\n  %s (--%s): the service has %q, this command %q", d.Name, flagOf(d.Name), d.Stored, d.Given)
	}
	return errors.New(b.String())
}

// flagOf is the flag of the setting read from the environment variable env.
func flagOf(env string) string {
	for _, s := range settings {
		if s.env == env {
			return s.flag
		}
	}
	return ""
}

func slaCheck(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	a, _, err := openApp(ctx, "sla check", cfg, stderr)
	if err != nil {
		return err
	}
	defer a.DB.Close()
	res, err := a.Checker.RunExclusive(ctx, clock())
	if err != nil {
		return err
	}
	if res.Skipped {
		fmt.Fprintln(stdout, "another replica is running the SLA check; nothing done")
		return nil
	}
	fmt.Fprintf(stdout, "checked %d open requests: %d newly at risk, %d newly breached; projects: %d newly at risk, %d newly breached\n",
		res.Checked, res.AtRisk, res.Breached, res.ProjectsAtRisk, res.ProjectsBreached)
	return nil
}

func report(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var from, to, groupBy, agency, format string
	cfg, rest, err := loadConfigWith("report", args, getenv, stdout, func(fs *flag.FlagSet) {
		fs.StringVar(&from, "from", "", "first Singapore date of the window, YYYY-MM-DD")
		fs.StringVar(&to, "to", "", "Singapore date after the window, YYYY-MM-DD (exclusive)")
		fs.StringVar(&groupBy, "group-by", "", "owner_agency, requesting_agency or month")
		fs.StringVar(&agency, "agency", "", "only requests this agency owns or requested")
		fs.StringVar(&format, "format", "table", "table, csv or json")
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("datashare report: unexpected argument %q", rest[0])
	}
	q := sla.Query{GroupBy: groupBy, Agency: agency}
	if q.From, err = calendar.ParseDate(from); err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	if q.To, err = calendar.ParseDate(to); err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if format != "table" && format != "csv" && format != "json" {
		return fmt.Errorf("--format: want table, csv or json")
	}
	a, _, err := openApp(ctx, "report", cfg, stderr)
	if err != nil {
		return err
	}
	defer a.DB.Close()
	rep, err := a.Reporter.Compute(ctx, q, clock())
	if err != nil {
		return err
	}
	switch format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case "csv":
		_, err := io.WriteString(stdout, rep.CSV())
		return err
	}
	return printReport(stdout, rep)
}

func pct(r *float64) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", *r*100)
}

func num(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f", *v)
}

func printReport(w io.Writer, rep *sla.Report) error {
	fmt.Fprintf(w, "SLA compliance %s to %s (to exclusive), target %g working days\n\n", rep.From, rep.To, rep.TargetWorkingDays)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tMET\tMISSED\tCOMPLIANCE")
	for _, g := range rep.Groups {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", g.Key, g.Met, g.Missed, pct(g.ComplianceRate))
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%s\n", rep.Met, rep.Missed, pct(rep.ComplianceRate))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nfinished in window: %d, elapsed working days median %s, p90 %s\n", rep.Finished, num(rep.Elapsed.Median), num(rep.Elapsed.P90))
	fmt.Fprintf(w, "mean working days in state: submitted %.2f, clarification_requested %.2f, approved %.2f\n",
		rep.TimeInState["submitted"], rep.TimeInState["clarification_requested"], rep.TimeInState["approved"])
	fmt.Fprintf(w, "open now: %d (at risk %d, breached %d)\n", rep.Open.Total, rep.Open.AtRisk, rep.Open.Breached)
	return nil
}

func importFile(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, files, err := loadConfigWith("import", args, getenv, stdout, nil)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return fmt.Errorf("usage: datashare import FILE (one JSON or CSV file)")
	}
	file := files[0]
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	batch, err := imports.ReadFile(f, file)
	if err != nil {
		return err
	}
	a, _, err := openApp(ctx, "import", cfg, stderr)
	if err != nil {
		return err
	}
	defer a.DB.Close()
	admin := workflow.Actor{Roles: []workflow.Role{workflow.Admin}}
	total := imports.Result{Errors: []imports.RecordError{}}
	for start := 0; start < len(batch.Requests); start += imports.MaxRecords {
		end := min(start+imports.MaxRecords, len(batch.Requests))
		res, err := a.Importer.Import(ctx, admin, imports.Batch{Requests: batch.Requests[start:end]})
		if err != nil {
			return err
		}
		total.Imported += res.Imported
		total.Skipped += res.Skipped
		total.Errors = append(total.Errors, res.Errors...)
	}
	fmt.Fprintf(stdout, "imported %d, skipped %d (already there), %d with errors\n", total.Imported, total.Skipped, len(total.Errors))
	for _, e := range total.Errors {
		fmt.Fprintf(stdout, "  %s: %s\n", e.ExternalRef, e.Message)
	}
	if len(total.Errors) > 0 {
		return fmt.Errorf("%d requests were not imported", len(total.Errors))
	}
	return nil
}

func notificationsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		args = []string{"retry", "-h"}
	}
	if len(args) == 0 || args[0] != "retry" {
		return fmt.Errorf("usage: datashare notifications retry [flags] ID")
	}
	cfg, ids, err := loadConfigWith("notifications retry", args[1:], getenv, stdout, nil)
	if err != nil {
		return err
	}
	if len(ids) != 1 {
		return fmt.Errorf("usage: datashare notifications retry [flags] ID (one delivery id)")
	}
	id, err := strconv.ParseInt(ids[0], 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("notifications retry: %q is not a delivery id", ids[0])
	}
	a, _, err := openApp(ctx, "notifications retry", cfg, stderr)
	if err != nil {
		return err
	}
	defer a.DB.Close()
	if err := notifications.Retry(ctx, a.DB, id, clock()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "delivery %d queued again; a running service sends it within a second\n", id)
	return nil
}
