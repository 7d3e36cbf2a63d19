package notifications_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
	"datashare/notifications"
	"datashare/sla"
	"datashare/workflow"
)

// step is one thing that happens to a request: an action by a cast member,
// or the SLA check run just past the request's warning or due instant. want
// is who must hear of it (cast keys), on every channel a person has.
type step struct {
	who     string
	act     workflow.Action
	comment string
	sla     string // sla.EventAtRisk or sla.EventBreached instead of an action
	want    []string
}

var eventOf = map[workflow.Action]string{
	workflow.Submit:               notifications.RequestSubmitted,
	workflow.Approve:              notifications.RequestApproved,
	workflow.RequestClarification: notifications.RequestClarificationRequested,
	workflow.Respond:              notifications.RequestResponded,
	workflow.Reject:               notifications.RequestRejected,
	workflow.Fulfil:               notifications.RequestFulfilled,
	workflow.Withdraw:             notifications.RequestWithdrawn,
}

func (s step) event() string {
	if s.sla != "" {
		return s.sla
	}
	return eventOf[s.act]
}

func (s step) String() string {
	if s.sla != "" {
		return "SLA check: " + s.sla
	}
	return s.who + " " + string(s.act)
}

// lifecycle is a request's life, with who hears of each step per the table
// of issue 4. MOH has three approvers (a1, a2, a3) and a manager; MSF's
// requester files every request.
type lifecycle struct {
	name           string
	classification string
	steps          []step
}

var (
	ownerApprovers = []string{"a1", "a2", "a3"}
	lifecycles     = []lifecycle{
		{"restricted: clarification, at risk, breached, two approvals, fulfilled", "restricted", []step{
			{who: "req", act: workflow.Submit, want: ownerApprovers},
			{who: "a1", act: workflow.RequestClarification, comment: "Which years?", want: []string{"req"}},
			{who: "req", act: workflow.Respond, comment: "2019 to 2024", want: ownerApprovers},
			// One of two approvals: the requester and the approvers who have
			// not approved yet; never the approver who acted.
			{who: "a1", act: workflow.Approve, want: []string{"req", "a2", "a3"}},
			{sla: sla.EventAtRisk, want: []string{"a1", "a2", "a3", "req"}},
			{sla: sla.EventBreached, want: []string{"a1", "a2", "a3", "mgr", "req"}},
			// The last approval: nobody is left to approve.
			{who: "a2", act: workflow.Approve, want: []string{"req"}},
			// The requester and the approvers who acted on it (a1 asked and
			// approved, a2 approved), not a3 who fulfils.
			{who: "a3", act: workflow.Fulfil, want: []string{"req", "a1", "a2"}},
		}},
		{"confidential, three approvals: who approved is not asked again", "confidential", []step{
			{who: "req", act: workflow.Submit, want: ownerApprovers},
			{who: "a1", act: workflow.Approve, want: []string{"req", "a2", "a3"}},
			{who: "a2", act: workflow.Approve, want: []string{"req", "a3"}},
			{who: "a3", act: workflow.Approve, want: []string{"req"}},
			{who: "a1", act: workflow.Fulfil, want: []string{"req", "a2", "a3"}},
		}},
		{"official-open: rejected after a clarification", "official-open", []step{
			{who: "req", act: workflow.Submit, want: ownerApprovers},
			{who: "a1", act: workflow.RequestClarification, comment: "Which fields?", want: []string{"req"}},
			{who: "req", act: workflow.Respond, comment: "Fields A and B", want: ownerApprovers},
			{who: "a2", act: workflow.Reject, comment: "No legal basis", want: []string{"req", "a1"}},
		}},
		{"official-closed: approved, then withdrawn", "official-closed", []step{
			{who: "req", act: workflow.Submit, want: ownerApprovers},
			{who: "a1", act: workflow.Approve, want: []string{"req"}},
			{who: "req", act: workflow.Withdraw, want: []string{"a1"}},
		}},
		{"official-open: withdrawn before any approver acted", "official-open", []step{
			{who: "req", act: workflow.Submit, want: ownerApprovers},
			{who: "req", act: workflow.Withdraw, want: nil},
		}},
	}
)

