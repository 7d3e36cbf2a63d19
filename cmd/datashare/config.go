package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"datashare/accounts"
	"datashare/calendar"
	"datashare/notifications"
	"datashare/sla"
	"datashare/web"
	"datashare/workflow"
)

// Config is everything the binary reads from flags and the environment,
// read once at start and validated before anything opens.
type Config struct {
	Addr            string
	DB              string
	Demo            bool
	AdminEmail      string
	AdminToken      string
	Approvals       workflow.Policy
	LogFormat       string
	LogLevel        slog.Level
	ShutdownTimeout time.Duration
	Location        *time.Location
	Hours           calendar.WeekHours
	SLA             sla.Settings
	CheckSchedule   string
	DigestSchedule  string
	SMTP            *notifications.SMTP
	MailFrom        string
	BaseURL         string
	MaxAttempts     int
	SessionIdle     time.Duration
	SessionLifetime time.Duration
}

// env names, in one place so the README's table can be checked against it.
const (
	envAddr            = "DATASHARE_ADDR"
	envDB              = "DATASHARE_DB"
	envAdminEmail      = "DATASHARE_ADMIN_EMAIL"
	envAdminToken      = "DATASHARE_ADMIN_TOKEN"
	envApprovals       = "DATASHARE_APPROVALS"
	envLogFormat       = "DATASHARE_LOG_FORMAT"
	envLogLevel        = "DATASHARE_LOG_LEVEL"
	envShutdownTimeout = "DATASHARE_SHUTDOWN_TIMEOUT"
	envTZ              = "DATASHARE_TZ"
	envWorkingHours    = "DATASHARE_WORKING_HOURS"
	envTarget          = "DATASHARE_SLA_TARGET_DAYS"
	envWarn            = "DATASHARE_SLA_WARN_DAYS"
	envSchedule        = "DATASHARE_SLA_CHECK_SCHEDULE"
	envDigestSchedule  = "DATASHARE_DIGEST_SCHEDULE"
	envSMTP            = "DATASHARE_SMTP_URL"
	envMailFrom        = "DATASHARE_MAIL_FROM"
	envBaseURL         = "DATASHARE_BASE_URL"
	envMaxAttempts     = "DATASHARE_NOTIFY_MAX_ATTEMPTS"
	envSessionIdle     = "DATASHARE_SESSION_IDLE_TIMEOUT"
	envSessionLifetime = "DATASHARE_SESSION_LIFETIME"
)

// demoAddr is where serve --demo listens by default: loopback only.
const demoAddr = "127.0.0.1:8080"

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// loadConfig parses the flags of a sub-command over defaults taken from the
// environment: a flag given on the command line wins over its variable.
func loadConfig(name string, args []string, getenv func(string) string, stderr io.Writer, serve bool) (Config, error) {
	cfg, rest, err := loadConfigWith(name, args, getenv, stderr, serve, nil)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("datashare %s: unexpected argument %q", name, rest[0])
	}
	return cfg, err
}

