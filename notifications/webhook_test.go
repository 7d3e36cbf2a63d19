package notifications_test

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"datashare/errs"
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
		d := e.newDispatcher(map[string]notifications.Sender{notifications.Webhook: newHookSender(db)}, p)
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
	d := e.newDispatcher(map[string]notifications.Sender{notifications.Webhook: newHookSender(db)}, testPolicy())
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
	if row.State != notifications.StatePending || row.Attempts != 1 || row.LastError != notifications.FailTimeout || !row.NextAttemptAt.After(e.clock.Now()) {
		t.Errorf("after a timeout: got state %s, attempts %d, last_error %q, next attempt %s; want pending, 1, timeout, later than now",
			row.State, row.Attempts, row.LastError, row.NextAttemptAt)
	}
	t.Logf("one timed-out attempt took %s", took.Round(time.Millisecond))
}

// mustInsertWebhook stores a webhook as it was registered before
// registration checked its address, or as a name that now resolves
// elsewhere: only the check made when it is dialled stands in its way.
func mustInsertWebhook(tb testing.TB, db *models.DB, url string) models.Webhook {
	tb.Helper()
	h := models.Webhook{URL: url, Events: "*", Secret: hookSecret, CreatedAt: start.UTC()}
	if err := db.Gorm.Create(&h).Error; err != nil {
		tb.Fatalf("insert webhook %s: %v", url, err)
	}
	return h
}

// TestWebhookDialRefusesInternalAddresses: with no internal range allowed,
// a webhook to a loopback, link-local or private address, by number or by
// a name that resolves to one, is refused before anything is sent, and
// the attempt is recorded as "refused by policy" alike whether or not
// something listens there.
func TestWebhookDialRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db, false)
		recv := startHookReceiver(t, always(http.StatusOK))
		port := recv.srv.Listener.Addr().(*net.TCPAddr).Port
		urls := []string{
			recv.srv.URL,
			fmt.Sprintf("http://localhost:%d/", port), // a name that resolves to loopback
			fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", port),
			fmt.Sprintf("http://[::1]:%d/", port),
			fmt.Sprintf("http://127.0.0.1:%d/", mustClosedPort(t)), // nothing listens
			"http://169.254.169.254/latest/meta-data/",
			fmt.Sprintf("http://10.255.255.1:%d/", port),
			"http://[fd00::1]/",
		}
		byHook := map[int64]string{}
		for _, u := range urls {
			byHook[mustInsertWebhook(t, db, u).ID] = u
		}
		d := e.newDispatcher(map[string]notifications.Sender{notifications.Webhook: notifications.NewWebhookSender(db, mustGuard(""))}, testPolicy())
		r := e.mustCreate(t, "Internal receivers", "official-open")
		e.mustApply(t, "req", r.ID, workflow.Submit, "")
		if n := mustDrain(t, d); n != len(urls) {
			t.Fatalf("claimed %d deliveries, want %d", n, len(urls))
		}
		for _, row := range mustDeliveries(t, db, "channel = ?", notifications.Webhook) {
			if row.State != notifications.StatePending || row.Attempts != 1 || row.LastError != notifications.FailRefused {
				t.Errorf("delivery to %s: got state %s, attempts %d, last_error %q; want pending, 1, %q",
					byHook[*row.WebhookID], row.State, row.Attempts, row.LastError, notifications.FailRefused)
			}
		}
		if n := len(recv.Calls()); n != 0 {
			t.Errorf("the loopback receiver got %d calls, want 0", n)
		}
	})
}

// mustClosedPort returns a loopback port nothing listens on.
func mustClosedPort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// TestWebhookAllowListLetsOnlyItsReceiversThrough: DATASHARE_WEBHOOK_ALLOW
// naming one loopback port lets the receiver there have its delivery and
// refuses the one on the next port of the same address.
func TestWebhookAllowListLetsOnlyItsReceiversThrough(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db, false)
		allowed := startHookReceiver(t, always(http.StatusOK))
		other := startHookReceiver(t, always(http.StatusOK))
		ok := e.mustWebhook(t, allowed.srv.URL, notifications.RequestSubmitted)
		refused := e.mustWebhook(t, other.srv.URL, notifications.RequestSubmitted)
		guard := mustGuard("127.0.0.1/32:" + allowed.srv.URL[strings.LastIndex(allowed.srv.URL, ":")+1:])
		d := e.newDispatcher(map[string]notifications.Sender{notifications.Webhook: notifications.NewWebhookSender(db, guard)}, testPolicy())
		r := e.mustCreate(t, "Allowed receiver", "official-open")
		e.mustApply(t, "req", r.ID, workflow.Submit, "")
		mustDrain(t, d)
		for _, c := range []struct {
			hook      models.Webhook
			state     string
			lastError string
		}{
			{ok, notifications.StateDelivered, ""},
			{refused, notifications.StatePending, notifications.FailRefused},
		} {
			rows := mustDeliveries(t, db, "webhook_id = ?", c.hook.ID)
			if len(rows) != 1 || rows[0].State != c.state || rows[0].LastError != c.lastError {
				t.Errorf("deliveries to %s: got %+v, want one %s with last_error %q", c.hook.URL, rows, c.state, c.lastError)
			}
		}
		if a, o := len(allowed.Calls()), len(other.Calls()); a != 1 || o != 0 {
			t.Errorf("calls: allowed receiver got %d, other got %d; want 1 and 0", a, o)
		}
	})
}

