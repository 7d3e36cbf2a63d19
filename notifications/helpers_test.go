package notifications_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/holidays"
	"datashare/imports"
	"datashare/models"
	"datashare/notifications"
	"datashare/sla"
	"datashare/workflow"
)

// baseURL is DATASHARE_BASE_URL in every test: mails must link below it.
const baseURL = "https://datashare.test"

// mailFrom is DATASHARE_MAIL_FROM in every test.
const mailFrom = "datashare@tech.gov.sg"

// testAllow is DATASHARE_WEBHOOK_ALLOW in every test: the loopback range
// the httptest receivers listen on.
const testAllow = "127.0.0.0/8"

// newHookSender is the webhook sender of db with the tests' allow-list,
// as the binary builds it from DATASHARE_WEBHOOK_ALLOW.
func newHookSender(db *models.DB) *notifications.WebhookSender {
	return notifications.NewWebhookSender(db, mustGuard(testAllow))
}

// mustGuard parses an allow-list as the binary does; a typo panics.
func mustGuard(allow string) *notifications.Guard {
	a, err := notifications.ParseAllowList(allow)
	if err != nil {
		panic(err)
	}
	return notifications.NewGuard(a)
}

// hookSecret signs the webhooks of the tests.
const hookSecret = "s3cret-of-sixteen-chars"

// sgt is the calendar's zone.
var sgt = apptest.SGT

// start is where every test's clock starts: Monday 7 July 2025, 10:00 in
// Singapore, a working day with no public holiday within the next two
// weeks.
var start = time.Date(2025, 7, 7, 10, 0, 0, 0, sgt)

// adminActor manages webhooks and runs imports.
var adminActor = workflow.Actor{Roles: []workflow.Role{workflow.Admin}}

// fakeClock is the clock of the services and the dispatcher; tests move it.
// Benchmarks that measure real delays switch it to the wall clock.
type fakeClock struct {
	mu   sync.Mutex
	t    time.Time
	wall bool
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wall {
		return time.Now()
	}
	return c.t
}

// UseWallClock makes Now the real time from now on.
func (c *fakeClock) UseWallClock() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wall = true
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// The cast. MSF asks MOH for data. Only the people the table of the issue
// names may ever hear of MSF's requests; the others are there to catch a
// message sent to the wrong person.
var castAgencies = []string{"MSF", "MOH", "HDB"}

var cast = []struct {
	key, email, agency string
	roles              []string
}{
	{"req", "req@msf.gov.sg", "MSF", []string{"requester"}},
	{"req2", "req2@msf.gov.sg", "MSF", []string{"requester"}},      // the requester's colleague
	{"msfapp", "approver@msf.gov.sg", "MSF", []string{"approver"}}, // approver of the requesting agency
	{"a1", "approver1@moh.gov.sg", "MOH", []string{"approver"}},
	{"a2", "approver2@moh.gov.sg", "MOH", []string{"approver"}},
	{"a3", "approver3@moh.gov.sg", "MOH", []string{"approver"}},
	{"mgr", "manager@moh.gov.sg", "MOH", []string{"manager"}},
	{"mohreq", "req@moh.gov.sg", "MOH", []string{"requester"}}, // requester of the owner agency
	{"hdbapp", "approver@hdb.gov.sg", "HDB", []string{"approver"}},
	{"hdbmgr", "manager@hdb.gov.sg", "HDB", []string{"manager"}},
}

// testApprovals is the default approval policy, except that confidential
// requests need three approvers (DATASHARE_APPROVALS can say so), so that a
// request can be partly approved twice.
func testApprovals() workflow.Policy {
	p := workflow.DefaultPolicy()
	p.Approvals["confidential"] = 3
	return p
}

// env is the services wired over one database as cmd/datashare wires them,
// on a fake clock.
type env struct {
	db       *models.DB
	clock    *fakeClock
	hol      *holidays.Service
	keeper   *sla.Keeper
	acc      *accounts.Service
	wf       *workflow.Service
	outbox   *notifications.Outbox
	checker  *sla.Checker
	notes    *notifications.Service
	importer *imports.Importer
	app      *apptest.App
	users    map[string]models.User // by cast key
	kicks    atomic.Int64           // calls of the outbox's after-commit hook
}

