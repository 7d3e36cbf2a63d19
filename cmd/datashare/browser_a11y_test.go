package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// Accessibility: axe-core runs in the page through DevTools (Runtime.evaluate
// is not subject to the page's Content-Security-Policy, so no inline script
// is needed), with the WCAG 2.1 A and AA rules.

type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	HelpURL string   `json:"helpUrl"`
	Targets []string `json:"targets"`
}

const axeRun = `axe.run(document, {
	runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
	resultTypes: ["violations"]
}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
	targets: v.nodes.map(n => n.target.map(String).join(" "))
})))`

// checkA11y runs axe on the current page and fails the test on a violation
// of impact serious or critical; every finding goes into the summary.
func (w *window) checkA11y(name string) {
	w.t.Helper()
	found := w.axe(name)
	a11y.record(name, found)
	for _, v := range found {
		if v.Impact == "serious" || v.Impact == "critical" {
			w.t.Errorf("%s: axe on %s: %s (%s): %s; nodes: %s (%s)", w.name, name, v.ID, v.Impact, v.Help,
				strings.Join(v.Targets, ", "), v.HelpURL)
		}
	}
}

// axe returns what axe-core finds wrong on the current page.
func (w *window) axe(name string) []axeViolation {
	w.t.Helper()
	loaded := step(w, "look for axe", chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if !loaded {
		step(w, "load axe-core", chromedp.Evaluate[chromedp.Void](w.site.axe))
	}
	return step(w, "run axe on "+name, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
}

// a11y sums up every axe run of the test binary, for the closing note.
var a11y = &a11ySummary{pages: map[string]int{}, impacts: map[string]int{}, rules: map[string]int{}}

type a11ySummary struct {
	mu      sync.Mutex
	runs    int
	pages   map[string]int // runs by page name
	impacts map[string]int // violations (nodes) by impact
	rules   map[string]int // violations (nodes) by rule and impact
}

func (s *a11ySummary) record(page string, found []axeViolation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs++
	s.pages[page]++
	for _, v := range found {
		s.impacts[v.Impact] += len(v.Targets)
		s.rules[v.ID+" ("+v.Impact+")"] += len(v.Targets)
	}
}

func (s *a11ySummary) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	pages := make([]string, 0, len(s.pages))
	for p := range s.pages {
		pages = append(pages, p)
	}
	sort.Strings(pages)
	var impacts []string
	for _, i := range []string{"critical", "serious", "moderate", "minor"} {
		impacts = append(impacts, fmt.Sprintf("%s %d", i, s.impacts[i]))
	}
	rules := make([]string, 0, len(s.rules))
	for r, n := range s.rules {
		rules = append(rules, fmt.Sprintf("%s ×%d", r, n))
	}
	sort.Strings(rules)
	out := fmt.Sprintf("axe-core %s, WCAG 2.1 A/AA: %d runs over %d pages (%s); violating nodes: %s",
		axeVersion, s.runs, len(pages), strings.Join(pages, ", "), strings.Join(impacts, ", "))
	if len(rules) > 0 {
		out += "; rules: " + strings.Join(rules, ", ")
	}
	return out
}

// logA11y logs the summary so far when t ends.
func logA11y(t *testing.T) {
	t.Cleanup(func() { t.Log(a11y) })
}
