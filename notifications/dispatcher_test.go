package notifications_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"datashare/errs"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/notifications"
	"datashare/workflow"
)

// TestClaimedButUnsentIsSentAfterTheLease simulates a dispatcher killed
// between claiming deliveries and sending them: another dispatcher leaves
// them alone while the lease runs, then claims and sends each once.
func TestClaimedButUnsentIsSentAfterTheLease(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		e := newEnv(t, db, true)
		sink := startMailSink(t)
		recv := startHookReceiver(t, always(http.StatusNoContent))
		e.mustWebhook(t, recv.srv.URL, "*")
		senders := map[string]notifications.Sender{
			notifications.Email:   mustMailer(t, sink),
			notifications.Webhook: newHookSender(db),
		}
		p := testPolicy()
		r := e.mustCreate(t, "Immunisation records", "official-open")
		e.mustApply(t, "req", r.ID, workflow.Submit, "")
		const want = 4 // three approvers by email, one webhook

		claimed, err := e.newDispatcher(senders, p).Claim(ctx)
		if err != nil || len(claimed) != want {
			t.Fatalf("claim: got %d rows (%v), want %d", len(claimed), err, want)
		}
		until := e.clock.Now().Add(p.Lease)
		for _, row := range mustDeliveries(t, db, "") {
			if row.State != notifications.StateSending || row.Attempts != 1 || row.ClaimedUntil == nil || !row.ClaimedUntil.Equal(until) {
				t.Errorf("claimed delivery %d: got state %s, attempts %d, claimed_until %v; want sending, 1, %s",
					row.ID, row.State, row.Attempts, row.ClaimedUntil, until.UTC())
			}
		}
		// The first dispatcher dies here: nothing is sent, nothing recorded.

		d := e.newDispatcher(senders, p)
		if n := mustDrain(t, d); n != 0 {
			t.Fatalf("a new dispatcher during the lease claimed %d, want 0", n)
		}
		e.clock.Set(until.Add(-time.Second))
		if n := mustDrain(t, d); n != 0 {
			t.Fatalf("a second before the lease ends: claimed %d, want 0", n)
		}
		e.clock.Set(until.Add(time.Second))
		if n := mustDrain(t, d); n != want {
			t.Fatalf("after the lease: claimed %d, want %d", n, want)
		}
		for _, row := range mustDeliveries(t, db, "") {
			if row.State != notifications.StateDelivered || row.Attempts != 2 || row.ClaimedUntil != nil {
				t.Errorf("delivery %d after restart: got state %s, attempts %d, claimed_until %v; want delivered, 2, nil",
					row.ID, row.State, row.Attempts, row.ClaimedUntil)
			}
		}
		seen := map[string]int{}
		for _, m := range sink.Messages() {
			seen[mustParseMail(t, m).DeliveryID]++
		}
		for _, c := range recv.Calls() {
			seen[c.Header.Get("X-Datashare-Delivery")]++
		}
		if len(seen) != want {
			t.Errorf("distinct deliveries received: got %d, want %d", len(seen), want)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("delivery %s received %d times, want once", id, n)
			}
		}
	})
}

// TestCancelledDispatcherLeavesTheRestToTheLease: a dispatcher whose
// context ends in the middle of a batch sends nothing more; the rows it
// still held are sent by the next one once the lease ends.
func TestCancelledDispatcherLeavesTheRestToTheLease(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db, true)
		sink := startMailSink(t)
		p := testPolicy()
		senders := map[string]notifications.Sender{notifications.Email: mustMailer(t, sink)}
		r := e.mustCreate(t, "Cancelled mid-batch", "official-open")
		e.mustApply(t, "req", r.ID, workflow.Submit, "")

		ctx, cancel := context.WithCancel(context.Background())
		d1 := e.newDispatcher(senders, p)
		batch, err := d1.Claim(ctx)
		if err != nil || len(batch) != 3 {
			t.Fatalf("claim: got %d (%v), want 3", len(batch), err)
		}
		d1.Deliver(ctx, batch[:1])
		cancel()
		d1.Deliver(ctx, batch[1:])
		if got := len(sink.Messages()); got != 1 {
			t.Fatalf("mails sent before the cancel: got %d, want 1", got)
		}
		if n := mustCount(t, db, "outbox", "state = ?", notifications.StateSending); n != 2 {
			t.Fatalf("rows still held: got %d, want 2", n)
		}
		e.clock.Advance(p.Lease + time.Second)
		if n := mustDrain(t, e.newDispatcher(senders, p)); n != 2 {
			t.Fatalf("after the lease: claimed %d, want 2", n)
		}
		if got := len(sink.Messages()); got != 3 {
			t.Errorf("mails in all: got %d, want 3", got)
		}
	})
}

