package notifications

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/calendar"
	"datashare/models"
	"datashare/workflow"
)

type digestItem struct {
	ID    int64
	Title string
	From  string
	State string
	Due   string
	Late  bool
	URL   string
}

type digestData struct {
	Name     string
	Agency   string
	Items    []digestItem
	PrefsURL string
}

// Digest writes, on working days, one email per approver listing the open
// requests waiting on their agency, soonest due first.
func (o *Outbox) Digest(ctx context.Context, cal *calendar.Calendar, now time.Time) (int, error) {
	day := calendar.DateOf(now, o.loc)
	if !cal.IsWorkingDay(day) {
		return 0, nil
	}
	sent := 0
	err := o.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		var users []models.User
		if err := tx.Order("id").Find(&users).Error; err != nil {
			return err
		}
		byAgency := map[string][]models.Request{}
		for _, u := range users {
			if !hasRole(u, workflow.Approver) {
				continue
			}
			waiting, ok := byAgency[u.AgencyCode]
			if !ok {
				// Waiting on the owner agency: to approve, reject or ask
				// (submitted) or to share the data (approved).
				err := tx.Where("owner_agency = ? AND state IN ?", u.AgencyCode, []string{string(workflow.Submitted), string(workflow.Approved)}).
					Order("CASE WHEN sla_due_at IS NULL THEN 1 ELSE 0 END").Order("sla_due_at").Order("id").Limit(100).Find(&waiting).Error
				if err != nil {
					return err
				}
				byAgency[u.AgencyCode] = waiting
			}
			if len(waiting) == 0 {
				continue
			}
			off, err := disabled(tx, DailyDigest, []models.User{u})
			if err != nil {
				return err
			}
			if off[prefKey{u.ID, Email}] {
				continue
			}
			d := digestData{Name: u.Name, Agency: u.AgencyCode, PrefsURL: o.links.preferences()}
			for _, r := range waiting {
				d.Items = append(d.Items, digestItem{
					ID: r.ID, Title: r.Title, From: r.RequestingAgency, State: r.State,
					Due: formatDue(r.SLA.DueAt, o.loc), Late: r.SLA.DueAt != nil && !now.Before(*r.SLA.DueAt),
					URL: o.links.request(r.ID),
				})
			}
			var text, html bytes.Buffer
			if err := textTemplates.ExecuteTemplate(&text, "digest.txt.tmpl", d); err != nil {
				return err
			}
			if err := htmlTemplates.ExecuteTemplate(&html, "digest.html.tmpl", d); err != nil {
				return err
			}
			m := Mail{To: u.Email, Subject: fmt.Sprintf("%d requests waiting on %s (%s)", len(d.Items), u.AgencyCode, day), Text: text.String(), HTML: html.String()}
			if len(d.Items) == 1 {
				m.Subject = fmt.Sprintf("1 request waiting on %s (%s)", u.AgencyCode, day)
			}
			uid := u.ID
			row, err := o.delivery(Notice{Event: DailyDigest, At: now}, Email, &uid, nil, u.Email, m)
			if err != nil {
				return err
			}
			// One digest per person per day, however many replicas or
			// runs there are.
			row.DeliveryID = fmt.Sprintf("digest-%s-%d", day, u.ID)
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
			if res.Error != nil {
				return res.Error
			}
			sent += int(res.RowsAffected)
		}
		if sent > 0 && o.emailOn {
			o.db.AfterCommit(ctx, o.kick)
		}
		return nil
	})
	return sent, err
}