// run takes the step on request id and returns the request as the outbox
// saw it. Actions happen an hour after the previous step; the SLA check
// runs a minute past the request's warning or due instant.
func (s step) run(tb testing.TB, e *env, id int64) models.Request {
	tb.Helper()
	if s.sla == "" {
		e.clock.Advance(time.Hour)
		return *e.mustApply(tb, s.who, id, s.act, s.comment)
	}
	r := mustRequest(tb, e.db, id)
	instant := r.SLA.WarnAt
	if s.sla == sla.EventBreached {
		instant = r.SLA.DueAt
	}
	if instant == nil {
		tb.Fatalf("%s: request %d has no instant to pass (state %s)", s, id, r.State)
	}
	e.clock.Set(instant.Add(time.Minute))
	res := e.mustCheck(tb)
	got := res.AtRisk
	if s.sla == sla.EventBreached {
		got = res.Breached
	}
	if got != 1 {
		tb.Fatalf("%s: check flagged %d requests (%+v), want 1", s, got, res)
	}
	return mustRequest(tb, e.db, id)
}

// emailsOf maps cast keys to addresses.
func (e *env) emailsOf(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = e.emailOf(k)
	}
	slices.Sort(out)
	return out
}

// TestLifecycleMails drives requests through their lives with the outbox
// and a dispatcher sending to a real SMTP server, and checks after each
// step that exactly the people of the table got exactly one mail each,
// well-formed, naming the request and linking to it.
func TestLifecycleMails(t *testing.T) {
	t.Parallel()
	for _, lc := range lifecycles {
		t.Run(lc.name, func(t *testing.T) {
			t.Parallel()
			modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
				e := newEnv(t, db, true)
				sink := startMailSink(t)
				d := e.newDispatcher(map[string]notifications.Sender{notifications.Email: mustMailer(t, sink)}, testPolicy())
				title := "Clinic visits " + lc.classification
				r := e.mustCreate(t, title, lc.classification)
				if n := len(sink.Messages()); n != 0 {
					t.Fatalf("creating a draft sent %d mails, want 0", n)
				}
				for i, st := range lc.steps {
					before := len(sink.Messages())
					var lastNote int64
					db.Gorm.Table("notifications").Select("COALESCE(MAX(id), 0)").Scan(&lastNote)
					seen := st.run(t, e, r.ID)
					mustDrain(t, d)
					got := sink.Messages()[before:]
					checkStepMails(t, e, fmt.Sprintf("step %d (%s)", i+1, st), st, seen, got)
					checkStepInApp(t, e, fmt.Sprintf("step %d (%s)", i+1, st), st, r.ID, mustInApp(t, db, "id > ?", lastNote))
				}
				if n := mustCount(t, db, "outbox", "state <> ?", notifications.StateDelivered); n != 0 {
					t.Errorf("outbox rows not delivered at the end: got %d, want 0", n)
				}
			})
		})
	}
}

