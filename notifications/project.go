package notifications

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/models"
	"datashare/projects"
	"datashare/workflow"
)

// The event of notifications for each kind of a project's flag.
var eventOfProjectFlag = map[string]string{
	projects.EventAtRisk:   ProjectAtRisk,
	projects.EventBreached: ProjectBreached,
}

// projectData is what a project's mail says.
type projectData struct {
	Headline, Code, Name, LeadAgency, Status, Elapsed, Due, WaitingOn, URL, PrefsURL string
}

// ProjectWebhook is the body of a project.at_risk or project.breached
// webhook call.
type ProjectWebhook struct {
	Event      string                `json:"event"`
	DeliveryID string                `json:"delivery_id"`
	OccurredAt time.Time             `json:"occurred_at"`
	Project    projectWebhookProject `json:"project"`
}

type projectWebhookProject struct {
	Code               string     `json:"code"`
	Name               string     `json:"name"`
	LeadAgency         string     `json:"lead_agency"`
	Status             string     `json:"status"`
	ElapsedWorkingDays float64    `json:"elapsed_working_days"`
	DueAt              *time.Time `json:"due_at"`
	WaitingOn          []string   `json:"waiting_on"`
	URL                string     `json:"url"`
}

// Project is a projects.Notifier: it writes, in tx, the messages of the
// projects the SLA check flagged: to the active managers of each project's
// lead agency, by email and in the app, as each chose, and to every webhook
// that listens for the event. Each message is written once per project and
// kind, as each project is flagged once per kind.
func (o *Outbox) Project(ctx context.Context, tx *gorm.DB, f projects.Flags) error {
	event, ok := eventOfProjectFlag[f.Kind]
	if !ok {
		return fmt.Errorf("project flags of unknown kind %q", f.Kind)
	}
	var hooks []models.Webhook
	if err := tx.Where("deleted_at IS NULL").Order("id").Find(&hooks).Error; err != nil {
		return fmt.Errorf("%s: read webhooks: %w", event, err)
	}
	var rows []models.Delivery
	for _, p := range f.Projects {
		more, err := o.projectMessages(tx, event, p, f.At, hooks)
		if err != nil {
			return fmt.Errorf("%s of project %s: %w", event, p.Code, err)
		}
		rows = append(rows, more...)
	}
	if len(rows) > 0 {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
			return fmt.Errorf("%s: queue messages: %w", event, err)
		}
	}
	o.db.AfterCommit(ctx, o.kick)
	return nil
}

// projectMessages writes the in-app notifications of p's flag and returns
// its email and webhook deliveries.
func (o *Outbox) projectMessages(tx *gorm.DB, event string, p projects.Flagged, at time.Time, hooks []models.Webhook) ([]models.Delivery, error) {
	var users []models.User
	if err := tx.Where("deactivated_at IS NULL AND agency_code = ?", p.LeadAgency).Order("id").Find(&users).Error; err != nil {
		return nil, fmt.Errorf("read recipients: %w", err)
	}
	var people []models.User
	for _, u := range users {
		if hasRole(u, workflow.Manager) {
			people = append(people, u)
		}
	}
	d := o.projectData(event, p)
	var rows []models.Delivery
	if len(people) > 0 {
		off, err := disabled(tx, event, people)
		if err != nil {
			return nil, err
		}
		mail, err := projectMail(d)
		if err != nil {
			return nil, err
		}
		title := d.Headline
		body := fmt.Sprintf("%s working days counted, due %s; waiting on %s.", d.Elapsed, d.Due, d.WaitingOn)
		for _, u := range people {
			if !off[prefKey{u.ID, InApp}] {
				n := models.Notification{UserID: u.ID, Event: event, Title: title, Body: body, CreatedAt: at}
				if err := tx.Create(&n).Error; err != nil {
					return nil, fmt.Errorf("in-app notification: %w", err)
				}
			}
			if off[prefKey{u.ID, Email}] {
				continue
			}
			m := mail
			m.To = u.Email
			uid := u.ID
			row, err := o.delivery(Notice{Event: event, At: at}, Email, &uid, nil, u.Email, m)
			if err != nil {
				return nil, err
			}
			row.DeliveryID = fmt.Sprintf("%s-%s-user-%d", event, p.Code, u.ID)
			rows = append(rows, row)
		}
	}
	for _, h := range hooks {
		if !subscribed(h, event) {
			continue
		}
		id := fmt.Sprintf("%s-%s-webhook-%d", event, p.Code, h.ID)
		payload := ProjectWebhook{Event: event, DeliveryID: id, OccurredAt: at.UTC(), Project: projectWebhookProject{
			Code: p.Code, Name: p.Name, LeadAgency: p.LeadAgency, Status: p.Clock.Status, ElapsedWorkingDays: p.Clock.Elapsed,
			DueAt: p.Clock.DueAt, WaitingOn: p.Clock.WaitingOn, URL: d.URL,
		}}
		if payload.Project.WaitingOn == nil {
			payload.Project.WaitingOn = []string{}
		}
		hid := h.ID
		row, err := o.delivery(Notice{Event: event, At: at}, Webhook, nil, &hid, h.URL, payload)
		if err != nil {
			return nil, err
		}
		row.DeliveryID = id
		rows = append(rows, row)
	}
	return rows, nil
}

func (o *Outbox) projectData(event string, p projects.Flagged) projectData {
	headline := fmt.Sprintf("Project %s (%s) is at risk of missing its 7-working-day target", p.Code, p.Name)
	if event == ProjectBreached {
		headline = fmt.Sprintf("Project %s (%s) has passed its 7-working-day target", p.Code, p.Name)
	}
	waiting := "no agency (every open request waits for clarification)"
	if len(p.Clock.WaitingOn) > 0 {
		waiting = strings.Join(p.Clock.WaitingOn, ", ")
	}
	return projectData{
		Headline: headline, Code: p.Code, Name: p.Name, LeadAgency: p.LeadAgency,
		Status: strings.ReplaceAll(p.Clock.Status, "_", " "), Elapsed: strconv.FormatFloat(p.Clock.Elapsed, 'f', 1, 64),
		Due: formatDue(p.Clock.DueAt, o.loc), WaitingOn: waiting,
		URL:      strings.TrimRight(o.links.Base, "/") + "/projects/" + url.PathEscape(p.Code),
		PrefsURL: o.links.preferences(),
	}
}

func projectMail(d projectData) (Mail, error) {
	var text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&text, "project.txt.tmpl", d); err != nil {
		return Mail{}, fmt.Errorf("render text mail: %w", err)
	}
	if err := htmlTemplates.ExecuteTemplate(&html, "project.html.tmpl", d); err != nil {
		return Mail{}, fmt.Errorf("render html mail: %w", err)
	}
	subject := fmt.Sprintf("%s (%s working days, due %s)", d.Headline, d.Elapsed, d.Due)
	return Mail{Subject: subject, Text: text.String(), HTML: html.String()}, nil
}
