// Command datashare runs the data-sharing request service.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	_ "time/tzdata" // working days are counted in Asia/Singapore even in a bare container

	"github.com/prometheus/client_golang/prometheus"

	"datashare/accounts"
	"datashare/demo"
	"datashare/deployment"
	"datashare/metrics"
	"datashare/models"
	"datashare/sso"
)

const usage = `datashare: cross-agency data-sharing requests and their 7-working-day clock

Usage:
  datashare serve [--addr :8080] [--db datashare.db] [--demo]   run the service
  datashare migrate [--db datashare.db]                          create or upgrade the schema, then exit
  datashare sla check                                            flag requests newly at risk or breached, once
  datashare report --from YYYY-MM-DD --to YYYY-MM-DD [--group-by owner_agency|requesting_agency|month] [--agency CODE] [--format table|csv|json]
                                                                 print the compliance report
  datashare import FILE                                          import past requests from a JSON or CSV file
  datashare notifications retry ID                               queue a dead email or webhook delivery again
  datashare audit verify                                         recompute every request's history hash chain; exit 2 at the first broken row
  datashare audit export [--from YYYY-MM-DD] [--to YYYY-MM-DD]   print the history rows with their hashes as JSON lines
  datashare statements publish --month YYYY-MM                    publish a past month's compliance statements (or revise them)
  datashare backup FILE                                          copy the live SQLite database to FILE (never overwritten)
  datashare restore FILE                                         put an SQLite backup in place of a database no process has open
  datashare users set-password EMAIL                             set a user's password, read from standard input; ends their sessions
  datashare users deactivate EMAIL                               shut a user out: sessions ended, API tokens revoked
  datashare dev-oidc --email EMAIL                               run a single sign-on provider on this computer, for trying it
  datashare help [COMMAND]                                       this list, or the flags of one command

Run "datashare COMMAND -h" (or "datashare help COMMAND") for the flags that
command reads, each with its environment variable (DATASHARE_*) and default.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode is the status the process ends with after run returned err,
// which it prints: 0 for success and for help asked for, 2 otherwise.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "datashare:", err)
	return 2
}

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// run is the whole program: it reads the configuration, opens the database
// and runs one sub-command until ctx is done. Help, asked for with -h on
// any command, is printed to stdout and is not an error.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWithStdin(ctx, args, getenv, os.Stdin, stdout, stderr)
}

// runWithStdin is run with the standard input given, which only
// "users set-password" reads.
func runWithStdin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) || len(args) == 1 && args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if args[0] == "help" {
		args = append(args[1:], "-h")
	}
	if err := command(ctx, args, getenv, stdin, stdout, stderr); !errors.Is(err, flag.ErrHelp) {
		return err
	}
	return nil
}

func command(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	switch args[0] {
	case "serve":
		cfg, err := loadConfig("serve", args[1:], getenv, stdout)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stdout, stderr)
	case "sla":
		if len(args) < 2 || args[1] != "check" && !isHelp(args[1]) {
			return fmt.Errorf("usage: datashare sla check [flags]")
		}
		if isHelp(args[1]) {
			args = []string{"sla", "check", "-h"}
		}
		cfg, err := loadConfig("sla check", args[2:], getenv, stdout)
		if err != nil {
			return err
		}
		return slaCheck(ctx, cfg, stdout, stderr)
	case "report":
		return report(ctx, args[1:], getenv, stdout, stderr)
	case "import":
		return importFile(ctx, args[1:], getenv, stdout, stderr)
	case "notifications":
		return notificationsCmd(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args[1:], getenv, stdout, stderr)
	case "audit":
		return auditCmd(ctx, args[1:], getenv, stdout)
	case "statements":
		return statementsCmd(ctx, args[1:], getenv, stdout, stderr)
	case "backup":
		return backupCmd(ctx, args[1:], getenv, stdout)
	case "restore":
		return restoreCmd(ctx, args[1:], getenv, stdout)
	case "users":
		return usersCmd(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "dev-oidc":
		return devOIDC(ctx, args[1:], getenv, stdout)
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("migrate", args, getenv, stdout)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema at version %d\n", v)
	return nil
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func openDB(ctx context.Context, cfg Config, log *slog.Logger) (*models.DB, error) {
	db, err := models.OpenWith(cfg.DB, cfg.DBTimeouts)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, log); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func clock() time.Time { return time.Now().UTC() }

func serve(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	log.Info("starting", "config", cfg)
	provider, err := discoverSSO(ctx, cfg, log)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()

	var reg *prometheus.Registry
	if cfg.MetricsAddr != "" {
		reg = metrics.NewRegistry()
	}
	a, err := wire(ctx, cfg, db, log, registerer(reg))
	if err != nil {
		return err
	}
	acc, wf := a.Accounts, a.Workflow
	changed, err := deployment.Record(ctx, db, clock(), cfg.figures(commands["serve"].uses))
	if err != nil {
		return err
	}
	for _, d := range changed {
		log.Warn("a setting that figures depend on differs from the previous start; reports and SLA statuses computed from now on use the new value",
			"setting", d.Name, "was", d.Stored, "now", d.Given)
	}

	if cfg.AdminEmail != "" {
		created, err := acc.Bootstrap(ctx, cfg.AdminEmail, cfg.AdminToken)
		if err != nil {
			return err
		}
		if created {
			log.Info("created the first admin", "email", cfg.AdminEmail, "agency", accounts.BootstrapAgency)
		} else {
			log.Warn("an admin already exists: " + envAdminEmail + " and " + envAdminToken + " are ignored; create tokens through the API instead")
		}
	}
	if cfg.Demo {
		if err := demo.Run(ctx, acc, wf, a.Projects, a.Importer, a.Holidays.Current(), cfg.SLA, clock(), stdout); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		// Flag the demo's late requests now rather than at the first
		// scheduled check, up to 15 minutes away, so that their history
		// and notifications are there at once. The check logs what it
		// flagged.
		if _, err := a.Checker.RunExclusive(ctx, clock()); err != nil {
			return fmt.Errorf("demo data: sla check: %w", err)
		}
		// The demo's history spans the months before this one: publish
		// their statements, as the scheduled job would have, so that
		// /statements has something to show. Publishing is idempotent.
		if err := publishDemoStatements(ctx, a.Statements, cfg.Location); err != nil {
			return fmt.Errorf("demo data: statements: %w", err)
		}
	}

	handler, err := a.Handler(cfg.Web(provider))
	if err != nil {
		return err
	}
	stopCron, err := schedule(ctx, a, cfg, log)
	if err != nil {
		return err
	}
	defer stopCron()
	dispatchCtx, stopDispatch := context.WithCancel(context.WithoutCancel(ctx))
	dispatched := make(chan struct{})
	go func() { a.Dispatcher.Run(dispatchCtx); close(dispatched) }()
	defer func() { stopDispatch(); <-dispatched }()
	served := make(chan error, 2)
	var metricsSrv *http.Server
	if reg != nil {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen on %s for metrics: %w", cfg.MetricsAddr, err)
		}
		metricsSrv = newServer(metrics.Handler(reg, log), log)
		fmt.Fprintf(stdout, "metrics at http://%s/metrics\n", mln.Addr())
		log.Info("metrics listening", "addr", mln.Addr().String())
		go func() { served <- metricsSrv.Serve(mln) }()
		defer metricsSrv.Close()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := newServer(handler, log)
	fmt.Fprintf(stdout, "sign in at %s\n", signInAddress(ln.Addr()))
	fmt.Fprintf(stdout, "datashare listening on http://%s\n", ln.Addr())
	log.Info("listening", "addr", ln.Addr().String())

	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// discoverSSO reads the identity provider's discovery document, when single
// sign-on is configured. A provider that cannot be read stops the start: a
// sign-in button that can only fail is worse than a clear error now.
func discoverSSO(ctx context.Context, cfg Config, log *slog.Logger) (*sso.Provider, error) {
	if cfg.OIDC.Issuer == "" {
		return nil, nil
	}
	p, err := sso.Discover(ctx, cfg.SSO())
	if err != nil {
		return nil, fmt.Errorf("%s: %w; check the address and that the provider answers from here", envOIDCIssuer, err)
	}
	log.Info("single sign-on ready", "issuer", cfg.OIDC.Issuer, "redirect_url", cfg.SSO().RedirectURL)
	return p, nil
}

func newServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// registerer is reg as an interface that is nil when reg is: a nil
// *prometheus.Registry in the interface would not be.
func registerer(reg *prometheus.Registry) prometheus.Registerer {
	if reg == nil {
		return nil
	}
	return reg
}

// signInAddress is the sign-in page on the address the server listens on,
// with localhost for a server listening on every interface.
func signInAddress(addr net.Addr) string {
	host := addr.String()
	if t, ok := addr.(*net.TCPAddr); ok && t.IP.IsUnspecified() {
		host = net.JoinHostPort("localhost", strconv.Itoa(t.Port))
	}
	return "http://" + host + "/login"
}
