package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"datashare/accounts"
	"datashare/calendar"
	"datashare/deployment"
	"datashare/models"
	"datashare/notifications"
	"datashare/sla"
	"datashare/sso"
	"datashare/web"
	"datashare/workflow"
)

// Config is everything the binary reads from flags and the environment,
// read once at start and validated before anything opens.
type Config struct {
	Addr              string
	MetricsAddr       string
	DB                string
	DBTimeouts        models.Options
	Demo              bool
	AdminEmail        string
	AdminToken        string
	Approvals         workflow.Policy
	LogFormat         string
	LogLevel          slog.Level
	ShutdownTimeout   time.Duration
	Location          *time.Location
	Hours             calendar.WeekHours
	SLA               sla.Settings
	CheckSchedule     string
	DigestSchedule    string
	StatementSchedule string
	SMTP              *notifications.SMTP
	MailFrom          string
	BaseURL           string
	MaxAttempts       int
	WebhookAllow      notifications.AllowList
	SessionIdle       time.Duration
	SessionLifetime   time.Duration
	OIDC              OIDC
}

// OIDC is single sign-on through the agency's identity provider; Issuer
// empty: none.
type OIDC struct {
	Issuer, ClientID, ClientSecret string
	Label                          string
	Passwords                      bool // the password form is offered too
}

// env names, in one place so the README's table can be checked against it.
const (
	envAddr              = "DATASHARE_ADDR"
	envMetricsAddr       = "DATASHARE_METRICS_ADDR"
	envDB                = "DATASHARE_DB"
	envDBConnect         = "DATASHARE_DB_CONNECT_TIMEOUT"
	envDBStatement       = "DATASHARE_DB_STATEMENT_TIMEOUT"
	envAdminEmail        = "DATASHARE_ADMIN_EMAIL"
	envAdminToken        = "DATASHARE_ADMIN_TOKEN"
	envApprovals         = "DATASHARE_APPROVALS"
	envLogFormat         = "DATASHARE_LOG_FORMAT"
	envLogLevel          = "DATASHARE_LOG_LEVEL"
	envShutdownTimeout   = "DATASHARE_SHUTDOWN_TIMEOUT"
	envTZ                = "DATASHARE_TZ"
	envWorkingHours      = "DATASHARE_WORKING_HOURS"
	envTarget            = "DATASHARE_SLA_TARGET_DAYS"
	envWarn              = "DATASHARE_SLA_WARN_DAYS"
	envSchedule          = "DATASHARE_SLA_CHECK_SCHEDULE"
	envDigestSchedule    = "DATASHARE_DIGEST_SCHEDULE"
	envStatementSchedule = "DATASHARE_STATEMENT_SCHEDULE"
	envSMTP              = "DATASHARE_SMTP_URL"
	envMailFrom          = "DATASHARE_MAIL_FROM"
	envBaseURL           = "DATASHARE_BASE_URL"
	envMaxAttempts       = "DATASHARE_NOTIFY_MAX_ATTEMPTS"
	envWebhookAllow      = "DATASHARE_WEBHOOK_ALLOW"
	envSessionIdle       = "DATASHARE_SESSION_IDLE_TIMEOUT"
	envSessionLifetime   = "DATASHARE_SESSION_LIFETIME"
	envOIDCIssuer        = "DATASHARE_OIDC_ISSUER"
	envOIDCClientID      = "DATASHARE_OIDC_CLIENT_ID"
	envOIDCSecret        = "DATASHARE_OIDC_CLIENT_SECRET"
	envOIDCName          = "DATASHARE_OIDC_NAME"
	envOIDCPasswords     = "DATASHARE_OIDC_PASSWORDS"
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
func loadConfig(name string, args []string, getenv func(string) string, stdout io.Writer) (Config, error) {
	cfg, rest, err := loadConfigWith(name, args, getenv, stdout, nil)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("datashare %s: unexpected argument %q", name, rest[0])
	}
	return cfg, err
}