// TestDeadDeliveryCanBeRetried: with three attempts allowed, a receiver
// that always fails makes the delivery dead; an admin sees it, Retry puts it
// back with a fresh count, and it goes out once the receiver works. Only a
// dead delivery can be retried.
func TestDeadDeliveryCanBeRetried(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		e := newEnv(t, db, false)
		var failing atomic.Bool
		failing.Store(true)
		recv := startHookReceiver(t, func(int) int {
			if failing.Load() {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		hook := e.mustWebhook(t, recv.srv.URL, notifications.RequestSubmitted)
		p := testPolicy()
		p.MaxAttempts = 3
		d := e.newDispatcher(map[string]notifications.Sender{notifications.Webhook: newHookSender(db)}, p)
		r := e.mustCreate(t, "Dead letters", "official-open")
		e.mustApply(t, "req", r.ID, workflow.Submit, "")
		id := mustDeliveries(t, db, "channel = ?", notifications.Webhook)[0].ID

		for attempt := 1; attempt <= 3; attempt++ {
			if n, err := d.Tick(ctx); err != nil || n != 1 {
				t.Fatalf("attempt %d: tick claimed %d (%v), want 1", attempt, n, err)
			}
			row := mustDelivery(t, db, id)
			wantState := notifications.StatePending
			if attempt == 3 {
				wantState = notifications.StateDead
			}
			if row.State != wantState || row.Attempts != attempt || !strings.Contains(row.LastError, "503") || row.ClaimedUntil != nil {
				t.Fatalf("after attempt %d: got state %s, attempts %d, last_error %q, claimed_until %v; want %s, %d, an error naming the 503, nil",
					attempt, row.State, row.Attempts, row.LastError, row.ClaimedUntil, wantState, attempt)
			}
			e.clock.Set(row.NextAttemptAt)
		}
		e.clock.Advance(2 * p.MaxBackoff)
		if n := mustDrain(t, d); n != 0 {
			t.Fatalf("a dead delivery was claimed again (%d)", n)
		}
		dead, err := e.notes.Deliveries(ctx, adminActor, hook.ID, notifications.StateDead)
		if err != nil || len(dead) != 1 || dead[0].ID != id {
			t.Fatalf("admin's list of dead deliveries: got %+v (%v), want delivery %d", dead, err, id)
		}

		if err := notifications.Retry(ctx, db, id+1000, e.clock.Now()); !errs.Is(err, errs.NotFound) {
			t.Errorf("Retry of an unknown delivery: got %v, want not_found", err)
		}
		if _, err := e.notes.Requeue(ctx, e.actor("a1"), id); !errs.Is(err, errs.Forbidden) {
			t.Errorf("Requeue by a non-admin: got %v, want forbidden", err)
		}
		if err := notifications.Retry(ctx, db, id, e.clock.Now()); err != nil {
			t.Fatalf("Retry of a dead delivery: %v", err)
		}
		row := mustDelivery(t, db, id)
		if row.State != notifications.StatePending || row.Attempts != 0 || row.NextAttemptAt.After(e.clock.Now()) || row.ClaimedUntil != nil {
			t.Errorf("after Retry: got state %s, attempts %d, next attempt %s (now %s), claimed_until %v; want pending, 0, due now, nil",
				row.State, row.Attempts, row.NextAttemptAt, e.clock.Now(), row.ClaimedUntil)
		}
		if err := notifications.Retry(ctx, db, id, e.clock.Now()); !errs.Is(err, errs.Conflict) {
			t.Errorf("Retry of a pending delivery: got %v, want conflict", err)
		}

		failing.Store(false)
		if n := mustDrain(t, d); n != 1 {
			t.Fatalf("after Retry: claimed %d, want 1", n)
		}
		row = mustDelivery(t, db, id)
		if row.State != notifications.StateDelivered || row.Attempts != 1 {
			t.Errorf("after Retry and a working receiver: got state %s, attempts %d; want delivered, 1", row.State, row.Attempts)
		}
		if err := notifications.Retry(ctx, db, id, e.clock.Now()); !errs.Is(err, errs.Conflict) {
			t.Errorf("Retry of a delivered delivery: got %v, want conflict", err)
		}
		calls := recv.Calls()
		if len(calls) != 4 {
			t.Fatalf("receiver calls: got %d, want 4 (3 failed, 1 after Retry)", len(calls))
		}
		for i, c := range calls {
			if got := c.Header.Get("X-Datashare-Delivery"); got != row.DeliveryID {
				t.Errorf("call %d X-Datashare-Delivery: got %q, want %q", i+1, got, row.DeliveryID)
			}
		}
	})
}

// TestDeletedWebhookStopsItsDeliveries: deliveries queued for a webhook
// that is then deleted go dead instead of out.
func TestDeletedWebhookStopsItsDeliveries(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		e := newEnv(t, db, false)
		recv := startHookReceiver(t, always(http.StatusOK))
		hook := e.mustWebhook(t, recv.srv.URL, "*")
		r := e.mustCreate(t, "Deleted receiver", "official-open")
		e.mustApply(t, "req", r.ID, workflow.Submit, "")
		if err := e.notes.DeleteWebhook(ctx, adminActor, hook.ID); err != nil {
			t.Fatal(err)
		}
		d := e.newDispatcher(map[string]notifications.Sender{notifications.Webhook: newHookSender(db)}, testPolicy())
		if n := mustDrain(t, d); n != 0 {
			t.Errorf("claimed %d deliveries of a deleted webhook, want 0", n)
		}
		if n := len(recv.Calls()); n != 0 {
			t.Errorf("a deleted webhook got %d calls, want 0", n)
		}
		e.mustApply(t, "a1", r.ID, workflow.Approve, "")
		if n := mustCount(t, db, "outbox", "channel = ?", notifications.Webhook); n != 1 {
			t.Errorf("webhook rows after the webhook was deleted: got %d, want 1 (the one from before)", n)
		}
	})
}

