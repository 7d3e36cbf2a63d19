// Package wiring builds every service of datashare over one database, in
// one place: the binary (cmd/datashare) and the tests (apptest) use the
// same graph, so a test exercises what the binary runs.
package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"datashare/accounts"
	"datashare/api"
	"datashare/calendar"
	"datashare/holidays"
	"datashare/idempotency"
	"datashare/imports"
	"datashare/metrics"
	"datashare/models"
	"datashare/notifications"
	"datashare/projects"
	"datashare/sessionstore"
	"datashare/sla"
	"datashare/statements"
	"datashare/web"
	"datashare/workflow"
)

// Settings are what the services need to know of the deployment.
type Settings struct {
	Now       func() time.Time // the clock; UTC
	Location  *time.Location   // the calendar's time zone
	Hours     calendar.WeekHours
	SLA       sla.Settings
	Approvals workflow.Policy
	Log       *slog.Logger // nil discards

	// Quiet leaves notifications out: transitions and SLA flags write no
	// events. Only tests of other concerns set it.
	Quiet bool
	// EmailOn says an SMTP server is configured: without one, email
	// deliveries are recorded as skipped. SMTP, when set, also gives the
	// dispatcher a mailer.
	EmailOn     bool
	SMTP        *notifications.SMTP
	MailFrom    string
	BaseURL     string // links in messages
	MaxAttempts int    // of a delivery; 0 keeps the default
	// WebhookAllow is the internal addresses webhooks may reach besides
	// the public ones; the zero value allows none.
	WebhookAllow notifications.AllowList
	// Metrics, when set, receives the HTTP figures of the Handler and the
	// domain figures of the services.
	Metrics prometheus.Registerer
	// PasswordCost is the bcrypt cost of new password hashes; 0 keeps
	// bcrypt's default. Only tests lower it.
	PasswordCost int
}

// App is every service of datashare over one database.
type App struct {
	DB            *models.DB
	Location      *time.Location
	Holidays      *holidays.Service
	Keeper        *sla.Keeper
	Reprojector   *sla.Reprojector
	Accounts      *accounts.Service
	Workflow      *workflow.Service
	Projects      *projects.Service
	Idempotency   *idempotency.Store
	Outbox        *notifications.Outbox     // nil when Quiet
	Dispatcher    *notifications.Dispatcher // nil when Quiet
	Checker       *sla.Checker
	Reporter      *sla.Reporter
	Statements    *statements.Service
	Importer      *imports.Importer
	Notifications *notifications.Service
	Sessions      *sessionstore.Store

	now     func() time.Time
	log     *slog.Logger
	metrics prometheus.Registerer
}