// newEnv wires the services; emailOn says whether an SMTP server is
// configured.
func newEnv(tb testing.TB, db *models.DB, emailOn bool) *env {
	tb.Helper()
	ctx := context.Background()
	e := &env{db: db, clock: newFakeClock(start), users: map[string]models.User{}}
	policy := testApprovals()
	a := apptest.Wire(tb, db, apptest.Options{Now: e.clock.Now, Policy: &policy, Notify: true, EmailOn: emailOn, BaseURL: baseURL,
		WebhookAllow: testAllow})
	e.app = a
	e.hol, e.keeper, e.acc, e.wf = a.Holidays, a.Keeper, a.Accounts, a.Workflow
	e.outbox, e.checker, e.notes, e.importer = a.Outbox, a.Checker, a.Notifications, a.Importer
	e.outbox.OnCommit(func() { e.kicks.Add(1) })
	for _, a := range castAgencies {
		if err := e.acc.EnsureAgency(ctx, a, a+" agency"); err != nil {
			tb.Fatal(err)
		}
	}
	for _, p := range cast {
		u, err := e.acc.CreateUserUnchecked(ctx, accounts.NewUser{Email: p.email, Name: "Officer " + p.key, Agency: p.agency, Roles: p.roles})
		if err != nil {
			tb.Fatal(err)
		}
		e.users[p.key] = u
	}
	return e
}

func (e *env) actor(key string) workflow.Actor {
	u, ok := e.users[key]
	if !ok {
		panic("no cast member " + key)
	}
	return accounts.ActorOf(u)
}

// emailOf returns the address of a cast member.
func (e *env) emailOf(key string) string { return e.users[key].Email }

// mustCreate files a draft as MSF's requester, asking MOH.
func (e *env) mustCreate(tb testing.TB, title, classification string) *models.Request {
	tb.Helper()
	return e.mustCreateFor(tb, title, classification, "MOH")
}

// mustCreateFor files a draft as MSF's requester, asking owner.
func (e *env) mustCreateFor(tb testing.TB, title, classification, owner string) *models.Request {
	tb.Helper()
	r, err := e.wf.Create(context.Background(), e.actor("req"), workflow.NewRequest{
		Title: title, Purpose: "Purpose of " + title, DataDescription: "Data of " + title,
		Classification: classification, OwnerAgency: owner,
	})
	if err != nil {
		tb.Fatalf("create %q: %v", title, err)
	}
	return r
}

// mustApply takes an action as a cast member, and fans its event out as
// the dispatcher does right after the commit.
func (e *env) mustApply(tb testing.TB, key string, id int64, act workflow.Action, comment string) *models.Request {
	tb.Helper()
	r, err := e.wf.Apply(context.Background(), e.actor(key), id, act, comment, 0)
	if err != nil {
		tb.Fatalf("%s %s request %d: %v", key, act, id, err)
	}
	e.fanOut(tb)
	return r
}

// fanOut fans out every event written so far and returns how many.
func (e *env) fanOut(tb testing.TB) int {
	tb.Helper()
	return e.app.MustFanOut(tb)
}

// mustCheck runs the SLA check at the clock's time and fans its events out.
func (e *env) mustCheck(tb testing.TB) sla.Result {
	tb.Helper()
	res, err := e.checker.Check(context.Background(), e.clock.Now())
	if err != nil {
		tb.Fatalf("sla check: %v", err)
	}
	e.fanOut(tb)
	return res
}

// mustWebhook registers a receiver for events.
func (e *env) mustWebhook(tb testing.TB, url string, events ...string) models.Webhook {
	tb.Helper()
	h, err := e.notes.CreateWebhook(context.Background(), adminActor, notifications.NewWebhook{URL: url, Events: events, Secret: hookSecret})
	if err != nil {
		tb.Fatalf("create webhook: %v", err)
	}
	return h
}

// mustRequest reads a request as stored.
func mustRequest(tb testing.TB, db *models.DB, id int64) models.Request {
	tb.Helper()
	var r models.Request
	if err := db.Gorm.Take(&r, "id = ?", id).Error; err != nil {
		tb.Fatalf("request %d: %v", id, err)
	}
	return r
}

// mustCount counts the rows of table matching where.
func mustCount(tb testing.TB, db *models.DB, table, where string, args ...any) int64 {
	tb.Helper()
	var n int64
	q := db.Gorm.Table(table)
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		tb.Fatalf("count %s: %v", table, err)
	}
	return n
}

