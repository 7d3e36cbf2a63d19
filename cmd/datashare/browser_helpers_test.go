package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"datashare/models"
	"datashare/models/modelstest"
)

// The browser tests drive the real program, started through run, from
// Debian's Chromium, and run axe-core on every page they visit. They need
// two things that are not Go modules, so without them they skip, unless
// DATASHARE_BROWSER_TESTS=required (as in .ci/run) makes that a failure.

const (
	chromiumPath = "/usr/bin/chromium"
	// axeVersion is the axe-core release the tests expect; .ci/run installs
	// exactly this one.
	axeVersion = "4.10.3"
	// stepTimeout bounds one browser step (a navigation, a click and the
	// page it loads, an axe run) on a busy 2-core machine.
	stepTimeout                   = 30 * time.Second
	viewportWidth, viewportHeight = 1280, 900
)

// axePath is where `npm install --prefix .cache/npm` puts axe-core, at the
// repository root (git ignores .cache); tests run in cmd/datashare.
var axePath = filepath.Join("..", "..", ".cache", "npm", "node_modules", "axe-core", "axe.min.js")

var howToEnableBrowserTests = "install chromium (apt-get install -y chromium) and run " +
	"`npm install --prefix .cache/npm axe-core@" + axeVersion + "` at the repository root, or run .ci/run"

// mustBrowserTools returns axe-core's source, or ends the test when Chromium
// or axe-core is missing: a skip that says how to enable the tests, or a
// failure when they are required.
func mustBrowserTools(t *testing.T) string {
	t.Helper()
	var missing []string
	if _, err := os.Stat(chromiumPath); err != nil {
		missing = append(missing, "Chromium ("+chromiumPath+")")
	}
	axe, err := os.ReadFile(axePath)
	if err != nil || !strings.Contains(string(axe[:min(len(axe), 64)]), "axe v"+axeVersion+"\n") {
		missing = append(missing, "axe-core "+axeVersion+" ("+axePath+")")
	}
	if len(missing) == 0 {
		return string(axe)
	}
	msg := fmt.Sprintf("browser tests skipped: %s not found; %s", strings.Join(missing, " and "), howToEnableBrowserTests)
	if os.Getenv("DATASHARE_BROWSER_TESTS") == "required" {
		t.Fatalf("DATASHARE_BROWSER_TESTS=required but %s", strings.TrimPrefix(msg, "browser tests skipped: "))
	}
	t.Skip(msg)
	return ""
}

// site is the program under test with its demo data and one Chromium, in
// which every user of the test gets a window of their own, with its own
// cookies.
type site struct {
	*program
	password string // the demo password printed at start
	axe      string // axe-core's source
	chromium context.Context
}

// startSite serves the demo on a fresh SQLite file and starts Chromium.
func startSite(t *testing.T) *site {
	t.Helper()
	return startSiteWith(t, nil, "127.0.0.1:0")
}

// startSiteWith is startSite with the settings env, listening on addr.
func startSiteWith(t *testing.T, env map[string]string, addr string) *site {
	t.Helper()
	axe := mustBrowserTools(t)
	p := mustServe(t, envOf(env), "--demo", "--addr", addr, "--db", modelstest.DSN(t, models.SQLite))
	m := demoPasswordRE.FindStringSubmatch(p.stdout.String())
	if m == nil {
		t.Fatalf("serve --demo printed no demo password; stdout:\n%s", p.stdout)
	}
	return &site{program: p, password: m[1], axe: axe, chromium: startChromium(t)}
}

func startChromium(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(viewportWidth, viewportHeight),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return ctx
}

// window is one user's browser window: its own cookies, and a record of
// every JavaScript error, console error (CSP violations among them) and
// request to another origin, each of which fails the test.
type window struct {
	t       *testing.T
	site    *site
	name    string
	ctx     context.Context
	base    string          // the site's origin as this window names it
	allowed map[string]bool // origins it may load from

	mu       sync.Mutex
	problems []string
	reported int
}

// newWindow opens a window with a fresh browser context (no cookies). It may
// load from the site's origin and the extra origins given.
func (s *site) newWindow(t *testing.T, name string, extraOrigins ...string) *window {
	t.Helper()
	w := &window{t: t, site: s, name: name, base: s.url, allowed: map[string]bool{originOf(s.url): true}}
	for _, o := range extraOrigins {
		w.allowed[originOf(o)] = true
	}
	ctx, cancel := chromedp.NewContext(s.chromium, chromedp.WithNewBrowserContext(), chromedp.WithListener(w.observe))
	w.ctx = ctx
	t.Cleanup(func() {
		cancel()
		w.flush()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: open a window: %v", name, err)
	}
	return w
}

func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Scheme + "://" + u.Host
}

