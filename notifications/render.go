package notifications

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"datashare/models"
)

//go:embed templates
var templateFS embed.FS

var (
	textTemplates = texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/*.txt.tmpl"))
	htmlTemplates = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/*.html.tmpl"))
)

// Mail is an email ready to send: rendered from its event when an event's
// delivery is sent, stored as the payload of a digest.
type Mail struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	// Attachments, stored with the mail so that a retry sends the same.
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Links builds the web addresses mails point to.
type Links struct {
	Base string // e.g. https://datashare.gov.sg
}

func (l Links) request(id int64) string {
	return strings.TrimRight(l.Base, "/") + fmt.Sprintf("/requests/%d", id)
}

func (l Links) preferences() string { return strings.TrimRight(l.Base, "/") + "/preferences" }

// headline and next step per event, for a person reading a mail or an
// in-app notification.
var wording = map[string]struct{ headline, action string }{
	RequestSubmitted:              {"A data request needs your agency's approval", "Review the request"},
	RequestApproved:               {"The request was approved", "See the request"},
	RequestClarificationRequested: {"The data owner asks for clarification", "Answer the question"},
	RequestResponded:              {"The requester answered your question", "Review the answer"},
	RequestRejected:               {"The request was rejected", "See the reasons"},
	RequestFulfilled:              {"The data has been shared", "See the request"},
	RequestWithdrawn:              {"The request was withdrawn", "See the request"},
	SLAAtRisk:                     {"The request is at risk of missing its 7-working-day target", "Act on the request"},
	SLABreached:                   {"The request has passed its 7-working-day target", "Act on the request now"},
}

type mailData struct {
	Headline string
	Request  *models.Request
	State    string
	Due      string
	Actor    string
	Comment  string
	Action   string
	URL      string
	PrefsURL string
}

// formatDue writes an instant as Singapore time for people.
func formatDue(t *time.Time, loc *time.Location) string {
	if t == nil {
		return "on hold while clarification is awaited"
	}
	return t.In(loc).Format("Mon 2 Jan 2006 15:04")
}

func (o *Outbox) headline(n Notice) string {
	w := wording[n.Event]
	h := w.headline
	if n.Event == RequestApproved && n.Request.State == "submitted" {
		h = fmt.Sprintf("Approval %d of %d was given", len(n.Request.Approvals), n.Request.ApprovalsRequired)
	}
	return h
}

// mail renders the email of n to one recipient.
func (o *Outbox) mail(n Notice, to string) (Mail, error) {
	d := mailData{
		Headline: o.headline(n),
		Request:  n.Request,
		State:    strings.ReplaceAll(n.Request.State, "_", " "),
		Due:      formatDue(n.Request.SLA.DueAt, o.loc),
		Actor:    n.ActorName,
		Comment:  n.Comment,
		Action:   wording[n.Event].action,
		URL:      o.links.request(n.Request.ID),
		PrefsURL: o.links.preferences(),
	}
	subject := fmt.Sprintf("%s: #%d %s (%s, due %s)", d.Headline, n.Request.ID, n.Request.Title, n.Request.OwnerAgency, d.Due)
	var text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&text, "email.txt.tmpl", d); err != nil {
		return Mail{}, fmt.Errorf("render text mail: %w", err)
	}
	if err := htmlTemplates.ExecuteTemplate(&html, "email.html.tmpl", d); err != nil {
		return Mail{}, fmt.Errorf("render html mail: %w", err)
	}
	return Mail{To: to, Subject: subject, Text: text.String(), HTML: html.String()}, nil
}

// inApp renders the title and body of an in-app notification.
func (o *Outbox) inApp(n Notice) (string, string) {
	title := fmt.Sprintf("%s: #%d %s", o.headline(n), n.Request.ID, n.Request.Title)
	body := fmt.Sprintf("%s → %s, due %s.", n.Request.RequestingAgency, n.Request.OwnerAgency, formatDue(n.Request.SLA.DueAt, o.loc))
	if n.ActorName != "" {
		body = "By " + n.ActorName + ". " + body
	}
	if n.Comment != "" {
		body += " \u201c" + n.Comment + "\u201d"
	}
	return title, body
}

// WebhookBody is the JSON a webhook receives.
type WebhookBody struct {
	DeliveryID string         `json:"delivery_id"`
	Event      string         `json:"event"`
	OccurredAt time.Time      `json:"occurred_at"`
	Request    WebhookRequest `json:"request"`
	Actor      *string        `json:"actor"`
	Comment    string         `json:"comment,omitempty"`
}

// WebhookRequest is the request as a webhook sees it.
type WebhookRequest struct {
	ID               int64      `json:"id"`
	Title            string     `json:"title"`
	State            string     `json:"state"`
	Classification   string     `json:"classification"`
	RequestingAgency string     `json:"requesting_agency"`
	OwnerAgency      string     `json:"owner_agency"`
	DueAt            *time.Time `json:"due_at"`
	URL              string     `json:"url"`
}
