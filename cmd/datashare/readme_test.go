package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestREADMEExamples runs every shell example of README.md, in order, as a
// reader would, and compares what each prints with what the README shows
// below it.
//
// The convention, which README.md's examples follow:
//
//   - A fenced block marked sh is an example. The fenced text or json blocks
//     that follow it, with only blank lines between, are its output, one
//     after the other; an example with none must print nothing. A line of
//     its own "…" in an output stands for any number of lines, and "…"
//     within a line for any text.
//   - The comment <!-- readme-test: skip --> on the line before a block marks
//     an illustration that is not run (Docker, a PostgreSQL address, the
//     test commands themselves).
//   - <!-- readme-test: file NAME --> before a block of any kind makes the
//     block the file NAME in the examples' folder, from there on, as a
//     reader would save it (a program the next example runs).
//   - <!-- readme-test: server --> marks an example that starts the service
//     and keeps it running ("in one terminal"): it runs in the background,
//     its output is what it printed up to its "datashare listening on" line,
//     and it is stopped, as with Ctrl-C, before the next server example and
//     at the end.
//   - <!-- readme-test: beside --> marks an example that starts a program
//     kept running beside the service (datashare dev-oidc): as a server
//     example, up to its "listening on" line, but the next server example
//     does not stop it; it is stopped at the end. Its port 9400 stands for a
//     free loopback port, as 8080 does for the service's.
//
// Each example runs in bash with -euo pipefail, in one temporary folder
// (also HOME), with the variables that the examples before it set. The
// service is this test binary, run as the program (see TestMain), on the
// PATH as datashare and in the folder as ./datashare, so that "go run
// ./cmd/datashare" and "./datashare" both mean it; it listens on a free
// loopback port, which stands in for 8080 in the commands. Its scheduled
// jobs are off, so nothing is delivered during the run. Before comparing,
// both sides have their times, tokens, passwords, request ids, dates and
// lengths in HTTP headers, and the service's address normalised.
func TestREADMEExamples(t *testing.T) {
	tools := []string{"bash", "curl", "jq", "openssl", "awk", "sed", "date"}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			msg := fmt.Sprintf("README examples need %s: %v", strings.Join(tools, ", "), err)
			if os.Getenv("DATASHARE_README_TESTS") == "required" {
				t.Fatal(msg)
			}
			t.Skip(msg + " (set DATASHARE_README_TESTS=required to fail instead)")
		}
	}
	if out, err := exec.Command("date", "-u", "-d", "12 months ago", "+%Y").Output(); err != nil || len(out) == 0 {
		t.Skip("README examples need GNU date (date -d)")
	}
	text, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples, err := parseExamples(string(text))
	if err != nil {
		t.Fatal(err)
	}
	r := newReadmeRunner(t)
	ran, skipped := 0, 0
	for _, ex := range examples {
		if ex.skip {
			skipped++
			continue
		}
		if !r.run(ex) {
			// Later examples build on this one's effects: their failures
			// would only repeat it. (A mere difference of output goes on.)
			return
		}
		ran++
	}
	t.Logf("ran %d examples of README.md; %d marked as illustrations", ran, skipped)
}