// observe runs on chromedp's event loop: it only records.
func (w *window) observe(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		w.problem("JavaScript exception: %s", exceptionText(ev.ExceptionDetails))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, remoteText(a))
			}
			w.problem("console.%s: %s", ev.Type, strings.Join(args, " "))
		}
	case *cdplog.EventEntryAdded:
		// The browser logs every answer of 400 or more as a network error;
		// the tests assert each page's status themselves, and a subresource
		// that fails is caught below.
		if e := ev.Entry; e.Level == cdplog.EntryLevelError && e.Source != cdplog.EntrySourceNetwork {
			w.problem("console error (%s) at %s: %s", e.Source, e.URL, e.Text)
		}
	case *network.EventRequestWillBeSent:
		if !w.mayLoad(ev.Request.URL) {
			w.problem("request to another origin: %s %s (from %s)", ev.Request.Method, ev.Request.URL, ev.DocumentURL)
		}
	case *network.EventResponseReceived:
		if ev.Type != network.ResourceTypeDocument && ev.Response.Status >= 400 {
			w.problem("%s %s answered %d", ev.Type, ev.Response.URL, ev.Response.Status)
		}
	}
}

func (w *window) mayLoad(raw string) bool {
	for _, scheme := range []string{"data:", "about:", "blob:"} {
		if strings.HasPrefix(raw, scheme) {
			return true
		}
	}
	return w.allowed[originOf(raw)]
}

func (w *window) problem(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.problems = append(w.problems, fmt.Sprintf(format, args...))
}

// flush fails the test for each problem recorded since the last flush.
func (w *window) flush() {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.problems[w.reported:] {
		w.t.Errorf("%s: %s", w.name, p)
	}
	w.reported = len(w.problems)
}

// takeProblems returns the problems not yet reported and forgets them, for
// a test that causes them on purpose.
func (w *window) takeProblems() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := append([]string(nil), w.problems[w.reported:]...)
	w.problems = w.problems[:w.reported]
	return p
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	text := d.Text
	if d.Exception != nil {
		text += " " + remoteText(d.Exception)
	}
	return fmt.Sprintf("%s at %s:%d:%d", text, d.URL, d.LineNumber+1, d.ColumnNumber+1)
}

func remoteText(o *runtime.RemoteObject) string {
	switch {
	case o == nil:
		return ""
	case len(o.Value) > 0:
		return string(o.Value)
	case o.Description != "":
		return o.Description
	}
	return string(o.Type)
}

// step runs one action with a timeout, so that a page that never loads fails
// the test rather than hanging it.
func step[T any](w *window, what string, a chromedp.Action[T]) T {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		w.t.Fatalf("%s: %s: %v", w.name, what, err)
	}
	return v
}

// open loads path, checks the page and returns its HTTP status (after
// redirects).
func (w *window) open(path string) int64 {
	w.t.Helper()
	res := step(w, "open "+path, chromedp.NavigateResponse(w.base+path))
	w.pageLoaded()
	return res.Status
}

// openElsewhere loads a page of another origin (that the window may load
// from); axe does not judge it, but its errors count.
func (w *window) openElsewhere(url string) {
	w.t.Helper()
	step(w, "open "+url, chromedp.Navigate(url))
	w.flush()
}

// press clicks the button named name, waits for the page it loads, checks
// that page and returns its status.
func (w *window) press(name string) int64 {
	w.t.Helper()
	return w.clickAndWait("press "+name, button(name))
}

// follow clicks the link named name, as press does for a button.
func (w *window) follow(name string) int64 {
	w.t.Helper()
	return w.clickAndWait("follow "+name, link(name))
}

func (w *window) clickAndWait(what string, sel chromedp.Search) int64 {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(sel, chromedp.NodeVisible))
	if err != nil {
		w.t.Fatalf("%s: %s on %s: %v", w.name, what, w.path(), err)
	}
	w.pageLoaded()
	return res.Status
}

// pageLoaded runs axe on the page just loaded and reports what the window
// saw while loading it.
func (w *window) pageLoaded() {
	w.t.Helper()
	w.checkA11y(pageName(w.path()))
	w.flush()
}

// path is the current page's path and query.
func (w *window) path() string {
	w.t.Helper()
	loc := step(w, "read the location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	return u.RequestURI()
}

var digitsRE = regexp.MustCompile(`/\d+`)

// pageName names a page for the accessibility summary: its path, with
// ids as {id}.
func pageName(path string) string {
	path, _, _ = strings.Cut(path, "?")
	return digitsRE.ReplaceAllString(path, "/{id}")
}

// key sends keys to the focused element, as typing does.
func (w *window) key(keys string) {
	w.t.Helper()
	step(w, "type", chromedp.KeyEvent(keys))
}

// pressKey sends keys that load a page (Enter in a form), waits for it,
// checks it and returns its status.
func (w *window) pressKey(keys string) int64 {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.KeyEvent(keys))
	if err != nil {
		w.t.Fatalf("%s: keys %q on %s: %v", w.name, keys, w.path(), err)
	}
	w.pageLoaded()
	return res.Status
}

