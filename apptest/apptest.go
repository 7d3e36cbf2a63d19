// Package apptest wires every service of datashare over one database for
// tests, the way cmd/datashare does for the binary: the Singapore calendar
// with default working hours, default SLA settings, and a clock of the
// test's choosing.
package apptest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"datashare/accounts"
	"datashare/calendar"
	"datashare/holidays"
	"datashare/imports"
	"datashare/models"
	"datashare/notifications"
	"datashare/sla"
	"datashare/workflow"
)

// Options vary the wiring; the zero value is a real clock, the default
// approval policy, and no notifications.
type Options struct {
	Now     func() time.Time
	Policy  *workflow.Policy
	Notify  bool   // transitions and SLA flags write notifications
	EmailOn bool   // with Notify: an SMTP server is configured
	BaseURL string // with Notify: links in messages (default https://datashare.test)
	Log     *slog.Logger
}

// App is every service over one database.
type App struct {
	DB            *models.DB
	Location      *time.Location
	Holidays      *holidays.Service
	Keeper        *sla.Keeper
	Accounts      *accounts.Service
	Workflow      *workflow.Service
	Outbox        *notifications.Outbox // nil unless Options.Notify
	Checker       *sla.Checker
	Reporter      *sla.Reporter
	Importer      *imports.Importer
	Notifications *notifications.Service
}

// Singapore is the calendar's time zone.
func Singapore(tb testing.TB) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation("Asia/Singapore")
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

// Wire builds the services over db.
func Wire(tb testing.TB, db *models.DB, o Options) *App {
	tb.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	policy := workflow.DefaultPolicy()
	if o.Policy != nil {
		policy = *o.Policy
	}
	if o.BaseURL == "" {
		o.BaseURL = "https://datashare.test"
	}
	a := &App{DB: db, Location: Singapore(tb)}
	a.Holidays = holidays.NewService(db, a.Location, calendar.DefaultHours(), o.Now)
	if err := a.Holidays.Load(context.Background()); err != nil {
		tb.Fatal(err)
	}
	a.Keeper = sla.NewKeeper(a.Holidays, sla.DefaultSettings())
	a.Holidays.OnChange(sla.NewReprojector(db, a.Keeper).Run)
	a.Accounts = accounts.NewService(db, o.Now)
	a.Workflow = workflow.NewService(db, policy, o.Now).WithTimekeeper(a.Keeper)
	var notify sla.Notifier
	if o.Notify {
		a.Outbox = notifications.NewOutbox(db, a.Location, notifications.Links{Base: o.BaseURL}, o.EmailOn)
		a.Workflow.WithNotifier(a.Outbox)
		notify = a.Outbox.SLA
	}
	a.Checker = sla.NewChecker(db, a.Keeper, notify, o.Log)
	a.Reporter = sla.NewReporter(db, a.Keeper)
	a.Importer = imports.New(db, a.Accounts, a.Workflow)
	a.Notifications = notifications.NewService(db, o.Now)
	return a
}