// TestMain lets this test binary stand in for the datashare binary in the
// README's examples: run with README_TEST_AS_DATASHARE=1, it is the program.
func TestMain(m *testing.M) {
	if os.Getenv("README_TEST_AS_DATASHARE") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// example is one shell block of the README with the output shown for it.
type example struct {
	line   int    // of the opening fence
	code   string // the commands, or the file's text
	want   string // the output blocks after it, joined
	skip   bool
	server bool
	beside bool   // a server example kept running beside the next ones
	file   string // the name to save code as, instead of running it
}

var fenceRE = regexp.MustCompile("^( *)```(\\w*)\\s*$")

const (
	markerSkip   = "<!-- readme-test: skip -->"
	markerServer = "<!-- readme-test: server -->"
	markerBeside = "<!-- readme-test: beside -->"
)

var markerFileRE = regexp.MustCompile(`^<!-- readme-test: file ([\w.-]+) -->$`)

// parseExamples reads the sh blocks of a markdown text and the output
// blocks that follow each, by the convention of TestREADMEExamples.
func parseExamples(md string) ([]example, error) {
	type block struct {
		line       int
		lang, body string
		marker     string
		afterBlock bool // only blank lines since the previous block closed
	}
	lines := strings.Split(md, "\n")
	var blocks []block
	lastNonBlank, sinceClose := "", -1
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			if strings.TrimSpace(lines[i]) != "" {
				lastNonBlank = strings.TrimSpace(lines[i])
				sinceClose = -1
			}
			continue
		}
		indent, lang := m[1], m[2]
		b := block{line: i + 1, lang: lang, afterBlock: sinceClose == 0}
		if lastNonBlank == markerSkip || lastNonBlank == markerServer || lastNonBlank == markerBeside || markerFileRE.MatchString(lastNonBlank) {
			b.marker = lastNonBlank
		}
		var body []string
		for i++; ; i++ {
			if i == len(lines) {
				return nil, fmt.Errorf("README.md:%d: block never closed", b.line)
			}
			if strings.TrimSpace(lines[i]) == "```" {
				break
			}
			body = append(body, strings.TrimPrefix(lines[i], indent))
		}
		b.body = strings.Join(body, "\n")
		blocks = append(blocks, b)
		lastNonBlank, sinceClose = "```", 0
	}
	var out []example
	for i := 0; i < len(blocks); i++ {
		b := blocks[i]
		if m := markerFileRE.FindStringSubmatch(b.marker); m != nil {
			out = append(out, example{line: b.line, code: b.body, file: m[1]})
			continue
		}
		if b.lang != "sh" {
			continue
		}
		ex := example{line: b.line, code: b.body, skip: b.marker == markerSkip,
			server: b.marker == markerServer || b.marker == markerBeside, beside: b.marker == markerBeside}
		var want []string
		for i+1 < len(blocks) && blocks[i+1].afterBlock && (blocks[i+1].lang == "text" || blocks[i+1].lang == "json") {
			i++
			want = append(want, blocks[i].body)
		}
		ex.want = strings.Join(want, "\n")
		out = append(out, ex)
	}
	return out, nil
}

// readmeRunner runs the examples one after the other in one folder.
type readmeRunner struct {
	t       *testing.T
	dir     string
	port    string
	idpPort string // the port of the examples' identity provider (9400)
	env     []string
	state   string     // file holding the variables the examples have set
	server  *process   // the running server example, if any
	beside  []*process // the programs running beside it
}

// process is a server example running in the background.
type process struct {
	cmd    *exec.Cmd
	exited chan error // receives its end
}

func newReadmeRunner(t *testing.T) *readmeRunner {
	dir := t.TempDir()
	if k := os.Getenv("README_TEST_KEEP"); k != "" {
		// To look into a failure: the examples' folder, kept afterwards.
		dir = k
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	shim := "#!/bin/sh\nREADME_TEST_AS_DATASHARE=1 exec '" + self + "' \"$@\"\n"
	bin := filepath.Join(dir, ".bin")
	for _, p := range []string{filepath.Join(bin, "datashare"), filepath.Join(dir, "datashare")} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(shim), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := &readmeRunner{t: t, dir: dir, port: freePort(t), idpPort: freePort(t), state: filepath.Join(bin, "state.sh")}
	r.env = []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + dir,
		"TMPDIR=" + dir,
		"LANG=C.UTF-8",
		"TZ=UTC",
		// A program of the README is run with go run: the build cache of
		// this test's own build saves compiling the standard library again.
		"GOCACHE=" + goEnv(t, "GOCACHE"),
		"GOPATH=" + goEnv(t, "GOPATH"),
		"DATASHARE_ADDR=127.0.0.1:" + r.port,
		// Never: nothing is scheduled while the examples run.
		"DATASHARE_SLA_CHECK_SCHEDULE=0 0 30 2 *",
		"DATASHARE_DIGEST_SCHEDULE=0 0 30 2 *",
	}
	t.Cleanup(func() {
		r.stopServer()
		for _, p := range r.beside {
			r.stop(p)
		}
	})
	return r
}

