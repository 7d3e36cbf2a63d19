package metrics_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"datashare/apptest"
	"datashare/metrics"
	"datashare/models"
	"datashare/models/modelstest"
)

// benchRequests is the scale the service is measured at.
const benchRequests = 100_000

// mustSeedScale writes n requests (a tenth open, some of them past due),
// five history rows and seven deliveries each, and one event waiting in a
// hundred, in a few set-based statements.
func mustSeedScale(tb testing.TB, db *models.DB, a *apptest.App, n int) {
	tb.Helper()
	users := a.MustSeed(tb, apptest.CastAgencies, apptest.CastPeople)
	requester := users["req@msf.gov.sg"].ID
	ts := "?"
	if db.Dialect == models.Postgres {
		ts = "CAST(? AS TIMESTAMPTZ)"
	}
	start := time.Date(2026, 1, 5, 2, 0, 0, 0, time.UTC)
	// One series long enough for the largest table; each statement takes
	// the part it needs.
	seq := fmt.Sprintf("WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < %d) ", 7*n)
	statements := []struct {
		sql  string
		args []any
	}{
		{seq + `INSERT INTO requests (title, purpose, data_description, classification, requesting_agency, owner_agency,
			requester_id, state, approvals_required, version, created_at, updated_at, submitted_at, closed_at, sla_due_at, sla_warn_at)
			SELECT 'Request', 'Purpose', 'Data', 'official-open', 'MSF', 'MOH', ?,
				CASE WHEN i % 10 = 0 THEN 'submitted' ELSE 'fulfilled' END, 1, 3, ` + ts + `, ` + ts + `, ` + ts + `,
				CASE WHEN i % 10 = 0 THEN NULL ELSE ` + ts + ` END, ` + ts + `, ` + ts + ` FROM seq WHERE i <= ?`,
			[]any{requester, start, start, start, start.Add(72 * time.Hour), start.Add(200 * time.Hour), start.Add(150 * time.Hour), n}},
		{seq + `INSERT INTO transitions (request_id, action, from_state, to_state, actor_id, at, comment)
			SELECT (i - 1) / 5 + 1, CASE i % 5 WHEN 0 THEN 'create' WHEN 1 THEN 'submit' WHEN 2 THEN 'approve' WHEN 3 THEN 'fulfil' ELSE 'sla_at_risk' END,
				'submitted', 'approved', ?, ` + ts + `, '' FROM seq WHERE i <= ?`,
			[]any{requester, start, 5 * n}},
		{seq + `INSERT INTO outbox (delivery_id, event, request_id, channel, recipient, payload, state, next_attempt_at, created_at)
			SELECT 'd' || i, 'request.submitted', (i - 1) / 7 + 1, CASE WHEN i % 7 = 0 THEN 'webhook' ELSE 'email' END, 'x', '{}',
				CASE WHEN i % 1000 = 0 THEN 'dead' ELSE 'delivered' END, ` + ts + `, ` + ts + ` FROM seq WHERE i <= ?`,
			[]any{start, start, 7 * n}},
		{seq + `INSERT INTO events (event, request_id, at, state) SELECT 'request.submitted', i, ` + ts + `, 'submitted' FROM seq WHERE i <= ? AND i % 100 = 0`,
			[]any{start, n}},
	}
	for _, s := range statements {
		if err := db.Gorm.Exec(s.sql, s.args...).Error; err != nil {
			tb.Fatalf("seed: %v", err)
		}
	}
	if db.Dialect == models.Postgres {
		if err := db.Gorm.Exec("ANALYZE").Error; err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkDomainRead100k is what one read of the domain figures costs the
// database at 100,000 requests (500,000 history rows, 700,000 deliveries):
// the figures from indexes, read at most once per DefaultMaxAge, and those
// that read whole tables, at most once per DefaultHistoryMaxAge.
func BenchmarkDomainRead100k(b *testing.B) {
	for _, d := range modelstest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			db := modelstest.MustOpen(b, d)
			a := apptest.Wire(b, db, apptest.Options{})
			mustSeedScale(b, db, a, benchRequests)
			b.Run("indexed", func(b *testing.B) {
				src := sources(a, time.Nanosecond)
				src.HistoryMaxAge = time.Hour
				src.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
				dom := metrics.NewDomain(src)
				gather(b, dom) // the first scrape waits for the read of whole tables too
				for b.Loop() {
					got := gather(b, dom)
					if got["datashare_domain_up{}"] != 1 || got["datashare_requests{state=fulfilled}"] != benchRequests*9/10 {
						b.Fatalf("domain_up %v, fulfilled %v; want 1 and %d", got["datashare_domain_up{}"], got["datashare_requests{state=fulfilled}"], benchRequests*9/10)
					}
				}
			})
			// What the background read of whole tables does, every
			// DefaultHistoryMaxAge.
			b.Run("whole_tables", func(b *testing.B) {
				ctx := context.Background()
				for b.Loop() {
					byAction, err := a.Workflow.CountHistory(ctx)
					if err != nil || byAction["create"] != benchRequests {
						b.Fatalf("history by action: got %v (%v), want %d creates", byAction, err, benchRequests)
					}
					if _, err := a.Notifications.CountFinished(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
