package notifications

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"datashare/accounts"
	"datashare/models"
	"datashare/sla"
	"datashare/workflow"
)

// Notice is one event to tell people about.
type Notice struct {
	Event     string
	Request   *models.Request // with Approvals loaded
	ActorID   *int64          // nil for the system
	ActorName string
	Comment   string
	At        time.Time
}

// Outbox writes the messages of events in the caller's transaction.
type Outbox struct {
	db       *models.DB
	loc      *time.Location
	links    Links
	emailOn  bool // an SMTP server is configured
	kick     func()
	mandated func(event string, u models.User) bool
}

// NewOutbox returns an Outbox. emailOn says whether an SMTP server is
// configured: without one, email deliveries are recorded as skipped.
func NewOutbox(db *models.DB, loc *time.Location, links Links, emailOn bool) *Outbox {
	return &Outbox{db: db, loc: loc, links: links, emailOn: emailOn, kick: func() {}, mandated: Mandatory}
}

// OnCommit sets what to call once a transaction that wrote deliveries has
// committed, typically Dispatcher.Kick.
func (o *Outbox) OnCommit(f func()) { o.kick = f }

// Mandatory reports whether u may not switch event off: approvers always
// hear of a breach of the 7-working-day target.
func Mandatory(event string, u models.User) bool {
	return event == SLABreached && slices.Contains(accounts.RolesOf(u), workflow.Approver)
}

// NewDeliveryID returns a random id that stays the same across retries.
func NewDeliveryID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Transition implements workflow.Notifier.
func (o *Outbox) Transition(ctx context.Context, e workflow.Event) error {
	ev, ok := eventOfAction[e.Action]
	if !ok {
		return nil
	}
	actor := e.ActorID
	n := Notice{Event: ev, Request: e.Request, ActorID: &actor, Comment: e.Comment, At: e.At}
	if e.ActorName != "" {
		n.ActorName = e.ActorName + " (" + e.ActorAgency + ")"
	}
	return o.Enqueue(ctx, n)
}

// SLA is an sla.Notifier: it tells people of a request newly at risk or
// breached.
func (o *Outbox) SLA(ctx context.Context, e sla.Event) error {
	var r models.Request
	tx := o.db.Conn(ctx)
	if err := tx.Preload("Approvals").Preload("Requester").Take(&r, "id = ?", e.RequestID).Error; err != nil {
		return fmt.Errorf("load request %d: %w", e.RequestID, err)
	}
	return o.Enqueue(ctx, Notice{Event: e.Kind, Request: &r, At: e.At})
}

// Enqueue writes, in the transaction carried by ctx, an in-app
// notification and an email delivery for each person who should hear of
// n (per their preferences), and a webhook delivery for each webhook that
// subscribed to the event.
func (o *Outbox) Enqueue(ctx context.Context, n Notice) error {
	return o.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		if n.ActorID != nil && n.ActorName == "" {
			var u models.User
			if err := tx.Take(&u, "id = ?", *n.ActorID).Error; err == nil {
				n.ActorName = u.Name + " (" + u.AgencyCode + ")"
			}
		}
		people, err := o.recipients(tx, n)
		if err != nil {
			return fmt.Errorf("recipients of %s: %w", n.Event, err)
		}
		off, err := disabled(tx, n.Event, people)
		if err != nil {
			return err
		}
		reqID := n.Request.ID
		wrote := false
		var inApp []models.Notification
		var out []models.Delivery
		for _, u := range people {
			if !off[prefKey{u.ID, InApp}] || o.mandated(n.Event, u) {
				title, body := o.inApp(n)
				inApp = append(inApp, models.Notification{UserID: u.ID, Event: n.Event, RequestID: &reqID, Title: title, Body: body, CreatedAt: n.At})
			}
			if !off[prefKey{u.ID, Email}] || o.mandated(n.Event, u) {
				m, err := o.render(n, u.Email)
				if err != nil {
					return err
				}
				uid := u.ID
				d, err := o.delivery(n, Email, &uid, nil, u.Email, m)
				if err != nil {
					return err
				}
				out = append(out, d)
				wrote = wrote || o.emailOn
			}
		}
		if len(inApp) > 0 {
			if err := tx.Create(&inApp).Error; err != nil {
				return fmt.Errorf("in-app notifications: %w", err)
			}
		}
		hooks, err := subscribers(tx, n.Event)
		if err != nil {
			return err
		}
		for _, h := range hooks {
			body := WebhookBody{
				Event: n.Event, OccurredAt: n.At.UTC(), Comment: n.Comment,
				Request: WebhookRequest{
					ID: n.Request.ID, Title: n.Request.Title, State: n.Request.State, Classification: n.Request.Classification,
					RequestingAgency: n.Request.RequestingAgency, OwnerAgency: n.Request.OwnerAgency,
					DueAt: n.Request.SLA.DueAt, URL: o.links.request(n.Request.ID),
				},
			}
			if n.ActorName != "" {
				body.Actor = &n.ActorName
			}
			id := h.ID
			d, err := o.delivery(n, Webhook, nil, &id, h.URL, body)
			if err != nil {
				return err
			}
			out = append(out, d)
			wrote = true
		}
		if len(out) > 0 {
			if err := tx.Create(&out).Error; err != nil {
				return fmt.Errorf("outbox: %w", err)
			}
		}
		if wrote {
			o.db.AfterCommit(ctx, o.kick)
		}
		return nil
	})
}

