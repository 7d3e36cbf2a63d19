package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
)

// notificationView is one in-app notification as GET /notifications shows it.
type notificationView struct {
	ID        int64      `json:"id"`
	Event     string     `json:"event"`
	RequestID *int64     `json:"request_id"`
	Title     string     `json:"title"`
	Body      string     `json:"body"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at"`
}

// deliveryView is one outbox row as the admin routes show it.
type deliveryView struct {
	ID            int64      `json:"id"`
	DeliveryID    string     `json:"delivery_id"`
	Event         string     `json:"event"`
	Channel       string     `json:"channel"`
	Recipient     string     `json:"recipient"`
	RequestID     *int64     `json:"request_id"`
	WebhookID     *int64     `json:"webhook_id"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	LastError     string     `json:"last_error"`
	CreatedAt     time.Time  `json:"created_at"`
	DeliveredAt   *time.Time `json:"delivered_at"`
}

type webhookView struct {
	ID        int64     `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"created_at"`
}

type preferencesView struct {
	Email  map[string]bool `json:"email"`
	InApp  map[string]bool `json:"in_app"`
	Locked []string        `json:"locked"`
}

// allEvents are the event names of notifications.Events, as the API shows them.
var allEvents = []string{
	"request.submitted", "request.approved", "request.clarification_requested", "request.responded",
	"request.rejected", "request.fulfilled", "request.withdrawn", "sla.at_risk", "sla.breached", "digest.daily", "statement.published",
	"project.at_risk", "project.breached",
}

// mustInbox reads who's notifications, once the dispatcher has fanned out
// every event so far; q is the raw query string.
func (e *env) mustInbox(tb testing.TB, who, q string) []notificationView {
	tb.Helper()
	e.app.MustFanOut(tb)
	path := "/api/v1/notifications"
	if q != "" {
		path += "?" + q
	}
	r := e.do(tb, request{method: "GET", path: path, token: who})
	mustStatus(tb, r, http.StatusOK, "")
	var out struct{ Items []notificationView }
	r.decode(tb, &out)
	return out.Items
}

// about returns the notifications of ns about request id with event ev.
func about(ns []notificationView, id int64, ev string) []notificationView {
	var out []notificationView
	for _, n := range ns {
		if n.Event == ev && n.RequestID != nil && *n.RequestID == id {
			out = append(out, n)
		}
	}
	return out
}

// mustDeliveries reads an admin delivery list at path, once the dispatcher
// has fanned out every event so far.
func (e *env) mustDeliveries(tb testing.TB, path string) []deliveryView {
	tb.Helper()
	e.app.MustFanOut(tb)
	r := e.do(tb, request{method: "GET", path: path, token: "admin"})
	mustStatus(tb, r, http.StatusOK, "")
	var out struct{ Items []deliveryView }
	r.decode(tb, &out)
	return out.Items
}

// deliveriesOf returns the deliveries of ds about request id with event ev on channel.
func deliveriesOf(ds []deliveryView, id int64, ev, channel string) []deliveryView {
	var out []deliveryView
	for _, d := range ds {
		if d.Event == ev && d.Channel == channel && d.RequestID != nil && *d.RequestID == id {
			out = append(out, d)
		}
	}
	return out
}

func recipients(ds []deliveryView) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Recipient)
	}
	slices.Sort(out)
	return out
}

func (e *env) mustPreferences(tb testing.TB, who string) preferencesView {
	tb.Helper()
	r := e.do(tb, request{method: "GET", path: "/api/v1/me/preferences", token: who})
	mustStatus(tb, r, http.StatusOK, "")
	var p preferencesView
	r.decode(tb, &p)
	return p
}

func TestNotificationInbox(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		v := e.mustReach(t, "restricted", "submitted")

		// The owner agency's approvers hear of the submission; the
		// requester, who acted, and everyone else do not.
		for _, who := range []string{"HDB.approver", "HDB.approver2", "HDB.approver3"} {
			ns := e.mustInbox(t, who, "")
			got := about(ns, v.ID, "request.submitted")
			if len(ns) != 1 || len(got) != 1 {
				t.Fatalf("inbox of %s after submit: got %+v, want one request.submitted about %d", who, ns, v.ID)
			}
			n := got[0]
			if n.ReadAt != nil || n.Title == "" || n.Body == "" || n.CreatedAt.IsZero() {
				t.Errorf("notification of %s: got %+v, want unread with a title, a body and created_at", who, n)
			}
			if !strings.Contains(n.Title, fmt.Sprintf("#%d", v.ID)) {
				t.Errorf("title %q does not name request #%d", n.Title, v.ID)
			}
		}
		for _, who := range []string{"MOH.requester", "MOH.approver", "HDB.manager", "HDB.requester", "X.approver", "admin"} {
			if ns := e.mustInbox(t, who, ""); len(ns) != 0 {
				t.Errorf("inbox of %s after MOH.requester submitted: got %+v, want none", who, ns)
			}
		}

		// One approval of two: the requester and the approvers who have
		// not approved hear of it; the approver who acted does not.
		e.mustAct(t, v.ID, "HDB.approver", "approve", "")
		if got := about(e.mustInbox(t, "MOH.requester", ""), v.ID, "request.approved"); len(got) != 1 {
			t.Errorf("requester after an approval: got %d request.approved notifications, want 1", len(got))
		}
		for _, who := range []string{"HDB.approver2", "HDB.approver3"} {
			if got := about(e.mustInbox(t, who, ""), v.ID, "request.approved"); len(got) != 1 {
				t.Errorf("%s after another approver's approval: got %d request.approved notifications, want 1", who, len(got))
			}
		}
		if ns := e.mustInbox(t, "HDB.approver", ""); len(ns) != 1 {
			t.Errorf("inbox of HDB.approver after their own approval: got %+v, want only the submission", ns)
		}

		// Unread filter, read one, read-all.
		ns := e.mustInbox(t, "HDB.approver2", "unread=true")
		if len(ns) != 2 || ns[0].ID < ns[1].ID {
			t.Fatalf("unread of HDB.approver2: got %+v, want 2, newest first", ns)
		}
		first := about(ns, v.ID, "request.submitted")[0]
		r := e.do(t, request{method: "POST", path: fmt.Sprintf("/api/v1/notifications/%d/read", first.ID), token: "HDB.approver2"})
		mustStatus(t, r, http.StatusOK, "")
		var read notificationView
		r.decode(t, &read)
		if read.ID != first.ID || read.ReadAt == nil || read.Event != "request.submitted" {
			t.Fatalf("read: got %+v, want notification %d with read_at", read, first.ID)
		}
		unread := e.mustInbox(t, "HDB.approver2", "unread=true")
		if len(unread) != 1 || unread[0].ID == first.ID || unread[0].Event != "request.approved" {
			t.Errorf("unread after reading one: got %+v, want only the approval", unread)
		}
		all := e.mustInbox(t, "HDB.approver2", "unread=false")
		if len(all) != 2 {
			t.Fatalf("all after reading one: got %+v, want 2", all)
		}
		for _, n := range all {
			if n.ID == first.ID && (n.ReadAt == nil || !n.ReadAt.Equal(*read.ReadAt)) {
				t.Errorf("read notification listed with read_at %v, want %v", n.ReadAt, read.ReadAt)
			}
		}
		// Reading it again keeps the first read_at.
		r = e.do(t, request{method: "POST", path: fmt.Sprintf("/api/v1/notifications/%d/read", first.ID), token: "HDB.approver2"})
		mustStatus(t, r, http.StatusOK, "")
		var again notificationView
		r.decode(t, &again)
		if again.ReadAt == nil || !again.ReadAt.Equal(*read.ReadAt) {
			t.Errorf("read twice: read_at %v, want the first %v", again.ReadAt, read.ReadAt)
		}

		// Another user's notification, an unknown one, a bad id: 404.
		theirs := about(e.mustInbox(t, "HDB.approver3", ""), v.ID, "request.submitted")[0]
		for _, path := range []string{
			fmt.Sprintf("/api/v1/notifications/%d/read", theirs.ID),
			"/api/v1/notifications/999999/read",
			"/api/v1/notifications/abc/read",
			"/api/v1/notifications/0/read",
		} {
			mustStatus(t, e.do(t, request{method: "POST", path: path, token: "HDB.approver2"}), http.StatusNotFound, "not_found")
		}
		if got := e.mustInbox(t, "HDB.approver3", "unread=true"); len(got) != 2 {
			t.Errorf("HDB.approver3's notifications after another user tried to read one: got %d unread, want 2", len(got))
		}

		r = e.do(t, request{method: "POST", path: "/api/v1/notifications/read-all", token: "HDB.approver3"})
		mustStatus(t, r, http.StatusOK, "")
		var marked struct{ Marked int }
		r.decode(t, &marked)
		if marked.Marked != 2 {
			t.Errorf("read-all: marked %d, want 2", marked.Marked)
		}
		if got := e.mustInbox(t, "HDB.approver3", "unread=true"); len(got) != 0 {
			t.Errorf("unread after read-all: got %+v, want none", got)
		}
		r = e.do(t, request{method: "POST", path: "/api/v1/notifications/read-all", token: "HDB.approver3"})
		r.decode(t, &marked)
		if r.Status != http.StatusOK || marked.Marked != 0 {
			t.Errorf("read-all again: got %d marked %d, want 200 and 0", r.Status, marked.Marked)
		}
		// Read-all touches only the caller's own.
		if got := e.mustInbox(t, "HDB.approver2", "unread=true"); len(got) != 1 {
			t.Errorf("HDB.approver2 after HDB.approver3's read-all: got %d unread, want 1", len(got))
		}

		mustFieldError(t, e.do(t, request{method: "GET", path: "/api/v1/notifications?unread=maybe", token: "HDB.approver"}), "unread")
		mustStatus(t, e.do(t, request{method: "GET", path: "/api/v1/notifications"}), http.StatusUnauthorized, "unauthenticated")
		mustStatus(t, e.do(t, request{method: "POST", path: "/api/v1/notifications/read-all"}), http.StatusUnauthorized, "unauthenticated")
	})
}

func TestNotificationPreferences(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)

		p := e.mustPreferences(t, "MOH.requester")
		for _, ev := range allEvents {
			if !p.Email[ev] || !p.InApp[ev] {
				t.Errorf("default preference of %s: email %v in_app %v, want both on", ev, p.Email[ev], p.InApp[ev])
			}
		}
		if len(p.Email) != len(allEvents) || len(p.InApp) != len(allEvents) || len(p.Locked) != 0 {
			t.Errorf("requester's defaults: got %+v, want every event on both channels and nothing locked", p)
		}
		if p := e.mustPreferences(t, "HDB.approver"); !slices.Equal(p.Locked, []string{"sla.breached"}) {
			t.Errorf("approver's locked events: got %v, want [sla.breached]", p.Locked)
		}

		// The requester switches approvals off by email only.
		r := e.do(t, request{method: "PUT", path: "/api/v1/me/preferences", token: "MOH.requester",
			body: map[string]any{"email": map[string]bool{"request.approved": false}}})
		mustStatus(t, r, http.StatusOK, "")
		r.decode(t, &p)
		if p.Email["request.approved"] || !p.InApp["request.approved"] || !p.Email["request.submitted"] {
			t.Fatalf("after switching request.approved off by email: got %+v", p)
		}
		if got := e.mustPreferences(t, "MOH.requester"); got.Email["request.approved"] {
			t.Errorf("preference not kept: got %+v", got)
		}
		if got := e.mustPreferences(t, "MOH.requester2"); !got.Email["request.approved"] {
			t.Errorf("another user's preference changed: got %+v", got)
		}

		v := e.mustReach(t, "restricted", "submitted")
		e.mustAct(t, v.ID, "HDB.approver", "approve", "")
		ds := e.mustDeliveries(t, "/api/v1/admin/deliveries")
		if got, want := recipients(deliveriesOf(ds, v.ID, "request.approved", "email")), []string{"hdb.approver2@gov.sg", "hdb.approver3@gov.sg"}; !slices.Equal(got, want) {
			t.Errorf("email deliveries of the approval: got %v, want %v (none to the requester, who switched it off)", got, want)
		}
		if got, want := recipients(deliveriesOf(ds, v.ID, "request.submitted", "email")), []string{"hdb.approver2@gov.sg", "hdb.approver3@gov.sg", "hdb.approver@gov.sg"}; !slices.Equal(got, want) {
			t.Errorf("email deliveries of the submission: got %v, want %v", got, want)
		}
		for _, d := range deliveriesOf(ds, v.ID, "request.submitted", "email") {
			// No SMTP server is configured in the tests.
			if d.State != "skipped" || d.WebhookID != nil || d.DeliveryID == "" {
				t.Errorf("email delivery without SMTP: got %+v, want skipped, no webhook, a delivery id", d)
			}
		}
		if got := about(e.mustInbox(t, "MOH.requester", ""), v.ID, "request.approved"); len(got) != 1 {
			t.Errorf("requester's in-app approvals with email off: got %d, want 1", len(got))
		}

		// Approvers cannot switch off sla.breached, on either channel.
		for _, ch := range []string{"email", "in_app"} {
			r := e.do(t, request{method: "PUT", path: "/api/v1/me/preferences", token: "HDB.approver",
				body: map[string]any{ch: map[string]bool{"sla.breached": false}}})
			mustFieldError(t, r, ch+".sla.breached")
		}
		if p := e.mustPreferences(t, "HDB.approver"); !p.Email["sla.breached"] || !p.InApp["sla.breached"] {
			t.Errorf("approver's sla.breached after a refused change: got %+v, want on", p)
		}
		r = e.do(t, request{method: "PUT", path: "/api/v1/me/preferences", token: "HDB.approver",
			body: map[string]any{"in_app": map[string]bool{"sla.breached": true, "request.responded": false}}})
		mustStatus(t, r, http.StatusOK, "")
		r.decode(t, &p)
		if p.InApp["request.responded"] || !p.InApp["sla.breached"] {
			t.Errorf("approver switching request.responded off: got %+v", p)
		}
		// Others may switch it off.
		r = e.do(t, request{method: "PUT", path: "/api/v1/me/preferences", token: "HDB.manager",
			body: map[string]any{"email": map[string]bool{"sla.breached": false}}})
		mustStatus(t, r, http.StatusOK, "")

		mustFieldError(t, e.do(t, request{method: "PUT", path: "/api/v1/me/preferences", token: "MOH.requester",
			body: map[string]any{"email": map[string]bool{"request.bogus": false}}}), "email.request.bogus")
		r = e.do(t, request{method: "PUT", path: "/api/v1/me/preferences", token: "MOH.requester",
			body: map[string]any{"sms": map[string]bool{"request.approved": false}}})
		mustStatus(t, r, http.StatusBadRequest, "malformed")
		if _, f := r.errCode(t); f != "sms" {
			t.Errorf("unknown channel: field %q, want sms", f)
		}
		mustStatus(t, e.do(t, request{method: "PUT", path: "/api/v1/me/preferences", token: "MOH.requester",
			body: `{"email":{"request.approved":"no"}}`}), http.StatusBadRequest, "malformed")
		r = e.do(t, request{method: "PUT", path: "/api/v1/me/preferences", token: "MOH.requester", body: `{}`})
		mustStatus(t, r, http.StatusOK, "")
		r.decode(t, &p)
		if p.Email["request.approved"] {
			t.Errorf("an empty change switched request.approved back on: %+v", p)
		}
		mustStatus(t, e.do(t, request{method: "GET", path: "/api/v1/me/preferences"}), http.StatusUnauthorized, "unauthenticated")
	})
}

func TestWebhookManagement(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		const secret = "s3cret-s3cret-s3cret"
		good := map[string]any{
			"url":    "https://hooks.example.test/datashare",
			"events": []string{"request.submitted", "request.approved", "request.submitted"},
			"secret": secret,
		}

		// Admins only.
		for _, who := range []string{"MOH.requester", "HDB.approver", "HDB.manager"} {
			mustStatus(t, e.do(t, request{method: "POST", path: "/api/v1/webhooks", token: who, body: good}), http.StatusForbidden, "forbidden")
			mustStatus(t, e.do(t, request{method: "GET", path: "/api/v1/webhooks", token: who}), http.StatusForbidden, "forbidden")
			mustStatus(t, e.do(t, request{method: "GET", path: "/api/v1/admin/deliveries", token: who}), http.StatusForbidden, "forbidden")
		}
		mustStatus(t, e.do(t, request{method: "POST", path: "/api/v1/webhooks", body: good}), http.StatusUnauthorized, "unauthenticated")

		// Validation.
		with := func(k string, v any) map[string]any {
			m := map[string]any{}
			for kk, vv := range good {
				m[kk] = vv
			}
			m[k] = v
			return m
		}
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{with("url", "ftp://hooks.example.test/x"), "url"},
			{with("url", "not a url"), "url"},
			{with("url", ""), "url"},
			{with("url", "https://"), "url"},
			{with("events", []string{}), "events"},
			{with("events", []string{"request.bogus"}), "events"},
			{with("secret", "short"), "secret"},
			{with("secret", strings.Repeat("s", 201)), "secret"},
		} {
			mustFieldError(t, e.do(t, request{method: "POST", path: "/api/v1/webhooks", token: "admin", body: c.body}), c.field)
		}
		mustStatus(t, e.do(t, request{method: "POST", path: "/api/v1/webhooks", token: "admin", body: with("extra", 1)}), http.StatusBadRequest, "malformed")
		if r := e.do(t, request{method: "GET", path: "/api/v1/webhooks", token: "admin"}); !bytes.Equal(bytes.TrimSpace(r.Body), []byte(`{"items":[]}`)) {
			t.Fatalf("webhooks after refused creations: got %s, want none", r.Body)
		}

		r := e.do(t, request{method: "POST", path: "/api/v1/webhooks", token: "admin", body: good})
		mustStatus(t, r, http.StatusCreated, "")
		var h webhookView
		r.decode(t, &h)
		if loc := r.Header.Get("Location"); loc != fmt.Sprintf("/api/v1/webhooks/%d", h.ID) {
			t.Errorf("Location: got %q, want /api/v1/webhooks/%d", loc, h.ID)
		}
		if h.URL != good["url"] || !slices.Equal(h.Events, []string{"request.approved", "request.submitted"}) || h.CreatedAt.IsZero() {
			t.Errorf("created webhook: got %+v", h)
		}
		if bytes.Contains(r.Body, []byte(secret)) || bytes.Contains(r.Body, []byte(`"secret"`)) {
			t.Errorf("the secret was returned: %s", r.Body)
		}
		r = e.do(t, request{method: "POST", path: "/api/v1/webhooks", token: "admin", body: with("events", []string{"*"})})
		mustStatus(t, r, http.StatusCreated, "")
		var all webhookView
		r.decode(t, &all)

		r = e.do(t, request{method: "GET", path: "/api/v1/webhooks", token: "admin"})
		mustStatus(t, r, http.StatusOK, "")
		var hs struct{ Items []webhookView }
		r.decode(t, &hs)
		if len(hs.Items) != 2 || hs.Items[0].ID != h.ID || hs.Items[1].ID != all.ID || !slices.Equal(hs.Items[1].Events, []string{"*"}) {
			t.Errorf("webhook list: got %+v", hs.Items)
		}
		if bytes.Contains(r.Body, []byte(secret)) {
			t.Errorf("the secret was listed: %s", r.Body)
		}

		// A transition queues a delivery for each subscribed webhook.
		v := e.mustReach(t, "restricted", "submitted")
		path := fmt.Sprintf("/api/v1/webhooks/%d/deliveries", h.ID)
		ds := e.mustDeliveries(t, path)
		if len(ds) != 1 {
			t.Fatalf("deliveries of the webhook after a submission: got %+v, want 1", ds)
		}
		d := ds[0]
		if d.Event != "request.submitted" || d.Channel != "webhook" || d.State != "pending" || d.Attempts != 0 ||
			d.RequestID == nil || *d.RequestID != v.ID || d.WebhookID == nil || *d.WebhookID != h.ID ||
			d.Recipient != good["url"] || d.DeliveryID == "" || d.DeliveredAt != nil || d.LastError != "" {
			t.Errorf("webhook delivery: got %+v", d)
		}
		if got := e.mustDeliveries(t, path+"?state=pending"); len(got) != 1 {
			t.Errorf("pending deliveries of the webhook: got %d, want 1", len(got))
		}
		if got := e.mustDeliveries(t, path+"?state=delivered"); len(got) != 0 {
			t.Errorf("delivered deliveries of the webhook: got %d, want 0", len(got))
		}
		if got := deliveriesOf(e.mustDeliveries(t, "/api/v1/admin/deliveries?state=pending"), v.ID, "request.submitted", "webhook"); len(got) != 2 {
			t.Errorf("pending webhook deliveries of the submission in the outbox: got %d, want 2 (one per webhook)", len(got))
		}
		mustFieldError(t, e.do(t, request{method: "GET", path: path + "?state=bogus", token: "admin"}), "state")
		mustFieldError(t, e.do(t, request{method: "GET", path: "/api/v1/admin/deliveries?state=bogus", token: "admin"}), "state")
		mustStatus(t, e.do(t, request{method: "GET", path: "/api/v1/webhooks/999999/deliveries", token: "admin"}), http.StatusNotFound, "not_found")
		mustStatus(t, e.do(t, request{method: "GET", path: path, token: "HDB.approver"}), http.StatusForbidden, "forbidden")

		// An event the webhook did not subscribe to queues nothing for it.
		e.mustAct(t, v.ID, "MOH.requester", "withdraw", "")
		if got := e.mustDeliveries(t, path); len(got) != 1 {
			t.Errorf("deliveries of the webhook after an unsubscribed event: got %d, want 1", len(got))
		}
		if got := e.mustDeliveries(t, fmt.Sprintf("/api/v1/webhooks/%d/deliveries", all.ID)); len(got) != 2 {
			t.Errorf("deliveries of the * webhook: got %d, want 2", len(got))
		}

		// Only a dead delivery can be retried.
		retry := fmt.Sprintf("/api/v1/admin/deliveries/%d/retry", d.ID)
		mustStatus(t, e.do(t, request{method: "POST", path: retry, token: "admin"}), http.StatusConflict, "conflict")
		mustStatus(t, e.do(t, request{method: "POST", path: retry, token: "HDB.approver"}), http.StatusForbidden, "forbidden")
		mustStatus(t, e.do(t, request{method: "POST", path: "/api/v1/admin/deliveries/999999/retry", token: "admin"}), http.StatusNotFound, "not_found")
		mustStatus(t, e.do(t, request{method: "POST", path: "/api/v1/admin/deliveries/abc/retry", token: "admin"}), http.StatusNotFound, "not_found")

		// Delete: 204, then 404; queued deliveries go dead rather than out.
		del := fmt.Sprintf("/api/v1/webhooks/%d", h.ID)
		mustStatus(t, e.do(t, request{method: "DELETE", path: del, token: "HDB.approver"}), http.StatusForbidden, "forbidden")
		r = e.do(t, request{method: "DELETE", path: del, token: "admin"})
		if r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Fatalf("delete: got %d %s, want 204 and no body", r.Status, r.Body)
		}
		mustStatus(t, e.do(t, request{method: "DELETE", path: del, token: "admin"}), http.StatusNotFound, "not_found")
		mustStatus(t, e.do(t, request{method: "DELETE", path: "/api/v1/webhooks/999999", token: "admin"}), http.StatusNotFound, "not_found")
		r = e.do(t, request{method: "GET", path: "/api/v1/webhooks", token: "admin"})
		r.decode(t, &hs)
		if len(hs.Items) != 1 || hs.Items[0].ID != all.ID {
			t.Errorf("webhooks after deleting %d: got %+v, want only %d", h.ID, hs.Items, all.ID)
		}
		ds = e.mustDeliveries(t, path)
		if len(ds) != 1 || ds[0].State != "dead" || ds[0].LastError != "webhook deleted" {
			t.Fatalf("delivery of the deleted webhook: got %+v, want dead with last_error 'webhook deleted'", ds)
		}

		// A dead delivery of a deleted webhook cannot be re-queued: it
		// could only fail again.
		mustStatus(t, e.do(t, request{method: "POST", path: retry, token: "admin"}), http.StatusConflict, "conflict")
		ds = e.mustDeliveries(t, path)
		if len(ds) != 1 || ds[0].State != "dead" || ds[0].DeliveryID != d.DeliveryID {
			t.Fatalf("after refused retry: got %+v, want the same delivery still dead", ds)
		}
	})
}

// TestWebhookCredentialsAndInternalFailuresStayHidden: a URL with a user
// name or password, or naming an internal address, is refused with the
// field url; a webhook stored with credentials before they were refused is
// listed without them; and a delivery to an internal address records
// "refused by policy" alike whether something listens there or not, so
// that the delivery lists cannot map internal ports.
func TestWebhookCredentialsAndInternalFailuresStayHidden(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db)
		const password = "s3cr3t-pass"
		for _, url := range []string{
			"https://hooks:" + password + "@hooks.example.test/datashare",
			"http://127.0.0.1:8080/",
			"http://169.254.169.254/latest/meta-data/",
			"http://2130706433/",
			"http://[::1]/",
		} {
			r := e.do(t, request{method: "POST", path: "/api/v1/webhooks", token: "admin",
				body: map[string]any{"url": url, "events": []string{"*"}, "secret": "s3cret-of-sixteen-chars"}})
			mustFieldError(t, r, "url")
			if bytes.Contains(r.Body, []byte(password)) {
				t.Errorf("the refusal of %s repeats the password: %s", url, r.Body)
			}
		}

		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
		t.Cleanup(recv.Close)
		closed := httptest.NewServer(http.NotFoundHandler())
		closedURL := closed.URL
		closed.Close()
		stored := []string{recv.URL + "/hook", strings.Replace(closedURL, "http://", "http://hooks:"+password+"@", 1) + "/hook"}
		for _, u := range stored {
			if err := db.Gorm.Create(&models.Webhook{URL: u, Events: "*", Secret: "s3cret-of-sixteen-chars", CreatedAt: time.Now().UTC()}).Error; err != nil {
				t.Fatal(err)
			}
		}
		r := e.do(t, request{method: "GET", path: "/api/v1/webhooks", token: "admin"})
		mustStatus(t, r, http.StatusOK, "")
		var hs struct{ Items []webhookView }
		r.decode(t, &hs)
		if bytes.Contains(r.Body, []byte(password)) || len(hs.Items) != 2 || hs.Items[1].URL != closedURL+"/hook" {
			t.Errorf("webhook list: got %s, want the second URL as %s/hook, without its credentials", r.Body, closedURL)
		}

		v := e.mustReach(t, "official-open", "submitted")
		if _, err := e.app.Dispatcher.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{
			fmt.Sprintf("/api/v1/webhooks/%d/deliveries", hs.Items[0].ID),
			fmt.Sprintf("/api/v1/webhooks/%d/deliveries", hs.Items[1].ID),
			"/api/v1/admin/deliveries?state=pending",
		} {
			ds := deliveriesOf(e.mustDeliveries(t, path), v.ID, "request.submitted", "webhook")
			if len(ds) == 0 {
				t.Errorf("%s: no webhook delivery of request %d", path, v.ID)
			}
			for _, d := range ds {
				if d.State != "pending" || d.Attempts != 1 || d.LastError != "refused by policy" || strings.Contains(d.Recipient, password) {
					t.Errorf("%s: got %+v; want pending after 1 attempt, last_error \"refused by policy\", no password", path, d)
				}
			}
		}
	})
}
