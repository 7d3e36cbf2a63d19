package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/workflow"
)

// mustFile files and submits an official-open request of requester to
// owner, an hour of the clock per step.
func (s *site) mustFile(tb testing.TB, clk *clock, requester, owner, title string) *models.Request {
	tb.Helper()
	ctx := context.Background()
	r, err := s.Workflow.Create(ctx, s.actor(requester), workflow.NewRequest{
		Title: title, Purpose: "Outreach to residents", DataDescription: "Counts per block",
		Classification: "official-open", OwnerAgency: owner,
	})
	if err != nil {
		tb.Fatalf("create: %v", err)
	}
	return s.mustAct(tb, clk, r.ID, requester, workflow.Submit, "")
}

func (s *site) mustAct(tb testing.TB, clk *clock, id int64, email string, act workflow.Action, comment string) *models.Request {
	tb.Helper()
	if clk != nil {
		clk.advance(time.Hour)
	}
	r, err := s.Workflow.Apply(context.Background(), s.actor(email), id, act, comment, 0)
	if err != nil {
		tb.Fatalf("%s %d as %s: %v", act, id, email, err)
	}
	return r
}

// mustShare approves and fulfils a submitted request as approver.
func (s *site) mustShare(tb testing.TB, clk *clock, id int64, approver string) {
	tb.Helper()
	s.mustAct(tb, clk, id, approver, workflow.Approve, "")
	s.mustAct(tb, clk, id, approver, workflow.Fulfil, "Shared over the data exchange")
}

var statRe = regexp.MustCompile(`<dd class="stat" id="([a-z0-9-]+)">([^<]*)</dd>`)

// figures are the report's headline figures as the page shows them.
func figures(tb testing.TB, body string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	for _, m := range statRe.FindAllStringSubmatch(body, -1) {
		if !strings.HasPrefix(m[1], "project-") {
			out[m[1]] = m[2]
		}
	}
	if len(out) != 6 {
		tb.Fatalf("report figures: got %v, want six\n%s", out, body)
	}
	return out
}

// mustReport opens /reports?query as the browser, wanting 200.
func (b *browser) mustReport(query string) answer {
	b.tb.Helper()
	a := b.get("/reports" + query)
	if a.Status != http.StatusOK {
		b.tb.Fatalf("/reports%s: got %d, want 200\n%s", query, a.Status, a.Body)
	}
	return a
}

func TestReportScopeByRole(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		clk := newClock("2026-02-02T10:00:00+08:00")
		s := newSite(t, db, siteOptions{App: apptest.Options{Now: clk.Now}})
		moh := s.mustFile(t, clk, "req@msf.gov.sg", "MOH", "Seniors per block")
		s.mustShare(t, clk, moh.ID, "approver1@moh.gov.sg")
		msf := s.mustFile(t, clk, "req@hdb.gov.sg", "MSF", "Rental flats per household")
		s.mustShare(t, clk, msf.ID, "approver@msf.gov.sg")

		tests := []struct {
			name, email, query string
			status             int
			met, scope         string
		}{
			{"MOH manager sees MOH only", "manager@moh.gov.sg", "", 200, "1", "MOH, as owner or requesting agency"},
			{"MOH manager may name MOH", "manager@moh.gov.sg", "?agency=MOH", 200, "1", "MOH, as owner or requesting agency"},
			{"MOH manager may not see MSF", "manager@moh.gov.sg", "?agency=MSF", 403, "", ""},
			{"MSF manager sees MSF's two", "manager@msf.gov.sg", "", 200, "2", "MSF, as owner or requesting agency"},
			{"admin sees all", "admin@govtech.gov.sg", "", 200, "2", "All agencies"},
			{"admin picks HDB", "admin@govtech.gov.sg", "?agency=HDB", 200, "1", "HDB, as owner or requesting agency"},
			{"requester", "req@msf.gov.sg", "", 403, "", ""},
			{"approver", "approver1@moh.gov.sg", "", 403, "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := s.signIn(t, tt.email).get("/reports" + tt.query)
				if a.Status != tt.status {
					t.Fatalf("got %d, want %d\n%s", a.Status, tt.status, a.Body)
				}
				if tt.status == http.StatusForbidden {
					if ct := a.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(a.Body, "You do not have access to this") {
						t.Fatalf("403: got %q\n%s, want the HTML forbidden page", ct, a.Body)
					}
					return
				}
				if got := figures(t, a.Body)["met"]; got != tt.met {
					t.Errorf("met: got %s, want %s", got, tt.met)
				}
				if !strings.Contains(a.Body, tt.scope+".") {
					t.Errorf("scope: want %q on the page", tt.scope)
				}
				admin := strings.Contains(tt.email, "admin")
				if got := strings.Contains(a.Body, `<label for="agency">Agency</label>`); got != admin {
					t.Errorf("agency field: got %v, want %v (admins only)", got, admin)
				}
			})
		}
	})
}

