package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"datashare/models"
	"datashare/models/modelstest"
)

func TestUsageOnHelpAndNoArguments(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}, {"-h"}, {"--help"}, {"-help"}} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, envOf(nil), &stdout, &stderr); err != nil {
			t.Errorf("run %q: got %v, want nil", args, err)
		}
		for name := range commands {
			if !strings.Contains(stdout.String(), "datashare "+name) {
				t.Errorf("run %q: the usage lacks %q:\n%s", args, "datashare "+name, stdout.String())
			}
		}
		if !strings.Contains(stdout.String(), `"datashare COMMAND -h"`) {
			t.Errorf("run %q: the usage does not say how to list a command's flags:\n%s", args, stdout.String())
		}
		if stderr.Len() > 0 {
			t.Errorf("run %q wrote to stderr: %q", args, stderr.String())
		}
	}
}

// helpSections splits a command's help into its options (flags of one run)
// and its settings, each setting line as printed.
func helpSections(out string) (options []string, settingLines []string, envOnly []string) {
	section := ""
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "Options of this run:"):
			section = "options"
		case strings.HasPrefix(line, "Settings "):
			section = "settings"
		case strings.HasPrefix(line, "Environment only:"):
			section = "env"
		case section == "options" && strings.HasPrefix(line, "  --"):
			options = append(options, strings.Fields(line)[0])
		case section == "settings" && strings.HasPrefix(line, "  --"):
			settingLines = append(settingLines, line)
		case section == "env" && strings.HasPrefix(line, "  DATASHARE_"):
			envOnly = append(envOnly, strings.TrimSpace(line))
		}
	}
	return options, settingLines, envOnly
}

func TestHelpOfEachCommandListsOnlyItsFlags(t *testing.T) {
	base := []string{"--db", "--db-connect-timeout", "--db-statement-timeout", "--log-format", "--log-level"}
	workdays := append(slices.Clone(base), "--tz", "--working-hours", "--sla-target-days", "--sla-warn-days")
	serve := append(slices.Clone(workdays), "--addr", "--metrics-addr", "--approvals", "--shutdown-timeout", "--sla-check-schedule",
		"--digest-schedule", "--statement-schedule", "--smtp-url", "--mail-from", "--base-url", "--notify-max-attempts", "--webhook-allow",
		"--session-idle-timeout", "--session-lifetime", "--oidc-issuer", "--oidc-client-id", "--oidc-name", "--oidc-passwords")
	cases := []struct {
		name     string
		args     []string
		settings []string
		options  []string
		envOnly  []string
	}{
		{"serve", []string{"serve", "-h"}, serve, []string{"--demo"}, []string{envAdminEmail, envAdminToken, envOIDCSecret}},
		{"serve --help", []string{"serve", "--help"}, serve, []string{"--demo"}, []string{envAdminEmail, envAdminToken, envOIDCSecret}},
		{"help serve", []string{"help", "serve"}, serve, []string{"--demo"}, []string{envAdminEmail, envAdminToken, envOIDCSecret}},
		{"migrate", []string{"migrate", "-h"}, base, nil, nil},
		{"sla check", []string{"sla", "check", "-h"}, workdays, nil, nil},
		{"sla -h", []string{"sla", "-h"}, workdays, nil, nil},
		{"report", []string{"report", "-h"}, workdays, []string{"--agency", "--format", "--from", "--group-by", "--to"}, nil},
		{"report, after its options", []string{"report", "--from", "2026-01-01", "-h"}, workdays, []string{"--agency", "--format", "--from", "--group-by", "--to"}, nil},
		{"import", []string{"import", "-h"}, append(slices.Clone(workdays), "--approvals"), nil, nil},
		{"import, after its file", []string{"import", "requests.csv", "-h"}, append(slices.Clone(workdays), "--approvals"), nil, nil},
		{"notifications retry", []string{"notifications", "retry", "-h"}, base, nil, nil},
		{"notifications retry, after the id", []string{"notifications", "retry", "12", "--help"}, base, nil, nil},
		{"notifications -h", []string{"notifications", "-h"}, base, nil, nil},
		{"audit verify", []string{"audit", "verify", "-h"}, base, nil, nil},
		{"audit export", []string{"audit", "export", "-h"}, append(slices.Clone(base), "--tz"), []string{"--from", "--to"}, nil},
		{"backup", []string{"backup", "-h"}, base, nil, nil},
		{"backup, after its file", []string{"backup", "copy.db", "-h"}, base, nil, nil},
		{"restore", []string{"restore", "-h"}, base, nil, nil},
		{"dev-oidc", []string{"dev-oidc", "-h"}, nil, []string{"--email", "--listen"}, nil},
	}
	defaults := map[string]setting{}
	for _, s := range settings {
		defaults["--"+s.flag] = s
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), tc.args, envOf(nil), &stdout, &stderr); err != nil {
				t.Fatalf("run %q: got %v, want nil (exit 0)", tc.args, err)
			}
			out := stdout.String()
			if !strings.HasPrefix(out, "Usage: datashare ") {
				t.Errorf("run %q: got %q, want the command's usage first", tc.args, out)
			}
			options, lines, envOnly := helpSections(out)
			var flags []string
			for _, line := range lines {
				f := strings.Fields(line)[0]
				flags = append(flags, f)
				s, ok := defaults[f]
				if !ok {
					t.Errorf("setting line %q: %s is not a setting", line, f)
					continue
				}
				if !strings.Contains(line, " "+s.env+" ") {
					t.Errorf("setting line %q does not name %s", line, s.env)
				}
				if !strings.Contains(line, "default "+quoteDefault(s.def)) {
					t.Errorf("setting line %q does not give the default %s", line, quoteDefault(s.def))
				}
			}
			slices.Sort(flags)
			want := slices.Sorted(slices.Values(tc.settings))
			if !slices.Equal(flags, want) {
				t.Errorf("settings listed: got %v, want %v", flags, want)
			}
			if !slices.Equal(options, tc.options) {
				t.Errorf("options listed: got %v, want %v", options, tc.options)
			}
			if !slices.Equal(envOnly, tc.envOnly) {
				t.Errorf("environment-only settings listed: got %v, want %v", envOnly, tc.envOnly)
			}
			if stderr.Len() > 0 {
				t.Errorf("run %q wrote to stderr: %q", tc.args, stderr.String())
			}
		})
	}
}

