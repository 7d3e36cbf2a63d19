package notifications_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/notifications"
	"datashare/workflow"
)

// message is one in-app notification or delivery, named by what makes it
// unique: its event, its channel and who receives it.
type message struct {
	event   int64
	channel string
	to      string // the user's email or the webhook's URL
}

func (m message) String() string { return fmt.Sprintf("event %d %s to %s", m.event, m.channel, m.to) }

// mustMessages counts the in-app notifications and deliveries of events in
// db, and returns the delivery id of each delivery.
func mustMessages(tb testing.TB, db *models.DB) (map[message]int, map[message]string) {
	tb.Helper()
	emails := map[int64]string{}
	var users []models.User
	if err := db.Gorm.Find(&users).Error; err != nil {
		tb.Fatal(err)
	}
	for _, u := range users {
		emails[u.ID] = u.Email
	}
	count := map[message]int{}
	ids := map[message]string{}
	for _, n := range mustInApp(tb, db, "event_id IS NOT NULL") {
		count[message{*n.EventID, notifications.InApp, emails[n.UserID]}]++
	}
	for _, d := range mustDeliveries(tb, db, "event_id IS NOT NULL") {
		m := message{*d.EventID, d.Channel, d.Recipient}
		count[m]++
		ids[m] = d.DeliveryID
	}
	return count, ids
}

// sortedMessages lists the keys of count.
func sortedMessages(count map[message]int) []string {
	var out []string
	for m := range count {
		out = append(out, m.String())
	}
	sort.Strings(out)
	return out
}

// checkOnce fails unless got holds exactly the messages of want, each once.
func checkOnce(tb testing.TB, label string, got, want map[message]int) {
	tb.Helper()
	for m, n := range got {
		if n != 1 {
			tb.Errorf("%s: %s written %d times, want once", label, m, n)
		}
	}
	if g, w := sortedMessages(got), sortedMessages(want); !slices.Equal(g, w) {
		tb.Errorf("%s: messages\n got %q\nwant %q", label, g, w)
	}
}

// submitSome submits n requests and approves the first, without fanning
// their events out, and returns how many events that wrote.
func (e *env) submitSome(tb testing.TB, n int) int {
	tb.Helper()
	ctx := context.Background()
	var first int64
	for i := 0; i < n; i++ {
		r := e.mustCreate(tb, fmt.Sprintf("Fan-out %d", i), "official-open")
		if _, err := e.wf.Apply(ctx, e.actor("req"), r.ID, workflow.Submit, "", 0); err != nil {
			tb.Fatal(err)
		}
		if i == 0 {
			first = r.ID
		}
	}
	if _, err := e.wf.Apply(ctx, e.actor("a1"), first, workflow.Approve, "Fine by us", 0); err != nil {
		tb.Fatal(err)
	}
	return n + 1
}

// wantSubmitSome is what submitSome(n) must make heard: each submission by
// the three MOH approvers (in-app and email) and the webhook; the approval
// by the requester and the webhook.
func (e *env) wantSubmitSome(tb testing.TB, hook string) map[message]int {
	tb.Helper()
	var events []models.Event
	if err := e.db.Gorm.Order("id").Find(&events).Error; err != nil {
		tb.Fatal(err)
	}
	want := map[message]int{}
	for _, ev := range events {
		who := []string{"a1", "a2", "a3"}
		if ev.Event == notifications.RequestApproved {
			who = []string{"req"}
		}
		for _, k := range who {
			want[message{ev.ID, notifications.InApp, e.emailOf(k)}] = 1
			want[message{ev.ID, notifications.Email, e.emailOf(k)}] = 1
		}
		want[message{ev.ID, notifications.Webhook, hook}] = 1
	}
	return want
}

// TestTransitionWritesOnlyItsEvent: a committed transition leaves one event
// and no message until the fan-out, which writes them and marks the event
// done.
func TestTransitionWritesOnlyItsEvent(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db, true)
		e.mustWebhook(t, "http://127.0.0.1:1/hook", "*")
		if n := e.submitSome(t, 2); mustCount(t, db, "events", "fanned_out_at IS NULL") != int64(n) {
			t.Fatalf("events waiting: got %d, want %d", mustCount(t, db, "events", "fanned_out_at IS NULL"), n)
		}
		if got := mustCount(t, db, "outbox", "") + mustCount(t, db, "notifications", ""); got != 0 {
			t.Fatalf("messages before the fan-out: got %d, want 0", got)
		}
		var ev models.Event
		if err := db.Gorm.Where("event = ?", notifications.RequestApproved).Take(&ev).Error; err != nil {
			t.Fatal(err)
		}
		a1 := e.users["a1"].ID
		if ev.ActorID == nil || *ev.ActorID != a1 || ev.ActorName != "Officer a1 (MOH)" || ev.Comment != "Fine by us" ||
			ev.State != "approved" || ev.ApprovalsRequired != 1 || ev.ApprovedBy != fmt.Sprint(a1) || ev.DueAt == nil {
			t.Errorf("approval event: got %+v", ev)
		}
		if n := e.fanOut(t); n != 3 {
			t.Errorf("events fanned out: got %d, want 3", n)
		}
		if got := mustCount(t, db, "events", "fanned_out_at IS NULL OR claimed_until IS NOT NULL"); got != 0 {
			t.Errorf("events not marked done: %d", got)
		}
		got, _ := mustMessages(t, db)
		checkOnce(t, "after the fan-out", got, e.wantSubmitSome(t, "http://127.0.0.1:1/hook"))
		for _, d := range mustDeliveries(t, db, "") {
			if d.Payload != "" {
				t.Errorf("delivery %s stores a body of %d bytes, want none", d.DeliveryID, len(d.Payload))
			}
		}
	})
}

