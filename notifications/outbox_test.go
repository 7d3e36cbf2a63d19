package notifications_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"datashare/errs"
	"datashare/imports"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/notifications"
	"datashare/workflow"
)

// TestRolledBackTransitionWritesNothing: the event of a transition, and
// nothing else for notifications, is written in its transaction; when an
// outer transaction that applied it fails, it does not remain and the
// dispatcher is not woken.
func TestRolledBackTransitionWritesNothing(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		e := newEnv(t, db, true)
		e.mustWebhook(t, "http://127.0.0.1:1/never", "*")
		r := e.mustCreate(t, "Rolled back", "official-open")
		tables := []string{"events", "outbox", "notifications", "transitions", "approvals"}
		before := map[string]int64{}
		for _, tb := range tables {
			before[tb] = mustCount(t, db, tb, "")
		}
		kicks := e.kicks.Load()

		boom := errors.New("a later step of the same unit of work failed")
		var events, outbox, notes int64
		err := db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
			if _, err := e.wf.Apply(ctx, e.actor("req"), r.ID, workflow.Submit, "", 0); err != nil {
				return err
			}
			for tb, n := range map[string]*int64{"events": &events, "outbox": &outbox, "notifications": &notes} {
				if err := tx.Table(tb).Count(n).Error; err != nil {
					return err
				}
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("outer transaction: got %v, want %v", err, boom)
		}
		if events != before["events"]+1 || outbox != before["outbox"] || notes != before["notifications"] {
			t.Errorf("inside the transaction: got %d events, %d outbox rows, %d notifications; want %d, %d, %d (one event, no message)",
				events, outbox, notes, before["events"]+1, before["outbox"], before["notifications"])
		}
		for _, tb := range tables {
			if got := mustCount(t, db, tb, ""); got != before[tb] {
				t.Errorf("%s rows after the rollback: got %d, want %d", tb, got, before[tb])
			}
		}
		if got := mustRequest(t, db, r.ID).State; got != "draft" {
			t.Errorf("request state after the rollback: got %s, want draft", got)
		}
		if got := e.kicks.Load(); got != kicks {
			t.Errorf("dispatcher woken %d times by a rolled-back transaction, want 0", got-kicks)
		}

		// The same transition committed writes its event, wakes the
		// dispatcher once, and its fan-out writes the messages.
		e.mustApply(t, "req", r.ID, workflow.Submit, "")
		if got, want := mustCount(t, db, "events", ""), before["events"]+1; got != want {
			t.Errorf("events after the committed submit: got %d, want %d", got, want)
		}
		if got, want := mustCount(t, db, "outbox", ""), before["outbox"]+4; got != want {
			t.Errorf("outbox rows after the committed submit: got %d, want %d", got, want)
		}
		if got, want := mustCount(t, db, "notifications", ""), before["notifications"]+3; got != want {
			t.Errorf("in-app notifications after the committed submit: got %d, want %d", got, want)
		}
		if got := e.kicks.Load(); got != kicks+1 {
			t.Errorf("dispatcher woken %d times by one commit, want 1", got-kicks)
		}
	})
}

// TestFailedTransitionWritesNothing: an action the rules refuse leaves no
// outbox row either.
func TestFailedTransitionWritesNothing(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db, true)
		r := e.mustCreate(t, "Refused", "official-open")
		e.mustApply(t, "req", r.ID, workflow.Submit, "")
		outbox, notes := mustCount(t, db, "outbox", ""), mustCount(t, db, "notifications", "")
		refused := []struct {
			who  string
			act  workflow.Action
			code errs.Code
		}{
			{"a1", workflow.Reject, errs.Invalid},       // no comment
			{"a1", workflow.Fulfil, errs.Conflict},      // not approved yet
			{"hdbapp", workflow.Approve, errs.NotFound}, // not their request
			{"req2", workflow.Approve, errs.Forbidden},  // a requester cannot approve
		}
		for _, c := range refused {
			if _, err := e.wf.Apply(context.Background(), e.actor(c.who), r.ID, c.act, "", 0); !errs.Is(err, c.code) {
				t.Errorf("%s %s: got %v, want %s", c.who, c.act, err, c.code)
			}
		}
		if got := mustCount(t, db, "outbox", ""); got != outbox {
			t.Errorf("outbox rows after refused actions: got %d, want %d", got, outbox)
		}
		if got := mustCount(t, db, "notifications", ""); got != notes {
			t.Errorf("in-app notifications after refused actions: got %d, want %d", got, notes)
		}
	})
}