func TestReportRateChangesWhenARequestIsShared(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		clk := newClock("2026-02-02T10:00:00+08:00")
		s := newSite(t, db, siteOptions{App: apptest.Options{Now: clk.Now}})
		s.mustFile(t, clk, "req@msf.gov.sg", "MOH", "Clinic visits per block")
		quick := s.mustFile(t, clk, "req@msf.gov.sg", "MOH", "Seniors per block")
		s.mustAct(t, clk, quick.ID, "approver1@moh.gov.sg", workflow.Approve, "")

		b := s.signIn(t, "manager@moh.gov.sg")
		before := figures(t, b.mustReport("").Body)
		if before["compliance-rate"] != "—" || before["met"] != "0" || before["finished"] != "0" || before["median"] != "—" {
			t.Fatalf("before: got %v, want no rate, nothing met or finished", before)
		}
		s.mustAct(t, clk, quick.ID, "approver1@moh.gov.sg", workflow.Fulfil, "Shared")
		after := figures(t, b.mustReport("").Body)
		if after["compliance-rate"] != "100.0%" || after["met"] != "1" || after["missed"] != "0" || after["finished"] != "1" {
			t.Fatalf("after sharing: got %v, want 100.0%%, 1 met, 0 missed, 1 finished", after)
		}
		// The other one passes its due time (Wed 11 Feb, 10:00 + 1 h) unshared.
		clk.set("2026-02-12T10:00:00+08:00")
		b = s.signIn(t, "manager@moh.gov.sg")
		missed := figures(t, b.mustReport("").Body)
		if missed["compliance-rate"] != "50.0%" || missed["met"] != "1" || missed["missed"] != "1" {
			t.Fatalf("after a miss: got %v, want 50.0%%, 1 met, 1 missed", missed)
		}
	})
}

func TestReportDefaultWindowIsTheQuarterInSingapore(t *testing.T) {
	tests := []struct {
		now, from, to string
	}{
		{"2026-05-20T10:00:00+08:00", "2026-04-01", "2026-07-01"},
		{"2026-03-31T23:30:00+08:00", "2026-01-01", "2026-04-01"},
		{"2026-03-31T17:00:00Z", "2026-04-01", "2026-07-01"}, // 1 Apr, 01:00 in Singapore
		{"2025-12-31T12:00:00+08:00", "2025-10-01", "2026-01-01"},
	}
	clk := newClock(tests[0].now)
	s := newSite(t, modelstest.MustOpen(t, models.SQLite), siteOptions{App: apptest.Options{Now: clk.Now}})
	for _, tt := range tests {
		clk.set(tt.now)
		a := s.signIn(t, "manager@moh.gov.sg").mustReport("")
		for _, want := range []string{
			`name="from" type="date" value="` + tt.from + `"`,
			`name="to" type="date" value="` + tt.to + `"`,
			`href="/reports/sla.csv?agency=MOH&amp;from=` + tt.from + `&amp;to=` + tt.to + `"`,
			`href="/reports/sla.xlsx?agency=MOH&amp;from=` + tt.from + `&amp;to=` + tt.to + `"`,
		} {
			if !strings.Contains(a.Body, want) {
				t.Errorf("at %s: page lacks %q", tt.now, want)
			}
		}
	}
}