// TestTwoDispatchersShareTheOutbox: two replicas, each with its own
// connection pool and dispatcher, drain one outbox together; every
// delivery is made exactly once.
func TestTwoDispatchersShareTheOutbox(t *testing.T) {
	t.Parallel()
	for _, dialect := range modelstest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			dsn := modelstest.DSN(t, dialect)
			dbA, err := models.Open(dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { dbA.Close() })
			if err := dbA.Migrate(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			dbB, err := models.Open(dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { dbB.Close() })

			e := newEnv(t, dbA, false)
			recv := startHookReceiver(t, always(http.StatusOK))
			e.mustWebhook(t, recv.srv.URL, notifications.RequestSubmitted)
			const n = 30
			for i := 0; i < n; i++ {
				r := e.mustCreate(t, fmt.Sprintf("Shared %d", i), "official-open")
				e.mustApply(t, "req", r.ID, workflow.Submit, "")
			}
			p := testPolicy()
			p.Batch = 4 // many small claims, so that the two meet often
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for _, db := range []*models.DB{dbA, dbB} {
				o := notifications.NewOutbox(db, sgt, notifications.Links{Base: baseURL}, false)
				d := notifications.NewDispatcher(o, map[string]notifications.Sender{notifications.Webhook: newHookSender(db)}, p, e.clock.Now, nil)
				wg.Add(1)
				go func() {
					defer wg.Done()
					d.Run(ctx)
				}()
			}
			deadline := time.Now().Add(20 * time.Second)
			for mustCount(t, dbA, "outbox", "channel = ? AND state <> ?", notifications.Webhook, notifications.StateDelivered) > 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			wg.Wait()
			if left := mustCount(t, dbA, "outbox", "channel = ? AND state <> ?", notifications.Webhook, notifications.StateDelivered); left != 0 {
				t.Fatalf("deliveries not made within 20 s: %d", left)
			}
			seen := map[string]int{}
			for _, c := range recv.Calls() {
				seen[c.Header.Get("X-Datashare-Delivery")]++
			}
			if len(seen) != n {
				t.Errorf("distinct deliveries received: got %d, want %d", len(seen), n)
			}
			for id, k := range seen {
				if k != 1 {
					t.Errorf("delivery %s received %d times, want once", id, k)
				}
			}
			if got := mustCount(t, dbA, "outbox", "channel = ? AND attempts <> 1", notifications.Webhook); got != 0 {
				t.Errorf("deliveries claimed more than once: %d", got)
			}
		})
	}
}