// TestImportNotifiesNobody: history replayed by an import writes no
// outbox row and no in-app notification.
func TestImportNotifiesNobody(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db, true)
		e.mustWebhook(t, "http://127.0.0.1:1/never", "*")
		ev := func(action string, daysAgo int, who string, comment string) imports.Event {
			return imports.Event{Action: action, At: start.AddDate(0, 0, -daysAgo), ActorEmail: e.emailOf(who), Comment: comment}
		}
		rec := func(ref string, events ...imports.Event) imports.Record {
			return imports.Record{ExternalRef: ref, Title: "Imported " + ref, Purpose: "p", DataDescription: "d",
				Classification: "official-open", RequestingAgency: "MSF", OwnerAgency: "MOH", RequesterEmail: e.emailOf("req"), Events: events}
		}
		res, err := e.importer.Import(context.Background(), adminActor, imports.Batch{Requests: []imports.Record{
			rec("HIST-1", ev("submit", 30, "req", ""), ev("approve", 29, "a1", ""), ev("fulfil", 28, "a2", "")),
			rec("HIST-2", ev("submit", 20, "req", ""), ev("request_clarification", 19, "a1", "Which years?"),
				ev("respond", 18, "req", "All of them"), ev("reject", 17, "a2", "Too broad")),
			rec("HIST-3", ev("submit", 3, "req", ""), ev("approve", 2, "a3", "")),
			rec("HIST-4", ev("submit", 5, "req", ""), ev("withdraw", 1, "req", "")),
		}})
		if err != nil || res.Imported != 4 || len(res.Errors) != 0 {
			t.Fatalf("import: got %+v, %v; want 4 imported, no errors", res, err)
		}
		if n := mustCount(t, db, "outbox", ""); n != 0 {
			t.Errorf("outbox rows after an import: got %d, want 0", n)
		}
		if n := mustCount(t, db, "notifications", ""); n != 0 {
			t.Errorf("in-app notifications after an import: got %d, want 0", n)
		}
		if n := e.kicks.Load(); n != 0 {
			t.Errorf("dispatcher woken %d times by an import, want 0", n)
		}
	})
}

// TestWithoutSMTPEmailIsSkipped: with no SMTP server configured, email
// deliveries are recorded as skipped and never sent, while in-app
// notifications and webhooks work as usual.
func TestWithoutSMTPEmailIsSkipped(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db, false)
		recv := startHookReceiver(t, always(http.StatusOK))
		e.mustWebhook(t, recv.srv.URL, "*")
		r := e.mustCreate(t, "No mail server", "official-open")
		e.mustApply(t, "req", r.ID, workflow.Submit, "")
		e.mustApply(t, "a1", r.ID, workflow.Approve, "")

		emails := mustDeliveries(t, db, "channel = ?", notifications.Email)
		if len(emails) != 4 {
			t.Fatalf("email rows: got %d, want 4 (3 approvers of the submit, the requester of the approval)", len(emails))
		}
		if n := mustCount(t, db, "notifications", ""); n != 4 {
			t.Errorf("in-app notifications: got %d, want 4, as with a mail server", n)
		}
		if n := mustCount(t, db, "outbox", "channel = ? AND state = ?", notifications.Webhook, notifications.StatePending); n != 2 {
			t.Errorf("pending webhook rows: got %d, want 2", n)
		}
		// Even a dispatcher that has a mail sender never picks a skipped
		// row up.
		sink := startMailSink(t)
		d := e.newDispatcher(map[string]notifications.Sender{
			notifications.Webhook: newHookSender(db),
			notifications.Email:   mustMailer(t, sink),
		}, testPolicy())
		e.clock.Advance(24 * time.Hour)
		if n := mustDrain(t, d); n != 2 {
			t.Errorf("claimed %d deliveries, want the 2 webhooks", n)
		}
		if n := len(recv.Calls()); n != 2 {
			t.Errorf("webhook calls: got %d, want 2", n)
		}
		if n := len(sink.Messages()); n != 0 {
			t.Errorf("mails sent: got %d, want 0", n)
		}
		for _, row := range mustDeliveries(t, db, "channel = ?", notifications.Email) {
			if row.State != notifications.StateSkipped || row.Attempts != 0 || row.DeliveredAt != nil || row.LastError != "" || row.ClaimedUntil != nil {
				t.Errorf("email delivery %d: got state %s, attempts %d, delivered_at %v, last_error %q; want skipped and untouched",
					row.ID, row.State, row.Attempts, row.DeliveredAt, row.LastError)
			}
		}
	})
}