func TestReportRefusesABadWindowNextToItsField(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		b := s.signIn(t, "manager@moh.gov.sg")
		tests := []struct {
			name, query string
			fields      map[string]string // field: its message
		}{
			{"not a date", "?from=2026-13-01&to=2026-04-01", map[string]string{"from": "From must be a real date written YYYY-MM-DD"}},
			{"both wrong", "?from=soon&to=later", map[string]string{"from": "From must be a real date", "to": "To must be a real date"}},
			{"to missing", "?from=2026-01-01", map[string]string{"to": "To is required"}},
			{"to before from", "?from=2026-04-01&to=2026-01-01", map[string]string{"to": "To must be after from (to is exclusive)"}},
			{"to equals from", "?from=2026-04-01&to=2026-04-01", map[string]string{"to": "To must be after from"}},
			{"too long", "?from=2000-01-01&to=2026-01-01", map[string]string{"to": "The window may span at most 3700 days"}},
			{"bad grouping", "?from=2026-01-01&to=2026-04-01&group_by=colour", map[string]string{"group_by": "Choose how to group the report from the list"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := b.get("/reports" + tt.query)
				if a.Status != http.StatusUnprocessableEntity {
					t.Fatalf("got %d, want 422\n%s", a.Status, a.Body)
				}
				if !strings.Contains(a.Body, `role="alert"`) || strings.Contains(a.Body, `id="compliance-rate"`) {
					t.Errorf("want an error summary and no report")
				}
				for field, msg := range tt.fields {
					errorAt := regexp.MustCompile(`<p class="field-error" id="` + field + `-error"><span class="visually-hidden">Error:</span> ([^<]*)</p>\s*<(input|select) id="` + field + `"[^>]*aria-describedby="[^"]*` + field + `-error"[^>]*aria-invalid="true"`)
					m := errorAt.FindStringSubmatch(a.Body)
					if m == nil || !strings.Contains(m[1], msg) {
						t.Errorf("field %s: got %v, want %q next to it, described by it", field, m, msg)
					}
					if !strings.Contains(a.Body, `<a href="#`+field+`">`) {
						t.Errorf("error summary lacks a link to #%s", field)
					}
				}
				for _, field := range []string{"from", "to", "group_by"} {
					if _, bad := tt.fields[field]; !bad && strings.Contains(a.Body, `id="`+field+`-error"`) {
						t.Errorf("field %s: got an error, want none", field)
					}
				}
				for _, dl := range []string{"/reports/sla.csv", "/reports/sla.xlsx"} {
					if got := b.get(dl + tt.query); got.Status != http.StatusUnprocessableEntity || !strings.HasPrefix(got.Header.Get("Content-Type"), "text/html") {
						t.Errorf("%s: got %d %s, want a 422 page", dl, got.Status, got.Header.Get("Content-Type"))
					}
				}
			})
		}
		if a := s.signIn(t, "req@msf.gov.sg").get("/reports/sla.xlsx?from=2026-01-01&to=2026-04-01"); a.Status != http.StatusForbidden {
			t.Errorf("requester downloads: got %d, want 403", a.Status)
		}
	})
}

// mustCSVTotal reads the total row of a report's CSV.
func mustCSVTotal(tb testing.TB, body string) []string {
	tb.Helper()
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) < 2 {
		tb.Fatalf("csv: got %q (%v)", body, err)
	}
	return rows[len(rows)-1]
}