// checkStepMails checks the mails one step caused.
func checkStepMails(t *testing.T, e *env, label string, st step, r models.Request, got []sentMail) {
	t.Helper()
	var to []string
	link := fmt.Sprintf("%s/requests/%d", baseURL, r.ID)
	for _, m := range got {
		p := mustParseMail(t, m)
		to = append(to, p.To)
		if p.Event != st.event() {
			t.Errorf("%s: mail to %s X-Datashare-Event: got %q, want %q", label, p.To, p.Event, st.event())
		}
		if !slices.Equal(m.To, []string{p.To}) {
			t.Errorf("%s: envelope recipients: got %v, want [%s] as in the To header", label, m.To, p.To)
		}
		if m.From != mailFrom {
			t.Errorf("%s: envelope sender: got %q, want %q", label, m.From, mailFrom)
		}
		if from, err := p.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != mailFrom {
			t.Errorf("%s: From: got %q, want %s", label, p.Header.Get("From"), mailFrom)
		}
		if p.DeliveryID == "" || p.Header.Get("Message-Id") == "" {
			t.Errorf("%s: mail to %s lacks X-Datashare-Delivery or Message-Id: %v", label, p.To, p.Header)
		}
		for _, want := range []string{r.Title, r.OwnerAgency} {
			if !strings.Contains(p.Subject, want) {
				t.Errorf("%s: Subject %q does not name %q", label, p.Subject, want)
			}
		}
		if r.SLA.DueAt != nil && !strings.Contains(p.Subject, formatDay(*r.SLA.DueAt)) {
			t.Errorf("%s: Subject %q does not give the due date %s", label, p.Subject, formatDay(*r.SLA.DueAt))
		}
		if !strings.Contains(p.Text, link) {
			t.Errorf("%s: text body does not link to %s:\n%s", label, link, p.Text)
		}
		if !strings.Contains(p.HTML, `href="`+link+`"`) {
			t.Errorf("%s: HTML body does not link to %s:\n%s", label, link, p.HTML)
		}
		if !strings.Contains(p.Text, r.Title) || !strings.Contains(p.HTML, r.Title) {
			t.Errorf("%s: a body does not name the request %q", label, r.Title)
		}
		var row models.Delivery
		if err := e.db.Gorm.Take(&row, "delivery_id = ?", p.DeliveryID).Error; err != nil {
			t.Errorf("%s: no outbox row for delivery %s: %v", label, p.DeliveryID, err)
		} else if row.State != notifications.StateDelivered || row.Recipient != p.To || row.RequestID == nil || *row.RequestID != r.ID {
			t.Errorf("%s: outbox row of %s: got state %s, recipient %s, request %v; want delivered, %s, %d",
				label, p.DeliveryID, row.State, row.Recipient, row.RequestID, p.To, r.ID)
		}
	}
	slices.Sort(to)
	if want := e.emailsOf(st.want); !slices.Equal(to, want) {
		t.Errorf("%s: mails went to %v, want %v", label, to, want)
	}
}

// checkStepInApp checks the in-app notifications one step caused: the same
// people as the mails.
func checkStepInApp(t *testing.T, e *env, label string, st step, id int64, got []models.Notification) {
	t.Helper()
	byID := map[int64]string{}
	for k, u := range e.users {
		byID[u.ID] = k
	}
	var who []string
	for _, n := range got {
		who = append(who, e.emailOf(byID[n.UserID]))
		if n.Event != st.event() || n.RequestID == nil || *n.RequestID != id || n.Title == "" || n.ReadAt != nil {
			t.Errorf("%s: in-app notification %+v: want event %s, request %d, a title, unread", label, n, st.event(), id)
		}
	}
	slices.Sort(who)
	if want := e.emailsOf(st.want); !slices.Equal(who, want) {
		t.Errorf("%s: in-app notifications for %v, want %v", label, who, want)
	}
}

