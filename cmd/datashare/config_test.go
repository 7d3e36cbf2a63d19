package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := loadConfig("serve", nil, envOf(nil), io.Discard)
	if err != nil {
		t.Fatalf("loadConfig with no flags and no environment: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"addr", cfg.Addr, ":8080"},
		{"metrics addr (none)", cfg.MetricsAddr, ""},
		{"db", cfg.DB, "datashare.db"},
		{"db connect timeout", cfg.DBTimeouts.ConnectTimeout, 5 * time.Second},
		{"db statement timeout", cfg.DBTimeouts.StatementTimeout, 10 * time.Second},
		{"demo", cfg.Demo, false},
		{"admin email", cfg.AdminEmail, ""},
		{"admin token", cfg.AdminToken, ""},
		{"approvals", cfg.Approvals.String(), "confidential=2,official-closed=1,official-open=1,restricted=2"},
		{"log format", cfg.LogFormat, "text"},
		{"log level", cfg.LogLevel, slog.LevelInfo},
		{"shutdown timeout", cfg.ShutdownTimeout, 30 * time.Second},
		{"time zone", cfg.Location.String(), "Asia/Singapore"},
		{"working hours", cfg.Hours.String(), "mon-thu 08:30-18:00; fri 08:30-17:30"},
		{"sla target", cfg.SLA.Target, 7.0},
		{"sla warning", cfg.SLA.Warn, 5.0},
		{"sla check schedule", cfg.CheckSchedule, "*/15 * * * *"},
		{"digest schedule", cfg.DigestSchedule, "0 8 * * *"},
		{"smtp (none)", cfg.SMTP == nil, true},
		{"mail from", cfg.MailFrom, "datashare <no-reply@datashare.gov.sg>"},
		{"base url", cfg.BaseURL, "http://localhost:8080"},
		{"notify max attempts", cfg.MaxAttempts, 10},
		{"webhook allow (none)", cfg.WebhookAllow.String(), ""},
		{"oidc issuer (none)", cfg.OIDC.Issuer, ""},
		{"oidc button", cfg.OIDC.Label, "Sign in with your agency account"},
		{"oidc passwords on", cfg.OIDC.Passwords, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("default %s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

var fullEnv = map[string]string{
	"DATASHARE_ADDR":                 "127.0.0.1:9000",
	"DATASHARE_METRICS_ADDR":         "10.1.2.3:9464",
	"DATASHARE_DB":                   "/var/lib/datashare/env.db",
	"DATASHARE_ADMIN_EMAIL":          "  admin@tech.gov.sg ",
	"DATASHARE_ADMIN_TOKEN":          "env-token-0123456789abcdefghijklmnopq",
	"DATASHARE_APPROVALS":            "restricted=3, Confidential=4",
	"DATASHARE_LOG_FORMAT":           "json",
	"DATASHARE_LOG_LEVEL":            "debug",
	"DATASHARE_SHUTDOWN_TIMEOUT":     "5s",
	"DATASHARE_DB_CONNECT_TIMEOUT":   "2s",
	"DATASHARE_DB_STATEMENT_TIMEOUT": "30s",
	"DATASHARE_TZ":                   "Asia/Tokyo",
	"DATASHARE_WORKING_HOURS":        "mon-fri 09:00-17:00",
	"DATASHARE_SLA_TARGET_DAYS":      "10",
	"DATASHARE_SLA_WARN_DAYS":        "8.5",
	"DATASHARE_SLA_CHECK_SCHEDULE":   "0 * * * *",
	"DATASHARE_DIGEST_SCHEDULE":      "30 7 * * *",
	"DATASHARE_SMTP_URL":             "smtps://mailer:env-smtp-pass@mail.tech.gov.sg",
	"DATASHARE_MAIL_FROM":            "Data sharing <datashare@tech.gov.sg>",
	"DATASHARE_BASE_URL":             "https://datashare.tech.gov.sg",
	"DATASHARE_NOTIFY_MAX_ATTEMPTS":  "3",
	"DATASHARE_WEBHOOK_ALLOW":        "10.0.0.0/8, 127.0.0.1:9000",
	"DATASHARE_SESSION_IDLE_TIMEOUT": "15m",
	"DATASHARE_SESSION_LIFETIME":     "8h",
	"DATASHARE_OIDC_ISSUER":          "https://idp.tech.gov.sg/realms/agency",
	"DATASHARE_OIDC_CLIENT_ID":       "datashare-prod",
	"DATASHARE_OIDC_CLIENT_SECRET":   "env-oidc-secret",
	"DATASHARE_OIDC_NAME":            "Sign in with TechPass",
	"DATASHARE_OIDC_PASSWORDS":       "off",
}

func TestLoadConfigFromEnvironment(t *testing.T) {
	cfg, err := loadConfig("serve", nil, envOf(fullEnv), io.Discard)
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"addr", cfg.Addr, "127.0.0.1:9000"},
		{"metrics addr", cfg.MetricsAddr, "10.1.2.3:9464"},
		{"db", cfg.DB, "/var/lib/datashare/env.db"},
		{"admin email (trimmed)", cfg.AdminEmail, "admin@tech.gov.sg"},
		{"admin token", cfg.AdminToken, "env-token-0123456789abcdefghijklmnopq"},
		{"restricted approvals", cfg.Approvals.Approvals["restricted"], 3},
		{"confidential approvals", cfg.Approvals.Approvals["confidential"], 4},
		{"official-open approvals (default kept)", cfg.Approvals.Approvals["official-open"], 1},
		{"log format", cfg.LogFormat, "json"},
		{"log level", cfg.LogLevel, slog.LevelDebug},
		{"shutdown timeout", cfg.ShutdownTimeout, 5 * time.Second},
		{"db connect timeout", cfg.DBTimeouts.ConnectTimeout, 2 * time.Second},
		{"db statement timeout", cfg.DBTimeouts.StatementTimeout, 30 * time.Second},
		{"time zone", cfg.Location.String(), "Asia/Tokyo"},
		{"working hours", cfg.Hours.String(), "mon-fri 09:00-17:00"},
		{"sla target", cfg.SLA.Target, 10.0},
		{"sla warning", cfg.SLA.Warn, 8.5},
		{"sla check schedule", cfg.CheckSchedule, "0 * * * *"},
		{"digest schedule", cfg.DigestSchedule, "30 7 * * *"},
		{"smtp host", cfg.SMTP.Host, "mail.tech.gov.sg"},
		{"smtp port (smtps default)", cfg.SMTP.Port, 465},
		{"smtp password", cfg.SMTP.Password, "env-smtp-pass"},
		{"mail from", cfg.MailFrom, "Data sharing <datashare@tech.gov.sg>"},
		{"base url", cfg.BaseURL, "https://datashare.tech.gov.sg"},
		{"notify max attempts", cfg.MaxAttempts, 3},
		{"webhook allow", cfg.WebhookAllow.String(), "10.0.0.0/8,127.0.0.1/32:9000"},
		{"session idle timeout", cfg.SessionIdle, 15 * time.Minute},
		{"session lifetime", cfg.SessionLifetime, 8 * time.Hour},
		{"secure cookies (https base url)", cfg.Web(nil).Secure, true},
		{"oidc issuer", cfg.OIDC.Issuer, "https://idp.tech.gov.sg/realms/agency"},
		{"oidc client id", cfg.OIDC.ClientID, "datashare-prod"},
		{"oidc client secret", cfg.OIDC.ClientSecret, "env-oidc-secret"},
		{"oidc button", cfg.Web(nil).SSO.Label, "Sign in with TechPass"},
		{"oidc passwords off", cfg.Web(nil).SSO.NoPasswords, true},
		{"oidc redirect address", cfg.SSO().RedirectURL, "https://datashare.tech.gov.sg/auth/oidc/callback"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s from the environment: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoadConfigFlagsBeatEnvironment(t *testing.T) {
	args := []string{
		"--addr", "127.0.0.1:9100",
		"--metrics-addr", "127.0.0.1:9101",
		"--db", "postgres://ds@db:5432/ds?sslmode=disable",
		"--demo",
		"--approvals", "restricted=5",
		"--log-format", "text",
		"--log-level", "warn",
		"--shutdown-timeout", "1m",
		"--tz", "UTC",
		"--working-hours", "sat 10:00-14:00",
		"--sla-target-days", "3",
		"--sla-warn-days", "2",
		"--sla-check-schedule", "@hourly",
		"--digest-schedule", "0 9 * * 1-5",
		"--smtp-url", "smtp://relay.internal:2525?tls=none",
		"--mail-from", "ops@tech.gov.sg",
		"--base-url", "http://127.0.0.1:9100",
		"--notify-max-attempts", "20",
		"--webhook-allow", "[fd00::/8]:443",
		"--session-idle-timeout", "5m",
		"--session-lifetime", "1h",
	}
	cfg, err := loadConfig("serve", args, envOf(fullEnv), io.Discard)
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"addr", cfg.Addr, "127.0.0.1:9100"},
		{"metrics addr", cfg.MetricsAddr, "127.0.0.1:9101"},
		{"db", cfg.DB, "postgres://ds@db:5432/ds?sslmode=disable"},
		{"demo", cfg.Demo, true},
		{"restricted approvals", cfg.Approvals.Approvals["restricted"], 5},
		{"confidential approvals (flag replaces the variable wholly)", cfg.Approvals.Approvals["confidential"], 2},
		{"log format", cfg.LogFormat, "text"},
		{"log level", cfg.LogLevel, slog.LevelWarn},
		{"shutdown timeout", cfg.ShutdownTimeout, time.Minute},
		{"time zone", cfg.Location.String(), "UTC"},
		{"working hours", cfg.Hours.String(), "sat 10:00-14:00"},
		{"sla target", cfg.SLA.Target, 3.0},
		{"sla warning", cfg.SLA.Warn, 2.0},
		{"sla check schedule", cfg.CheckSchedule, "@hourly"},
		{"digest schedule", cfg.DigestSchedule, "0 9 * * 1-5"},
		{"smtp host", cfg.SMTP.Host, "relay.internal"},
		{"smtp port", cfg.SMTP.Port, 2525},
		{"smtp tls", cfg.SMTP.TLS, "none"},
		{"mail from", cfg.MailFrom, "ops@tech.gov.sg"},
		{"base url", cfg.BaseURL, "http://127.0.0.1:9100"},
		{"notify max attempts", cfg.MaxAttempts, 20},
		{"webhook allow", cfg.WebhookAllow.String(), "[fd00::/8]:443"},
		{"session idle timeout", cfg.SessionIdle, 5 * time.Minute},
		{"session lifetime", cfg.SessionLifetime, time.Hour},
		{"cookies not secure (http base url)", cfg.Web(nil).Secure, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v from the flag", c.name, c.got, c.want)
		}
	}
}

func TestLoadConfigMigrateIgnoresServeSettings(t *testing.T) {
	env := map[string]string{
		"DATASHARE_DB":                 "m.db",
		"DATASHARE_ADDR":               "not an address",
		"DATASHARE_SHUTDOWN_TIMEOUT":   "never",
		"DATASHARE_SLA_CHECK_SCHEDULE": "whenever",
		"DATASHARE_DIGEST_SCHEDULE":    "whenever",
	}
	cfg, err := loadConfig("migrate", nil, envOf(env), io.Discard)
	if err != nil {
		t.Fatalf("migrate with serve-only variables set badly: got %v, want nil", err)
	}
	if cfg.DB != "m.db" {
		t.Errorf("migrate db: got %q, want %q", cfg.DB, "m.db")
	}
	if _, err := loadConfig("migrate", []string{"--demo"}, envOf(nil), io.Discard); err == nil {
		t.Errorf("migrate --demo: got nil, want an unknown-flag error")
	}
}

func TestLoadConfigRejects(t *testing.T) {
	longToken := strings.Repeat("x", 32)
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string // in the error
	}{
		{"approvals without a count", nil, map[string]string{"DATASHARE_APPROVALS": "restricted"}, "DATASHARE_APPROVALS"},
		{"approvals of zero", []string{"--approvals", "restricted=0"}, nil, "DATASHARE_APPROVALS"},
		{"approvals over ten", nil, map[string]string{"DATASHARE_APPROVALS": "restricted=11"}, "DATASHARE_APPROVALS"},
		{"unknown log level", nil, map[string]string{"DATASHARE_LOG_LEVEL": "loud"}, "DATASHARE_LOG_LEVEL"},
		{"unknown log format", []string{"--log-format", "xml"}, nil, `DATASHARE_LOG_FORMAT: want text or json, got "xml"`},
		{"shutdown timeout not a duration", nil, map[string]string{"DATASHARE_SHUTDOWN_TIMEOUT": "30"}, "DATASHARE_SHUTDOWN_TIMEOUT"},
		{"shutdown timeout of zero", []string{"--shutdown-timeout", "0s"}, nil, "DATASHARE_SHUTDOWN_TIMEOUT"},
		{"db connect timeout not a duration", nil, map[string]string{"DATASHARE_DB_CONNECT_TIMEOUT": "5"}, "DATASHARE_DB_CONNECT_TIMEOUT"},
		{"db connect timeout of zero", []string{"--db-connect-timeout", "0s"}, nil, "DATASHARE_DB_CONNECT_TIMEOUT"},
		{"db statement timeout not a duration", []string{"--db-statement-timeout", "ten"}, nil, "DATASHARE_DB_STATEMENT_TIMEOUT"},
		{"db statement timeout under 100ms", nil, map[string]string{"DATASHARE_DB_STATEMENT_TIMEOUT": "10ms"}, "DATASHARE_DB_STATEMENT_TIMEOUT"},
		{"session idle timeout under a minute", []string{"--session-idle-timeout", "30s"}, nil, "DATASHARE_SESSION_IDLE_TIMEOUT"},
		{"session lifetime shorter than the idle timeout", nil, map[string]string{"DATASHARE_SESSION_LIFETIME": "10m"}, "DATASHARE_SESSION_LIFETIME"},
		{"negative shutdown timeout", []string{"--shutdown-timeout", "-5s"}, nil, "DATASHARE_SHUTDOWN_TIMEOUT"},
		{"admin email without token", nil, map[string]string{"DATASHARE_ADMIN_EMAIL": "a@tech.gov.sg"}, "set both DATASHARE_ADMIN_EMAIL and DATASHARE_ADMIN_TOKEN, or neither"},
		{"admin token without email", nil, map[string]string{"DATASHARE_ADMIN_TOKEN": longToken}, "set both DATASHARE_ADMIN_EMAIL and DATASHARE_ADMIN_TOKEN, or neither"},
		{"admin email of blanks", nil, map[string]string{"DATASHARE_ADMIN_EMAIL": "   ", "DATASHARE_ADMIN_TOKEN": longToken}, "set both"},
		{"admin token of 31 characters", nil, map[string]string{"DATASHARE_ADMIN_EMAIL": "a@tech.gov.sg", "DATASHARE_ADMIN_TOKEN": longToken[:31]}, "DATASHARE_ADMIN_TOKEN must be at least 32 characters"},
		{"unknown time zone", nil, map[string]string{"DATASHARE_TZ": "Asia/Atlantis"}, `DATASHARE_TZ: unknown time zone "Asia/Atlantis"`},
		{"unreadable working hours", []string{"--working-hours", "weekdays 9-5"}, nil, "DATASHARE_WORKING_HOURS"},
		{"no working day at all", nil, map[string]string{"DATASHARE_WORKING_HOURS": "mon 18:00-09:00"}, "DATASHARE_WORKING_HOURS"},
		{"sla target not a number", nil, map[string]string{"DATASHARE_SLA_TARGET_DAYS": "seven"}, "DATASHARE_SLA_TARGET_DAYS: want a number of working days"},
		{"sla warning not a number", []string{"--sla-warn-days", "five"}, nil, "DATASHARE_SLA_WARN_DAYS: want a number of working days"},
		{"sla target of zero", []string{"--sla-target-days", "0"}, nil, "DATASHARE_SLA_TARGET_DAYS/DATASHARE_SLA_WARN_DAYS"},
		{"sla warning at the target", nil, map[string]string{"DATASHARE_SLA_TARGET_DAYS": "5", "DATASHARE_SLA_WARN_DAYS": "5"}, "DATASHARE_SLA_TARGET_DAYS/DATASHARE_SLA_WARN_DAYS"},
		{"unreadable sla check schedule", nil, map[string]string{"DATASHARE_SLA_CHECK_SCHEDULE": "every quarter hour"}, "DATASHARE_SLA_CHECK_SCHEDULE"},
		{"unreadable digest schedule", []string{"--digest-schedule", "daily at eight"}, nil, "DATASHARE_DIGEST_SCHEDULE"},
		{"smtp url of another scheme", nil, map[string]string{"DATASHARE_SMTP_URL": "http://mail.tech.gov.sg"}, "DATASHARE_SMTP_URL"},
		{"smtp url without host", []string{"--smtp-url", "mail.tech.gov.sg"}, nil, "DATASHARE_SMTP_URL"},
		{"smtp port not a number", nil, map[string]string{"DATASHARE_SMTP_URL": "smtp://mail.tech.gov.sg:smtp"}, "DATASHARE_SMTP_URL"},
		{"unknown smtp tls mode", nil, map[string]string{"DATASHARE_SMTP_URL": "smtp://mail.tech.gov.sg?tls=maybe"}, "DATASHARE_SMTP_URL"},
		{"mail from not an address", []string{"--mail-from", "datashare"}, nil, `DATASHARE_MAIL_FROM: "datashare" is not an email address`},
		{"base url without scheme", nil, map[string]string{"DATASHARE_BASE_URL": "datashare.tech.gov.sg"}, "DATASHARE_BASE_URL: want an http(s) address"},
		{"base url of another scheme", []string{"--base-url", "ftp://datashare.tech.gov.sg"}, nil, "DATASHARE_BASE_URL"},
		{"notify attempts not a number", nil, map[string]string{"DATASHARE_NOTIFY_MAX_ATTEMPTS": "many"}, "DATASHARE_NOTIFY_MAX_ATTEMPTS"},
		{"notify attempts of zero", []string{"--notify-max-attempts", "0"}, nil, "DATASHARE_NOTIFY_MAX_ATTEMPTS"},
		{"notify attempts over a hundred", nil, map[string]string{"DATASHARE_NOTIFY_MAX_ATTEMPTS": "101"}, "DATASHARE_NOTIFY_MAX_ATTEMPTS"},
		{"webhook allow of a name", nil, map[string]string{"DATASHARE_WEBHOOK_ALLOW": "intranet.gov.sg"}, `DATASHARE_WEBHOOK_ALLOW: "intranet.gov.sg": not an address or an address range; write ranges like 10.0.0.0/8,127.0.0.1/32:9000`},
		{"webhook allow with host bits", []string{"--webhook-allow", "10.1.2.3/8"}, nil, "DATASHARE_WEBHOOK_ALLOW: \"10.1.2.3/8\": 10.1.2.3/8 is not the start of its range; did you mean 10.0.0.0/8?"},
		{"webhook allow with a bad port", nil, map[string]string{"DATASHARE_WEBHOOK_ALLOW": "127.0.0.1/32:99999"}, "DATASHARE_WEBHOOK_ALLOW"},
		{"empty database", []string{"--db", ""}, nil, "DATASHARE_DB must not be empty"},
		{"metrics address without a port", nil, map[string]string{"DATASHARE_METRICS_ADDR": "127.0.0.1"}, "DATASHARE_METRICS_ADDR: want host:port"},
		{"metrics address of another form", []string{"--metrics-addr", "http://127.0.0.1:9090"}, nil, "DATASHARE_METRICS_ADDR: want host:port"},
		{"metrics on the service's address", []string{"--addr", "127.0.0.1:8080", "--metrics-addr", "127.0.0.1:8080"}, nil, "the service's own address"},
		{"metrics on the service's port of every interface", []string{"--metrics-addr", "127.0.0.1:8080"}, nil, "the service's own address"},
		{"metrics on every interface at the service's port", nil, map[string]string{"DATASHARE_ADDR": "10.0.0.5:8080", "DATASHARE_METRICS_ADDR": ":8080"}, "the service's own address"},
		{"oidc issuer without client", []string{"--oidc-issuer", "https://idp.tech.gov.sg"}, nil, "DATASHARE_OIDC_ISSUER needs DATASHARE_OIDC_CLIENT_ID and DATASHARE_OIDC_CLIENT_SECRET"},
		{"oidc issuer without secret", []string{"--oidc-issuer", "https://idp.tech.gov.sg", "--oidc-client-id", "datashare"}, nil, "DATASHARE_OIDC_ISSUER needs DATASHARE_OIDC_CLIENT_ID and DATASHARE_OIDC_CLIENT_SECRET"},
		{"oidc issuer not an address", nil, map[string]string{"DATASHARE_OIDC_ISSUER": "idp.tech.gov.sg", "DATASHARE_OIDC_CLIENT_ID": "ds", "DATASHARE_OIDC_CLIENT_SECRET": "s"}, `DATASHARE_OIDC_ISSUER: want the identity provider's http(s) issuer address, got "idp.tech.gov.sg"`},
		{"oidc client without issuer", nil, map[string]string{"DATASHARE_OIDC_CLIENT_ID": "ds", "DATASHARE_OIDC_CLIENT_SECRET": "s"}, "need DATASHARE_OIDC_ISSUER"},
		{"oidc button without a label", []string{"--oidc-name", " "}, map[string]string{"DATASHARE_OIDC_ISSUER": "https://idp.tech.gov.sg", "DATASHARE_OIDC_CLIENT_ID": "ds", "DATASHARE_OIDC_CLIENT_SECRET": "s"}, "DATASHARE_OIDC_NAME must not be empty"},
		{"oidc passwords neither on nor off", []string{"--oidc-passwords", "no"}, nil, `DATASHARE_OIDC_PASSWORDS: want on or off, got "no"`},
		{"passwords off without single sign-on", nil, map[string]string{"DATASHARE_OIDC_PASSWORDS": "off"}, "DATASHARE_OIDC_PASSWORDS=off needs single sign-on"},
		{"stray argument", []string{"now"}, nil, `unexpected argument "now"`},
		{"unknown flag", []string{"--port", "80"}, nil, "port"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			_, err := loadConfig("serve", tc.args, envOf(tc.env), &stderr)
			if err == nil {
				t.Fatalf("got nil, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadConfigReportsEveryProblemAtOnce(t *testing.T) {
	env := map[string]string{"DATASHARE_LOG_LEVEL": "loud", "DATASHARE_LOG_FORMAT": "xml", "DATASHARE_ADMIN_TOKEN": "short"}
	_, err := loadConfig("serve", nil, envOf(env), io.Discard)
	if err == nil {
		t.Fatal("got nil, want errors")
	}
	for _, want := range []string{"DATASHARE_LOG_LEVEL", "DATASHARE_LOG_FORMAT", "set both", "at least 32 characters"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestConfigLogValueMasksSecrets(t *testing.T) {
	const (
		token        = "admin-token-that-must-never-be-logged-42"
		password     = "pg-pass-w0rd"
		smtpPassword = "smtp-pass-w0rd"
		clientSecret = "oidc-client-secret-9f8e"
	)
	cfg, err := loadConfig("serve", []string{
		"--db", "postgres://datashare:" + password + "@postgres:5432/datashare?sslmode=disable",
		"--smtp-url", "smtp://mailer:" + smtpPassword + "@mail.tech.gov.sg:587",
		"--oidc-issuer", "https://idp.tech.gov.sg", "--oidc-client-id", "datashare-prod",
	},
		envOf(map[string]string{"DATASHARE_ADMIN_EMAIL": "admin@tech.gov.sg", "DATASHARE_ADMIN_TOKEN": token,
			"DATASHARE_OIDC_CLIENT_SECRET": clientSecret}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		cfg.LogFormat = format
		newLogger(cfg, &buf).Info("starting", "config", cfg)
		out := buf.String()
		for _, secret := range []string{token, password, smtpPassword, clientSecret} {
			if strings.Contains(out, secret) {
				t.Errorf("%s log shows the secret %q:\n%s", format, secret, out)
			}
		}
		for _, want := range []string{"admin@tech.gov.sg", "postgres://datashare:********@postgres:5432/datashare?sslmode=disable",
			"smtp://mailer:********@mail.tech.gov.sg:587", "********", "https://idp.tech.gov.sg", "datashare-prod"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s log lacks %q:\n%s", format, want, out)
			}
		}
	}
}

func TestMaskDSN(t *testing.T) {
	cases := []struct{ in, want string }{
		{"datashare.db", "datashare.db"},
		{"/data/datashare.db", "/data/datashare.db"},
		{"postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"},
		{"postgres://ds:secret@db:5432/ds", "postgres://ds:********@db:5432/ds"},
		{"postgresql://ds:secret@db/ds?sslmode=require", "postgresql://ds:********@db/ds?sslmode=require"},
		{"postgres://ds:p@ss:w@rd@db/ds", "postgres://ds:********@db/ds"},
		{"postgres://ds:@db/ds", "postgres://ds:********@db/ds"},
		{"postgres://ds@db/ds?password=secret&sslmode=disable", "postgres://ds@db/ds?password=********&sslmode=disable"},
	}
	for _, tc := range cases {
		if got := maskDSN(tc.in); got != tc.want {
			t.Errorf("maskDSN(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskHidesAnyTokenButShowsAbsence(t *testing.T) {
	if got := mask(""); got != "" {
		t.Errorf("mask of no token: got %q, want empty", got)
	}
	if got := mask("abc"); got != "********" {
		t.Errorf("mask of a token: got %q, want ********", got)
	}
}

// A command reads only the variables of the settings it uses: a bad value
// meant for another command does not stop it, a bad value of its own does.
func TestLoadConfigReadsOnlyTheCommandsSettings(t *testing.T) {
	serveOnly := map[string]string{
		envSMTP: "http://not-smtp", envMailFrom: "nobody", envBaseURL: "ftp://x", envMaxAttempts: "0",
		envAdminEmail: "a@tech.gov.sg", envAdminToken: "short", envAddr: "nowhere", envSessionIdle: "1s",
	}
	cases := []struct {
		command string
		env     map[string]string
		want    string // in the error; "" for none
	}{
		{"migrate", serveOnly, ""},
		{"migrate", map[string]string{envTZ: "Asia/Atlantis", envApprovals: "restricted", envTarget: "seven"}, ""},
		{"notifications retry", serveOnly, ""},
		{"notifications retry", map[string]string{envWorkingHours: "always"}, ""},
		{"sla check", serveOnly, ""},
		{"sla check", map[string]string{envApprovals: "restricted"}, ""},
		{"sla check", map[string]string{envTZ: "Asia/Atlantis"}, envTZ},
		{"report", serveOnly, ""},
		{"report", map[string]string{envTarget: "seven"}, envTarget},
		{"import", serveOnly, ""},
		{"import", map[string]string{envApprovals: "restricted"}, envApprovals},
		{"migrate", map[string]string{envLogLevel: "loud"}, envLogLevel},
		{"serve", map[string]string{envAdminToken: "short"}, envAdminToken},
	}
	for _, tc := range cases {
		cfg, err := loadConfig(tc.command, nil, envOf(tc.env), io.Discard)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s with %v: got %v, want nil", tc.command, tc.env, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s with %v: got %v, want an error naming %s", tc.command, tc.env, err, tc.want)
		}
		if err == nil && tc.command != "serve" && (cfg.AdminEmail != "" || cfg.BaseURL != "http://localhost:8080" || cfg.SMTP != nil) {
			t.Errorf("%s: admin %q, base url %q, smtp %v: want the defaults, not the environment", tc.command, cfg.AdminEmail, cfg.BaseURL, cfg.SMTP)
		}
	}
}

// The demo prints an admin's token, so it listens on loopback unless an
// address is asked for; without --demo the default stays every interface.
func TestLoadConfigDemoListensOnLoopbackByDefault(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"demo", []string{"--demo"}, nil, "127.0.0.1:8080"},
		{"no demo", nil, nil, ":8080"},
		{"demo with --addr", []string{"--demo", "--addr", ":9000"}, nil, ":9000"},
		{"demo with --addr before --demo", []string{"--addr", "0.0.0.0:8080", "--demo"}, nil, "0.0.0.0:8080"},
		{"demo with DATASHARE_ADDR", []string{"--demo"}, map[string]string{"DATASHARE_ADDR": ":8080"}, ":8080"},
		{"no demo with DATASHARE_ADDR", nil, map[string]string{"DATASHARE_ADDR": "10.0.0.5:80"}, "10.0.0.5:80"},
		{"demo: --addr beats DATASHARE_ADDR", []string{"--demo", "--addr", "127.0.0.1:0"}, map[string]string{"DATASHARE_ADDR": ":8080"}, "127.0.0.1:0"},
	} {
		cfg, err := loadConfig("serve", tc.args, envOf(tc.env), io.Discard)
		if err != nil {
			t.Errorf("%s: loadConfig %q: %v", tc.name, tc.args, err)
			continue
		}
		if cfg.Addr != tc.want {
			t.Errorf("%s: listen address got %q, want %q", tc.name, cfg.Addr, tc.want)
		}
	}
}

// TestREADMEConfigurationTableListsEverySetting: each setting has its row
// in the README's configuration table, with its flag, its variable and its
// default, and the table lists no setting that does not exist.
func TestREADMEConfigurationTableListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "\n## Configuration\n")
	section, _, _ = strings.Cut(section, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `--([a-z-]+)` \\| `(DATASHARE_[A-Z_]+)` \\| ([^|]*) \\|")
	rows := map[string][2]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		rows[m[1]] = [2]string{m[2], strings.TrimSpace(m[3])}
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.flag] = true
		r, ok := rows[s.flag]
		if !ok {
			t.Errorf("README's configuration table has no row for --%s", s.flag)
			continue
		}
		if r[0] != s.env {
			t.Errorf("README row of --%s: variable %s, want %s", s.flag, r[0], s.env)
		}
		if s.def != "" && !strings.Contains(r[1], "`"+s.def+"`") && !strings.Contains(r[1], "`"+commaSorted(s.def, r[1])+"`") {
			t.Errorf("README row of --%s: default %s, want `%s`", s.flag, r[1], s.def)
		}
		if s.def == "" && !strings.HasPrefix(r[1], "—") {
			t.Errorf("README row of --%s: default %s, want — (none)", s.flag, r[1])
		}
	}
	for flag := range rows {
		if !known[flag] {
			t.Errorf("README's configuration table lists --%s, which is no setting", flag)
		}
	}
}

// commaSorted returns def with its comma-separated items in the order the
// first code span of text has them, when both hold the same items: the
// README may list the approvals in a reader's order.
func commaSorted(def, text string) string {
	_, span, _ := strings.Cut(text, "`")
	span, _, _ = strings.Cut(span, "`")
	a, b := strings.Split(def, ","), strings.Split(span, ",")
	slices.Sort(a)
	slices.Sort(b)
	if slices.Equal(a, b) {
		return span
	}
	return def
}