// TestFanOutRedoneWritesEachMessageOnce: a fan-out that stopped half way,
// having written some of its events' messages but not marked them done, is
// redone; each message then exists once, and those written before keep
// their delivery id.
func TestFanOutRedoneWritesEachMessageOnce(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newEnv(t, db, true)
		const hook = "http://127.0.0.1:1/hook"
		e.mustWebhook(t, hook, "*")
		e.submitSome(t, 5)
		e.fanOut(t)
		want, ids := mustMessages(t, db)
		checkOnce(t, "first fan-out", want, e.wantSubmitSome(t, hook))

		// Half the messages lost, no event marked done: as if the fan-out
		// had stopped half way through.
		for _, table := range []string{"notifications", "outbox"} {
			if err := db.Gorm.Exec("DELETE FROM " + table + " WHERE id % 2 = 0").Error; err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Gorm.Exec("UPDATE events SET fanned_out_at = NULL, claimed_until = NULL").Error; err != nil {
			t.Fatal(err)
		}
		kept, keptIDs := mustMessages(t, db)
		if len(kept) == 0 || len(kept) >= len(want) {
			t.Fatalf("after losing half: %d of %d messages left", len(kept), len(want))
		}
		if n := e.fanOut(t); n != 6 {
			t.Errorf("events fanned out again: got %d, want 6", n)
		}
		got, gotIDs := mustMessages(t, db)
		checkOnce(t, "redone fan-out", got, want)
		for m, id := range keptIDs {
			if gotIDs[m] != id || ids[m] != id {
				t.Errorf("%s: delivery id %s became %s", m, id, gotIDs[m])
			}
		}

		// Redone once more with nothing lost: nothing new.
		if err := db.Gorm.Exec("UPDATE events SET fanned_out_at = NULL").Error; err != nil {
			t.Fatal(err)
		}
		e.fanOut(t)
		again, _ := mustMessages(t, db)
		checkOnce(t, "fan-out of done events", again, want)
	})
}

// TestTwoDispatchersFanOutEachMessageOnce: two replicas, each with its own
// connections, fan out the same events at once, with leases long enough to
// share the work and with leases so short that both claim the same events;
// each message is written once.
func TestTwoDispatchersFanOutEachMessageOnce(t *testing.T) {
	t.Parallel()
	for _, dialect := range modelstest.Dialects() {
		for _, lease := range []time.Duration{time.Minute, time.Microsecond} {
			t.Run(fmt.Sprintf("%s/lease %s", dialect, lease), func(t *testing.T) {
				dsn := modelstest.DSN(t, dialect)
				dbs := make([]*models.DB, 2)
				for i := range dbs {
					db, err := models.Open(dsn)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { db.Close() })
					if err := db.Migrate(context.Background(), nil); err != nil {
						t.Fatal(err)
					}
					dbs[i] = db
				}
				e := newEnv(t, dbs[0], true)
				const hook = "http://127.0.0.1:1/hook"
				e.mustWebhook(t, hook, "*")
				events := e.submitSome(t, 40)
				p := testPolicy()
				p.Lease, p.FanOutBatch = lease, 3 // many small claims, so that the two meet often
				var wg sync.WaitGroup
				fanned := make([]int, 2)
				errs := make([]error, 2)
				for i, db := range dbs {
					o := notifications.NewOutbox(db, sgt, notifications.Links{Base: baseURL}, true)
					// The wall clock, so that a microsecond lease runs out.
					d := notifications.NewDispatcher(o, nil, p, time.Now, nil)
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							n, err := d.FanOut(context.Background())
							if err != nil {
								errs[i] = err
								return
							}
							if n == 0 {
								return
							}
							fanned[i] += n
						}
					}()
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					t.Fatal(err)
				}
				if fanned[0]+fanned[1] < events {
					t.Errorf("events fanned out: %d and %d, want at least %d in all", fanned[0], fanned[1], events)
				}
				if lease == time.Minute && fanned[0]+fanned[1] != events {
					t.Errorf("with a long lease an event was fanned out twice: %d and %d, want %d in all", fanned[0], fanned[1], events)
				}
				if left := mustCount(t, dbs[0], "events", "fanned_out_at IS NULL"); left != 0 {
					t.Errorf("events not fanned out: %d", left)
				}
				got, _ := mustMessages(t, dbs[0])
				checkOnce(t, "two dispatchers", got, e.wantSubmitSome(t, hook))
			})
		}
	}
}