// loadConfigWith is loadConfig for a sub-command with flags of its own,
// which extra defines, and arguments besides flags, which it returns; flags
// may come before or after those arguments.
func loadConfigWith(name string, args []string, getenv func(string) string, stderr io.Writer, serve bool, extra func(*flag.FlagSet)) (Config, []string, error) {
	fs := flag.NewFlagSet("datashare "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	var approvals, level, shutdown, tz, hours, target, warn, smtpURL, attempts, idle, lifetime string
	fs.StringVar(&cfg.DB, "db", orDefault(getenv(envDB), "datashare.db"), "SQLite file, or a postgres:// URL ("+envDB+")")
	fs.StringVar(&approvals, "approvals", getenv(envApprovals), "approvers needed per classification, e.g. restricted=2,confidential=3 ("+envApprovals+")")
	fs.StringVar(&cfg.LogFormat, "log-format", orDefault(getenv(envLogFormat), "text"), "log format: text or json ("+envLogFormat+")")
	fs.StringVar(&level, "log-level", orDefault(getenv(envLogLevel), "info"), "log level: debug, info, warn or error ("+envLogLevel+")")
	fs.StringVar(&tz, "tz", orDefault(getenv(envTZ), "Asia/Singapore"), "time zone of working days and report dates ("+envTZ+")")
	fs.StringVar(&hours, "working-hours", orDefault(getenv(envWorkingHours), calendar.DefaultHours().String()), "working hours per weekday ("+envWorkingHours+")")
	fs.StringVar(&target, "sla-target-days", orDefault(getenv(envTarget), "7"), "working days allowed per request ("+envTarget+")")
	fs.StringVar(&warn, "sla-warn-days", orDefault(getenv(envWarn), "5"), "elapsed working days at which a request is at risk ("+envWarn+")")
	fs.StringVar(&smtpURL, "smtp-url", getenv(envSMTP), "SMTP server for email, e.g. smtp://user:pass@host:587; empty: no email ("+envSMTP+")")
	fs.StringVar(&cfg.MailFrom, "mail-from", orDefault(getenv(envMailFrom), "datashare <no-reply@datashare.gov.sg>"), "sender of emails ("+envMailFrom+")")
	fs.StringVar(&cfg.BaseURL, "base-url", orDefault(getenv(envBaseURL), "http://localhost:8080"), "address of the web UI, for links in emails ("+envBaseURL+")")
	fs.StringVar(&attempts, "notify-max-attempts", orDefault(getenv(envMaxAttempts), "10"), "attempts before a delivery is dead ("+envMaxAttempts+")")
	if serve {
		fs.StringVar(&cfg.DigestSchedule, "digest-schedule", orDefault(getenv(envDigestSchedule), "0 8 * * *"), "cron schedule of the approvers' daily digest, in the time zone; sent on working days only ("+envDigestSchedule+")")
		fs.StringVar(&cfg.CheckSchedule, "sla-check-schedule", orDefault(getenv(envSchedule), "*/15 * * * *"), "cron schedule of the SLA check, in the time zone ("+envSchedule+")")
		fs.StringVar(&cfg.Addr, "addr", orDefault(getenv(envAddr), ":8080"), "listen address; with --demo, "+demoAddr+" unless this flag or "+envAddr+" is given ("+envAddr+")")
		fs.BoolVar(&cfg.Demo, "demo", false, "seed demo agencies, users and requests into an empty database and print API tokens")
		fs.StringVar(&idle, "session-idle-timeout", orDefault(getenv(envSessionIdle), "30m"), "a web session not used for this long ends ("+envSessionIdle+")")
		fs.StringVar(&lifetime, "session-lifetime", orDefault(getenv(envSessionLifetime), "12h"), "a web session ends this long after sign-in, however busy ("+envSessionLifetime+")")
		fs.StringVar(&shutdown, "shutdown-timeout", orDefault(getenv(envShutdownTimeout), "30s"), "how long SIGTERM waits for in-flight requests ("+envShutdownTimeout+")")
	}
	if extra != nil {
		extra(fs)
	}
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return Config{}, nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if cfg.Demo && getenv(envAddr) == "" && !isSet(fs, "addr") {
		// The demo prints an admin's token: it stays on this computer
		// unless an address is asked for.
		cfg.Addr = demoAddr
	}
	cfg.AdminEmail = strings.TrimSpace(getenv(envAdminEmail))
	cfg.AdminToken = getenv(envAdminToken)
	var errs []error
	var err error
	if cfg.Approvals, err = workflow.ParsePolicy(approvals); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", envApprovals, err))
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(level)); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", envLogLevel, err))
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("%s: want text or json, got %q", envLogFormat, cfg.LogFormat))
	}
	if cfg.Location, err = time.LoadLocation(tz); err != nil {
		errs = append(errs, fmt.Errorf("%s: unknown time zone %q", envTZ, tz))
	}
	if cfg.Hours, err = calendar.ParseHours(hours); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", envWorkingHours, err))
	}
	var perr1, perr2 error
	cfg.SLA.Target, perr1 = strconv.ParseFloat(target, 64)
	cfg.SLA.Warn, perr2 = strconv.ParseFloat(warn, 64)
	switch {
	case perr1 != nil:
		errs = append(errs, fmt.Errorf("%s: want a number of working days, got %q", envTarget, target))
	case perr2 != nil:
		errs = append(errs, fmt.Errorf("%s: want a number of working days, got %q", envWarn, warn))
	default:
		if err := cfg.SLA.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s/%s: %w", envTarget, envWarn, err))
		}
	}
	if smtpURL != "" {
		c, err := notifications.ParseSMTPURL(smtpURL)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", envSMTP, err))
		}
		cfg.SMTP = &c
	}
	if _, err := mail.ParseAddress(cfg.MailFrom); err != nil {
		errs = append(errs, fmt.Errorf("%s: %q is not an email address", envMailFrom, cfg.MailFrom))
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("%s: want an http(s) address, got %q", envBaseURL, cfg.BaseURL))
	}
	if cfg.MaxAttempts, err = strconv.Atoi(attempts); err != nil || cfg.MaxAttempts < 1 || cfg.MaxAttempts > 100 {
		errs = append(errs, fmt.Errorf("%s: want a number from 1 to 100, got %q", envMaxAttempts, attempts))
	}
	if serve {
		if _, err := cron.ParseStandard(cfg.CheckSchedule); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", envSchedule, err))
		}
		if _, err := cron.ParseStandard(cfg.DigestSchedule); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", envDigestSchedule, err))
		}
		if cfg.SessionIdle, err = time.ParseDuration(idle); err != nil || cfg.SessionIdle < time.Minute {
			errs = append(errs, fmt.Errorf("%s: want a duration of at least 1m, like 30m, got %q", envSessionIdle, idle))
		}
		if cfg.SessionLifetime, err = time.ParseDuration(lifetime); err != nil || cfg.SessionLifetime < cfg.SessionIdle {
			errs = append(errs, fmt.Errorf("%s: want a duration like 12h, no shorter than %s, got %q", envSessionLifetime, envSessionIdle, lifetime))
		}
		if cfg.ShutdownTimeout, err = time.ParseDuration(shutdown); err != nil || cfg.ShutdownTimeout <= 0 {
			errs = append(errs, fmt.Errorf("%s: want a duration like 30s, got %q", envShutdownTimeout, shutdown))
		}
	}
	if (cfg.AdminEmail == "") != (cfg.AdminToken == "") {
		errs = append(errs, fmt.Errorf("set both %s and %s, or neither", envAdminEmail, envAdminToken))
	}
	if cfg.AdminToken != "" && len(cfg.AdminToken) < accounts.MinTokenLength {
		errs = append(errs, fmt.Errorf("%s must be at least %d characters", envAdminToken, accounts.MinTokenLength))
	}
	if cfg.DB == "" {
		errs = append(errs, fmt.Errorf("%s must not be empty", envDB))
	}
	return cfg, rest, errors.Join(errs...)
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return "********"
}