// heard maps event → channel → the cast keys who got a message, sorted.
type heard map[string]map[string][]string

func mustHeard(tb testing.TB, e *env) heard {
	tb.Helper()
	keyOf := map[string]string{}
	keyOfID := map[int64]string{}
	for k, u := range e.users {
		keyOf[u.Email], keyOfID[u.ID] = k, k
	}
	out := heard{}
	add := func(event, channel, key string) {
		if out[event] == nil {
			out[event] = map[string][]string{}
		}
		out[event][channel] = append(out[event][channel], key)
	}
	for _, d := range mustDeliveries(tb, e.db, "channel = ?", notifications.Email) {
		add(d.Event, notifications.Email, keyOf[d.Recipient])
	}
	for _, n := range mustInApp(tb, e.db, "") {
		add(n.Event, notifications.InApp, keyOfID[n.UserID])
	}
	for _, byChannel := range out {
		for c := range byChannel {
			slices.Sort(byChannel[c])
		}
	}
	return out
}

// TestPreferences: a person who switched an event off on one channel still
// hears of it on the other; approvers cannot switch off a breach, and hear
// of it even with a stale setting that says otherwise.
func TestPreferences(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		e := newEnv(t, db, true)
		type prefs = notifications.Preferences

		refused := []struct {
			name, who, field string
			p                prefs
		}{
			{"approver switching off breach emails", "a1", "email.sla.breached", prefs{"email": {notifications.SLABreached: false}}},
			{"approver switching off breach in-app", "a2", "in_app.sla.breached", prefs{"in_app": {notifications.SLABreached: false}}},
			{"unknown channel", "req", "sms", prefs{"sms": {notifications.RequestApproved: false}}},
			{"unknown event", "req", "email.request.eaten", prefs{"email": {"request.eaten": false}}},
		}
		for _, c := range refused {
			_, _, err := e.notes.SetPreferences(ctx, e.users[c.who], c.p)
			var ee *errs.Error
			if !errors.As(err, &ee) || ee.Code != errs.Invalid || ee.Field != c.field {
				t.Errorf("%s: got %v, want invalid on field %s", c.name, err, c.field)
			}
		}
		if n := mustCount(t, db, "preferences", ""); n != 0 {
			t.Errorf("refused settings stored %d rows, want 0", n)
		}
		if _, locked, err := e.notes.Preferences(ctx, e.users["a1"]); err != nil || !slices.Equal(locked, []string{notifications.SLABreached}) {
			t.Errorf("approver's locked events: got %v (%v), want [%s]", locked, err, notifications.SLABreached)
		}
		if _, locked, err := e.notes.Preferences(ctx, e.users["mgr"]); err != nil || len(locked) != 0 {
			t.Errorf("manager's locked events: got %v (%v), want none", locked, err)
		}

		accepted := []struct {
			who string
			p   prefs
		}{
			{"req", prefs{"email": {notifications.RequestApproved: false}}},                             // email off, in-app on
			{"a2", prefs{"in_app": {notifications.RequestSubmitted: false}}},                            // in-app off, email on
			{"mgr", prefs{"email": {notifications.SLABreached: false}}},                                 // managers may
			{"req", prefs{"in_app": {notifications.SLABreached: false, notifications.SLAAtRisk: true}}}, // so may requesters
		}
		for _, c := range accepted {
			if _, _, err := e.notes.SetPreferences(ctx, e.users[c.who], c.p); err != nil {
				t.Fatalf("%s sets %v: %v", c.who, c.p, err)
			}
		}
		// A setting stored before a3 was made an approver.
		if err := db.Gorm.Create(&models.Preference{UserID: e.users["a3"].ID, Channel: notifications.Email, Event: notifications.SLABreached, Enabled: false}).Error; err != nil {
			t.Fatal(err)
		}
		if p, _, err := e.notes.Preferences(ctx, e.users["a3"]); err != nil || !p[notifications.Email][notifications.SLABreached] {
			t.Errorf("a3's breach emails shown as %v (%v), want on", p[notifications.Email][notifications.SLABreached], err)
		}

		r := e.mustCreate(t, "Preferences", "official-open")
		e.mustApply(t, "req", r.ID, workflow.Submit, "")
		e.mustApply(t, "a1", r.ID, workflow.Approve, "")
		e.clock.Set(mustRequest(t, db, r.ID).SLA.DueAt.Add(time.Minute))
		if res := e.mustCheck(t); res.AtRisk != 1 || res.Breached != 1 {
			t.Fatalf("sla check: got %+v, want 1 at risk and 1 breached", res)
		}

		want := heard{
			notifications.RequestSubmitted: {"email": {"a1", "a2", "a3"}, "in_app": {"a1", "a3"}},
			notifications.RequestApproved:  {"in_app": {"req"}},
			notifications.SLAAtRisk:        {"email": {"a1", "a2", "a3", "req"}, "in_app": {"a1", "a2", "a3", "req"}},
			notifications.SLABreached:      {"email": {"a1", "a2", "a3", "req"}, "in_app": {"a1", "a2", "a3", "mgr"}},
		}
		got := mustHeard(t, e)
		for _, ev := range notifications.Events {
			for _, c := range notifications.UserChannels {
				if !slices.Equal(got[ev][c], want[ev][c]) {
					t.Errorf("%s on %s: got %v, want %v", ev, c, got[ev][c], want[ev][c])
				}
			}
		}
	})
}

