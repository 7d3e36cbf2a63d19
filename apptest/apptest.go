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
	_ "time/tzdata" // the tests run in a bare container too

	"datashare/accounts"
	"datashare/calendar"
	"datashare/holidays"
	"datashare/idempotency"
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
	Notify  bool   // transitions and SLA flags write events, which MustFanOut turns into notifications
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
	Idempotency   *idempotency.Store
	Outbox        *notifications.Outbox // nil unless Options.Notify
	Checker       *sla.Checker
	Reporter      *sla.Reporter
	Importer      *imports.Importer
	Notifications *notifications.Service
	fanOut        *notifications.Dispatcher // sends nothing: only its FanOut is called
}

// SGT is the calendar's time zone.
var SGT = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Singapore")
	if err != nil {
		panic(err)
	}
	return loc
}()

// Admin is an administrator of no agency, as importers and seeders act.
var Admin = workflow.Actor{Roles: []workflow.Role{workflow.Admin}}

// Time parses an RFC 3339 time such as 2025-06-30T12:00:00+08:00; fixture
// tables are written with it, so a typo panics at once.
func Time(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Person is one user of a test's cast.
type Person struct {
	Email, Agency, Role string
}

// Cast is the usual cast of the sla and imports tests: MOH and MOM own
// data (two approvers and a manager each); MSF, HDB and MOM file requests,
// each through req@<agency>.gov.sg.
var (
	CastAgencies = []string{"MOH", "MOM", "MSF", "HDB"}
	CastPeople   = []Person{
		{Email: "req@msf.gov.sg", Agency: "MSF", Role: "requester"},
		{Email: "req@hdb.gov.sg", Agency: "HDB", Role: "requester"},
		{Email: "req@mom.gov.sg", Agency: "MOM", Role: "requester"},
		{Email: "approver1@moh.gov.sg", Agency: "MOH", Role: "approver"},
		{Email: "approver2@moh.gov.sg", Agency: "MOH", Role: "approver"},
		{Email: "approver1@mom.gov.sg", Agency: "MOM", Role: "approver"},
		{Email: "approver2@mom.gov.sg", Agency: "MOM", Role: "approver"},
		{Email: "manager@moh.gov.sg", Agency: "MOH", Role: "manager"},
		{Email: "manager@mom.gov.sg", Agency: "MOM", Role: "manager"},
	}
)

// MustSeed creates the agencies and people, and returns the users by
// email.
func (a *App) MustSeed(tb testing.TB, agencies []string, people []Person) map[string]models.User {
	tb.Helper()
	ctx := context.Background()
	for _, code := range agencies {
		if err := a.Accounts.EnsureAgency(ctx, code, code+" agency"); err != nil {
			tb.Fatal(err)
		}
	}
	out := map[string]models.User{}
	for _, p := range people {
		u, err := a.Accounts.CreateUserUnchecked(ctx, accounts.NewUser{Email: p.Email, Name: p.Email, Agency: p.Agency, Roles: []string{p.Role}})
		if err != nil {
			tb.Fatal(err)
		}
		out[p.Email] = u
	}
	return out
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
	a := &App{DB: db, Location: SGT}
	a.Holidays = holidays.NewService(db, a.Location, calendar.DefaultHours(), o.Now)
	if err := a.Holidays.Load(context.Background()); err != nil {
		tb.Fatal(err)
	}
	a.Keeper = sla.NewKeeper(a.Holidays, sla.DefaultSettings())
	a.Holidays.OnChange(sla.NewReprojector(db, a.Keeper).Run)
	a.Accounts = accounts.NewService(db, o.Now)
	a.Workflow = workflow.NewService(db, policy, o.Now).WithTimekeeper(a.Keeper)
	a.Idempotency = idempotency.NewStore(db, o.Now)
	var notify sla.Notifier
	if o.Notify {
		a.Outbox = notifications.NewOutbox(db, a.Location, notifications.Links{Base: o.BaseURL}, o.EmailOn)
		a.Workflow.WithNotifier(a.Outbox)
		notify = a.Outbox.SLA
		a.fanOut = notifications.NewDispatcher(a.Outbox, nil, notifications.DefaultPolicy(), o.Now, o.Log)
	}
	a.Checker = sla.NewChecker(db, a.Keeper, notify, o.Log)
	a.Reporter = sla.NewReporter(db, a.Keeper)
	a.Importer = imports.New(db, a.Accounts, a.Workflow)
	a.Notifications = notifications.NewService(db, o.Now)
	return a
}

// MustFanOut fans out every event written so far to in-app notifications
// and deliveries, as a dispatcher does after each commit, and returns how
// many events it fanned out.
func (a *App) MustFanOut(tb testing.TB) int {
	tb.Helper()
	if a.fanOut == nil {
		return 0
	}
	total := 0
	for {
		n, err := a.fanOut.FanOut(context.Background())
		if err != nil {
			tb.Fatalf("fan out: %v", err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}
