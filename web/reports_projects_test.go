package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/workflow"
)

// projectFigures are the project section's headline figures as the page
// shows them, by id without the "project-" prefix; nil when the section
// has none.
func projectFigures(body string) map[string]string {
	var out map[string]string
	for _, m := range statRe.FindAllStringSubmatch(body, -1) {
		if id, ok := strings.CutPrefix(m[1], "project-"); ok {
			if out == nil {
				out = map[string]string{}
			}
			out[id] = m[2]
		}
	}
	return out
}

func TestReportShowsTheProjectReport(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		clk := newClock("2026-02-02T10:00:00+08:00")
		s := newSite(t, db, siteOptions{App: apptest.Options{Now: clk.Now}})
		s.mustProject(t, "req@msf.gov.sg", "MET")
		s.mustProject(t, "req@msf.gov.sg", "MISSED")
		met := s.mustRequestIn(t, "req@msf.gov.sg", "MOH", "MET", "Seniors per block")
		s.mustAct(t, clk, met, "req@msf.gov.sg", workflow.Submit, "") // 11:00
		s.mustShare(t, clk, met, "approver1@moh.gov.sg")              // 13:00: 2 h of 9.5
		missed := s.mustRequestIn(t, "req@msf.gov.sg", "MOH", "MISSED", "Clinic visits")
		s.mustAct(t, clk, missed, "req@msf.gov.sg", workflow.Submit, "") // 14:00, due Wed 11 Feb 14:00

		msf := s.signIn(t, "manager@msf.gov.sg")
		before := projectFigures(msf.mustReport("").Body)
		if before["met"] != "1" || before["missed"] != "0" || before["compliance-rate"] != "100.0%" {
			t.Errorf("before the due time: got %v, want 1 met, 0 missed, 100.0%%", before)
		}

		clk.set("2026-02-12T10:00:00+08:00")
		msf = s.signIn(t, "manager@msf.gov.sg")
		a := msf.mustReport("?project_group_by=lead_agency")
		want := map[string]string{"compliance-rate": "50.0%", "met": "1", "missed": "1", "partial": "0", "finished": "1", "median": "0.2", "p90": "0.2"}
		if got := projectFigures(a.Body); len(got) != len(want) {
			t.Errorf("project figures: got %v, want %v", got, want)
		} else {
			for k, v := range want {
				if got[k] != v {
					t.Errorf("project %s: got %q, want %q", k, got[k], v)
				}
			}
		}
		if got := figures(t, a.Body); got["met"] != "1" || got["missed"] != "1" {
			t.Errorf("request figures: got %v, want 1 met and 1 missed beside the projects'", got)
		}
		wantContains(t, "the project section", a,
			`<h2 id="projects-heading">Cross-agency projects</h2>`,
			"Projects MSF leads or is a partner of.",
			"Projects open now: 1, 0 at risk, 1 breached.",
			`<caption>Projects by lead agency: met, missed and partial</caption>`,
			`<th scope="row">MSF</th><td class="num">1</td><td class="num">1</td><td class="num">0</td><td class="num">50.0%</td>`,
			`<table id="project-waiting-on">`,
			`<th scope="row">MOH</th><td class="num">1</td>`,
			`href="/reports/projects.csv?agency=MSF&amp;from=2026-01-01&amp;project_group_by=lead_agency&amp;to=2026-04-01"`,
			`href="/reports/projects.xlsx?agency=MSF&amp;from=2026-01-01&amp;project_group_by=lead_agency&amp;to=2026-04-01"`,
			`<select id="project_group_by" name="project_group_by" aria-describedby="project_group_by-hint">`,
			`<option value="lead_agency" selected>Lead agency</option>`)

		byMonth := msf.mustReport("?project_group_by=month")
		wantContains(t, "by month", byMonth, `<caption>Projects by month: met, missed and partial</caption>`,
			`<th scope="row">Jan 2026</th><td class="num">0</td><td class="num">0</td><td class="num">0</td><td class="num">—</td>`,
			`<th scope="row">Feb 2026</th><td class="num">1</td><td class="num">1</td><td class="num">0</td><td class="num">50.0%</td>`)
		if plain := msf.mustReport(""); strings.Contains(plain.Body, `id="project-groups"`) {
			t.Error("ungrouped, the section still has a groups table")
		}

		// MOH delivered to MSF's projects but neither leads nor partners
		// them; an admin who picks it sees the same.
		for _, who := range []struct{ email, query string }{{"manager@moh.gov.sg", ""}, {"admin@govtech.gov.sg", "?agency=MOH"}} {
			a := s.signIn(t, who.email).mustReport(who.query)
			wantContains(t, who.email+" "+who.query, a, "Projects MOH leads or is a partner of.",
				"No cross-agency project closed or fell due in this window, and none is open now.")
			if got := projectFigures(a.Body); got != nil {
				t.Errorf("%s: got project figures %v, want the empty text only", who.email, got)
			}
		}
		all := s.signIn(t, "admin@govtech.gov.sg").mustReport("")
		wantContains(t, "admin, all agencies", all, "Projects of every agency.")
		if got := projectFigures(all.Body); got["met"] != "1" || got["missed"] != "1" {
			t.Errorf("admin, all agencies: got %v, want 1 met, 1 missed", got)
		}
	})
}