// mustDeliveries returns the outbox rows matching where, by id.
func mustDeliveries(tb testing.TB, db *models.DB, where string, args ...any) []models.Delivery {
	tb.Helper()
	var out []models.Delivery
	q := db.Gorm.Order("id")
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Find(&out).Error; err != nil {
		tb.Fatalf("read outbox: %v", err)
	}
	return out
}

// mustDelivery reads one outbox row.
func mustDelivery(tb testing.TB, db *models.DB, id int64) models.Delivery {
	tb.Helper()
	var d models.Delivery
	if err := db.Gorm.Take(&d, "id = ?", id).Error; err != nil {
		tb.Fatalf("delivery %d: %v", id, err)
	}
	return d
}

// mustInApp returns the in-app notifications matching where, by id.
func mustInApp(tb testing.TB, db *models.DB, where string, args ...any) []models.Notification {
	tb.Helper()
	var out []models.Notification
	q := db.Gorm.Order("id")
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Find(&out).Error; err != nil {
		tb.Fatalf("read notifications: %v", err)
	}
	return out
}

// testPolicy is the default policy; tests change what they need.
func testPolicy() notifications.Policy {
	p := notifications.DefaultPolicy()
	p.Interval = 20 * time.Millisecond
	return p
}

// newDispatcher returns a dispatcher on e's fake clock.
func (e *env) newDispatcher(senders map[string]notifications.Sender, p notifications.Policy) *notifications.Dispatcher {
	return notifications.NewDispatcher(e.outbox, senders, p, e.clock.Now, nil)
}

// mustDrain ticks until a tick claims nothing and returns how many
// deliveries were claimed in all.
func mustDrain(tb testing.TB, d *notifications.Dispatcher) int {
	tb.Helper()
	for {
		n, err := d.FanOut(context.Background())
		if err != nil {
			tb.Fatalf("fan out: %v", err)
		}
		if n == 0 {
			break
		}
	}
	total := 0
	for i := 0; ; i++ {
		n, err := d.Tick(context.Background())
		if err != nil {
			tb.Fatalf("tick: %v", err)
		}
		if n == 0 {
			return total
		}
		total += n
		if i > 1000 {
			tb.Fatalf("dispatcher never ran out of work (%d claimed)", total)
		}
	}
}

// ---- SMTP server ----

// sentMail is one message the SMTP server accepted.
type sentMail struct {
	From string
	To   []string
	Data []byte
}

// mailSink is a real SMTP server (go-smtp) on loopback that keeps every
// message it accepts. It can be stopped and started again on the same port,
// keeping what it stored.
type mailSink struct {
	user, pass string      // when set, PLAIN authentication is required
	tlsConfig  *tls.Config // when set, STARTTLS is offered

	mu    sync.Mutex
	msgs  []sentMail
	srv   *smtp.Server
	l     net.Listener
	addr  string
	serve chan struct{}
}

// startMailSink starts a server without TLS or authentication on a free
// loopback port.
func startMailSink(tb testing.TB) *mailSink {
	tb.Helper()
	s := &mailSink{}
	s.mustStart(tb, "127.0.0.1:0")
	tb.Cleanup(s.Stop)
	return s
}

func (s *mailSink) mustStart(tb testing.TB, addr string) {
	tb.Helper()
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may take a moment to be free again
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("listen for SMTP on %s: %v", addr, err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLSConfig = s.tlsConfig
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	s.mu.Lock()
	s.srv, s.l, s.addr, s.serve = srv, l, l.Addr().String(), done
	s.mu.Unlock()
}

// Stop closes the server; the port is free afterwards.
func (s *mailSink) Stop() {
	s.mu.Lock()
	srv, l, done := s.srv, s.l, s.serve
	s.srv, s.l, s.serve = nil, nil, nil
	s.mu.Unlock()
	if srv != nil {
		// Closing the listener too: Serve may not have registered it with
		// the server yet.
		_ = l.Close()
		_ = srv.Close()
		<-done
	}
}

// URL is DATASHARE_SMTP_URL for this server, without TLS.
func (s *mailSink) URL() string { return "smtp://" + s.addr + "?tls=none" }

// Messages returns what the server accepted so far.
func (s *mailSink) Messages() []sentMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

func (s *mailSink) add(m sentMail) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
}

type sinkSession struct {
	sink   *mailSink
	authed bool
	from   string
	to     []string
}

func (s *sinkSession) Reset()        { s.from, s.to = "", nil }
func (s *sinkSession) Logout() error { return nil }