// loadConfigWith is loadConfig for a sub-command with options of its own,
// which extra defines, and arguments besides flags, which it returns; flags
// may come before or after those arguments. A command reads only the
// settings of its groups (commands); the others keep their defaults, so a
// variable meant for the service cannot break a one-off command. On -h it
// prints the command's help to stdout and returns flag.ErrHelp.
func loadConfigWith(name string, args []string, getenv func(string) string, stdout io.Writer, extra func(*flag.FlagSet)) (Config, []string, error) {
	cmd, ok := commands[name]
	if !ok {
		return Config{}, nil, fmt.Errorf("unknown command %q", name)
	}
	fs := flag.NewFlagSet("datashare "+name, flag.ContinueOnError)
	// Errors are returned, not printed: main prints each once.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	raw := map[string]*string{}
	for _, s := range settings {
		v := s.def
		raw[s.flag] = &v
		if cmd.uses&s.group != 0 {
			fs.StringVar(raw[s.flag], s.flag, orDefault(getenv(s.env), s.def), s.usage)
		}
	}
	var cfg Config
	if cmd.uses&service != 0 {
		fs.BoolVar(&cfg.Demo, "demo", false, "seed demo agencies, users and requests into an empty database and print a demo password and API tokens")
	}
	if extra != nil {
		extra(fs)
	}
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printHelp(stdout, name, cmd, fs)
				return Config{}, nil, err
			}
			return Config{}, nil, fmt.Errorf("%w; \"datashare %s -h\" lists its flags", err, name)
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if cmd.uses&service != 0 {
		cfg.AdminEmail = strings.TrimSpace(getenv(envAdminEmail))
		cfg.AdminToken = getenv(envAdminToken)
		cfg.OIDC.ClientSecret = getenv(envOIDCSecret)
	}
	err := cfg.parse(raw)
	if cfg.Demo && getenv(envAddr) == "" && !isSet(fs, "addr") {
		// The demo prints an admin's token: it stays on this computer
		// unless an address is asked for.
		cfg.Addr = demoAddr
	}
	return cfg, rest, err
}

// parse reads and checks the settings' text, raw by flag name, into cfg, and
// reports every problem at once.
func (cfg *Config) parse(raw map[string]*string) error {
	cfg.DB, cfg.LogFormat, cfg.MailFrom, cfg.BaseURL = *raw["db"], *raw["log-format"], *raw["mail-from"], *raw["base-url"]
	cfg.CheckSchedule, cfg.DigestSchedule, cfg.Addr = *raw["sla-check-schedule"], *raw["digest-schedule"], *raw["addr"]
	cfg.MetricsAddr, cfg.StatementSchedule = *raw["metrics-addr"], *raw["statement-schedule"]
	approvals, level, tz, hours := *raw["approvals"], *raw["log-level"], *raw["tz"], *raw["working-hours"]
	target, warn, smtpURL, attempts := *raw["sla-target-days"], *raw["sla-warn-days"], *raw["smtp-url"], *raw["notify-max-attempts"]
	idle, lifetime, shutdown := *raw["session-idle-timeout"], *raw["session-lifetime"], *raw["shutdown-timeout"]
	allow := *raw["webhook-allow"]
	cfg.OIDC.Issuer, cfg.OIDC.ClientID, cfg.OIDC.Label = *raw["oidc-issuer"], *raw["oidc-client-id"], *raw["oidc-name"]
	passwords := *raw["oidc-passwords"]
	connect, statement := *raw["db-connect-timeout"], *raw["db-statement-timeout"]
	var errs []error
	var err error
	if cfg.DBTimeouts.ConnectTimeout, err = time.ParseDuration(connect); err != nil || cfg.DBTimeouts.ConnectTimeout < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("%s: want a duration of at least 100ms, like 5s, got %q", envDBConnect, connect))
	}
	if cfg.DBTimeouts.StatementTimeout, err = time.ParseDuration(statement); err != nil || cfg.DBTimeouts.StatementTimeout < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("%s: want a duration of at least 100ms, like 10s, got %q", envDBStatement, statement))
	}
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
	if cfg.WebhookAllow, err = notifications.ParseAllowList(allow); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", envWebhookAllow, err))
	}
	if _, err := cron.ParseStandard(cfg.CheckSchedule); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", envSchedule, err))
	}
	if _, err := cron.ParseStandard(cfg.DigestSchedule); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", envDigestSchedule, err))
	}
	if _, err := cron.ParseStandard(cfg.StatementSchedule); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", envStatementSchedule, err))
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
	if (cfg.AdminEmail == "") != (cfg.AdminToken == "") {
		errs = append(errs, fmt.Errorf("set both %s and %s, or neither", envAdminEmail, envAdminToken))
	}
	if cfg.AdminToken != "" && len(cfg.AdminToken) < accounts.MinTokenLength {
		errs = append(errs, fmt.Errorf("%s must be at least %d characters", envAdminToken, accounts.MinTokenLength))
	}
	if cfg.DB == "" {
		errs = append(errs, fmt.Errorf("%s must not be empty", envDB))
	}
	if err := checkMetricsAddr(cfg.MetricsAddr, cfg.Addr); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", envMetricsAddr, err))
	}
	errs = append(errs, cfg.OIDC.parse(passwords)...)
	return errors.Join(errs...)
}