func TestReportProjectDownloads(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		clk := newClock("2026-02-02T10:00:00+08:00")
		s := newSite(t, db, siteOptions{App: apptest.Options{Now: clk.Now}})
		s.mustProject(t, "req@msf.gov.sg", "MET")
		s.mustProject(t, "req@msf.gov.sg", "MISSED")
		met := s.mustRequestIn(t, "req@msf.gov.sg", "MOH", "MET", "Seniors per block")
		s.mustAct(t, clk, met, "req@msf.gov.sg", workflow.Submit, "")
		s.mustShare(t, clk, met, "approver1@moh.gov.sg")
		missed := s.mustRequestIn(t, "req@msf.gov.sg", "MOH", "MISSED", "Clinic visits")
		s.mustAct(t, clk, missed, "req@msf.gov.sg", workflow.Submit, "")
		clk.set("2026-02-12T10:00:00+08:00")

		b := s.signIn(t, "manager@msf.gov.sg")
		const q = "?from=2026-01-01&to=2026-04-01&project_group_by=lead_agency"
		c := b.get("/reports/projects.csv" + q)
		if c.Status != http.StatusOK || !strings.HasPrefix(c.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("csv: got %d %q\n%s", c.Status, c.Header.Get("Content-Type"), c.Body)
		}
		if got, want := c.Header.Get("Content-Disposition"), `attachment; filename="projects-2026-01-01-2026-04-01.csv"`; got != want {
			t.Errorf("csv Content-Disposition: got %q, want %q", got, want)
		}
		if want := "group,met,missed,partial,compliance_rate\nMSF,1,1,0,0.5000\ntotal,1,1,0,0.5000\n"; c.Body != want {
			t.Errorf("csv: got %q, want %q", c.Body, want)
		}

		x := b.get("/reports/projects.xlsx" + q)
		if x.Status != http.StatusOK || x.Header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Fatalf("xlsx: got %d %q", x.Status, x.Header.Get("Content-Type"))
		}
		if got, want := x.Header.Get("Content-Disposition"), `attachment; filename="projects-2026-01-01-2026-04-01.xlsx"`; got != want {
			t.Errorf("xlsx Content-Disposition: got %q, want %q", got, want)
		}
		f := mustWorkbook(t, x.Body)
		groups, _ := f.GetRows("Groups", excelize.Options{RawCellValue: true})
		waiting, _ := f.GetRows("Waiting on", excelize.Options{RawCellValue: true})
		if got := fmtRows(groups); got != "Lead agency|Met|Missed|Partial|Compliance rate;MSF|1|1|0|0.5;Total|1|1|0|0.5" {
			t.Errorf("Groups: got %s", got)
		}
		if got := fmtRows(waiting); got != "Owner agency|Projects it was last to deliver to;MOH|1" {
			t.Errorf("Waiting on: got %s", got)
		}

		// An MOH manager's download is MOH's scope: nothing.
		if got := s.signIn(t, "manager@moh.gov.sg").get("/reports/projects.csv?from=2026-01-01&to=2026-04-01"); got.Body != "group,met,missed,partial,compliance_rate\ntotal,0,0,0,\n" {
			t.Errorf("MOH's csv: got %d %q, want nothing counted", got.Status, got.Body)
		}
		for _, who := range []string{"req@msf.gov.sg", "approver1@moh.gov.sg"} {
			w := s.signIn(t, who)
			for _, p := range []string{"/reports", "/reports/projects.csv", "/reports/projects.xlsx"} {
				if a := w.get(p + q); a.Status != http.StatusForbidden {
					t.Errorf("%s as %s: got %d, want 403", p, who, a.Status)
				}
			}
		}
		if a := b.get("/reports/projects.csv" + q + "&agency=MOH"); a.Status != http.StatusForbidden {
			t.Errorf("MSF manager downloading MOH's: got %d, want 403", a.Status)
		}
	})
}

func fmtRows(rows [][]string) string {
	var out []string
	for _, r := range rows {
		out = append(out, strings.Join(r, "|"))
	}
	return strings.Join(out, ";")
}

func TestReportRefusesABadProjectGrouping(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		b := s.signIn(t, "manager@moh.gov.sg")
		for _, bad := range []string{"owner_agency", "requesting_agency", "colour"} {
			q := "?from=2026-01-01&to=2026-04-01&project_group_by=" + bad
			a := b.get("/reports" + q)
			if a.Status != http.StatusUnprocessableEntity {
				t.Fatalf("%s: got %d, want 422\n%s", bad, a.Status, a.Body)
			}
			errorAt := regexp.MustCompile(`<p class="field-error" id="project_group_by-error"><span class="visually-hidden">Error:</span> ([^<]*)</p>\s*<select id="project_group_by"[^>]*aria-describedby="[^"]*project_group_by-error"[^>]*aria-invalid="true"`)
			if m := errorAt.FindStringSubmatch(a.Body); m == nil || m[1] != "Choose how to group the project report from the list" {
				t.Errorf("%s: got %v, want the message next to the field, described by it", bad, m)
			}
			wantContains(t, bad, a, `role="alert"`, `<a href="#project_group_by">Choose how to group the project report from the list</a>`)
			if strings.Contains(a.Body, `id="projects-heading"`) || strings.Contains(a.Body, `id="compliance-rate"`) || strings.Contains(a.Body, `id="group_by-error"`) {
				t.Errorf("%s: want no report and no error on the request grouping", bad)
			}
			for _, dl := range []string{"/reports/projects.csv", "/reports/projects.xlsx"} {
				if got := b.get(dl + q); got.Status != http.StatusUnprocessableEntity || !strings.HasPrefix(got.Header.Get("Content-Type"), "text/html") {
					t.Errorf("%s%s: got %d %s, want a 422 page", dl, q, got.Status, got.Header.Get("Content-Type"))
				}
			}
		}
		// A bad window refuses the project downloads as the page does.
		if got := b.get("/reports/projects.csv?from=2026-04-01&to=2026-01-01"); got.Status != http.StatusUnprocessableEntity || !strings.Contains(got.Body, "To must be after from") {
			t.Errorf("a bad window: got %d, want a 422 page saying to must be after from", got.Status)
		}
	})
}
