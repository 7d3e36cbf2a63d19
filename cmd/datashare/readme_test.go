package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// configRowRE is a row of the README's configuration table: its flag and
// its variable, each in backquotes or a dash.
var configRowRE = regexp.MustCompile("^\\| (`--[a-z-]+`|—) \\| (`DATASHARE_[A-Z_]+`|—) \\|")

// The README's configuration table lists every setting with its flag and
// variable in the order of settings, the settings of the environment only,
// and --demo, and nothing else.
func TestREADMEConfigurationTableMatchesSettings(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var both, envOnly, flagOnly []string
	for _, line := range strings.Split(section, "\n") {
		m := configRowRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		flag, env := strings.Trim(m[1], "`"), strings.Trim(m[2], "`")
		switch {
		case flag == "—":
			envOnly = append(envOnly, env)
		case env == "—":
			flagOnly = append(flagOnly, flag)
		default:
			both = append(both, flag+" "+env)
		}
	}
	var want, wantEnv []string
	for _, s := range settings {
		want = append(want, "--"+s.flag+" "+s.env)
	}
	for _, e := range environmentOnly {
		wantEnv = append(wantEnv, e.env)
	}
	if !slices.Equal(both, want) {
		t.Errorf("README configuration rows with a flag and a variable:\n%s\nwant, in the order of settings:\n%s", strings.Join(both, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Equal(envOnly, wantEnv) {
		t.Errorf("README configuration rows of the environment only: got %v, want %v", envOnly, wantEnv)
	}
	if !slices.Equal(flagOnly, []string{"--demo"}) {
		t.Errorf("README configuration rows of a flag only: got %v, want [--demo]", flagOnly)
	}
}