// TestDailyDigest: on a working day each approver of an agency with
// requests waiting on it (submitted or approved) gets one email listing
// them, soonest due first; nobody else gets one, and none goes out on a
// weekend, on a public holiday, or a second time the same day.
func TestDailyDigest(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		e := newEnv(t, db, true)
		at := func(s string) time.Time {
			t.Helper()
			v, err := time.ParseInLocation("2006-01-02 15:04", s, sgt)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		submitAt := func(r *models.Request, when string) {
			e.clock.Set(at(when))
			e.mustApply(t, "req", r.ID, workflow.Submit, "")
		}
		// Filed in one order, submitted in another: due order is first,
		// second, approved.
		second := e.mustCreate(t, "Due second", "official-open")
		first := e.mustCreate(t, "Due first", "official-open")
		approved := e.mustCreate(t, "Approved", "official-open")
		draft := e.mustCreate(t, "Draft", "official-open")
		paused := e.mustCreate(t, "Paused", "official-open")
		done := e.mustCreate(t, "Done", "official-open")
		hdb := e.mustCreateFor(t, "Housing", "official-open", "HDB")
		submitAt(first, "2025-07-07 10:30")
		submitAt(second, "2025-07-07 11:00")
		submitAt(paused, "2025-07-07 11:30")
		submitAt(done, "2025-07-07 12:00")
		submitAt(hdb, "2025-07-07 12:30")
		submitAt(approved, "2025-07-08 10:00")
		e.mustApply(t, "a2", approved.ID, workflow.Approve, "")
		e.mustApply(t, "a1", paused.ID, workflow.RequestClarification, "Which years?")
		e.mustApply(t, "a1", done.ID, workflow.Approve, "")
		e.mustApply(t, "a1", done.ID, workflow.Fulfil, "")
		cal := e.hol.Current()
		digests := func() []models.Delivery {
			return mustDeliveries(t, db, "event = ?", notifications.DailyDigest)
		}

		sent, err := e.outbox.Digest(ctx, cal, at("2025-07-09 08:00"))
		if err != nil || sent != 4 {
			t.Fatalf("digest on Wednesday: got %d (%v), want 4", sent, err)
		}
		wantItems := map[string][]*models.Request{
			e.emailOf("a1"): {first, second, approved}, e.emailOf("a2"): {first, second, approved}, e.emailOf("a3"): {first, second, approved},
			e.emailOf("hdbapp"): {hdb},
		}
		rows := digests()
		got := map[string]int{}
		for _, row := range rows {
			got[row.Recipient]++
			items, ok := wantItems[row.Recipient]
			if !ok {
				t.Errorf("digest sent to %s, who approves nothing waiting", row.Recipient)
				continue
			}
			var m notifications.Mail
			if err := json.Unmarshal([]byte(row.Payload), &m); err != nil {
				t.Fatalf("digest payload: %v", err)
			}
			checkDigestOrder(t, row.Recipient, m, items, []*models.Request{draft, paused, done, hdb, first, second, approved})
			if !strings.Contains(m.Subject, fmt.Sprint(len(items))) || !strings.Contains(m.Subject, "2025-07-09") {
				t.Errorf("digest subject %q: want the count %d and the day 2025-07-09", m.Subject, len(items))
			}
			if row.State != notifications.StatePending || row.Channel != notifications.Email {
				t.Errorf("digest row to %s: got %s on %s, want pending email", row.Recipient, row.State, row.Channel)
			}
		}
		for to := range wantItems {
			if got[to] != 1 {
				t.Errorf("digests to %s: got %d, want 1", to, got[to])
			}
		}

		// Delivered as well-formed mail.
		sink := startMailSink(t)
		e.clock.Set(at("2025-07-09 08:00"))
		d := e.newDispatcher(map[string]notifications.Sender{notifications.Email: mustMailer(t, sink)}, testPolicy())
		mustDrain(t, d)
		digestMails := 0
		for _, m := range sink.Messages() {
			p := mustParseMail(t, m)
			if p.Event == notifications.DailyDigest {
				digestMails++
				if !strings.Contains(p.HTML, fmt.Sprintf(`href="%s/requests/`, baseURL)) {
					t.Errorf("digest HTML to %s links to no request:\n%s", p.To, p.HTML)
				}
			}
		}
		if digestMails != 4 {
			t.Errorf("digest mails delivered: got %d, want 4", digestMails)
		}

		none := []struct{ name, when string }{
			{"again the same day", "2025-07-09 08:30"},
			{"again the same day, from another replica's clock", "2025-07-09 17:00"},
			{"Saturday", "2025-07-12 08:00"},
			{"Sunday", "2025-07-13 08:00"},
			{"Deepavali, a Monday public holiday", "2025-10-20 08:00"},
		}
		for _, c := range none {
			if n, err := e.outbox.Digest(ctx, cal, at(c.when)); err != nil || n != 0 {
				t.Errorf("digest %s: got %d (%v), want 0", c.name, n, err)
			}
		}
		if n := len(digests()); n != 4 {
			t.Errorf("digest rows: got %d, want still 4", n)
		}

		// Monday 07:30 in Singapore is still Sunday in UTC: the day is
		// Singapore's. a2 has switched the digest off.
		if _, _, err := e.notes.SetPreferences(ctx, e.users["a2"], notifications.Preferences{"email": {notifications.DailyDigest: false}}); err != nil {
			t.Fatal(err)
		}
		if n, err := e.outbox.Digest(ctx, cal, at("2025-07-14 07:30")); err != nil || n != 3 {
			t.Errorf("digest on Monday 14 July: got %d (%v), want 3 (a2 switched it off)", n, err)
		}
	})
}

// checkDigestOrder checks that a digest lists want in order and none of
// the other requests.
func checkDigestOrder(t *testing.T, to string, m notifications.Mail, want, all []*models.Request) {
	t.Helper()
	pos := func(body string, r *models.Request) int {
		return strings.Index(body, fmt.Sprintf("#%d %s", r.ID, r.Title))
	}
	for _, body := range []string{m.Text, m.HTML} {
		last := -1
		for _, r := range want {
			p := pos(body, r)
			if p < 0 {
				t.Errorf("digest to %s does not list #%d %s:\n%s", to, r.ID, r.Title, body)
				continue
			}
			if p < last {
				t.Errorf("digest to %s lists #%d %s out of due order:\n%s", to, r.ID, r.Title, body)
			}
			last = p
		}
		for _, r := range all {
			if !slices.Contains(want, r) && pos(body, r) >= 0 {
				t.Errorf("digest to %s lists #%d %s (%s), which is not waiting on that agency", to, r.ID, r.Title, r.State)
			}
		}
	}
}