// TestMailsSurviveSMTPOutage moves ten requests through their states while
// the SMTP server is down, then brings it up on the same port: every mail
// of the table arrives, each exactly once.
func TestMailsSurviveSMTPOutage(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		e := newEnv(t, db, true)
		sink := startMailSink(t)
		addr := sink.addr
		sink.Stop()
		p := testPolicy()
		d := e.newDispatcher(map[string]notifications.Sender{notifications.Email: mustMailer(t, sink)}, p)

		// want counts (request, event, address) triples.
		want := map[string]int{}
		for i := 0; i < 10; i++ {
			lc := lifecycles[i%len(lifecycles)]
			r := e.mustCreate(t, fmt.Sprintf("Outage %d (%s)", i, lc.classification), lc.classification)
			for _, st := range lc.steps {
				if st.sla != "" {
					continue
				}
				e.clock.Advance(time.Minute)
				e.mustApply(t, st.who, r.ID, st.act, st.comment)
				for _, addr := range e.emailsOf(st.want) {
					want[fmt.Sprintf("#%d %s %s", r.ID, st.event(), addr)]++
				}
				// A running dispatcher would be kicked now.
				if _, err := d.Tick(ctx); err != nil {
					t.Fatalf("tick: %v", err)
				}
			}
		}
		mustDrain(t, d)
		total := 0
		for _, n := range want {
			total += n
		}
		rows := mustDeliveries(t, db, "channel = ?", notifications.Email)
		if len(rows) != total {
			t.Fatalf("email rows in the outbox: got %d, want %d", len(rows), total)
		}
		now := e.clock.Now()
		for _, row := range rows {
			if row.State != notifications.StatePending || row.Attempts < 1 || !row.NextAttemptAt.After(now) || row.LastError == "" || row.DeliveredAt != nil {
				t.Errorf("delivery %d while the server is down: got state %s, attempts %d, next attempt %s (now %s), last error %q; want pending, ≥1 attempt, a later next attempt, an error",
					row.ID, row.State, row.Attempts, row.NextAttemptAt.UTC(), now.UTC(), row.LastError)
			}
		}

		sink.mustStart(t, addr)
		e.clock.Advance(p.MaxBackoff + time.Minute)
		mustDrain(t, d)

		reqOf := map[string]int64{}
		for _, row := range mustDeliveries(t, db, "channel = ?", notifications.Email) {
			if row.State != notifications.StateDelivered || row.DeliveredAt == nil {
				t.Errorf("delivery %d after the server came back: got state %s, want delivered", row.ID, row.State)
			}
			reqOf[row.DeliveryID] = *row.RequestID
		}
		got := map[string]int{}
		seen := map[string]int{}
		for _, m := range sink.Messages() {
			p := mustParseMail(t, m)
			seen[p.DeliveryID]++
			got[fmt.Sprintf("#%d %s %s", reqOf[p.DeliveryID], p.Event, p.To)]++
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("delivery %s arrived %d times, want once", id, n)
			}
		}
		if len(seen) != total {
			t.Errorf("distinct deliveries received: got %d, want %d", len(seen), total)
		}
		if !slices.Equal(keysOf(got), keysOf(want)) {
			t.Errorf("mails received:\n got %v\nwant %v", keysOf(got), keysOf(want))
		}
	})
}

// TestMailerSTARTTLSWithAuthentication sends through a server that requires
// STARTTLS and PLAIN authentication, the default smtp:// setting; a wrong
// password is a failed attempt, not a lost mail.
func TestMailerSTARTTLSWithAuthentication(t *testing.T) {
	t.Parallel()
	sink := &mailSink{user: "datashare", pass: "right-password", tlsConfig: mustSelfSignedTLS(t)}
	sink.mustStart(t, "127.0.0.1:0")
	t.Cleanup(sink.Stop)
	tests := []struct {
		name      string
		url       string
		delivered bool
	}{
		{"a wrong password is an error to retry", "smtp://datashare:wrong@" + sink.addr + "?insecure_skip_verify=true", false},
		{"the right password delivers", "smtp://datashare:right-password@" + sink.addr + "?insecure_skip_verify=true", true},
		{"an untrusted certificate is refused", "smtp://datashare:right-password@" + sink.addr, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := notifications.ParseSMTPURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			before := len(sink.Messages())
			row := models.Delivery{
				DeliveryID: notifications.NewDeliveryID(), Event: notifications.RequestSubmitted, Channel: notifications.Email,
				Recipient: "someone@moh.gov.sg", State: notifications.StatePending,
				Payload: `{"to":"someone@moh.gov.sg","subject":"Test","text":"Hello","html":"<p>Hello</p>"}`,
			}
			err = notifications.NewMailer(cfg, mailFrom).Send(context.Background(), &row)
			got := len(sink.Messages()) - before
			if tc.delivered && (err != nil || got != 1) {
				t.Fatalf("Send: got error %v and %d mails, want no error and 1 mail", err, got)
			}
			if !tc.delivered && (err == nil || got != 0) {
				t.Fatalf("Send: got error %v and %d mails, want an error and no mail", err, got)
			}
		})
	}
}

