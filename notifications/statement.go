package notifications

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/models"
	"datashare/statements"
	"datashare/workflow"
)

// Attachment is a file sent with a mail.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

// statementData is what a statement's mail says.
type statementData struct {
	Scope, Month, Rate, URL, PrefsURL, Hash string
	Revision                                int
	Met, Missed, Finished                   int
	Median, P90                             string
	Changes                                 []statements.Change
}

// StatementWebhook is the body of a statement.published webhook call.
type StatementWebhook struct {
	Event      string                `json:"event"`
	DeliveryID string                `json:"delivery_id"`
	Statement  statementWebhookEntry `json:"statement"`
}

type statementWebhookEntry struct {
	ID           int64              `json:"id"`
	Month        string             `json:"month"`
	Agency       *string            `json:"agency"`
	Revision     int                `json:"revision"`
	SupersedesID *int64             `json:"supersedes_id"`
	Hash         string             `json:"hash"`
	Figures      statements.Figures `json:"figures"`
}

// Statement writes, in tx, the messages of a published statement: to the
// managers of its agency, or to the admins for the whole of government,
// by email (the figures in the body, the CSV and XLSX attached) and in the
// app, as each chose; and to every webhook that listens for
// statement.published. Each message is written once per statement.
func (o *Outbox) Statement(ctx context.Context, tx *gorm.DB, st statements.Statement) error {
	role, scope := workflow.Admin, "the whole of government"
	q := tx.Where("deactivated_at IS NULL")
	if st.Agency != nil {
		role, scope = workflow.Manager, *st.Agency
		q = q.Where("agency_code = ?", *st.Agency)
	}
	var users []models.User
	if err := q.Order("id").Find(&users).Error; err != nil {
		return fmt.Errorf("statement %d: read recipients: %w", st.ID, err)
	}
	var people []models.User
	for _, u := range users {
		if hasRole(u, role) {
			people = append(people, u)
		}
	}
	at := st.GeneratedAt
	var mail Mail
	off := map[prefKey]bool{}
	if len(people) > 0 {
		var err error
		if mail, err = o.statementMail(st, scope); err != nil {
			return err
		}
		if off, err = disabled(tx, StatementPublished, people); err != nil {
			return err
		}
	}
	title := fmt.Sprintf("Compliance statement for %s (%s)", st.Month, scope)
	if st.Revision > 1 {
		title = fmt.Sprintf("Revised compliance statement for %s (%s), revision %d", st.Month, scope, st.Revision)
	}
	body := fmt.Sprintf("Compliance rate %s: %d met, %d missed.", rateText(st.Figures.ComplianceRate), st.Figures.Met, st.Figures.Missed)
	var rows []models.Delivery
	for _, u := range people {
		if !off[prefKey{u.ID, InApp}] {
			n := models.Notification{UserID: u.ID, Event: StatementPublished, Title: title, Body: body, CreatedAt: at}
			if err := tx.Create(&n).Error; err != nil {
				return fmt.Errorf("statement %d: in-app notification: %w", st.ID, err)
			}
		}
		if off[prefKey{u.ID, Email}] {
			continue
		}
		m := mail
		m.To = u.Email
		uid := u.ID
		row, err := o.delivery(Notice{Event: StatementPublished, At: at}, Email, &uid, nil, u.Email, m)
		if err != nil {
			return err
		}
		row.DeliveryID = fmt.Sprintf("statement-%d-user-%d", st.ID, u.ID)
		rows = append(rows, row)
	}
	var hooks []models.Webhook
	if err := tx.Where("deleted_at IS NULL").Order("id").Find(&hooks).Error; err != nil {
		return fmt.Errorf("statement %d: read webhooks: %w", st.ID, err)
	}
	for _, h := range hooks {
		if !subscribed(h, StatementPublished) {
			continue
		}
		id := fmt.Sprintf("statement-%d-webhook-%d", st.ID, h.ID)
		payload := StatementWebhook{Event: StatementPublished, DeliveryID: id, Statement: statementWebhookEntry{
			ID: st.ID, Month: st.Month, Agency: st.Agency, Revision: st.Revision, SupersedesID: st.SupersedesID, Hash: st.Hash, Figures: st.Figures,
		}}
		hid := h.ID
		row, err := o.delivery(Notice{Event: StatementPublished, At: at}, Webhook, nil, &hid, h.URL, payload)
		if err != nil {
			return err
		}
		row.DeliveryID = id
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil
	}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return fmt.Errorf("statement %d: queue messages: %w", st.ID, err)
	}
	if o.kick != nil {
		o.db.AfterCommit(ctx, o.kick)
	}
	return nil
}

func (o *Outbox) statementMail(st statements.Statement, scope string) (Mail, error) {
	d := statementData{
		Scope: scope, Month: st.Month, Rate: rateText(st.Figures.ComplianceRate), Revision: st.Revision, Hash: st.Hash,
		Met: st.Figures.Met, Missed: st.Figures.Missed, Finished: st.Figures.Finished,
		Median: daysText(st.Figures.Elapsed.Median), P90: daysText(st.Figures.Elapsed.P90), Changes: st.Changes,
		URL: strings.TrimRight(o.links.Base, "/") + "/statements/" + strconv.FormatInt(st.ID, 10), PrefsURL: o.links.preferences(),
	}
	var text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&text, "statement.txt.tmpl", d); err != nil {
		return Mail{}, err
	}
	if err := htmlTemplates.ExecuteTemplate(&html, "statement.html.tmpl", d); err != nil {
		return Mail{}, err
	}
	subject := fmt.Sprintf("Compliance statement for %s (%s): %s", st.Month, scope, d.Rate)
	if st.Revision > 1 {
		subject = fmt.Sprintf("Revised compliance statement for %s (%s), revision %d: %s", st.Month, scope, st.Revision, d.Rate)
	}
	m := Mail{Subject: subject, Text: text.String(), HTML: html.String()}
	for _, format := range []string{"csv", "xlsx"} {
		f, err := st.File(format)
		if err != nil {
			return Mail{}, err
		}
		m.Attachments = append(m.Attachments, Attachment{Name: f.Name, ContentType: f.ContentType, Data: f.Body})
	}
	return m, nil
}

func rateText(r *float64) string {
	if r == nil {
		return "no rate (nothing to count)"
	}
	return strconv.FormatFloat(*r*100, 'f', 1, 64) + "%"
}

func daysText(v *float64) string {
	if v == nil {
		return "none finished"
	}
	return strconv.FormatFloat(*v, 'f', 1, 64) + " working days"
}
