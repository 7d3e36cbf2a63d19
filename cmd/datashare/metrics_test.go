package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"datashare/models"
	"datashare/models/modelstest"
)

var metricsRE = regexp.MustCompile(`metrics at (http://\S+)/metrics`)

// mustMetricsURL returns the metrics address the program printed.
func (p *program) mustMetricsURL() string {
	p.t.Helper()
	m := metricsRE.FindStringSubmatch(p.stdout.String())
	if m == nil {
		p.t.Fatalf("stdout has no \"metrics at …\" line:\n%s", p.stdout)
	}
	return m[1] + "/metrics"
}

// mustScrape reads url over HTTP and parses the text exposition format.
func mustScrape(tb testing.TB, url string) map[string]*dto.MetricFamily {
	tb.Helper()
	res, err := http.Get(url)
	if err != nil {
		tb.Fatalf("scrape %s: %v", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		tb.Fatalf("scrape %s: got %d, want 200\n%s", url, res.StatusCode, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		tb.Fatalf("parse the scrape of %s: %v", url, err)
	}
	return fams
}

// series returns the value of every series of the family name, by its
// labels written as k=v,k=v in the order of the exposition.
func series(fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	f, ok := fams[name]
	if !ok {
		return nil
	}
	for _, m := range f.GetMetric() {
		var labels []string
		for _, l := range m.GetLabel() {
			labels = append(labels, l.GetName()+"="+l.GetValue())
		}
		v := m.GetGauge().GetValue() + m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
		out[strings.Join(labels, ",")] = v
	}
	return out
}

func one(tb testing.TB, fams map[string]*dto.MetricFamily, name string) float64 {
	tb.Helper()
	s := series(fams, name)
	v, ok := s[""]
	if len(s) != 1 || !ok {
		tb.Fatalf("%s: got series %v, want one without labels", name, s)
	}
	return v
}

// mustCount runs a counting query with one string column and one count
// column and returns the counts by that column's values, joined by commas.
func mustCount(tb testing.TB, db *models.DB, query string) map[string]float64 {
	tb.Helper()
	rows, err := db.Gorm.Raw(query).Rows()
	if err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	out := map[string]float64{}
	for rows.Next() {
		keys := make([]string, len(cols)-1)
		dest := make([]any, len(cols))
		for i := range keys {
			dest[i] = &keys[i]
		}
		var n int64
		dest[len(cols)-1] = &n
		if err := rows.Scan(dest...); err != nil {
			tb.Fatal(err)
		}
		out[strings.Join(keys, ",")] = float64(n)
	}
	return out
}

// The metrics listen apart from the service, and their domain figures are
// those of the database after the transitions the test makes.
func TestServeMetricsMatchTheDatabase(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dsn string) {
		p := mustServe(t, envOf(nil), "--demo", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--db", dsn)
		scrapeURL := p.mustMetricsURL()
		if strings.HasPrefix(scrapeURL, p.url+"/") {
			t.Fatalf("metrics at %s, on the service's own address", scrapeURL)
		}
		if st := p.get("/metrics", "", nil); st != http.StatusNotFound {
			t.Errorf("GET /metrics on the service's address: got %d, want 404", st)
		}

		tok := p.mustToken(mohRequester)
		var ids []int64
		for i := range 3 {
			var created requestItem
			body := map[string]string{"title": fmt.Sprintf("Metrics %d", i), "purpose": "Count transitions.",
				"data_description": "Anything.", "classification": "official-open", "owner_agency": "HDB"}
			if st := p.do(http.MethodPost, "/api/v1/requests", tok, body, &created); st != http.StatusCreated {
				t.Fatalf("POST /api/v1/requests: got %d, want 201", st)
			}
			ids = append(ids, created.ID)
		}
		transitions := 0
		for _, id := range ids {
			for _, action := range []string{"submit", "withdraw"} {
				path := fmt.Sprintf("/api/v1/requests/%d/transitions", id)
				if st := p.do(http.MethodPost, path, tok, map[string]string{"action": action}, nil); st != http.StatusOK {
					t.Fatalf("POST %s %s: got %d, want 200", path, action, st)
				}
				transitions++
			}
		}
		// A refused transition (withdrawn is terminal) and a path no route has.
		if st := p.do(http.MethodPost, fmt.Sprintf("/api/v1/requests/%d/transitions", ids[0]), tok, map[string]string{"action": "submit"}, nil); st != http.StatusConflict {
			t.Fatalf("submit a withdrawn request: got %d, want 409", st)
		}
		if st := p.get("/no/such/page/8391", "", nil); st != http.StatusNotFound {
			t.Fatalf("GET an unknown path: got %d, want 404", st)
		}

		db, err := models.Open(dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// Let the dispatcher fan out the events of these transitions, so
		// that the database holds still while the figures are compared.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			busy := mustCount(t, db, "SELECT 'events', COUNT(*) FROM events WHERE fanned_out_at IS NULL")["events"] +
				mustCount(t, db, "SELECT 'outbox', COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')")["outbox"]
			if busy == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%v events and deliveries still waiting 10 s after the transitions", busy)
			}
		}
		fams := mustScrape(t, scrapeURL)

		if got := one(t, fams, "datashare_domain_up"); got != 1 {
			t.Errorf("datashare_domain_up: got %v, want 1", got)
		}
		wantStates := mustCount(t, db, "SELECT state, COUNT(*) FROM requests GROUP BY state")
		gotStates := series(fams, "datashare_requests")
		for _, st := range []string{"draft", "submitted", "clarification_requested", "approved", "fulfilled", "rejected", "withdrawn"} {
			if gotStates["state="+st] != wantStates[st] {
				t.Errorf("datashare_requests{state=%q}: got %v, want %v from the database", st, gotStates["state="+st], wantStates[st])
			}
		}
		if len(gotStates) != 7 {
			t.Errorf("datashare_requests: got %d series %v, want one per state", len(gotStates), gotStates)
		}
		if wantStates["withdrawn"] < 3 {
			t.Errorf("withdrawn requests in the database: got %v, want at least the test's 3", wantStates["withdrawn"])
		}

		wantActions := mustCount(t, db, "SELECT action, COUNT(*) FROM transitions GROUP BY action")
		gotActions := map[string]float64{}
		for k, v := range series(fams, "datashare_transitions_total") {
			gotActions[strings.TrimPrefix(k, "action=")] = v
		}
		if fmt.Sprint(gotActions) != fmt.Sprint(wantActions) {
			t.Errorf("datashare_transitions_total: got %v, want %v from the database", gotActions, wantActions)
		}
		if wantActions["withdraw"] < float64(len(ids)) || wantActions["sla_breached"] == 0 {
			t.Errorf("history by action %v: want the test's withdrawals and the demo's breach", wantActions)
		}

		wantDeliveries := mustCount(t, db, "SELECT state, channel, COUNT(*) FROM outbox GROUP BY state, channel")
		gotDeliveries := map[string]float64{}
		for k, v := range series(fams, "datashare_deliveries") {
			// labels in name order: channel, state
			parts := strings.Split(k, ",")
			slices.Reverse(parts)
			gotDeliveries[strings.TrimPrefix(parts[0], "state=")+","+strings.TrimPrefix(parts[1], "channel=")] = v
		}
		if fmt.Sprint(gotDeliveries) != fmt.Sprint(wantDeliveries) || len(wantDeliveries) == 0 {
			t.Errorf("datashare_deliveries: got %v, want %v from the database", gotDeliveries, wantDeliveries)
		}
		dead := mustCount(t, db, "SELECT 'dead', COUNT(*) FROM outbox WHERE state = 'dead'")["dead"]
		if got := one(t, fams, "datashare_deliveries_dead"); got != dead {
			t.Errorf("datashare_deliveries_dead: got %v, want %v", got, dead)
		}
		waiting := mustCount(t, db, "SELECT 'events', COUNT(*) FROM events WHERE fanned_out_at IS NULL")["events"]
		if got := one(t, fams, "datashare_events_waiting"); got != waiting {
			t.Errorf("datashare_events_waiting: got %v, want %v", got, waiting)
		}

		// At risk and breached as the API lists them; the month's compliance
		// as the report gives it.
		admin := p.mustToken(govtechAdmin)
		for name, query := range map[string]string{"datashare_sla_at_risk_requests": "sla_status=at_risk", "datashare_sla_breached_requests": "sla_status=breached"} {
			var page requestPage
			if st := p.get("/api/v1/requests?limit=100&"+query, admin, &page); st != http.StatusOK || page.NextCursor != nil {
				t.Fatalf("GET /api/v1/requests?%s: got %d, want 200 with one page", query, st)
			}
			if got := one(t, fams, name); got != float64(len(page.Items)) || got == 0 {
				t.Errorf("%s: got %v, want %d as the list shows (and not 0: the demo has some)", name, got, len(page.Items))
			}
		}
		open := mustCount(t, db, "SELECT 'open', COUNT(*) FROM requests WHERE state IN ('submitted', 'clarification_requested', 'approved')")["open"]
		if got := one(t, fams, "datashare_sla_open_requests"); got != open {
			t.Errorf("datashare_sla_open_requests: got %v, want %v", got, open)
		}
		now := time.Now().In(mustSingapore(t))
		first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
		var rep struct {
			Met            int      `json:"met"`
			Missed         int      `json:"missed"`
			ComplianceRate *float64 `json:"compliance_rate"`
		}
		reportPath := "/api/v1/reports/sla?from=" + first.Format("2006-01-02") + "&to=" + first.AddDate(0, 1, 0).Format("2006-01-02")
		if st := p.get(reportPath, admin, &rep); st != http.StatusOK {
			t.Fatalf("GET %s: got %d, want 200", reportPath, st)
		}
		if got := one(t, fams, "datashare_sla_month_met_requests"); got != float64(rep.Met) {
			t.Errorf("datashare_sla_month_met_requests: got %v, want %d as the report", got, rep.Met)
		}
		if got := one(t, fams, "datashare_sla_month_missed_requests"); got != float64(rep.Missed) {
			t.Errorf("datashare_sla_month_missed_requests: got %v, want %d as the report", got, rep.Missed)
		}
		rate := series(fams, "datashare_sla_compliance_ratio")
		switch {
		case rep.ComplianceRate == nil && rate != nil:
			t.Errorf("datashare_sla_compliance_ratio: got %v, want none (nothing counted this month)", rate)
		case rep.ComplianceRate != nil && rate[""] != *rep.ComplianceRate:
			t.Errorf("datashare_sla_compliance_ratio: got %v, want %v as the report", rate, *rep.ComplianceRate)
		}

		// The demo ran one check at start.
		if got := one(t, fams, "datashare_sla_check_last_success"); got != 1 {
			t.Errorf("datashare_sla_check_last_success: got %v, want 1", got)
		}
		if got := one(t, fams, "datashare_sla_check_last_duration_seconds"); got <= 0 || got > 60 {
			t.Errorf("datashare_sla_check_last_duration_seconds: got %v, want some time under a minute", got)
		}
		if got := one(t, fams, "datashare_sla_check_last_run_timestamp_seconds"); time.Since(time.Unix(int64(got), 0)) > 5*time.Minute {
			t.Errorf("datashare_sla_check_last_run_timestamp_seconds: got %v, want within the last minutes", got)
		}
		if got := series(fams, "datashare_sla_check_last_flagged_requests")["kind=breached"]; got == 0 {
			t.Errorf("datashare_sla_check_last_flagged_requests{kind=breached}: got 0, want the demo's breaches")
		}

		// HTTP figures by route template: the transitions above, and
		// nothing named after a raw path.
		reqs := series(fams, "datashare_http_requests_total")
		if got := reqs["code=200,host=,method=POST,url=/api/v1/requests/:request_id/transitions"]; got != float64(transitions) {
			t.Errorf("datashare_http_requests_total of 200 transitions: got %v, want %d; all series: %v", got, transitions, reqs)
		}
		if got := reqs["code=409,host=,method=POST,url=/api/v1/requests/:request_id/transitions"]; got != 1 {
			t.Errorf("datashare_http_requests_total of 409 transitions: got %v, want 1", got)
		}
		if got := series(fams, "datashare_http_request_duration_seconds")["code=201,host=,method=POST,url=/api/v1/requests"]; got != float64(len(ids)) {
			t.Errorf("datashare_http_request_duration_seconds of creates: got %v observations, want %d", got, len(ids))
		}
		for k := range reqs {
			if strings.Contains(k, "8391") || regexp.MustCompile(`/requests/\d`).MatchString(k) {
				t.Errorf("datashare_http_requests_total has a series named after a raw path: %s", k)
			}
		}
		p.mustStop()
	})
}

func mustSingapore(tb testing.TB) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation("Asia/Singapore")
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

// A metrics address already taken stops the start with a clear error.
func TestServeFailsWhenMetricsAddressIsTaken(t *testing.T) {
	p := mustServe(t, envOf(nil), "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--db", modelstest.DSN(t, models.SQLite))
	taken := strings.TrimSuffix(strings.TrimPrefix(p.mustMetricsURL(), "http://"), "/metrics")
	err := run(t.Context(), []string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", taken, "--db", modelstest.DSN(t, models.SQLite)}, envOf(nil), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "for metrics") {
		t.Errorf("serve with a taken metrics address: got %v, want a listen error for metrics", err)
	}
	p.mustStop()
}