// TestWebhookFailureIsRecordedAsACategory: a failed attempt records what
// kind of failure it was, never the network's own words; a redirect is
// not followed, whatever its status, and is a failure.
func TestWebhookFailureIsRecordedAsACategory(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db, false)
		target := startHookReceiver(t, always(http.StatusOK))
		redirect := func(status int) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.srv.URL+"/elsewhere", status)
			}))
			t.Cleanup(srv.Close)
			return srv.URL
		}
		cases := []struct {
			name, url, want string
		}{
			{"not found", startHookReceiver(t, always(http.StatusNotFound)).srv.URL, "HTTP 404"},
			{"unauthorised", startHookReceiver(t, always(http.StatusUnauthorized)).srv.URL, "HTTP 401"},
			{"server error", startHookReceiver(t, always(http.StatusInternalServerError)).srv.URL, "HTTP 500"},
			{"unavailable", startHookReceiver(t, always(http.StatusServiceUnavailable)).srv.URL, "HTTP 503"},
			{"nothing listening", fmt.Sprintf("http://127.0.0.1:%d/", mustClosedPort(t)), notifications.FailConnection},
			{"not allowed", fmt.Sprintf("http://[::1]:%d/", mustClosedPort(t)), notifications.FailRefused},
			{"moved permanently", redirect(http.StatusMovedPermanently), "HTTP 301: redirects are not followed"},
			{"found", redirect(http.StatusFound), "HTTP 302: redirects are not followed"},
			{"see other", redirect(http.StatusSeeOther), "HTTP 303: redirects are not followed"},
			{"temporary redirect", redirect(http.StatusTemporaryRedirect), "HTTP 307: redirects are not followed"},
			{"permanent redirect", redirect(http.StatusPermanentRedirect), "HTTP 308: redirects are not followed"},
		}
		hooks := map[int64]int{}
		for i, c := range cases {
			hooks[mustInsertWebhook(t, db, c.url).ID] = i
		}
		d := e.newDispatcher(map[string]notifications.Sender{notifications.Webhook: newHookSender(db)}, testPolicy())
		r := e.mustCreate(t, "Failing receivers", "official-open")
		e.mustApply(t, "req", r.ID, workflow.Submit, "")
		mustDrain(t, d)
		for _, row := range mustDeliveries(t, db, "channel = ?", notifications.Webhook) {
			c := cases[hooks[*row.WebhookID]]
			if row.State != notifications.StatePending || row.LastError != c.want {
				t.Errorf("%s: got state %s, last_error %q; want pending, %q", c.name, row.State, row.LastError, c.want)
			}
		}
		if n := len(target.Calls()); n != 0 {
			t.Errorf("the redirects' target got %d calls, want 0: redirects were followed", n)
		}
	})
}

// TestWebhookRegistrationRefusesInternalAddressesAndCredentials: a URL
// whose host is written as an internal address not allowed, in any form,
// or that carries a user name or password, is refused with the field url
// named and nothing stored; the refusal does not repeat the password.
func TestWebhookRegistrationRefusesInternalAddressesAndCredentials(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		s := notifications.NewService(db, time.Now).WithGuard(mustGuard("127.0.0.1/32:9000"))
		register := func(url string) (models.Webhook, error) {
			return s.CreateWebhook(ctx, adminActor, notifications.NewWebhook{URL: url, Events: []string{"*"}, Secret: hookSecret})
		}
		for _, url := range []string{
			"http://127.0.0.1/",
			"http://127.0.0.1:8080/",
			"http://169.254.169.254/latest/meta-data/",
			"http://[::1]/",
			"http://[::ffff:127.0.0.1]/",
			"http://2130706433/",
			"http://0x7f000001/",
			"http://0177.0.0.1/",
			"http://127.1/",
			"http://10.0.0.5/",
			"http://172.16.0.1/",
			"http://192.168.1.1/",
			"http://100.64.0.1/",
			"http://0.0.0.0/",
			"http://[fd00::1]/",
			"http://[fe80::1%25eth0]/",
			"http://localhost/",
			"http://localhost:9000/",
			"https://hooks:s3cr3t-pass@hooks.example.test/",
			"https://token@hooks.example.test/",
			"https://:s3cr3t-pass@hooks.example.test/",
		} {
			_, err := register(url)
			if !errs.Is(err, errs.Invalid) || len(errs.Fields(err)) != 1 || errs.Fields(err)[0].Field != "url" {
				t.Errorf("register %s: got %v, want invalid with the field url", url, err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t-pass") {
				t.Errorf("register %s: the refusal repeats the password: %v", url, err)
			}
		}
		if n := mustCount(t, db, "webhooks", ""); n != 0 {
			t.Fatalf("webhooks stored after refused registrations: %d, want 0", n)
		}
		for _, url := range []string{"http://127.0.0.1:9000/hook", "https://93.184.215.14/hook", "https://hooks.example.test/datashare"} {
			if h, err := register(url); err != nil || h.URL != url {
				t.Errorf("register %s: got %q (%v), want it stored as given", url, h.URL, err)
			}
		}
	})
}