// parse checks the single sign-on settings, given the text of
// DATASHARE_OIDC_PASSWORDS.
func (o *OIDC) parse(passwords string) []error {
	var errs []error
	switch passwords {
	case "on":
		o.Passwords = true
	case "off":
	default:
		errs = append(errs, fmt.Errorf("%s: want on or off, got %q", envOIDCPasswords, passwords))
	}
	if o.Issuer == "" {
		if o.ClientID != "" || o.ClientSecret != "" {
			errs = append(errs, fmt.Errorf("%s and %s need %s, the identity provider's address", envOIDCClientID, envOIDCSecret, envOIDCIssuer))
		}
		if passwords == "off" {
			errs = append(errs, fmt.Errorf("%s=off needs single sign-on (%s): without either nobody could sign in to the pages", envOIDCPasswords, envOIDCIssuer))
		}
		return errs
	}
	if u, err := url.Parse(o.Issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("%s: want the identity provider's http(s) issuer address, got %q", envOIDCIssuer, o.Issuer))
	}
	if o.ClientID == "" || o.ClientSecret == "" {
		errs = append(errs, fmt.Errorf("%s needs %s and %s, as registered with the identity provider", envOIDCIssuer, envOIDCClientID, envOIDCSecret))
	}
	if strings.TrimSpace(o.Label) == "" {
		errs = append(errs, fmt.Errorf("%s must not be empty", envOIDCName))
	}
	return errs
}

// checkMetricsAddr accepts an empty address (no metrics) or a host:port
// other than the service's: the figures are for the operators' network
// only, never for the public address.
func checkMetricsAddr(metrics, addr string) error {
	if metrics == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(metrics)
	if err != nil || port == "" {
		return fmt.Errorf("want host:port, like 127.0.0.1:9090, got %q", metrics)
	}
	if ahost, aport, err := net.SplitHostPort(addr); err == nil && aport == port && port != "0" && (host == ahost || isAny(host) || isAny(ahost)) {
		return fmt.Errorf("%q is the service's own address (%s); the metrics need a listener of their own", metrics, envAddr)
	}
	return nil
}

// isAny reports whether host listens on every interface.
func isAny(host string) bool {
	ip := net.ParseIP(host)
	return host == "" || ip != nil && ip.IsUnspecified()
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
		slog.String("metrics_addr", orDefault(c.MetricsAddr, "(none: no metrics)")),
		slog.String("db", maskDSN(c.DB)),
		slog.Duration("db_connect_timeout", c.DBTimeouts.ConnectTimeout),
		slog.Duration("db_statement_timeout", c.DBTimeouts.StatementTimeout),
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
		slog.String("statement_schedule", c.StatementSchedule),
		slog.String("smtp_url", smtpRedacted(c.SMTP)),
		slog.String("mail_from", c.MailFrom),
		slog.String("base_url", c.BaseURL),
		slog.Int("notify_max_attempts", c.MaxAttempts),
		slog.String("webhook_allow", orDefault(c.WebhookAllow.String(), "(none: public addresses only)")),
		slog.Duration("session_idle_timeout", c.SessionIdle),
		slog.Duration("session_lifetime", c.SessionLifetime),
		slog.String("oidc_issuer", orDefault(c.OIDC.Issuer, "(none: no single sign-on)")),
		slog.String("oidc_client_id", c.OIDC.ClientID),
		slog.String("oidc_client_secret", mask(c.OIDC.ClientSecret)),
		slog.String("oidc_name", c.OIDC.Label),
		slog.Bool("oidc_passwords", c.OIDC.Passwords),
	)
}

func smtpRedacted(c *notifications.SMTP) string {
	if c == nil {
		return "(none: email deliveries are skipped)"
	}
	return c.Redacted()
}

// figures are the settings that a deployment's figures depend on, among
// those of the groups uses, each as the configuration prints it: what the
// service stores at its start and a command must share with it.
func (c Config) figures(uses group) []deployment.Setting {
	values := map[string]string{
		envTZ:           c.Location.String(),
		envWorkingHours: c.Hours.String(),
		envTarget:       strconv.FormatFloat(c.SLA.Target, 'g', -1, 64),
		envWarn:         strconv.FormatFloat(c.SLA.Warn, 'g', -1, 64),
		envApprovals:    c.Approvals.String(),
	}
	var out []deployment.Setting
	for _, s := range settings {
		if v, ok := values[s.env]; ok && s.group&uses != 0 {
			out = append(out, deployment.Setting{Name: s.env, Value: v})
		}
	}
	return out
}

// Web is the pages' share of the configuration: over https, cookies are
// Secure and answers carry Strict-Transport-Security. p is the discovered
// identity provider, nil without single sign-on.
func (c Config) Web(p *sso.Provider) web.Settings {
	return web.Settings{Secure: strings.HasPrefix(c.BaseURL, "https://"), IdleTimeout: c.SessionIdle, Lifetime: c.SessionLifetime,
		SSO: web.SSO{Provider: p, Label: c.OIDC.Label, NoPasswords: !c.OIDC.Passwords}}
}

// SSO is how datashare is known to the identity provider; the redirect
// address is the callback page under BASE_URL.
func (c Config) SSO() sso.Config {
	return sso.Config{Issuer: c.OIDC.Issuer, ClientID: c.OIDC.ClientID, ClientSecret: c.OIDC.ClientSecret,
		RedirectURL: strings.TrimSuffix(c.BaseURL, "/") + "/auth/oidc/callback"}
}