// focus is the element that has the focus.
type focus struct {
	ID, Tag, Name, Outline, Shadow string
	Visible                        bool
}

func (w *window) focused() focus {
	w.t.Helper()
	return step(w, "read the focus", chromedp.Evaluate[focus](`(() => {
		const e = document.activeElement, s = getComputedStyle(e);
		const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
		return {ID: e.id, Tag: e.tagName.toLowerCase(),
			Name: (e.labels && e.labels[0] ? e.labels[0].textContent : e.textContent).trim(),
			Outline: s.outlineStyle + " " + s.outlineWidth, Shadow: s.boxShadow,
			Visible: outline || s.boxShadow !== "none"};
	})()`))
}

// fill types value into the field labelled label, replacing what it held.
func (w *window) fill(label, value string) {
	w.t.Helper()
	sel := field(label)
	w.setValue(label, sel, "")
	// One insertText (as a paste does) rather than a key event per
	// character: as real to the page, and many times faster.
	step(w, "fill "+label, chromedp.Steps(chromedp.Focus(sel), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: value})
		return err
	})))
}

// choose selects the option of the select labelled label whose text or
// value is option.
func (w *window) choose(label, option string) {
	w.t.Helper()
	opt := chromedp.Search(fmt.Sprintf(`//select[@id=string(%s/@for)]/option[normalize-space()=%s or @value=%s]`,
		labelPath(label), xpathLiteral(option), xpathLiteral(option)))
	value := step(w, "find option "+option+" of "+label, chromedp.AttributeValue(opt, "value"))
	w.setValue(label, field(label), value.Value)
}

// setValue sets the value of the element sel finds, as a person's edit
// does (with input and change events).
func (w *window) setValue(label string, sel chromedp.Search, value string) {
	w.t.Helper()
	js := fmt.Sprintf(`(() => {
		const e = document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
		if (!e) return false;
		e.value = %q;
		e.dispatchEvent(new Event("input", {bubbles: true}));
		e.dispatchEvent(new Event("change", {bubbles: true}));
		return true;
	})()`, string(sel), value)
	if !step(w, "set "+label, chromedp.Evaluate[bool](js)) {
		w.t.Fatalf("%s: no field labelled %q on %s", w.name, label, w.path())
	}
}

// value is what the field labelled label holds now.
func (w *window) value(label string) string {
	w.t.Helper()
	return step(w, "read "+label, chromedp.Value(field(label)))
}

// text is the visible text of the first element sel finds.
func (w *window) text(sel chromedp.Search) string {
	w.t.Helper()
	return step(w, "read "+string(sel), chromedp.Text(sel))
}

// mainText is the visible text of the page's main landmark.
func (w *window) mainText() string {
	w.t.Helper()
	return w.text("//main")
}

// has reports whether sel finds anything on the page now, without waiting.
func (w *window) has(sel chromedp.Search) bool {
	w.t.Helper()
	n := step(w, "count "+string(sel), chromedp.Evaluate[int](fmt.Sprintf(
		`document.evaluate(%q, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null).snapshotLength`, string(sel))))
	return n > 0
}

// signIn opens the sign-in page and signs in as email with the demo
// password; it returns the status of the page it lands on.
func (w *window) signIn(email string) int64 {
	w.t.Helper()
	if st := w.open("/login"); st != 200 {
		w.t.Fatalf("%s: GET /login: got %d, want 200", w.name, st)
	}
	return w.submitSignIn(email, w.site.password)
}

// submitSignIn fills the sign-in form on the current page and sends it.
func (w *window) submitSignIn(email, password string) int64 {
	w.t.Helper()
	w.fill("Email", email)
	w.fill("Password", password)
	return w.press("Sign in")
}

// Selectors by accessible name, as a person finds things on the page.

func button(name string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//button[normalize-space()=%s]`, xpathLiteral(name)))
}

func link(name string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//a[normalize-space()=%s or normalize-space(text()[1])=%s]`, xpathLiteral(name), xpathLiteral(name)))
}

func heading(text string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//h1[normalize-space()=%s]`, xpathLiteral(text)))
}

// field finds the input, select or textarea that the label names; a label's
// first text is its name ("(optional)" follows in a span).
func field(label string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//*[@id=string(%s/@for)]`, labelPath(label)))
}