// failing is a sender that always fails.
type failing struct{}

func (failing) Send(context.Context, *models.Delivery) error { return errors.New("receiver stalled") }

// TestLateOutcomeOfAnExpiredClaimChangesNothing: a dispatcher that stalls
// past its lease reports a failure after another dispatcher has re-claimed
// and delivered the row; the late report must not put it back in the queue.
func TestLateOutcomeOfAnExpiredClaimChangesNothing(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		e := newEnv(t, db, false) // no SMTP: only the webhook delivery is claimed
		recv := startHookReceiver(t, always(http.StatusNoContent))
		e.mustWebhook(t, recv.srv.URL, notifications.RequestSubmitted)
		p := testPolicy()
		r := e.mustCreate(t, "Bus ridership", "official-open")
		e.mustApply(t, "req", r.ID, workflow.Submit, "")

		stalled := e.newDispatcher(map[string]notifications.Sender{notifications.Webhook: failing{}}, p)
		old, err := stalled.Claim(ctx)
		if err != nil || len(old) != 1 {
			t.Fatalf("first claim: got %d rows (%v), want the one webhook delivery", len(old), err)
		}
		e.clock.Advance(p.Lease + time.Second)
		second := e.newDispatcher(map[string]notifications.Sender{notifications.Webhook: newHookSender(db)}, p)
		again, err := second.Claim(ctx)
		if err != nil || len(again) != 1 {
			t.Fatalf("second claim after the lease: got %d rows (%v), want 1", len(again), err)
		}
		stalled.Deliver(ctx, old) // the stalled dispatcher wakes up and fails meanwhile
		second.Deliver(ctx, again)
		if n := mustDrain(t, second); n != 0 {
			t.Fatalf("after the second claim's success: claimed %d more, want 0 (nothing re-queued)", n)
		}
		row := mustDelivery(t, db, old[0].ID)
		if row.State != notifications.StateDelivered || row.LastError != "" {
			t.Fatalf("after a late failure of an expired claim: got state %s, last_error %q; want delivered, none", row.State, row.LastError)
		}
		if n := len(recv.Calls()); n != 1 {
			t.Fatalf("receiver calls: got %d, want 1", n)
		}
	})
}

// hungReceiver is a webhook endpoint that never answers: each call waits
// until the caller gives up or the test ends.
type hungReceiver struct {
	srv     *httptest.Server
	release chan struct{}
	waiting atomic.Int64 // calls waiting now
	most    atomic.Int64 // most calls waiting at once
}

func startHungReceiver(tb testing.TB) *hungReceiver {
	tb.Helper()
	h := &hungReceiver{release: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := h.waiting.Add(1)
		for m := h.most.Load(); n > m && !h.most.CompareAndSwap(m, n); m = h.most.Load() {
		}
		defer h.waiting.Add(-1)
		select {
		case <-r.Context().Done():
		case <-h.release:
		}
	}))
	tb.Cleanup(func() {
		close(h.release)
		h.srv.Close()
	})
	return h
}