// The help must describe the parser: every flag it lists is accepted, and
// every setting it leaves out is refused.
func TestHelpMatchesTheFlagsEachCommandAccepts(t *testing.T) {
	for name, cmd := range commands {
		for _, s := range settings {
			args := append(strings.Fields(name), "--"+s.flag, s.def, "-h")
			err := run(context.Background(), args, envOf(nil), io.Discard, io.Discard)
			listed := cmd.uses&s.group != 0
			switch {
			case listed && err != nil:
				t.Errorf("run %q: got %v, want nil: the help lists --%s", args, err, s.flag)
			case !listed && (err == nil || !strings.Contains(err.Error(), s.flag)):
				t.Errorf("run %q: got %v, want an error naming %s: the help does not list it", args, err, s.flag)
			}
		}
	}
}

func TestHelpShowsBuiltInDefaultsNotTheEnvironment(t *testing.T) {
	env := map[string]string{envSMTP: "smtp://mailer:smtp-secret-42@mail.tech.gov.sg", envDB: "postgres://ds:pg-secret-42@db/ds"}
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"serve", "-h"}, envOf(env), &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"smtp-secret-42", "pg-secret-42"} {
		if strings.Contains(stdout.String(), secret) {
			t.Errorf("serve -h shows %q from the environment:\n%s", secret, stdout.String())
		}
	}
}

func TestHelpOfUnknownCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"help", "frobnicate"}, envOf(nil), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Errorf("help frobnicate: got %v, want an unknown-command error", err)
	}
}

func TestFlagErrorNamesTheCommandsHelp(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "--smtp-url", "smtp://x"}, `-smtp-url; "datashare migrate -h" lists its flags`},
		{[]string{"report", "--base-url", "http://x"}, `-base-url; "datashare report -h" lists its flags`},
		{[]string{"sla", "check", "--approvals", "restricted=3"}, `-approvals; "datashare sla check -h" lists its flags`},
		{[]string{"notifications", "retry", "--tz", "UTC", "1"}, `-tz; "datashare notifications retry -h" lists its flags`},
		{[]string{"import", "--addr", ":1", "f.csv"}, `-addr; "datashare import -h" lists its flags`},
	}
	for _, tc := range cases {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, envOf(nil), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %q: got %v, want an error containing %q", tc.args, err, tc.want)
		}
		if stdout.Len() > 0 || stderr.Len() > 0 {
			t.Errorf("run %q printed %q and %q, want only the error, which main prints once", tc.args, stdout.String(), stderr.String())
		}
	}
}

func TestFlagsOfNotificationsRetryGoBeforeOrAfterTheID(t *testing.T) {
	for _, order := range []string{"flags first", "id first"} {
		dsn := modelstest.DSN(t, models.SQLite)
		args := []string{"notifications", "retry", "--db", dsn, "7"}
		if order == "id first" {
			args = []string{"notifications", "retry", "7", "--db", dsn}
		}
		err := run(context.Background(), args, envOf(nil), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "delivery 7 not found") {
			t.Errorf("%s, run %q: got %v, want delivery 7 not found", order, args, err)
		}
	}
	for _, args := range [][]string{{"notifications", "retry"}, {"notifications", "retry", "1", "2"}, {"notifications"}, {"notifications", "resend", "1"}} {
		err := run(context.Background(), args, envOf(nil), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "usage: datashare notifications retry") {
			t.Errorf("run %q: got %v, want the usage of notifications retry", args, err)
		}
	}
}

func TestExitCodeOfHelpAndErrors(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		code   int
		stderr string
	}{
		{"success", nil, 0, ""},
		{"help asked for", flag.ErrHelp, 0, ""},
		{"help asked for, wrapped", fmt.Errorf("datashare serve: %w", flag.ErrHelp), 0, ""},
		{"an error", errors.New(`unknown command "frobnicate"`), 2, "datashare: unknown command \"frobnicate\"\n"},
	}
	for _, tc := range cases {
		var stderr bytes.Buffer
		if got := exitCode(tc.err, &stderr); got != tc.code {
			t.Errorf("%s: exit code got %d, want %d", tc.name, got, tc.code)
		}
		if stderr.String() != tc.stderr {
			t.Errorf("%s: stderr got %q, want %q", tc.name, stderr.String(), tc.stderr)
		}
	}
}

// Every command's -h answers through run without an error, so main exits 0.
func TestHelpOfEveryCommandExitsZero(t *testing.T) {
	for name := range commands {
		args := append(strings.Fields(name), "-h")
		var stdout bytes.Buffer
		err := run(context.Background(), args, envOf(nil), &stdout, io.Discard)
		if code := exitCode(err, io.Discard); code != 0 {
			t.Errorf("datashare %s: exit code got %d (error %v), want 0", strings.Join(args, " "), code, err)
		}
		if !strings.Contains(stdout.String(), "Usage: datashare "+name) {
			t.Errorf("datashare %s -h printed %q, want its usage", name, stdout.String())
		}
	}
}
