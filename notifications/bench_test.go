package notifications_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
	"datashare/notifications"
	"datashare/workflow"
)

// The benchmarks run once per dialect: SQLite always, PostgreSQL when
// DATASHARE_TEST_POSTGRES_URL is set.
//
//	go test -run '^$' -bench . -benchtime 3x ./notifications/

func forEachDialect(b *testing.B, fn func(b *testing.B, db *models.DB)) {
	for _, d := range []models.Dialect{models.SQLite, models.Postgres} {
		b.Run(string(d), func(b *testing.B) { fn(b, modelstest.MustOpen(b, d)) })
	}
}

// mustTemplate returns the outbox row a submit writes on channel, as a
// template for pre-filling the outbox, and empties the outbox.
func mustTemplate(b *testing.B, e *env, channel string) models.Delivery {
	b.Helper()
	r := e.mustCreate(b, "Benchmark request", "official-open")
	e.mustApply(b, "req", r.ID, workflow.Submit, "")
	rows := mustDeliveries(b, e.db, "channel = ?", channel)
	if len(rows) == 0 {
		b.Fatalf("a submit wrote no %s delivery", channel)
	}
	if err := e.db.Gorm.Exec("DELETE FROM outbox").Error; err != nil {
		b.Fatal(err)
	}
	return rows[0]
}

// mustFill writes n pending copies of tmpl, each with its own delivery id
// and its own copy of tmpl's event, already fanned out, to render it from.
func mustFill(b *testing.B, e *env, tmpl models.Delivery, n int) {
	b.Helper()
	var ev models.Event
	if err := e.db.Gorm.Take(&ev, "id = ?", *tmpl.EventID).Error; err != nil {
		b.Fatal(err)
	}
	events := make([]models.Event, n)
	for i := range events {
		events[i] = ev
		events[i].ID = 0
	}
	if err := e.db.Gorm.CreateInBatches(events, 200).Error; err != nil {
		b.Fatalf("fill events: %v", err)
	}
	rows := make([]models.Delivery, n)
	now := e.clock.Now().UTC()
	for i := range rows {
		r := tmpl
		r.ID, r.DeliveryID, r.State, r.Attempts = 0, notifications.NewDeliveryID(), notifications.StatePending, 0
		r.EventID = &events[i].ID
		r.NextAttemptAt, r.CreatedAt, r.ClaimedUntil, r.DeliveredAt, r.LastError = now, now, nil, nil, ""
		rows[i] = r
	}
	if err := e.db.Gorm.CreateInBatches(rows, 200).Error; err != nil {
		b.Fatalf("fill outbox: %v", err)
	}
}

// benchThroughput times one dispatcher draining n pending deliveries per
// iteration with Tick, and reports deliveries per second.
func benchThroughput(b *testing.B, e *env, tmpl models.Delivery, senders map[string]notifications.Sender, n int) {
	d := e.newDispatcher(senders, notifications.DefaultPolicy())
	var busy time.Duration
	total := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		mustFill(b, e, tmpl, n)
		b.StartTimer()
		began := time.Now()
		got := mustDrain(b, d)
		busy += time.Since(began)
		if got != n {
			b.Fatalf("claimed %d, want %d", got, n)
		}
		total += n
	}
	b.StopTimer()
	if left := mustCount(b, e.db, "outbox", "state <> ?", notifications.StateDelivered); left != 0 {
		b.Fatalf("%d deliveries not delivered", left)
	}
	b.ReportMetric(float64(total)/busy.Seconds(), "deliveries/s")
}

// BenchmarkDispatchWebhook: deliveries per second from one dispatcher to a
// local webhook receiver (httptest, answering 200 at once).
func BenchmarkDispatchWebhook(b *testing.B) {
	forEachDialect(b, func(b *testing.B, db *models.DB) {
		e := newEnv(b, db, false)
		recv := startHookReceiver(b, always(http.StatusOK))
		e.mustWebhook(b, recv.srv.URL, "*")
		tmpl := mustTemplate(b, e, notifications.Webhook)
		benchThroughput(b, e, tmpl, map[string]notifications.Sender{notifications.Webhook: newHookSender(db)}, 500)
	})
}

