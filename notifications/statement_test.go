package notifications_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"datashare/accounts"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/notifications"
	"datashare/statements"
)

// statementMail is a statement's mail read back: its subject, its text
// and its attachments by content type.
type statementMail struct {
	To, Subject, Text string
	Files             map[string][]byte // by media type
	Names             []string
}

// mustParseStatementMail reads a multipart/mixed message of a text and
// HTML alternative and the attachments.
func mustParseStatementMail(tb testing.TB, m sentMail) statementMail {
	tb.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		tb.Fatalf("read mail: %v", err)
	}
	out := statementMail{To: m.To[0], Files: map[string][]byte{}}
	if out.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		tb.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		tb.Fatalf("Content-Type: got %q (%v), want multipart/mixed", mt, err)
	}
	var walk func(r io.Reader, boundary string)
	walk = func(r io.Reader, boundary string) {
		mr := multipart.NewReader(r, boundary)
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				tb.Fatalf("MIME part: %v", err)
			}
			pt, pp, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
			if strings.HasPrefix(pt, "multipart/") {
				walk(part, pp["boundary"])
				continue
			}
			var body io.Reader = part
			if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
				body = base64.NewDecoder(base64.StdEncoding, part)
			}
			b, err := io.ReadAll(body)
			if err != nil {
				tb.Fatal(err)
			}
			switch {
			case pt == "text/plain" && part.FileName() == "":
				out.Text = string(b)
			case part.FileName() != "":
				out.Files[pt] = b
				out.Names = append(out.Names, part.FileName())
			}
		}
	}
	walk(msg.Body, params["boundary"])
	return out
}

func TestAStatementReachesTheManagersOfItsAgency(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		e := newEnv(t, db, true)
		admin, err := e.acc.CreateUserUnchecked(ctx, accounts.NewUser{Email: "admin@govtech.gov.sg", Name: "Admin", Agency: "MOH", Roles: []string{"admin"}})
		if err != nil {
			t.Fatal(err)
		}
		// HDB's manager wants no statement by email, only in the app.
		if _, _, err := e.notes.SetPreferences(ctx, e.users["hdbmgr"], notifications.Preferences{
			notifications.Email: {notifications.StatementPublished: false},
		}); err != nil {
			t.Fatal(err)
		}
		receiver := startHookReceiver(t, always(204))
		e.mustWebhook(t, receiver.srv.URL, notifications.StatementPublished)
		e.mustWebhook(t, startHookReceiver(t, always(204)).srv.URL, notifications.RequestSubmitted) // hears nothing

		june := statements.Month{Year: 2025, Month: time.June}
		if _, err := e.app.Statements.Publish(ctx, june, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		sink := startMailSink(t)
		d := e.newDispatcher(map[string]notifications.Sender{notifications.Email: mustMailer(t, sink), notifications.Webhook: newHookSender(db)}, testPolicy())
		mustDrain(t, d)

		got := map[string]statementMail{}
		for _, m := range sink.Messages() {
			sm := mustParseStatementMail(t, m)
			if _, dup := got[sm.To]; dup {
				t.Errorf("two statement mails to %s", sm.To)
			}
			got[sm.To] = sm
		}
		want := map[string]string{ // recipient → the scope in the subject
			e.emailOf("mgr"): "(MOH)",
			admin.Email:      "(the whole of government)",
		}
		if len(got) != len(want) {
			t.Errorf("statement mails: got %d (%v), want %d: MOH's manager and the admin only", len(got), keys(got), len(want))
		}
		list, err := e.app.Statements.List(ctx, adminActor, statements.ListQuery{})
		if err != nil {
			t.Fatal(err)
		}
		hashes := map[string]string{}
		for _, st := range list {
			k := ""
			if st.Agency != nil {
				k = *st.Agency
			}
			hashes[k] = st.Hash
		}
		for to, scope := range want {
			m, ok := got[to]
			if !ok {
				t.Errorf("no statement mail to %s", to)
				continue
			}
			if !strings.Contains(m.Subject, "2025-06 "+scope) {
				t.Errorf("subject to %s: got %q, want the month and %s", to, m.Subject, scope)
			}
			agency := ""
			if scope == "(MOH)" {
				agency = "MOH"
			}
			csv := m.Files["text/csv"]
			if statements.Hash(string(csv)) != hashes[agency] || !strings.Contains(m.Text, hashes[agency]) {
				t.Errorf("mail to %s: the attached CSV's SHA-256 is not the statement's hash %s, or the text does not give it", to, hashes[agency])
			}
			x, err := excelize.OpenReader(bytes.NewReader(m.Files[notificationsXLSX]))
			if err != nil {
				t.Errorf("mail to %s: the XLSX attachment does not open: %v", to, err)
			} else {
				if sheets := x.GetSheetList(); len(sheets) != 2 {
					t.Errorf("XLSX sheets: got %v, want Totals and Groups", sheets)
				}
				x.Close()
			}
			if !strings.Contains(m.Text, "Compliance rate: no rate (nothing to count)") {
				t.Errorf("mail text to %s does not give the rate of an empty month:\n%s", to, m.Text)
			}
		}

		// In the app: MOH's and HDB's managers and the admin, not approvers.
		for key, want := range map[string]int{"mgr": 1, "hdbmgr": 1, "a1": 0, "req": 0} {
			inbox, err := e.notes.Inbox(ctx, e.users[key].ID, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(inbox) != want {
				t.Errorf("in-app notifications of %s: got %d, want %d", key, len(inbox), want)
			}
		}

		// One webhook call per statement, signed, with the figures and hash.
		calls := receiver.Calls()
		if len(calls) != len(list) {
			t.Fatalf("webhook calls: got %d, want %d (one per statement)", len(calls), len(list))
		}
		for _, c := range calls {
			if c.Header.Get("X-Datashare-Signature") != signature(hookSecret, c.Body) || c.Header.Get("X-Datashare-Event") != notifications.StatementPublished {
				t.Errorf("webhook call not signed or not named: %v", c.Header)
			}
			var body notifications.StatementWebhook
			if err := json.Unmarshal(c.Body, &body); err != nil {
				t.Fatal(err)
			}
			k := ""
			if body.Statement.Agency != nil {
				k = *body.Statement.Agency
			}
			if body.Statement.Hash != hashes[k] || body.Statement.Month != "2025-06" {
				t.Errorf("webhook body: got %+v, want the statement of %q with its hash", body.Statement, k)
			}
		}

		// Publishing again queues nothing more.
		before := mustCount(t, db, "outbox", "event = ?", notifications.StatementPublished)
		if _, err := e.app.Statements.Publish(ctx, june, e.clock.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if after := mustCount(t, db, "outbox", "event = ?", notifications.StatementPublished); after != before {
			t.Errorf("messages after publishing again: got %d, want %d", after, before)
		}
	})
}

const notificationsXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