// TestMailOfAnAwkwardTitle: a title with non-ASCII letters, markup and a
// line break gives a mail whose Subject decodes back to the title, whose
// HTML shows the markup as text, and which adds no header and no recipient.
func TestMailOfAnAwkwardTitle(t *testing.T) {
	t.Parallel()
	db := modelstest.MustOpen(t, models.SQLite)
	e := newEnv(t, db, true)
	sink := startMailSink(t)
	d := e.newDispatcher(map[string]notifications.Sender{notifications.Email: mustMailer(t, sink)}, testPolicy())
	title := "Données de santé — <b>Q1</b> & \"Q2\"\r\nBcc: evil@example.com"
	r := e.mustCreate(t, title, "official-open")
	e.mustApply(t, "req", r.ID, workflow.Submit, "")
	mustDrain(t, d)
	msgs := sink.Messages()
	if len(msgs) != 3 {
		t.Fatalf("mails: got %d, want 3", len(msgs))
	}
	stored := mustRequest(t, db, r.ID).Title
	flat := strings.Join(strings.Fields(stored), " ")
	for _, m := range msgs {
		p := mustParseMail(t, m)
		if len(m.To) != 1 || strings.Contains(strings.Join(m.To, ","), "evil") {
			t.Errorf("envelope recipients: got %v, want one approver", m.To)
		}
		if got := p.Header.Get("Bcc"); got != "" {
			t.Errorf("the title injected a Bcc header: %q", got)
		}
		if got := strings.Join(strings.Fields(p.Subject), " "); !strings.Contains(got, flat) {
			t.Errorf("Subject: got %q, want it to contain the title %q", p.Subject, flat)
		}
		if strings.Contains(p.HTML, "<b>Q1</b>") || !strings.Contains(p.HTML, "&lt;b&gt;Q1&lt;/b&gt;") {
			t.Errorf("HTML body does not escape the title's markup:\n%s", p.HTML)
		}
		if _, err := p.Header.Date(); err != nil {
			t.Errorf("Date header %q: %v", p.Header.Get("Date"), err)
		}
	}
}

// mustSelfSignedTLS returns a server configuration with a fresh
// certificate for 127.0.0.1.
func mustSelfSignedTLS(tb testing.TB) *tls.Config {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
}

func TestParseSMTPURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
		want notifications.SMTP
	}{
		{"submission port with STARTTLS by default", "smtp://user:pa%40ss@mail.agency.gov.sg:587",
			notifications.SMTP{Host: "mail.agency.gov.sg", Port: 587, Username: "user", Password: "pa@ss", TLS: "starttls"}},
		{"no port means 587", "smtp://mail.agency.gov.sg", notifications.SMTP{Host: "mail.agency.gov.sg", Port: 587, TLS: "starttls"}},
		{"smtps means implicit TLS on 465", "smtps://u:pw-465@mail.agency.gov.sg", notifications.SMTP{Host: "mail.agency.gov.sg", Port: 465, Username: "u", Password: "pw-465", TLS: "implicit"}},
		{"plain relay", "smtp://127.0.0.1:2525?tls=none", notifications.SMTP{Host: "127.0.0.1", Port: 2525, TLS: "none"}},
		{"opportunistic", "smtp://relay:25?tls=opportunistic", notifications.SMTP{Host: "relay", Port: 25, TLS: "opportunistic"}},
		{"test certificate", "smtp://relay:587?insecure_skip_verify=true", notifications.SMTP{Host: "relay", Port: 587, TLS: "starttls", SkipVerify: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := notifications.ParseSMTPURL(tc.url)
			if err != nil || got != tc.want {
				t.Fatalf("ParseSMTPURL(%q): got %+v, %v; want %+v", tc.url, got, err, tc.want)
			}
			if tc.want.Password != "" && strings.Contains(got.Redacted(), tc.want.Password) {
				t.Errorf("Redacted() = %q shows the password", got.Redacted())
			}
		})
	}
	for _, bad := range []string{"", "mail.agency.gov.sg:587", "http://mail.agency.gov.sg", "smtp://", "smtps://host?tls=none", "smtp://host?tls=ssl"} {
		if got, err := notifications.ParseSMTPURL(bad); err == nil {
			t.Errorf("ParseSMTPURL(%q): got %+v, want an error", bad, got)
		}
	}
}