// delivery builds an outbox row with its payload as JSON.
func (o *Outbox) delivery(n Notice, channel string, userID, webhookID *int64, to string, payload any) (models.Delivery, error) {
	d := models.Delivery{
		DeliveryID: NewDeliveryID(), Event: n.Event, Channel: channel, UserID: userID, WebhookID: webhookID,
		Recipient: to, State: StatePending, NextAttemptAt: n.At.UTC(), CreatedAt: n.At.UTC(),
	}
	if n.Request != nil {
		id := n.Request.ID
		d.RequestID = &id
	}
	if wb, ok := payload.(WebhookBody); ok {
		wb.DeliveryID = d.DeliveryID
		payload = wb
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return d, err
	}
	d.Payload = string(b)
	if channel == Email && !o.emailOn {
		d.State = StateSkipped
	}
	return d, nil
}

func hasRole(u models.User, r workflow.Role) bool { return slices.Contains(accounts.RolesOf(u), r) }

// recipients returns who hears of n, the actor excluded, each once.
func (o *Outbox) recipients(tx *gorm.DB, n Notice) ([]models.User, error) {
	a, ok := audiences[n.Event]
	if !ok {
		return nil, nil
	}
	r := n.Request
	var out []models.User
	seen := map[int64]bool{}
	add := func(u models.User) {
		if seen[u.ID] || n.ActorID != nil && *n.ActorID == u.ID {
			return
		}
		seen[u.ID] = true
		out = append(out, u)
	}
	if a.requester {
		u := r.Requester
		if u.ID != r.RequesterID || u.Email == "" {
			if err := tx.Take(&u, "id = ?", r.RequesterID).Error; err != nil {
				return nil, err
			}
		}
		add(u)
	}
	if a.ownerApprovers || a.pendingApprovers || a.ownerManagers || a.actedApprovers {
		var staff []models.User
		if err := tx.Where("agency_code = ?", r.OwnerAgency).Order("id").Find(&staff).Error; err != nil {
			return nil, err
		}
		approved := map[int64]bool{}
		for _, ap := range r.Approvals {
			approved[ap.ApproverID] = true
		}
		acted := map[int64]bool{}
		if a.actedApprovers {
			var ids []int64
			if err := tx.Model(&models.Transition{}).Where("request_id = ? AND actor_id IS NOT NULL", r.ID).
				Distinct().Pluck("actor_id", &ids).Error; err != nil {
				return nil, err
			}
			for _, id := range ids {
				acted[id] = true
			}
		}
		for _, u := range staff {
			switch {
			case a.ownerApprovers && hasRole(u, workflow.Approver),
				a.ownerManagers && hasRole(u, workflow.Manager),
				a.actedApprovers && acted[u.ID] && hasRole(u, workflow.Approver),
				a.pendingApprovers && r.State == string(workflow.Submitted) && hasRole(u, workflow.Approver) && !approved[u.ID]:
				add(u)
			}
		}
	}
	return out, nil
}

type prefKey struct {
	user    int64
	channel string
}

// disabled returns the (user, channel) pairs switched off for event.
func disabled(tx *gorm.DB, event string, people []models.User) (map[prefKey]bool, error) {
	off := map[prefKey]bool{}
	if len(people) == 0 {
		return off, nil
	}
	ids := make([]int64, len(people))
	for i, u := range people {
		ids[i] = u.ID
	}
	var prefs []models.Preference
	if err := tx.Where("event = ? AND user_id IN ? AND enabled = ?", event, ids, false).Find(&prefs).Error; err != nil {
		return nil, fmt.Errorf("read preferences: %w", err)
	}
	for _, p := range prefs {
		off[prefKey{p.UserID, p.Channel}] = true
	}
	return off, nil
}

// subscribers returns the live webhooks that want event.
func subscribers(tx *gorm.DB, event string) ([]models.Webhook, error) {
	var all []models.Webhook
	if err := tx.Where("deleted_at IS NULL").Order("id").Find(&all).Error; err != nil {
		return nil, fmt.Errorf("read webhooks: %w", err)
	}
	var out []models.Webhook
	for _, h := range all {
		for _, e := range strings.Split(h.Events, ",") {
			if e == event || e == "*" {
				out = append(out, h)
				break
			}
		}
	}
	return out, nil
}
