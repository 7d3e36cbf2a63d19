package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"datashare/calendar"
	"datashare/workflow"
)

// group is a set of settings that commands read together.
type group uint8

const (
	storage  group = 1 << iota // the database and the log: every command
	workdays                   // working days and the SLA target
	policy                     // approvals per classification
	delivery                   // email and links, sent by the service's dispatcher
	service                    // listening, schedules, sessions, the first admin
	zone                       // the time zone of dates given on the command line
)

// setting is one value of the configuration, given as a flag or as an
// environment variable.
type setting struct {
	flag, env, def, usage string
	group                 group
}

// settings in the order of the README's table.
var settings = []setting{
	{"addr", envAddr, ":8080", "listen address; with --demo, " + demoAddr + " unless this flag or " + envAddr + " is given", service},
	{"metrics-addr", envMetricsAddr, "", "listen address of the Prometheus metrics at /metrics, apart from the service's, e.g. 127.0.0.1:9090; empty: no metrics", service},
	{"db", envDB, "datashare.db", "SQLite file, or a postgres:// URL", storage},
	{"db-connect-timeout", envDBConnect, "5s", "how long opening a connection to PostgreSQL may take", storage},
	{"db-statement-timeout", envDBStatement, "10s", "how long one statement may take (PostgreSQL), or wait for the file's lock (SQLite); past it the call answers 503", storage},
	{"approvals", envApprovals, workflow.DefaultPolicy().String(), "approvers needed per classification, e.g. restricted=2,confidential=3; names not given keep their default", policy},
	{"log-format", envLogFormat, "text", "log format: text or json", storage},
	{"log-level", envLogLevel, "info", "log level: debug, info, warn or error", storage},
	{"shutdown-timeout", envShutdownTimeout, "30s", "how long SIGTERM waits for in-flight requests", service},
	{"tz", envTZ, "Asia/Singapore", "time zone of working days and report dates", zone},
	{"working-hours", envWorkingHours, calendar.DefaultHours().String(), "working hours per weekday; days not named are off", workdays},
	{"sla-target-days", envTarget, "7", "working days allowed per request", workdays},
	{"sla-warn-days", envWarn, "5", "elapsed working days at which a request is at risk", workdays},
	{"sla-check-schedule", envSchedule, "*/15 * * * *", "cron schedule of the SLA check, in the time zone", service},
	{"digest-schedule", envDigestSchedule, "0 8 * * *", "cron schedule of the approvers' daily digest, in the time zone; sent on working days only", service},
	{"statement-schedule", envStatementSchedule, "30 8 * * *", "cron schedule of the compliance statements' job, in the time zone: it publishes the past month's statements from the month's first working day after it, and revises those of the 12 months before whose figures moved", service},
	{"smtp-url", envSMTP, "", "SMTP server for email, e.g. smtp://user:pass@host:587; empty: no email", delivery},
	{"mail-from", envMailFrom, "datashare <no-reply@datashare.gov.sg>", "sender of emails", delivery},
	{"base-url", envBaseURL, "http://localhost:8080", "address of the web UI, for links in emails; https:// makes cookies Secure and sends Strict-Transport-Security", delivery},
	{"notify-max-attempts", envMaxAttempts, "10", "attempts before a delivery is dead (1-100)", delivery},
	{"webhook-allow", envWebhookAllow, "", "internal address ranges webhooks may reach besides public ones, each with optional ports, e.g. 10.0.0.0/8,127.0.0.1/32:9000,[fd00::/8]:443; empty: public addresses only", delivery},
	{"session-idle-timeout", envSessionIdle, "30m", "a web session not used for this long ends", service},
	{"session-lifetime", envSessionLifetime, "12h", "a web session ends this long after sign-in, however busy", service},
	{"oidc-issuer", envOIDCIssuer, "", "issuer address of the agency's OpenID Connect provider, for single sign-on (redirect address BASE_URL/auth/oidc/callback); empty: passwords only", service},
	{"oidc-client-id", envOIDCClientID, "", "datashare's client id at that provider", service},
	{"oidc-name", envOIDCName, "Sign in with your agency account", "the label of the single sign-on button", service},
	{"oidc-passwords", envOIDCPasswords, "on", "on: password sign-in is offered too; off: single sign-on only (API tokens keep working)", service},
}

// environmentOnly are the settings of serve that are secrets or one-off:
// they are never flags, so that they stay out of the process list.
var environmentOnly = []struct{ env, usage string }{
	{envAdminEmail, "with " + envAdminToken + ": when no admin exists at start, create this admin in agency GOVTECH"},
	{envAdminToken, "that admin's API token, at least 32 characters; stored hashed"},
	{envOIDCSecret, "datashare's client secret at the OpenID Connect provider, with " + envOIDCIssuer},
}