func goEnv(t *testing.T, name string) string {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// script is an example's commands as run: with the variables of the
// examples before it and, but for a server, saving its own for those after.
func (r *readmeRunner) script(ex example) string {
	code := strings.ReplaceAll(ex.code, "go run ./cmd/datashare", "datashare")
	for _, host := range []string{"http://127.0.0.1:8080", "http://localhost:8080"} {
		code = strings.ReplaceAll(code, host, "http://127.0.0.1:"+r.port)
	}
	code = strings.ReplaceAll(code, "127.0.0.1:9400", "127.0.0.1:"+r.idpPort)
	var s strings.Builder
	s.WriteString("set -euo pipefail\n")
	fmt.Fprintf(&s, "if [ -f %q ]; then source %q; fi\n", r.state, r.state)
	s.WriteString(code + "\n")
	if !ex.server {
		// Every variable but bash's own, for the next examples.
		fmt.Fprintf(&s, "declare -p $(compgen -v | grep -E '^[A-Za-z][A-Za-z0-9_]*$' | grep -vE '^(BASH.*|EUID|PPID|SHELLOPTS|UID|GROUPS|HOSTNAME|HOSTTYPE|IFS|MACHTYPE|OPTERR|OPTIND|OSTYPE|PS4|PWD|OLDPWD|SHLVL|LINENO|RANDOM|SECONDS|SRANDOM|EPOCHREALTIME|EPOCHSECONDS|COLUMNS|LINES|DIRSTACK|FUNCNAME|PIPESTATUS|PS1|PS2|HISTCMD|COMP_WORDBREAKS|_)$') > %q.new && mv %q.new %q\n", r.state, r.state, r.state)
	}
	return s.String()
}

func (r *readmeRunner) command(ctx context.Context, ex example) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", "-c", r.script(ex))
	cmd.Dir = r.dir
	cmd.Env = r.env
	return cmd
}