// Wire builds the services over an open, migrated database and loads the
// working calendar.
func Wire(ctx context.Context, db *models.DB, s Settings) (*App, error) {
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	a := &App{DB: db, Location: s.Location, now: s.Now, log: s.Log, metrics: s.Metrics}
	a.Holidays = holidays.NewService(db, s.Location, s.Hours, s.Now)
	if err := a.Holidays.Load(ctx); err != nil {
		return nil, fmt.Errorf("load the calendar: %w", err)
	}
	a.Keeper = sla.NewKeeper(a.Holidays, s.SLA)
	a.Reprojector = sla.NewReprojector(db, a.Keeper)
	a.Accounts = accounts.NewService(db, s.Now).WithLog(s.Log)
	if s.PasswordCost != 0 {
		a.Accounts.WithPasswordCost(s.PasswordCost)
	}
	a.Workflow = workflow.NewService(db, s.Approvals, s.Now).WithTimekeeper(a.Keeper).WithStatusScope(sla.StatusScope)
	a.Projects = projects.NewService(db, a.Keeper, s.Now)
	a.Workflow.WithProjects(a.Projects)
	// A change of the days off moves the due instants of open requests
	// and open projects, in the transaction of the change.
	a.Holidays.OnChange(func(ctx context.Context, now time.Time) error {
		if err := a.Reprojector.Run(ctx, now); err != nil {
			return err
		}
		return a.Projects.Reproject(ctx, now)
	})
	if _, err := a.Projects.Backfill(ctx); err != nil {
		return nil, err
	}
	a.Idempotency = idempotency.NewStore(db, s.Now)
	var notify sla.Notifier
	guard := notifications.NewGuard(s.WebhookAllow)
	if !s.Quiet {
		a.Outbox = notifications.NewOutbox(db, s.Location, notifications.Links{Base: s.BaseURL}, s.EmailOn)
		senders := map[string]notifications.Sender{notifications.Webhook: notifications.NewWebhookSender(db, guard)}
		if s.SMTP != nil {
			senders[notifications.Email] = notifications.NewMailer(*s.SMTP, s.MailFrom)
		}
		policy := notifications.DefaultPolicy()
		if s.MaxAttempts > 0 {
			policy.MaxAttempts = s.MaxAttempts
		}
		a.Dispatcher = notifications.NewDispatcher(a.Outbox, senders, policy, s.Now, s.Log)
		a.Outbox.OnCommit(a.Dispatcher.Kick)
		a.Workflow.WithNotifier(a.Outbox)
		notify = a.Outbox.SLA
		a.Projects.WithNotifier(a.Outbox.Project)
	}
	// The check flags the projects after the requests, in the same run.
	a.Checker = sla.NewChecker(db, a.Keeper, notify, s.Log).WithProjects(a.Projects.Flag)
	a.Reporter = sla.NewReporter(db, a.Keeper)
	a.Statements = statements.NewService(db, a.Reporter, a.Keeper)
	if a.Outbox != nil {
		a.Statements.WithNotifier(a.Outbox.Statement)
	}
	a.Importer = imports.New(db, a.Accounts, a.Workflow)
	a.Notifications = notifications.NewService(db, s.Now).WithGuard(guard)
	a.Sessions = sessionstore.New(db, s.Now)
	if s.Metrics != nil {
		err := s.Metrics.Register(metrics.NewDomain(metrics.Sources{
			Workflow: a.Workflow, Reporter: a.Reporter, Notifications: a.Notifications, Checker: a.Checker,
			Location: s.Location, Now: s.Now, Log: s.Log,
		}))
		if err != nil {
			return nil, fmt.Errorf("register the domain metrics: %w", err)
		}
	}
	return a, nil
}

// API is what the HTTP API is served from, with the same clock and log.
func (a *App) API() api.Deps {
	return api.Deps{
		Log: a.log, Now: a.now, Accounts: a.Accounts, Workflow: a.Workflow, Projects: a.Projects, Idempotency: a.Idempotency,
		SLA: a.Keeper, Checker: a.Checker, Reporter: a.Reporter, Statements: a.Statements, Holidays: a.Holidays,
		Importer: a.Importer, Notifications: a.Notifications, DB: a.DB, Metrics: a.metrics,
	}
}

// Web is what the pages are served from: the same services, clock and log
// as the API.
func (a *App) Web(s web.Settings) web.Deps {
	return web.Deps{
		Log: a.log, Now: a.now, Accounts: a.Accounts, Workflow: a.Workflow, Projects: a.Projects, SLA: a.Keeper, Reporter: a.Reporter, Statements: a.Statements,
		Holidays: a.Holidays, Reprojector: a.Reprojector, Notifications: a.Notifications, Sessions: a.Sessions, Settings: s,
	}
}

// Handler is the whole HTTP service: the API and the pages on one echo
// server. A deployment reached over https (s.Secure) says so on every
// answer (Strict-Transport-Security).
func (a *App) Handler(s web.Settings) (http.Handler, error) {
	d := a.API()
	d.HTTPS = s.Secure
	e := api.New(d)
	if err := web.Mount(e, a.Web(s)); err != nil {
		return nil, err
	}
	return e, nil
}
