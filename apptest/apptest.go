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

	"golang.org/x/crypto/bcrypt"

	"datashare/accounts"
	"datashare/calendar"
	"datashare/models"
	"datashare/notifications"
	"datashare/sla"
	"datashare/wiring"
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
	// WebhookAllow is DATASHARE_WEBHOOK_ALLOW, such as 127.0.0.0/8 for
	// receivers started with httptest; empty allows no internal address.
	WebhookAllow string
}

// App is every service over one database, wired as the binary wires them.
type App struct{ *wiring.App }

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

// Wire builds the services over db with package wiring, as the binary
// does, with the Singapore calendar, default working hours and SLA settings.
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
	allow, err := notifications.ParseAllowList(o.WebhookAllow)
	if err != nil {
		tb.Fatalf("webhook allow-list: %v", err)
	}
	w, err := wiring.Wire(context.Background(), db, wiring.Settings{
		Now: o.Now, Location: SGT, Hours: calendar.DefaultHours(), SLA: sla.DefaultSettings(), Approvals: policy,
		Log: o.Log, Quiet: !o.Notify, EmailOn: o.EmailOn, BaseURL: o.BaseURL, WebhookAllow: allow,
		// The cheapest hashes: what the tests check is who may sign in,
		// not how long a guess costs, and at the default cost sign-ins
		// dominate the page tests' time under the race detector.
		PasswordCost: bcrypt.MinCost,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return &App{App: w}
}

// MustFanOut fans out every event written so far to in-app notifications
// and deliveries, as a dispatcher does after each commit, and returns how
// many events it fanned out.
func (a *App) MustFanOut(tb testing.TB) int {
	tb.Helper()
	if a.Dispatcher == nil {
		return 0
	}
	total := 0
	for {
		n, err := a.Dispatcher.FanOut(context.Background())
		if err != nil {
			tb.Fatalf("fan out: %v", err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}