// run runs one example, comparing its output with the README's, and
// reports whether its commands succeeded.
func (r *readmeRunner) run(ex example) bool {
	t := r.t
	t.Helper()
	if ex.file != "" {
		if err := os.WriteFile(filepath.Join(r.dir, ex.file), []byte(ex.code+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return true
	}
	if ex.server {
		return r.startServer(ex)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := r.command(ctx, ex)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("README.md:%d: %v\ncommands:\n%s\noutput:\n%s", ex.line, err, ex.code, out.String())
		return false
	}
	r.compare(ex, out.String())
	return true
}

var listeningLineRE = regexp.MustCompile(`(?m)^datashare (dev-oidc )?listening on \S+\n`)

// startServer starts a server example in the background, as in a terminal
// of its own, and reports whether it came to listen.
func (r *readmeRunner) startServer(ex example) bool {
	t := r.t
	t.Helper()
	if !ex.beside {
		r.stopServer()
	}
	out := &syncBuffer{}
	cmd := r.command(context.Background(), ex)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	p := &process{cmd: cmd, exited: exited}
	if ex.beside {
		r.beside = append(r.beside, p)
	} else {
		r.server = p
	}
	deadline := time.After(startTimeout)
	for {
		if loc := listeningLineRE.FindStringIndex(out.String()); loc != nil {
			r.compare(ex, out.String()[:loc[1]])
			return true
		}
		select {
		case err := <-exited:
			if ex.beside {
				r.beside = r.beside[:len(r.beside)-1]
			} else {
				r.server = nil
			}
			t.Errorf("README.md:%d: the service stopped before listening: %v\ncommands:\n%s\noutput:\n%s", ex.line, err, ex.code, out.String())
			return false
		case <-deadline:
			t.Errorf("README.md:%d: the service did not listen within %s\noutput:\n%s", ex.line, startTimeout, out.String())
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stopServer stops the running server example, if any, as Ctrl-C does:
// SIGINT to its process group (the shell, the service and a tee).
func (r *readmeRunner) stopServer() {
	if r.server == nil {
		return
	}
	p := r.server
	r.server = nil
	r.stop(p)
}

// stop stops p as Ctrl-C does, unless it has ended already.
func (r *readmeRunner) stop(p *process) {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
		r.t.Errorf("a server example did not stop within %s of SIGINT", stopTimeout)
	}
}

// compare fails the test, showing both, unless got matches the example's
// output once both are normalised.
func (r *readmeRunner) compare(ex example, got string) {
	r.t.Helper()
	want, norm := r.normalise(ex.want), r.normalise(got)
	if outputMatches(want, norm) {
		return
	}
	r.t.Errorf("README.md:%d: the output differs from the README's\ncommands:\n%s\n--- README shows (normalised):\n%s\n--- got (normalised):\n%s\n--- got:\n%s", ex.line, ex.code, want, norm, got)
}

// normalisers replace what differs from run to run with a placeholder.
var normalisers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`), "<time>"},
	{regexp.MustCompile(`(?m)^(Date|X-Request-Id|Content-Length): .*$`), "$1: <value>"},
	{regexp.MustCompile(`dst_[A-Za-z0-9_-]{20,}`), "dst_<token>"},
	{regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`), "<uuid>"},
	{regexp.MustCompile(`\b[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}\b`), "<password>"},
}

func (r *readmeRunner) normalise(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	s = regexp.MustCompile(`(?m)[ \t]+$`).ReplaceAllString(s, "")
	s = strings.TrimRight(s, "\n")
	s = regexp.MustCompile(`(127\.0\.0\.1|localhost|\[::\]):(8080|`+r.port+`)\b`).ReplaceAllString(s, "localhost:8080")
	s = strings.ReplaceAll(s, "127.0.0.1:"+r.idpPort, "127.0.0.1:9400")
	for _, n := range normalisers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}

// outputMatches reports whether got matches want, where a line "…" of want
// stands for any lines and "…" within a line for any text.
func outputMatches(want, got string) bool {
	var re strings.Builder
	re.WriteString(`\A`)
	for _, line := range strings.Split(want, "\n") {
		if line == "…" {
			re.WriteString(`(?:[^\n]*\n)*?`)
			continue
		}
		parts := strings.Split(line, "…")
		for j, p := range parts {
			if j > 0 {
				re.WriteString(`[^\n]*?`)
			}
			re.WriteString(regexp.QuoteMeta(p))
		}
		re.WriteString(`\n`)
	}
	re.WriteString(`\z`)
	return regexp.MustCompile(re.String()).MatchString(got + "\n")
}

func TestParseExamplesFollowsTheConvention(t *testing.T) {
	md := "Intro\n\n```sh\necho a\n```\n\n```text\na\n```\n```json\n{}\n```\n\nProse.\n\n```json\n{\"not\": \"an output\"}\n```\n\n" +
		"<!-- readme-test: skip -->\n```sh\ndocker run x\n```\n\n<!-- readme-test: server -->\n```sh\n./datashare serve\n```\n\n" +
		"- a list item:\n\n  ```sh\n  echo indented\n  ```\n\n```sh\ntrue\n```\nProse.\n```text\nnot an output\n```\n" +
		"\n<!-- readme-test: file main.go -->\n```go\npackage main\n```\n" +
		"\n<!-- readme-test: beside -->\n```sh\n./datashare dev-oidc\n```\n"
	got, err := parseExamples(md)
	if err != nil {
		t.Fatal(err)
	}
	want := []example{
		{line: 3, code: "echo a", want: "a\n{}"},
		{line: 21, code: "docker run x", skip: true},
		{line: 26, code: "./datashare serve", server: true},
		{line: 32, code: "echo indented"},
		{line: 36, code: "true"},
		{line: 45, code: "package main", file: "main.go"},
		{line: 50, code: "./datashare dev-oidc", server: true, beside: true},
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := parseExamples("```sh\nopen"); err == nil {
		t.Error("an unclosed block parsed")
	}
}

func TestOutputMatchesWithEllipses(t *testing.T) {
	cases := []struct {
		want, got string
		match     bool
	}{
		{"a\nb", "a\nb", true},
		{"a\nb", "a\nc", false},
		{"a\nb", "a\nb\nc", false},
		{"", "", true},
		{"", "something", false},
		{"a\n…\nd", "a\nd", true},
		{"a\n…\nd", "a\nb\nc\nd", true},
		{"a\n…\nd", "a\nb\nc", false},
		{"…\nlast", "x\ny\nlast", true},
		{"total … days", "total 12 working days", true},
		{"total … days", "total 12 working hours", false},
		{"a.b", "aXb", false}, // no regexp in what the README shows
	}
	for _, c := range cases {
		if got := outputMatches(c.want, c.got); got != c.match {
			t.Errorf("outputMatches(%q, %q) = %v, want %v", c.want, c.got, got, c.match)
		}
	}
}
