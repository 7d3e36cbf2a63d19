package notifications_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"datashare/accounts"
	"datashare/api"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/notifications"
	"datashare/projects"
	"datashare/sla"
	"datashare/workflow"
)

// mustProjectRequest files and submits a request of who's agency to owner
// in project code.
func (e *env) mustProjectRequest(tb testing.TB, who, owner, code string) *models.Request {
	tb.Helper()
	r, err := e.wf.Create(context.Background(), e.actor(who), workflow.NewRequest{
		Title: "Data for " + code, Purpose: "Planning " + code, DataDescription: "Counts per block",
		Classification: "official-open", OwnerAgency: owner, ProjectCode: &code,
	})
	if err != nil {
		tb.Fatalf("create a request of %s in %s: %v", who, code, err)
	}
	return e.mustApply(tb, who, r.ID, workflow.Submit, "")
}

// The lead agency's active managers hear of a project turning at risk and
// then breached, once each, by email (as each chose) and in the app; its
// other officers, the partner's and the owners' managers and a deactivated
// manager hear nothing of it; a project finished in time is never flagged.
func TestAProjectFlagReachesTheManagersOfItsLeadAgency(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		e := newEnv(t, db, true)
		for _, p := range []struct{ key, email string }{
			{"msfmgr", "manager@msf.gov.sg"}, {"msfmgr2", "manager2@msf.gov.sg"}, {"msfgone", "gone@msf.gov.sg"},
		} {
			u, err := e.acc.CreateUserUnchecked(ctx, accounts.NewUser{Email: p.email, Name: "Officer " + p.key, Agency: "MSF", Roles: []string{"manager"}})
			if err != nil {
				t.Fatal(err)
			}
			e.users[p.key] = u
		}
		if _, err := e.acc.DeactivateByEmail(ctx, "gone@msf.gov.sg"); err != nil {
			t.Fatal(err)
		}
		// The second manager wants no at-risk mail, only the in-app note.
		if _, _, err := e.notes.SetPreferences(ctx, e.users["msfmgr2"], notifications.Preferences{
			notifications.Email: {notifications.ProjectAtRisk: false},
		}); err != nil {
			t.Fatal(err)
		}
		hook := startHookReceiver(t, always(204))
		e.mustWebhook(t, hook.srv.URL, notifications.ProjectBreached)
		other := startHookReceiver(t, always(204))
		e.mustWebhook(t, other.srv.URL, notifications.StatementPublished) // hears nothing

		for _, code := range []string{"PLAN-1", "DONE-1"} {
			if _, err := e.app.Projects.Create(ctx, e.actor("msfmgr"), projects.NewProject{Code: code, Name: "Eldercare " + code, Partners: []string{"MOH"}}); err != nil {
				t.Fatal(err)
			}
		}
		// Submitted Monday 7 July 10:00: at risk from Monday 14th 10:00,
		// due Wednesday 16th 10:00.
		e.mustProjectRequest(t, "req", "MOH", "PLAN-1")
		e.mustProjectRequest(t, "mohreq", "HDB", "PLAN-1")
		done := e.mustProjectRequest(t, "req", "HDB", "DONE-1")
		e.clock.Advance(time.Hour)
		e.mustApply(t, "hdbapp", done.ID, workflow.Approve, "")
		e.mustApply(t, "hdbapp", done.ID, workflow.Fulfil, "Shared.")

		type step struct {
			at               time.Time
			atRisk, breached int
		}
		for i, s := range []step{
			{time.Date(2025, 7, 14, 9, 0, 0, 0, sgt), 0, 0},
			{time.Date(2025, 7, 14, 10, 30, 0, 0, sgt), 1, 0},
			{time.Date(2025, 7, 14, 10, 30, 0, 0, sgt), 0, 0}, // the same instant again
			{time.Date(2025, 7, 15, 10, 0, 0, 0, sgt), 0, 0},
			{time.Date(2025, 7, 16, 10, 30, 0, 0, sgt), 0, 1},
			{time.Date(2025, 7, 21, 10, 0, 0, 0, sgt), 0, 0},
		} {
			e.clock.Set(s.at)
			res := e.mustCheck(t)
			if res.ProjectsAtRisk != s.atRisk || res.ProjectsBreached != s.breached {
				t.Errorf("check %d at %s: got projects at risk %d, breached %d; want %d, %d", i+1, s.at, res.ProjectsAtRisk, res.ProjectsBreached, s.atRisk, s.breached)
			}
		}
		var doneRow models.Project
		if err := db.Gorm.Take(&doneRow, "code = ?", "DONE-1").Error; err != nil {
			t.Fatal(err)
		}
		if doneRow.Clock.Status != sla.Met || doneRow.Clock.AtRiskFlaggedAt != nil || doneRow.Clock.BreachedFlaggedAt != nil {
			t.Errorf("DONE-1: got status %s, flags %v %v; want met and never flagged", doneRow.Clock.Status, doneRow.Clock.AtRiskFlaggedAt, doneRow.Clock.BreachedFlaggedAt)
		}

		sink := startMailSink(t)
		d := e.newDispatcher(map[string]notifications.Sender{notifications.Email: mustMailer(t, sink), notifications.Webhook: newHookSender(db)}, testPolicy())
		mustDrain(t, d)

		got := map[string][]parsedMail{} // by event
		for _, m := range sink.Messages() {
			p := mustParseMail(t, m)
			if strings.HasPrefix(p.Event, "project.") {
				got[p.Event] = append(got[p.Event], p)
			}
		}
		wantTo := map[string][]string{
			notifications.ProjectAtRisk:   {e.emailOf("msfmgr")},
			notifications.ProjectBreached: {e.emailOf("msfmgr"), e.emailOf("msfmgr2")},
		}
		wantText := map[string][]string{
			notifications.ProjectAtRisk: {"Project PLAN-1 (Eldercare PLAN-1) is at risk", "Status: at risk", "Working days counted: 5.1",
				"Due: Wed 16 Jul 2025 10:00", "Waiting on: HDB, MOH", baseURL + "/projects/PLAN-1"},
			notifications.ProjectBreached: {"Project PLAN-1 (Eldercare PLAN-1) has passed its 7-working-day target", "Status: breached",
				"Working days counted: 7.1", "Due: Wed 16 Jul 2025 10:00", "Waiting on: HDB, MOH", baseURL + "/projects/PLAN-1"},
		}
		for event, want := range wantTo {
			var to []string
			for _, m := range got[event] {
				to = append(to, m.To)
				for _, s := range wantText[event] {
					if !strings.Contains(m.Text, s) {
						t.Errorf("%s mail to %s: text lacks %q:\n%s", event, m.To, s, m.Text)
					}
				}
				if !strings.Contains(m.Subject, "PLAN-1") || !strings.Contains(m.HTML, `href="`+baseURL+`/projects/PLAN-1"`) {
					t.Errorf("%s mail to %s: subject %q or HTML does not name and link the project", event, m.To, m.Subject)
				}
			}
			slices.Sort(to)
			slices.Sort(want)
			if !slices.Equal(to, want) {
				t.Errorf("%s mails: got %v, want %v", event, to, want)
			}
		}

		// In the app: both active managers of MSF, once per kind; nobody else.
		for key, want := range map[string]int{"msfmgr": 2, "msfmgr2": 2, "msfgone": 0, "mgr": 0, "hdbmgr": 0, "req": 0, "mohreq": 0, "msfapp": 0, "a1": 0} {
			n := 0
			for _, note := range mustInApp(t, db, "user_id = ?", e.users[key].ID) {
				if strings.HasPrefix(note.Event, "project.") {
					n++
					if !strings.Contains(note.Title, "PLAN-1") || !strings.Contains(note.Body, "due Wed 16 Jul 2025 10:00") {
						t.Errorf("in-app note of %s: got %q / %q, want the project and its due time", key, note.Title, note.Body)
					}
				}
			}
			if n != want {
				t.Errorf("in-app project notes of %s: got %d, want %d", key, n, want)
			}
		}

		// One signed webhook call, for the breach only.
		calls := hook.Calls()
		if len(calls) != 1 {
			t.Fatalf("webhook calls: got %d, want 1 (project.breached)", len(calls))
		}
		c := calls[0]
		if c.Header.Get("X-Datashare-Signature") != signature(hookSecret, c.Body) || c.Header.Get("X-Datashare-Event") != notifications.ProjectBreached {
			t.Errorf("webhook call not signed or not named: %v", c.Header)
		}
		mustMatchSchema(t, "ProjectWebhookBody", c.Body)
		var body notifications.ProjectWebhook
		if err := json.Unmarshal(c.Body, &body); err != nil {
			t.Fatal(err)
		}
		wantDue := time.Date(2025, 7, 16, 10, 0, 0, 0, sgt)
		if p := body.Project; p.Code != "PLAN-1" || p.LeadAgency != "MSF" || p.Status != sla.Breached || p.DueAt == nil || !p.DueAt.Equal(wantDue) ||
			!slices.Equal(p.WaitingOn, []string{"HDB", "MOH"}) || p.URL != baseURL+"/projects/PLAN-1" {
			t.Errorf("webhook body: got %+v, want PLAN-1 of MSF, breached, due %s, waiting on HDB and MOH", p, wantDue)
		}
		if n := len(other.Calls()); n != 0 {
			t.Errorf("calls to a webhook of another event: got %d, want 0", n)
		}
	})
}

// mustMatchSchema fails unless body is valid JSON of the schema name of
// the served OpenAPI document.
func mustMatchSchema(tb testing.TB, name string, body []byte) {
	tb.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPISpec())
	if err != nil {
		tb.Fatalf("load openapi: %v", err)
	}
	ref, ok := doc.Components.Schemas[name]
	if !ok {
		tb.Fatalf("openapi: no schema %s", name)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		tb.Fatal(err)
	}
	if err := ref.Value.VisitJSON(v); err != nil {
		tb.Errorf("body does not match %s: %v\n%s", name, err, body)
	}
}