func (s *sinkSession) AuthMechanisms() []string {
	if s.sink.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.sink.user || pass != s.sink.pass {
			return errors.New("invalid username or password")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.sink.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.sink.add(sentMail{From: s.from, To: slices.Clone(s.to), Data: b})
	return nil
}

// mustMailer returns the email sender for the sink, configured the way
// the binary reads DATASHARE_SMTP_URL.
func mustMailer(tb testing.TB, s *mailSink) *notifications.Mailer {
	tb.Helper()
	cfg, err := notifications.ParseSMTPURL(s.URL())
	if err != nil {
		tb.Fatalf("ParseSMTPURL(%q): %v", s.URL(), err)
	}
	return notifications.NewMailer(cfg, mailFrom)
}

// parsedMail is a message read back as a mail client would.
type parsedMail struct {
	Envelope   sentMail
	Header     mail.Header
	Subject    string
	To         string
	Event      string
	DeliveryID string
	Text, HTML string
}

// mustParseMail reads a message as MIME: headers, and a multipart/
// alternative body with a text/plain and a text/html part.
func mustParseMail(tb testing.TB, m sentMail) parsedMail {
	tb.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
	if err != nil {
		tb.Fatalf("mail.ReadMessage: %v\n%s", err, m.Data)
	}
	p := parsedMail{Envelope: m, Header: msg.Header}
	dec := new(mime.WordDecoder)
	if p.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		tb.Fatalf("decode Subject %q: %v", msg.Header.Get("Subject"), err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 1 {
		tb.Fatalf("To %q: got %v (err %v), want one address", msg.Header.Get("To"), to, err)
	}
	p.To = to[0].Address
	p.Event = msg.Header.Get("X-Datashare-Event")
	p.DeliveryID = msg.Header.Get("X-Datashare-Delivery")
	if v := msg.Header.Get("MIME-Version"); v != "1.0" {
		tb.Errorf("MIME-Version: got %q, want 1.0", v)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		tb.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	if mt != "multipart/alternative" {
		tb.Fatalf("Content-Type: got %q, want multipart/alternative", mt)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("read MIME part: %v", err)
		}
		pt, pp, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			tb.Fatalf("part Content-Type %q: %v", part.Header.Get("Content-Type"), err)
		}
		if cs := strings.ToLower(pp["charset"]); cs != "utf-8" {
			tb.Errorf("part %s charset: got %q, want utf-8", pt, pp["charset"])
		}
		var r io.Reader = part // quoted-printable is undone by NextPart
		switch strings.ToLower(part.Header.Get("Content-Transfer-Encoding")) {
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, part)
		case "quoted-printable":
			r = quotedprintable.NewReader(part)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			tb.Fatalf("read part %s: %v", pt, err)
		}
		types = append(types, pt)
		switch pt {
		case "text/plain":
			p.Text = string(body)
		case "text/html":
			p.HTML = string(body)
		}
	}
	if want := []string{"text/plain", "text/html"}; !slices.Equal(types, want) {
		tb.Fatalf("MIME parts: got %v, want %v (plain first, the preferred alternative last)", types, want)
	}
	return p
}

// ---- webhook receiver ----

// hookCall is one POST a receiver got.
type hookCall struct {
	Header http.Header
	Body   []byte
	At     time.Time
}

// hookReceiver is a webhook endpoint that answers each call with the
// status answer(n) gives for the n-th call (from 1).
type hookReceiver struct {
	srv    *httptest.Server
	answer func(n int) int

	mu    sync.Mutex
	calls []hookCall
}

func startHookReceiver(tb testing.TB, answer func(n int) int) *hookReceiver {
	tb.Helper()
	h := &hookReceiver{answer: answer}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.calls = append(h.calls, hookCall{Header: r.Header.Clone(), Body: body, At: time.Now()})
		n := len(h.calls)
		h.mu.Unlock()
		w.WriteHeader(h.answer(n))
	}))
	tb.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) Calls() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

func always(status int) func(int) int { return func(int) int { return status } }

// signature computes X-Datashare-Signature independently of the product.
func signature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// formatDay writes the day of an instant in Singapore the way a person
// reads it, e.g. "16 Jul 2025".
func formatDay(t time.Time) string { return t.In(sgt).Format("2 Jan 2006") }

func keysOf(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k, n := range m {
		out = append(out, fmt.Sprintf("%s×%d", k, n))
	}
	slices.Sort(out)
	return out
}