func TestReportDownloadsAreTheReportOnThePage(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		clk := newClock("2026-02-02T10:00:00+08:00")
		s := newSite(t, db, siteOptions{App: apptest.Options{Now: clk.Now}})
		for _, title := range []string{"Seniors per block", "Clinic visits"} {
			r := s.mustFile(t, clk, "req@msf.gov.sg", "MOH", title)
			s.mustShare(t, clk, r.ID, "approver1@moh.gov.sg")
		}
		s.mustFile(t, clk, "req@hdb.gov.sg", "MOH", "Late one")
		clk.set("2026-02-20T10:00:00+08:00")
		b := s.signIn(t, "admin@govtech.gov.sg")
		const q = "?from=2026-01-01&to=2026-04-01&group_by=owner_agency"
		page := figures(t, b.mustReport(q).Body)
		if page["met"] != "2" || page["missed"] != "1" || page["compliance-rate"] != "66.7%" {
			t.Fatalf("page: got %v, want 2 met, 1 missed, 66.7%%", page)
		}

		c := b.get("/reports/sla.csv" + q)
		if c.Status != http.StatusOK || !strings.HasPrefix(c.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("csv: got %d %q", c.Status, c.Header.Get("Content-Type"))
		}
		if got, want := c.Header.Get("Content-Disposition"), `attachment; filename="sla-2026-01-01-2026-04-01.csv"`; got != want {
			t.Errorf("csv Content-Disposition: got %q, want %q", got, want)
		}
		if want := "group,met,missed,compliance_rate\nMOH,2,1,0.6667\ntotal,2,1,0.6667\n"; c.Body != want {
			t.Errorf("csv: got %q, want %q", c.Body, want)
		}
		if total := mustCSVTotal(t, c.Body); total[1] != page["met"] || total[2] != page["missed"] {
			t.Errorf("csv total: got %v, want the page's %v", total, page)
		}

		x := b.get("/reports/sla.xlsx" + q)
		if x.Status != http.StatusOK || x.Header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Fatalf("xlsx: got %d %q", x.Status, x.Header.Get("Content-Type"))
		}
		if got, want := x.Header.Get("Content-Disposition"), `attachment; filename="sla-2026-01-01-2026-04-01.xlsx"`; got != want {
			t.Errorf("xlsx Content-Disposition: got %q, want %q", got, want)
		}
		f := mustWorkbook(t, x.Body)
		checkTotals(t, f, page)
		if got := cellOf(t, f, "Groups", "A2") + " " + cellOf(t, f, "Groups", "B2") + " " + cellOf(t, f, "Groups", "C2"); got != "MOH 2 1" {
			t.Errorf("Groups row 2: got %q, want MOH 2 1", got)
		}

		// Ungrouped, the page's figures come from its month report.
		const plain = "?from=2026-01-01&to=2026-04-01"
		page = figures(t, b.mustReport(plain).Body)
		checkTotals(t, mustWorkbook(t, b.get("/reports/sla.xlsx"+plain).Body), page)
		if want := "group,met,missed,compliance_rate\ntotal,2,1,0.6667\n"; b.get("/reports/sla.csv"+plain).Body != want {
			t.Errorf("ungrouped csv: want %q", want)
		}
	})
}