// childEnv names the database a re-executed test binary commits to before
// it dies.
const childEnv = "DATASHARE_TEST_FANOUT_CHILD_DSN"

// killedExit is the status of the child, which exits the moment its third
// transition has committed, before anything can fan it out.
const killedExit = 7

// TestKilledBetweenCommitAndFanOutLosesNothing: a process commits three
// transitions and is gone right after the last commit, before any fan-out.
// A dispatcher started afterwards on the same database writes and delivers
// every message of the three.
func TestKilledBetweenCommitAndFanOutLosesNothing(t *testing.T) {
	if dsn := os.Getenv(childEnv); dsn != "" {
		commitThenDie(t, dsn)
		return
	}
	t.Parallel()
	for _, dialect := range modelstest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			dsn := modelstest.DSN(t, dialect)
			db, err := models.Open(dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.Migrate(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, db, true)
			recv := startHookReceiver(t, always(http.StatusNoContent))
			e.mustWebhook(t, recv.srv.URL, "*")
			for i := 0; i < 2; i++ {
				e.mustCreate(t, fmt.Sprintf("Killed %d", i), "official-open")
			}

			cmd := exec.Command(os.Args[0], "-test.run=^TestKilledBetweenCommitAndFanOutLosesNothing$", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+dsn)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != killedExit {
				t.Fatalf("child: got %v, want exit status %d\n%s", err, killedExit, out)
			}
			if got := mustCount(t, db, "events", "fanned_out_at IS NULL"); got != 3 {
				t.Fatalf("events left by the child: got %d, want 3\n%s", got, out)
			}
			if got := mustCount(t, db, "outbox", "") + mustCount(t, db, "notifications", ""); got != 0 {
				t.Fatalf("messages left by the child: got %d, want none before a fan-out", got)
			}

			sink := startMailSink(t)
			d := e.newDispatcher(map[string]notifications.Sender{
				notifications.Email:   mustMailer(t, sink),
				notifications.Webhook: newHookSender(db),
			}, testPolicy())
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { d.Run(ctx); close(done) }()
			deadline := time.Now().Add(20 * time.Second)
			for (mustCount(t, db, "events", "fanned_out_at IS NULL") > 0 || mustCount(t, db, "outbox", "state <> ?", notifications.StateDelivered) > 0) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			<-done

			want := e.wantSubmitSome(t, recv.srv.URL)
			got, _ := mustMessages(t, db)
			checkOnce(t, "after the restart", got, want)
			if left := mustCount(t, db, "outbox", "state <> ?", notifications.StateDelivered); left != 0 {
				t.Errorf("deliveries not delivered: %d", left)
			}
			mails := map[string]int{}
			for _, m := range sink.Messages() {
				p := mustParseMail(t, m)
				mails[p.Event+" to "+p.To]++
			}
			wantMails := map[string]int{
				notifications.RequestSubmitted + " to " + e.emailOf("a1"): 2, notifications.RequestSubmitted + " to " + e.emailOf("a2"): 2,
				notifications.RequestSubmitted + " to " + e.emailOf("a3"): 2, notifications.RequestApproved + " to " + e.emailOf("req"): 1,
			}
			if g, w := keysOf(mails), keysOf(wantMails); !slices.Equal(g, w) {
				t.Errorf("mails received:\n got %v\nwant %v", g, w)
			}
			if got := len(recv.Calls()); got != 3 {
				t.Errorf("webhook calls: got %d, want 3", got)
			}
		})
	}
}

// commitThenDie runs in the child: over the parent's database it submits
// the two drafts and approves the first, and exits as soon as the third
// transaction has committed, leaving no time to fan anything out.
func commitThenDie(t *testing.T, dsn string) {
	db, err := models.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock(start)
	policy := testApprovals()
	a := apptest.Wire(t, db, apptest.Options{Now: clock.Now, Policy: &policy, Notify: true, EmailOn: true, BaseURL: baseURL})
	commits := 0
	a.Outbox.OnCommit(func() {
		if commits++; commits == 3 {
			os.Exit(killedExit)
		}
	})
	actor := func(email string) workflow.Actor {
		var u models.User
		if err := db.Gorm.Take(&u, "email = ?", email).Error; err != nil {
			t.Fatal(err)
		}
		return accounts.ActorOf(u)
	}
	var drafts []models.Request
	if err := db.Gorm.Order("id").Find(&drafts).Error; err != nil || len(drafts) != 2 {
		t.Fatalf("drafts: %d (%v)", len(drafts), err)
	}
	ctx := context.Background()
	for _, r := range drafts {
		if _, err := a.Workflow.Apply(ctx, actor("req@msf.gov.sg"), r.ID, workflow.Submit, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Workflow.Apply(ctx, actor("approver1@moh.gov.sg"), drafts[0].ID, workflow.Approve, "Fine by us", 0); err != nil {
		t.Fatal(err)
	}
	t.Fatal("still running after the third commit")
}