// waitUntil polls cond until it holds or the deadline passes, which is
// generous: the test asserts an order of events, not a duration.
func waitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHungReceiverDelaysNeitherMailNorOtherReceivers: a webhook receiver
// that never answers holds up only its own deliveries, no more than
// PerReceiver of them at once. While its calls hang, the approvers' mail of
// a new submission and another receiver's call arrive: before any of the
// hung attempts has ended.
func TestHungReceiverDelaysNeitherMailNorOtherReceivers(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db, true)
		sink := startMailSink(t)
		hung := startHungReceiver(t)
		hook := e.mustWebhook(t, hung.srv.URL, "*")
		p := testPolicy()
		d := e.newDispatcher(map[string]notifications.Sender{
			notifications.Email:   mustMailer(t, sink),
			notifications.Webhook: newHookSender(db),
		}, p)
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() {
			d.Run(ctx)
			close(stopped)
		}()
		t.Cleanup(func() { // before the receivers close
			cancel()
			<-stopped
		})

		// More deliveries for the hung receiver than it may have in flight.
		const queued = 6
		for i := 0; i < queued; i++ {
			r := e.mustCreate(t, fmt.Sprintf("Queued behind a hung receiver %d", i), "official-open")
			e.mustApply(t, "req", r.ID, workflow.Submit, "")
		}
		// Events become deliveries when the dispatcher fans them out, a
		// moment after the commit: the other receiver, registered next,
		// would otherwise get a call for the last queued submissions too.
		waitUntil(t, "the queued submissions' deliveries", func() bool {
			return mustCount(t, db, "outbox", "webhook_id = ?", hook.ID) == queued
		})
		waitUntil(t, "the hung receiver's first call", func() bool { return hung.waiting.Load() > 0 })

		fast := startHookReceiver(t, always(http.StatusNoContent))
		e.mustWebhook(t, fast.srv.URL, notifications.RequestSubmitted)
		r := e.mustCreate(t, "Submitted while a receiver hangs", "official-open")
		submitted := time.Now()
		e.mustApply(t, "req", r.ID, workflow.Submit, "")
		approvers := map[string]bool{e.emailOf("a1"): true, e.emailOf("a2"): true, e.emailOf("a3"): true}
		mailed := func() int {
			n := 0
			for _, m := range sink.Messages() {
				if approvers[m.To[0]] && strings.Contains(mustParseMail(t, m).Subject, r.Title) {
					n++
				}
			}
			return n
		}
		waitUntil(t, "the approvers' mail and the other receiver's call", func() bool { return mailed() == 3 && len(fast.Calls()) == 1 })
		took := time.Since(submitted)
		// A hung attempt ends at the webhook timeout, recorded as a
		// failure: none may have ended before the mail came.
		if n := mustCount(t, db, "outbox", "webhook_id = ? AND attempts > 0 AND state <> ?", hook.ID, notifications.StateSending); n != 0 {
			t.Fatalf("%d hung attempts had ended (after %s) before the mail and the other receiver's call arrived; want 0", n, took)
		}
		waitUntil(t, fmt.Sprintf("%d calls hanging at once", p.PerReceiver), func() bool { return hung.waiting.Load() == int64(p.PerReceiver) })
		if n := mustCount(t, db, "outbox", "webhook_id = ? AND state = ?", hook.ID, notifications.StateSending); n != int64(p.PerReceiver) {
			t.Errorf("deliveries of the hung receiver claimed at once: got %d, want %d (PerReceiver)", n, p.PerReceiver)
		}
		if m := hung.most.Load(); m > int64(p.PerReceiver) {
			t.Errorf("calls hanging at once: got %d, want at most %d", m, p.PerReceiver)
		}
		t.Logf("mail and the other receiver's call came %s after the submission, with %d calls hanging", took.Round(time.Millisecond), hung.waiting.Load())
	})
}