// command is what a sub-command reads and how it is called.
type commandSpec struct {
	synopsis, summary string
	uses              group
}

// commands by name. Only serve delivers notifications: the others at most
// record events, which the running service fans out and sends with its own
// delivery settings.
var commands = map[string]commandSpec{
	"serve":               {"datashare serve [flags]", "run the service (schema created or upgraded first)", storage | zone | workdays | policy | delivery | service},
	"migrate":             {"datashare migrate [flags]", "create or upgrade the schema, then exit", storage},
	"sla check":           {"datashare sla check [flags]", "flag requests newly at risk or breached, once", storage | zone | workdays},
	"report":              {"datashare report --from YYYY-MM-DD --to YYYY-MM-DD [flags]", "print the compliance report", storage | zone | workdays},
	"import":              {"datashare import [flags] FILE", "import past requests from a JSON or CSV file", storage | zone | workdays | policy},
	"notifications retry": {"datashare notifications retry [flags] ID", "queue a dead email or webhook delivery again", storage},
	"audit verify":        {"datashare audit verify [flags]", "recompute the hash chain of every request's history and name the first broken row", storage},
	"audit export":        {"datashare audit export [--from YYYY-MM-DD] [--to YYYY-MM-DD] [flags]", "print the history rows with their hashes as JSON lines", storage | zone},
	"statements publish":  {"datashare statements publish --month YYYY-MM [flags]", "publish the compliance statements of a month that is over, or revise those whose figures moved", storage | zone | workdays},
	"backup":              {"datashare backup [flags] FILE", "copy a live SQLite database to FILE, which must not exist", storage},
	"restore":             {"datashare restore [flags] FILE", "put the SQLite backup FILE in place of a database no process has open", storage},
	"users set-password":  {"datashare users set-password [flags] EMAIL", "set the password of the user with EMAIL to the first line of standard input (12 to 72 characters, not the email), ending their web sessions", storage},
	"users deactivate":    {"datashare users deactivate [flags] EMAIL", "deactivate the user with EMAIL: they can no longer sign in, their web sessions end and their API tokens are revoked", storage},
	"dev-oidc":            {"datashare dev-oidc --email EMAIL [--listen " + devOIDCAddr + "]", "run an OpenID Connect provider on this computer that approves every sign-in as EMAIL, for trying single sign-on", 0},
}

// printHelp lists the options of one run of the command, then the settings
// it reads, each with its variable and its built-in default (not the
// variable's value, which may be a secret).
func printHelp(w io.Writer, name string, cmd commandSpec, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s.\n", cmd.synopsis, strings.ToUpper(cmd.summary[:1])+cmd.summary[1:])
	isSetting := map[string]bool{}
	for _, s := range settings {
		isSetting[s.flag] = true
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	options := false
	fs.VisitAll(func(f *flag.Flag) {
		if isSetting[f.Name] {
			return
		}
		if !options {
			fmt.Fprintf(tw, "\nOptions of this run:\n")
			options = true
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" {
			def = " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(tw, "  --%s\t%s%s\n", f.Name, f.Usage, def)
	})
	if err := tw.Flush(); err != nil {
		return
	}
	// Each setting takes two lines, its meaning under its name, so the
	// columns are padded by hand: tabwriter would break them at each meaning.
	var used []setting
	flagWidth, envWidth := 0, 0
	for _, s := range settings {
		if cmd.uses&s.group != 0 {
			used = append(used, s)
			flagWidth, envWidth = max(flagWidth, len(s.flag)), max(envWidth, len(s.env))
		}
	}
	if len(used) > 0 {
		fmt.Fprintf(w, "\nSettings (a flag wins over its environment variable):\n")
	}
	for _, s := range used {
		fmt.Fprintf(w, "  --%-*s  %-*s  default %s\n      %s\n", flagWidth, s.flag, envWidth, s.env, quoteDefault(s.def), s.usage)
	}
	if cmd.uses&service != 0 {
		fmt.Fprintf(w, "\nEnvironment only:\n")
		for _, e := range environmentOnly {
			fmt.Fprintf(w, "  %s\n      %s\n", e.env, e.usage)
		}
	}
}

func quoteDefault(def string) string {
	if def == "" {
		return "none"
	}
	if strings.ContainsAny(def, " ;") {
		return fmt.Sprintf("%q", def)
	}
	return def
}