func mustWorkbook(tb testing.TB, body string) *excelize.File {
	tb.Helper()
	f, err := excelize.OpenReader(bytes.NewReader([]byte(body)))
	if err != nil {
		tb.Fatalf("open the workbook: %v", err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

func cellOf(tb testing.TB, f *excelize.File, sheet, ref string) string {
	tb.Helper()
	v, err := f.GetCellValue(sheet, ref)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// checkTotals compares the Totals sheet, as a spreadsheet shows it, with
// the page's figures.
func checkTotals(tb testing.TB, f *excelize.File, page map[string]string) {
	tb.Helper()
	for _, tc := range []struct{ ref, figure string }{
		{"B6", "met"}, {"B7", "missed"}, {"B8", "compliance-rate"}, {"B9", "finished"}, {"B10", "median"}, {"B11", "p90"},
	} {
		if got := cellOf(tb, f, "Totals", tc.ref); got != page[tc.figure] && fmt.Sprintf("%.1f", mustFloat(tb, got)) != page[tc.figure] {
			tb.Errorf("Totals!%s (%s): got %q, want the page's %q", tc.ref, tc.figure, got, page[tc.figure])
		}
	}
}

func mustFloat(tb testing.TB, s string) float64 {
	tb.Helper()
	var v float64
	if _, err := fmt.Sscan(s, &v); err != nil {
		return -1
	}
	return v
}

func TestReportChartsHaveTextAlternatives(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		clk := newClock("2026-02-02T10:00:00+08:00")
		s := newSite(t, db, siteOptions{App: apptest.Options{Now: clk.Now}})
		r := s.mustFile(t, clk, "req@msf.gov.sg", "MOH", "Seniors per block")
		s.mustShare(t, clk, r.ID, "approver1@moh.gov.sg")
		a := s.signIn(t, "admin@govtech.gov.sg").mustReport("?group_by=requesting_agency")
		for _, want := range []string{
			`role="img" aria-labelledby="trend-title trend-desc"`,
			`<title id="trend-title">Compliance rate by month</title>`,
			`<desc id="trend-desc">Columns from 0 to 100%: Jan 2026 nothing counted; Feb 2026 100.0% (1 met, 0 missed); Mar 2026 nothing counted.`,
			`<table class="rates" id="trend-table">`,
			`<th scope="row">Feb 2026</th><td class="num">1</td><td class="num">0</td><td class="num">100.0%</td>`,
			`role="img" aria-labelledby="agencies-title agencies-desc"`,
			`<title id="agencies-title">Compliance rate by owner agency</title>`,
			`<desc id="agencies-desc">Columns from 0 to 100%: MOH 100.0% (1 met, 0 missed).`,
			`<th scope="row">MOH</th><td class="num">1</td><td class="num">0</td><td class="num">100.0%</td>`,
			`<table class="rates" id="requesting-table">`,
			`<th scope="row">MSF</th><td class="num">1</td>`,
			`<rect class="bar" x="64" y="20" width="40" height="160"></rect>`, // MOH at 100%
		} {
			if !strings.Contains(a.Body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		if n := strings.Count(a.Body, "<svg "); n != 2 {
			t.Errorf("charts: got %d, want 2 (month and owner agency)", n)
		}
		if strings.Contains(a.Body, " style=") {
			t.Errorf("page has a style attribute, which the CSP refuses")
		}
	})
}

func TestReportListsTheOpenRequestsAtRiskAndBreached(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		clk := newClock("2026-02-02T09:00:00+08:00")
		s := newSite(t, db, siteOptions{App: apptest.Options{Now: clk.Now}})
		breached := s.mustFile(t, clk, "req@msf.gov.sg", "MOH", "Seniors per block") // submitted Mon 2 Feb, 10:00
		other := s.mustFile(t, clk, "req@hdb.gov.sg", "MSF", "Rental flats")         // 11:00, another pair
		clk.set("2026-02-04T09:00:00+08:00")
		atRisk := s.mustFile(t, clk, "req@msf.gov.sg", "MOH", "Clinic visits") // Wed 4 Feb, 10:00
		clk.set("2026-02-05T09:00:00+08:00")
		s.mustFile(t, clk, "req@msf.gov.sg", "MOH", "On track") // Thu 5 Feb, 10:00
		// Wed 11 Feb, 12:00: the first is past due, the third has run 5.2
		// working days of 7.
		clk.set("2026-02-11T12:00:00+08:00")

		link := func(r *models.Request) string { return fmt.Sprintf(`<a href="/requests/%d">%s</a>`, r.ID, r.Title) }
		section := func(body, id string) string {
			i := strings.Index(body, `id="`+id+`"`)
			if i < 0 {
				return ""
			}
			j := strings.Index(body[i:], "</table>")
			return body[i : i+j]
		}
		moh := s.signIn(t, "manager@moh.gov.sg").mustReport("").Body
		if b := section(moh, "open-breached"); !strings.Contains(b, link(breached)) || strings.Contains(b, link(atRisk)) || strings.Contains(b, link(other)) {
			t.Errorf("MOH breached list: got %s, want only %q", b, breached.Title)
		}
		if b := section(moh, "open-at_risk"); !strings.Contains(b, link(atRisk)) || strings.Contains(b, link(breached)) || strings.Contains(b, "On track") {
			t.Errorf("MOH at-risk list: got %s, want only %q", b, atRisk.Title)
		}
		if !strings.Contains(moh, "3 open, 1 at risk, 1 breached.") {
			t.Errorf("MOH open counts: want 3 open, 1 at risk, 1 breached")
		}
		admin := s.signIn(t, "admin@govtech.gov.sg").mustReport("").Body
		if b := section(admin, "open-breached"); !strings.Contains(b, link(breached)) || !strings.Contains(b, link(other)) {
			t.Errorf("admin breached list: got %s, want both breached requests", b)
		}
		picked := s.signIn(t, "admin@govtech.gov.sg").mustReport("?agency=HDB").Body
		if b := section(picked, "open-breached"); !strings.Contains(b, link(other)) || strings.Contains(b, link(breached)) {
			t.Errorf("admin's HDB breached list: got %s, want only %q", b, other.Title)
		}
		if !strings.Contains(picked, "No open request is at risk.") {
			t.Errorf("admin's HDB at-risk list: want none")
		}
	})
}