func labelPath(label string) string {
	l := xpathLiteral(label)
	return fmt.Sprintf(`//label[normalize-space(text()[1])=%s or normalize-space()=%s]`, l, l)
}

// xpathLiteral quotes s for XPath 1.0, which has no escapes.
func xpathLiteral(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	if !strings.Contains(s, `'`) {
		return `'` + s + `'`
	}
	parts := strings.Split(s, `"`)
	return `concat("` + strings.Join(parts, `", '"', "`) + `")`
}

// screenshot saves a full-page PNG of the current page as
// $DATASHARE_SCREENSHOTS/name.png when that variable is set; a relative
// folder is taken from the repository root (tests run in cmd/datashare).
func (w *window) screenshot(name string) {
	w.t.Helper()
	dir := os.Getenv("DATASHARE_SCREENSHOTS")
	if dir == "" {
		return
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", "..", dir)
	}
	png := step(w, "screenshot "+name, chromedp.FullScreenshot(100))
	file := filepath.Join(dir, name+".png")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		w.t.Fatalf("save %s: %v", file, err)
	}
	w.t.Logf("saved %s (%d bytes)", file, len(png))
}

// fetched is a file the page fetched with the window's cookies.
type fetched struct {
	Status      int    `json:"status"`
	ContentType string `json:"type"`
	Disposition string `json:"disposition"`
	Size        int    `json:"size"`
	Head        string `json:"head"` // the first bytes, as Latin-1 text
}

// download fetches the href of the link named name as the signed-in user, as
// the browser does when the link is followed.
func (w *window) download(name string) fetched {
	w.t.Helper()
	href := step(w, "read the link "+name, chromedp.AttributeValue(link(name), "href"))
	if !href.Exists {
		w.t.Fatalf("%s: link %q has no href", w.name, name)
	}
	js := fmt.Sprintf(`fetch(%q, {credentials: "same-origin"}).then(async r => {
		const b = new Uint8Array(await r.arrayBuffer());
		return {status: r.status, type: r.headers.get("Content-Type") || "",
			disposition: r.headers.get("Content-Disposition") || "",
			size: b.length, head: String.fromCharCode(...b.slice(0, 200))};
	})`, href.Value)
	return step(w, "download "+href.Value, chromedp.Evaluate[fetched](js, chromedp.EvalAwaitPromise))
}

// demoRequest is a request as the API lists it.
type demoRequest struct {
	ID      int64  `json:"id"`
	Title   string `json:"title"`
	State   string `json:"state"`
	Version int    `json:"version"`
}

// mustDemoRequest finds the request titled title among those token's user
// sees, through the API.
func (p *program) mustDemoRequest(token, title string) demoRequest {
	p.t.Helper()
	path := "/api/v1/requests?limit=100"
	for range 100 {
		var page struct {
			Items      []demoRequest `json:"items"`
			NextCursor *string       `json:"next_cursor"`
		}
		if st := p.get(path, token, &page); st != http.StatusOK {
			p.t.Fatalf("GET %s: got %d, want 200", path, st)
		}
		for _, r := range page.Items {
			if r.Title == title {
				return r
			}
		}
		if page.NextCursor == nil {
			break
		}
		path = "/api/v1/requests?limit=100&cursor=" + *page.NextCursor
	}
	p.t.Fatalf("no request titled %q in the API's list", title)
	return demoRequest{}
}

// fieldMessage is the text of what the field labelled label is described
// by (its hint and its error), as a screen reader reads it.
func (w *window) fieldMessage(label string) string {
	w.t.Helper()
	ids := step(w, "read the description of "+label, chromedp.AttributeValue(field(label), "aria-describedby"))
	var text []string
	for _, id := range strings.Fields(ids.Value) {
		text = append(text, w.text(chromedp.Search(fmt.Sprintf(`//*[@id=%s]`, xpathLiteral(id)))))
	}
	return strings.Join(text, " ")
}

// state is the request's state badge on its page.
func (w *window) wantState(want string) {
	w.t.Helper()
	got := w.text(`//main//span[contains(concat(" ", @class, " "), " state ")]`)
	if got != want {
		w.t.Errorf("%s: state on %s: got %q, want %q", w.name, w.path(), got, want)
	}
}

// act presses the action button named action on a request's page, with a
// comment when given, and checks the state it leads to.
func (w *window) act(action, comment, state string) {
	w.t.Helper()
	if comment != "" {
		w.fill("Comment", comment)
	}
	if st := w.press(action); st != http.StatusOK {
		w.t.Fatalf("%s: %s: got %d on %s, want 200; page: %s", w.name, action, st, w.path(), w.mainText())
	}
	w.wantState(state)
}
