package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"datashare/accounts"
	"datashare/models"
	"datashare/models/modelstest"
)

// benchRequests is the size of the database the page benchmarks read.
const benchRequests = 100_000

// benchAgencies file and own the seeded requests: the cast's four and
// twelve more, so that one agency holds a sixteenth of the requests, as a
// large ministry might.
var benchAgencies = func() []string {
	out := []string{"MSF", "MOH", "HDB", "GOVTECH"}
	for i := 1; i <= 12; i++ {
		out = append(out, fmt.Sprintf("AG%02d", i))
	}
	return out
}()

// step is one transition of a seeded request, after its creation.
type step struct {
	action, to string
	after      time.Duration
}

// lifecycles are the histories seeded requests follow: most finished (met
// or missed by days), some open in every state, a few drafts.
var lifecycles = [][]step{
	{{"submit", "submitted", time.Hour}, {"approve", "approved", 50 * time.Hour}, {"fulfil", "fulfilled", 20 * time.Hour}},
	{{"submit", "submitted", time.Hour}, {"approve", "approved", 200 * time.Hour}, {"fulfil", "fulfilled", 100 * time.Hour}},
	{{"submit", "submitted", time.Hour}, {"approve", "approved", 24 * time.Hour}, {"fulfil", "fulfilled", 24 * time.Hour}},
	{{"submit", "submitted", 2 * time.Hour}, {"reject", "rejected", 30 * time.Hour}},
	{{"submit", "submitted", time.Hour}},
	{{"submit", "submitted", time.Hour}, {"request_clarification", "clarification_requested", 5 * time.Hour}},
	{{"submit", "submitted", time.Hour}, {"approve", "approved", 26 * time.Hour}},
	{},
}

// mustSeedPages stores benchRequests requests among benchAgencies with
// their histories and SLA clocks, the finished ones over the past year
// and the open ones over the past three weeks, so that some are at risk or
// breached.
func mustSeedPages(b *testing.B, s *site) {
	ctx := context.Background()
	requester := map[string]int64{"MSF": s.Users["req@msf.gov.sg"].ID}
	for _, code := range benchAgencies {
		if err := s.Accounts.EnsureAgency(ctx, code, code+" agency"); err != nil {
			b.Fatal(err)
		}
		if code == "MSF" {
			continue
		}
		u, err := s.Accounts.CreateUserUnchecked(ctx, accounts.NewUser{Email: "bench.req@" + code + ".gov.sg", Name: code + " requester", Agency: code, Roles: []string{"requester"}})
		if err != nil {
			b.Fatal(err)
		}
		requester[code] = u.ID
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	n := len(benchAgencies)
	modelstest.MustSeedRequests(b, s.DB, benchRequests, func(i int, r *models.Request) []models.Transition {
		from, to := benchAgencies[i%n], benchAgencies[(i%n+1+(i/n)%(n-1))%n]
		life := lifecycles[(i/n)%len(lifecycles)]
		created := now.Add(-time.Duration(i%365) * 24 * time.Hour).Add(-time.Duration(i%9) * time.Hour)
		if len(life) == 0 || life[len(life)-1].to != "fulfilled" && life[len(life)-1].to != "rejected" {
			created = now.Add(-time.Duration(i%21) * 24 * time.Hour).Add(-time.Duration(i%7) * time.Hour)
		}
		id := requester[from]
		*r = models.Request{
			Title: fmt.Sprintf("Household data for eldercare planning, batch %d", i), Purpose: "Plan eldercare capacity per town",
			DataDescription: "Counts per block", Classification: "official-open", RequestingAgency: from, OwnerAgency: to,
			RequesterID: id, State: "draft", ApprovalsRequired: 1, Version: 1, CreatedAt: created, UpdatedAt: created,
		}
		r.SLA.StateSince = &created
		hist := []models.Transition{{Action: "create", ToState: "draft", ActorID: &id, At: created}}
		at := created
		for _, st := range life {
			at = at.Add(st.after)
			prev := r.State
			s.Keeper.Stamp(r, prev, st.to, at)
			r.State, r.UpdatedAt = st.to, at
			r.Version++
			if st.action == "submit" {
				r.SubmittedAt = &at
			}
			if st.to == "fulfilled" || st.to == "rejected" {
				r.ClosedAt = &at
			}
			hist = append(hist, models.Transition{Action: st.action, FromState: &prev, ToState: st.to, ActorID: &id, At: at})
		}
		return hist
	})
	// The planner's statistics, as a database of this size would have.
	if err := s.DB.Gorm.Exec("ANALYZE").Error; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPages times the pages a person opens most, one at a time over
// real HTTP, signed in, over 100,000 requests: the server's time per page
// with its session, queries and template. It reports p50 and p99 in
// milliseconds and the gzip-compressed bytes of the page.
func BenchmarkPages(b *testing.B) {
	for _, d := range modelstest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			s := newSite(b, modelstest.MustOpen(b, d), siteOptions{})
			mustSeedPages(b, s)
			requester := s.signIn(b, "req@msf.gov.sg")
			approver := s.signIn(b, "approver1@moh.gov.sg")
			manager := s.signIn(b, "manager@moh.gov.sg")
			// rows is how many table rows the page must show (-1: it has no
			// table): a page that found nothing would be fast for the
			// wrong reason.
			for _, c := range []struct {
				name string
				who  *browser
				path string
				rows int
			}{
				{"inbox", approver, "/inbox", 25},
				{"requests", requester, "/requests", 25},
				{"requests_at_risk", requester, "/requests?sla=at_risk", 25},
				{"requests_search", requester, "/requests?q=batch+4242", 1},
				{"reports", manager, "/reports", 10},
				{"request", approver, "/requests/2", -1},
			} {
				b.Run(c.name, func(b *testing.B) { benchPage(b, c.who, c.path, c.rows) })
			}
		})
	}
}

func benchPage(b *testing.B, who *browser, path string, rows int) {
	if page := who.get(path); page.Status != http.StatusOK || rows >= 0 && strings.Count(page.Body, "<tr") < rows+1 {
		b.Fatalf("GET %s: %d with %d table rows, want 200 with at least %d rows and a header", path, page.Status, strings.Count(page.Body, "<tr"), rows)
	}
	lat := make([]time.Duration, 0, b.N)
	var size int
	b.ResetTimer()
	for range b.N {
		req, err := http.NewRequest(http.MethodGet, who.site.URL+path, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Accept-Encoding", "gzip")
		start := time.Now()
		res, err := who.client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		lat = append(lat, time.Since(start))
		if res.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d, want 200", path, res.StatusCode)
		}
		size = len(body)
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50_ms")
	b.ReportMetric(q(0.99), "p99_ms")
	b.ReportMetric(float64(size), "gzip_B")
}
