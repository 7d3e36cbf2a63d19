package notifications_test

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
	"datashare/notifications"
	"datashare/workflow"
)

// TestWebhookRetriedUntilAccepted: a receiver answers 500 twice, then 200.
// The dispatcher waits out a growing backoff between attempts, the third
// attempt succeeds, and all three carry the same delivery id, the event and
// a signature the test checks with its own HMAC.
func TestWebhookRetriedUntilAccepted(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		e := newEnv(t, db, false)
		recv := startHookReceiver(t, func(n int) int {
			if n <= 2 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		e.mustWebhook(t, recv.srv.URL+"/hooks/datashare", notifications.RequestSubmitted)
		p := testPolicy()
		d := e.newDispatcher(map[string]notifications.Sender{notifications.Webhook: notifications.NewWebhookSender(db)}, p)
		r := e.mustCreate(t, "Hospital admissions", "official-open")
		e.mustApply(t, "req", r.ID, workflow.Submit, "")

		rows := mustDeliveries(t, db, "channel = ?", notifications.Webhook)
		if len(rows) != 1 {
			t.Fatalf("webhook deliveries after submit: got %d, want 1", len(rows))
		}
		id := rows[0].ID
		for attempt := 1; attempt <= 3; attempt++ {
			sentAt := e.clock.Now()
			n, err := d.Tick(ctx)
			if err != nil || n != 1 {
				t.Fatalf("attempt %d: tick claimed %d (%v), want 1", attempt, n, err)
			}
			row := mustDelivery(t, db, id)
			if row.Attempts != attempt {
				t.Errorf("attempt %d: attempts got %d, want %d", attempt, row.Attempts, attempt)
			}
			if attempt == 3 {
				if row.State != notifications.StateDelivered || row.DeliveredAt == nil || row.LastError != "" || row.ClaimedUntil != nil {
					t.Errorf("after the 200: got state %s, delivered_at %v, last_error %q, claimed_until %v; want delivered, set, empty, nil",
						row.State, row.DeliveredAt, row.LastError, row.ClaimedUntil)
				}
				break
			}
			if row.State != notifications.StatePending || !strings.Contains(row.LastError, "500") {
				t.Errorf("after failure %d: got state %s, last_error %q; want pending and an error naming the 500", attempt, row.State, row.LastError)
			}
			// Exponential backoff with jitter: between half and all of
			// BaseBackoff·2^(attempt-1).
			full := p.BaseBackoff << (attempt - 1)
			wait := row.NextAttemptAt.Sub(sentAt)
			if wait < full/2-time.Millisecond || wait > full {
				t.Errorf("after failure %d: next attempt in %s, want between %s and %s", attempt, wait, full/2, full)
			}
			e.clock.Set(row.NextAttemptAt.Add(-time.Second))
			if n, err := d.Tick(ctx); err != nil || n != 0 {
				t.Errorf("a second before the next attempt is due: tick claimed %d (%v), want 0", n, err)
			}
			e.clock.Set(row.NextAttemptAt)
		}

		calls := recv.Calls()
		if len(calls) != 3 {
			t.Fatalf("receiver got %d calls, want 3", len(calls))
		}
		row := mustDelivery(t, db, id)
		for i, c := range calls {
			if got := c.Header.Get("X-Datashare-Delivery"); got != row.DeliveryID {
				t.Errorf("call %d X-Datashare-Delivery: got %q, want %q", i+1, got, row.DeliveryID)
			}
			if got := c.Header.Get("X-Datashare-Event"); got != notifications.RequestSubmitted {
				t.Errorf("call %d X-Datashare-Event: got %q, want %q", i+1, got, notifications.RequestSubmitted)
			}
			if got := c.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("call %d Content-Type: got %q, want application/json", i+1, got)
			}
			got, want := c.Header.Get("X-Datashare-Signature"), signature(hookSecret, c.Body)
			if !hmac.Equal([]byte(got), []byte(want)) {
				t.Errorf("call %d X-Datashare-Signature: got %q, want %q (HMAC-SHA256 of the body)", i+1, got, want)
			}
			if got == signature("another-secret-entirely", c.Body) {
				t.Errorf("call %d: the signature does not depend on the secret", i+1)
			}
			if string(c.Body) != string(calls[0].Body) {
				t.Errorf("call %d body differs from the first:\n got %s\nwant %s", i+1, c.Body, calls[0].Body)
			}
		}
		var body struct {
			DeliveryID string `json:"delivery_id"`
			Event      string `json:"event"`
			Actor      string `json:"actor"`
			Request    struct {
				ID          int64      `json:"id"`
				Title       string     `json:"title"`
				State       string     `json:"state"`
				OwnerAgency string     `json:"owner_agency"`
				DueAt       *time.Time `json:"due_at"`
				URL         string     `json:"url"`
			} `json:"request"`
		}
		if err := json.Unmarshal(calls[0].Body, &body); err != nil {
			t.Fatalf("webhook body is not JSON: %v\n%s", err, calls[0].Body)
		}
		want := fmt.Sprintf("%s/requests/%d", baseURL, r.ID)
		if body.DeliveryID != row.DeliveryID || body.Event != notifications.RequestSubmitted || body.Request.ID != r.ID ||
			body.Request.Title != r.Title || body.Request.State != "submitted" || body.Request.OwnerAgency != "MOH" ||
			body.Request.DueAt == nil || body.Request.URL != want || !strings.Contains(body.Actor, e.users["req"].Name) {
			t.Errorf("webhook body: got %s\nwant delivery %s, event %s, request %d %q submitted to MOH with a due time, url %s, actor %s",
				calls[0].Body, row.DeliveryID, notifications.RequestSubmitted, r.ID, r.Title, want, e.users["req"].Name)
		}

		// The webhook asked for request.submitted only.
		e.mustApply(t, "a1", r.ID, workflow.Approve, "")
		if n := mustCount(t, db, "outbox", "channel = ?", notifications.Webhook); n != 1 {
			t.Errorf("webhook deliveries after an approval it did not subscribe to: got %d, want 1", n)
		}
	})
}