// maskDSN hides the password of a postgres:// URL, given as user:pass@ or
// as a password parameter.
func maskDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "MASKED")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "MASKED")
		u.RawQuery = q.Encode()
	}
	return strings.ReplaceAll(u.String(), "MASKED", "********")
}

// LogValue dumps the configuration with its secrets masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("db", maskDSN(c.DB)),
		slog.Bool("demo", c.Demo),
		slog.String("admin_email", c.AdminEmail),
		slog.String("admin_token", mask(c.AdminToken)),
		slog.String("approvals", c.Approvals.String()),
		slog.String("log_format", c.LogFormat),
		slog.String("log_level", c.LogLevel.String()),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.String("tz", c.Location.String()),
		slog.String("working_hours", c.Hours.String()),
		slog.Float64("sla_target_days", c.SLA.Target),
		slog.Float64("sla_warn_days", c.SLA.Warn),
		slog.String("sla_check_schedule", c.CheckSchedule),
		slog.String("digest_schedule", c.DigestSchedule),
		slog.String("smtp_url", smtpRedacted(c.SMTP)),
		slog.String("mail_from", c.MailFrom),
		slog.String("base_url", c.BaseURL),
		slog.Int("notify_max_attempts", c.MaxAttempts),
		slog.Duration("session_idle_timeout", c.SessionIdle),
		slog.Duration("session_lifetime", c.SessionLifetime),
	)
}

func smtpRedacted(c *notifications.SMTP) string {
	if c == nil {
		return "(none: email deliveries are skipped)"
	}
	return c.Redacted()
}

// Web is the pages' share of the configuration: cookies are Secure when the
// service is reached over https.
func (c Config) Web() web.Settings {
	return web.Settings{Secure: strings.HasPrefix(c.BaseURL, "https://"), IdleTimeout: c.SessionIdle, Lifetime: c.SessionLifetime}
}