// BenchmarkDispatchSMTP: deliveries per second from one dispatcher to the
// in-process SMTP server (one SMTP session per mail, as the Mailer does).
func BenchmarkDispatchSMTP(b *testing.B) {
	forEachDialect(b, func(b *testing.B, db *models.DB) {
		e := newEnv(b, db, true)
		sink := startMailSink(b)
		tmpl := mustTemplate(b, e, notifications.Email)
		benchThroughput(b, e, tmpl, map[string]notifications.Sender{notifications.Email: mustMailer(b, sink)}, 200)
		if got := len(sink.Messages()); got != 200*b.N {
			b.Fatalf("mails received: got %d, want %d", got, 200*b.N)
		}
	})
}

// BenchmarkCommitToDelivery: a steady stream of approve and fulfil
// transitions (50 a second, 100 per iteration) with a running dispatcher
// woken by the outbox after each commit; the delay is from the commit of a
// transition, which writes only its event, to the arrival of its webhook at
// the receiver, so it includes the dispatcher's fan-out of the event. The
// dispatcher polls only once a second, so the figures measure the kick.
func BenchmarkCommitToDelivery(b *testing.B) {
	const (
		rate = 50  // transitions per second
		per  = 100 // transitions per iteration
	)
	forEachDialect(b, func(b *testing.B, db *models.DB) {
		e := newEnv(b, db, false)
		e.clock.UseWallClock()
		type key struct {
			id    int64
			event string
		}
		var mu sync.Mutex
		arrived := map[key]time.Time{}
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			at := time.Now()
			raw, _ := io.ReadAll(r.Body)
			var body struct {
				Event   string `json:"event"`
				Request struct {
					ID int64 `json:"id"`
				} `json:"request"`
			}
			if err := json.Unmarshal(raw, &body); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			mu.Lock()
			arrived[key{body.Request.ID, body.Event}] = at
			mu.Unlock()
		}))
		b.Cleanup(recv.Close)
		e.mustWebhook(b, recv.URL, notifications.RequestApproved, notifications.RequestFulfilled)
		d := notifications.NewDispatcher(e.outbox, map[string]notifications.Sender{notifications.Webhook: newHookSender(db)},
			notifications.DefaultPolicy(), e.clock.Now, nil)
		var committed time.Time // written by the after-commit hook on the streaming goroutine
		e.outbox.OnCommit(func() {
			committed = time.Now()
			d.Kick()
		})
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.Run(ctx)
		}()
		b.Cleanup(func() {
			cancel()
			wg.Wait()
		})

		var delays []time.Duration
		var streaming time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			ids := make([]int64, per/2)
			for j := range ids {
				r := e.mustCreate(b, fmt.Sprintf("Stream %d.%d", i, j), "official-open")
				e.mustApply(b, "req", r.ID, workflow.Submit, "")
				ids[j] = r.ID
			}
			b.StartTimer()
			commits := map[key]time.Time{}
			tick := time.NewTicker(time.Second / rate)
			began := time.Now()
			for j := 0; j < per; j++ {
				<-tick.C
				act := workflow.Approve
				if j%2 == 1 {
					act = workflow.Fulfil
				}
				// Not mustApply: the dispatcher, not the benchmark, fans out.
				if _, err := e.wf.Apply(context.Background(), e.actor("a1"), ids[j/2], act, "", 0); err != nil {
					b.Fatal(err)
				}
				commits[key{ids[j/2], eventOf[act]}] = committed
			}
			streaming += time.Since(began)
			tick.Stop()
			deadline := time.Now().Add(30 * time.Second)
			for {
				mu.Lock()
				missing := 0
				for k := range commits {
					if _, ok := arrived[k]; !ok {
						missing++
					}
				}
				mu.Unlock()
				if missing == 0 {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("%d webhooks did not arrive within 30 s", missing)
				}
				time.Sleep(5 * time.Millisecond)
			}
			mu.Lock()
			for k, c := range commits {
				delays = append(delays, arrived[k].Sub(c))
			}
			mu.Unlock()
		}
		b.StopTimer()
		slices.Sort(delays)
		pct := func(p float64) float64 {
			return float64(delays[int(p*float64(len(delays)-1))]) / float64(time.Millisecond)
		}
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		b.ReportMetric(float64(delays[len(delays)-1])/float64(time.Millisecond), "max-ms")
		b.ReportMetric(float64(len(delays))/streaming.Seconds(), "transitions/s")
	})
}