// TestWebhookTimeoutIsAFailure: a receiver that does not answer within the
// 5-second timeout is a failed attempt to retry. It takes the full timeout
// (about 5 s) once, on SQLite only: the timeout does not depend on the
// database.
func TestWebhookTimeoutIsAFailure(t *testing.T) {
	t.Parallel()
	db := modelstest.MustOpen(t, models.SQLite)
	e := newEnv(t, db, false)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done(): // the sender gave up
		case <-time.After(notifications.WebhookTimeout + 3*time.Second):
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(slow.Close)
	e.mustWebhook(t, slow.URL, "*")
	d := e.newDispatcher(map[string]notifications.Sender{notifications.Webhook: notifications.NewWebhookSender(db)}, testPolicy())
	r := e.mustCreate(t, "Slow receiver", "official-open")
	e.mustApply(t, "req", r.ID, workflow.Submit, "")

	began := time.Now()
	n, err := d.Tick(context.Background())
	took := time.Since(began)
	if err != nil || n != 1 {
		t.Fatalf("tick claimed %d (%v), want 1", n, err)
	}
	if took < notifications.WebhookTimeout-100*time.Millisecond || took > notifications.WebhookTimeout+2*time.Second {
		t.Errorf("the attempt took %s, want about the %s timeout", took, notifications.WebhookTimeout)
	}
	row := mustDeliveries(t, db, "channel = ?", notifications.Webhook)[0]
	if row.State != notifications.StatePending || row.Attempts != 1 || row.LastError == "" || !row.NextAttemptAt.After(e.clock.Now()) {
		t.Errorf("after a timeout: got state %s, attempts %d, last_error %q, next attempt %s; want pending, 1, an error, later than now",
			row.State, row.Attempts, row.LastError, row.NextAttemptAt)
	}
	t.Logf("one timed-out attempt took %s", took.Round(time.Millisecond))
}
