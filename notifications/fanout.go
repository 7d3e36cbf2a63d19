package notifications

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/models"
	"datashare/workflow"
)

// insertChunk bounds the rows of one INSERT, well below the bound parameters
// either database accepts.
const insertChunk = 400

// claimEvents marks up to n events whose fan-out is not done as being fanned
// out by the caller until the lease ends. Events claimed by a dispatcher
// that died are claimed again once their lease has passed.
func (o *Outbox) claimEvents(ctx context.Context, now time.Time, lease time.Duration, n int) ([]models.Event, error) {
	lock := ""
	if o.db.Dialect == models.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []models.Event
	err := o.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		return tx.Raw(`UPDATE events SET claimed_until = ?
			WHERE id IN (SELECT id FROM events
				WHERE fanned_out_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?)
				ORDER BY id LIMIT ?`+lock+`)
			RETURNING *`, now.Add(lease), now, n).Scan(&out).Error
	})
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	slices.SortFunc(out, func(a, b models.Event) int { return int(a.ID - b.ID) })
	return out, nil
}

// fanOut claims a batch of events and writes their in-app notifications and
// deliveries, then marks them done. Each row is unique per event, recipient
// and channel, so a fan-out redone after an interruption, or by a second
// dispatcher once the first one's lease ran out, writes nothing twice. It
// returns how many events it claimed.
func (o *Outbox) fanOut(ctx context.Context, now time.Time, lease time.Duration, n int) (int, error) {
	events, err := o.claimEvents(ctx, now.UTC(), lease, n)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	// Reading happens before the write transaction, so that the writer's
	// lock is held only for the inserts.
	facts, err := o.loadFacts(ctx, events)
	if err != nil {
		return 0, err
	}
	notes, out, err := o.messages(events, facts)
	if err != nil {
		return 0, err
	}
	ids := make([]int64, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	err = o.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		if len(notes) > 0 {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&notes, insertChunk).Error; err != nil {
				return fmt.Errorf("in-app notifications: %w", err)
			}
		}
		if len(out) > 0 {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&out, insertChunk).Error; err != nil {
				return fmt.Errorf("outbox: %w", err)
			}
		}
		return tx.Model(&models.Event{}).Where("id IN ?", ids).
			Updates(map[string]any{"fanned_out_at": now.UTC(), "claimed_until": nil}).Error
	})
	if err != nil {
		return 0, fmt.Errorf("fan out %d events: %w", len(events), err)
	}
	return len(events), nil
}

// facts is what the audience rule and the messages of a batch of events
// read, loaded once per batch rather than once per event.
type facts struct {
	requests map[int64]models.Request      // with Requester
	staff    map[string][]models.User      // by agency, by id
	acted    map[int64]map[int64]time.Time // request → actor → first action
	off      map[offKey]bool
	hooks    []models.Webhook
}

type offKey struct {
	user           int64
	channel, event string
}

func (o *Outbox) loadFacts(ctx context.Context, events []models.Event) (*facts, error) {
	db := o.db.Conn(ctx)
	f := &facts{requests: map[int64]models.Request{}, staff: map[string][]models.User{}, acted: map[int64]map[int64]time.Time{}, off: map[offKey]bool{}}
	var reqIDs, actedIDs []int64
	for _, e := range events {
		reqIDs = append(reqIDs, e.RequestID)
		if audiences[e.Event].actedApprovers {
			actedIDs = append(actedIDs, e.RequestID)
		}
	}
	var rs []models.Request
	if err := db.Preload("Requester").Where("id IN ?", unique(reqIDs)).Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("read requests of events: %w", err)
	}
	var agencies []string
	for _, r := range rs {
		f.requests[r.ID] = r
		if !slices.Contains(agencies, r.OwnerAgency) {
			agencies = append(agencies, r.OwnerAgency)
		}
	}
	var staff []models.User
	if err := db.Where("agency_code IN ?", agencies).Order("id").Find(&staff).Error; err != nil {
		return nil, fmt.Errorf("read owner agencies' staff: %w", err)
	}
	people := map[int64]bool{}
	for _, u := range staff {
		f.staff[u.AgencyCode] = append(f.staff[u.AgencyCode], u)
		people[u.ID] = true
	}
	for _, r := range rs {
		people[r.RequesterID] = true
	}
	if len(actedIDs) > 0 {
		// Every action, not MIN(at): SQLite does not type an aggregate.
		var rows []models.Transition
		if err := db.Select("request_id", "actor_id", "at").
			Where("request_id IN ? AND actor_id IS NOT NULL", unique(actedIDs)).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("read who acted on requests: %w", err)
		}
		for _, r := range rows {
			if f.acted[r.RequestID] == nil {
				f.acted[r.RequestID] = map[int64]time.Time{}
			}
			if first, ok := f.acted[r.RequestID][*r.ActorID]; !ok || r.At.Before(first) {
				f.acted[r.RequestID][*r.ActorID] = r.At
			}
		}
	}
	ids := make([]int64, 0, len(people))
	for id := range people {
		ids = append(ids, id)
	}
	var prefs []models.Preference
	if err := db.Where("user_id IN ? AND enabled = ?", ids, false).Find(&prefs).Error; err != nil {
		return nil, fmt.Errorf("read preferences: %w", err)
	}
	for _, p := range prefs {
		f.off[offKey{p.UserID, p.Channel, p.Event}] = true
	}
	if err := db.Where("deleted_at IS NULL").Order("id").Find(&f.hooks).Error; err != nil {
		return nil, fmt.Errorf("read webhooks: %w", err)
	}
	return f, nil
}

// messages builds the rows of a batch of events, in event order.
func (o *Outbox) messages(events []models.Event, f *facts) ([]models.Notification, []models.Delivery, error) {
	var notes []models.Notification
	var out []models.Delivery
	for _, e := range events {
		r, ok := f.requests[e.RequestID]
		if !ok {
			return nil, nil, fmt.Errorf("event %d: request %d not found", e.ID, e.RequestID)
		}
		n := o.notice(e, r)
		eventID := e.ID
		for _, u := range recipients(n, f, e.At) {
			if !f.off[offKey{u.ID, InApp, e.Event}] || o.mandated(e.Event, u) {
				title, body := o.inApp(n)
				notes = append(notes, models.Notification{UserID: u.ID, EventID: &eventID, Event: e.Event, RequestID: &r.ID,
					Title: title, Body: body, CreatedAt: e.At})
			}
			if !f.off[offKey{u.ID, Email, e.Event}] || o.mandated(e.Event, u) {
				uid := u.ID
				out = append(out, o.eventDelivery(e, Email, &uid, nil, u.Email))
			}
		}
		for _, h := range f.hooks {
			if subscribed(h, e.Event) {
				hid := h.ID
				out = append(out, o.eventDelivery(e, Webhook, nil, &hid, h.URL))
			}
		}
	}
	return notes, out, nil
}

// eventDelivery is the outbox row of one message of e; its body is
// rendered from e when it is sent.
func (o *Outbox) eventDelivery(e models.Event, channel string, userID, webhookID *int64, to string) models.Delivery {
	eventID, reqID := e.ID, e.RequestID
	d := models.Delivery{
		DeliveryID: NewDeliveryID(), EventID: &eventID, Event: e.Event, RequestID: &reqID, Channel: channel,
		UserID: userID, WebhookID: webhookID, Recipient: to, State: StatePending,
		NextAttemptAt: e.At.UTC(), CreatedAt: e.At.UTC(),
	}
	if channel == Email && !o.emailOn {
		d.State = StateSkipped
	}
	return d
}

// notice is e as the messages render it: the request as it was at the event.
func (o *Outbox) notice(e models.Event, r models.Request) Notice {
	r.State, r.ApprovalsRequired, r.SLA.DueAt = e.State, e.ApprovalsRequired, e.DueAt
	r.Approvals = nil
	for _, s := range strings.Split(e.ApprovedBy, ",") {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			r.Approvals = append(r.Approvals, models.Approval{RequestID: r.ID, ApproverID: id})
		}
	}
	return Notice{Event: e.Event, Request: &r, ActorID: e.ActorID, ActorName: e.ActorName, Comment: e.Comment, At: e.At}
}

// recipients returns who hears of n, the actor excluded, each once, per the
// audience table. at is the event's instant: only actions up to it count.
func recipients(n Notice, f *facts, at time.Time) []models.User {
	a, ok := audiences[n.Event]
	if !ok {
		return nil
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
		add(r.Requester)
	}
	if !(a.ownerApprovers || a.pendingApprovers || a.ownerManagers || a.actedApprovers) {
		return out
	}
	approved := map[int64]bool{}
	for _, ap := range r.Approvals {
		approved[ap.ApproverID] = true
	}
	for _, u := range f.staff[r.OwnerAgency] {
		first, acted := f.acted[r.ID][u.ID]
		acted = acted && !first.After(at)
		switch {
		case a.ownerApprovers && hasRole(u, workflow.Approver),
			a.ownerManagers && hasRole(u, workflow.Manager),
			a.actedApprovers && acted && hasRole(u, workflow.Approver),
			a.pendingApprovers && r.State == string(workflow.Submitted) && hasRole(u, workflow.Approver) && !approved[u.ID]:
			add(u)
		}
	}
	return out
}

// subscribed reports whether h wants event.
func subscribed(h models.Webhook, event string) bool {
	for _, e := range strings.Split(h.Events, ",") {
		if e == event || e == "*" {
			return true
		}
	}
	return false
}

func unique(ids []int64) []int64 {
	s := slices.Clone(ids)
	slices.Sort(s)
	return slices.Compact(s)
}

// render fills the body of claimed event deliveries from their events, as
// they are sent; a digest's body was stored when it was written. It returns
// the deliveries that cannot be rendered, by id, with why; an error means
// none could be read.
func (o *Outbox) render(ctx context.Context, batch []models.Delivery) (map[int64]error, error) {
	var ids []int64
	for _, d := range batch {
		if d.EventID != nil {
			ids = append(ids, *d.EventID)
		}
	}
	failed := map[int64]error{}
	if len(ids) == 0 {
		return failed, nil
	}
	var events []models.Event
	if err := o.db.Conn(ctx).Where("id IN ?", unique(ids)).Find(&events).Error; err != nil {
		return nil, fmt.Errorf("read events of deliveries: %w", err)
	}
	byID := map[int64]models.Event{}
	var reqIDs []int64
	for _, e := range events {
		byID[e.ID] = e
		reqIDs = append(reqIDs, e.RequestID)
	}
	var rs []models.Request
	if err := o.db.Conn(ctx).Where("id IN ?", unique(reqIDs)).Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("read requests of deliveries: %w", err)
	}
	reqs := map[int64]models.Request{}
	for _, r := range rs {
		reqs[r.ID] = r
	}
	for i := range batch {
		d := &batch[i]
		if d.EventID == nil {
			continue
		}
		e, ok := byID[*d.EventID]
		r, found := reqs[e.RequestID]
		if !ok || !found {
			failed[d.ID] = fmt.Errorf("event %d or its request is missing", *d.EventID)
			continue
		}
		body, err := o.body(d, o.notice(e, r))
		if err != nil {
			failed[d.ID] = fmt.Errorf("render: %w", err)
			continue
		}
		d.Payload = body
	}
	return failed, nil
}

// body renders what a delivery sends: the same bytes on every attempt, so
// that a webhook's signature and a mail's content do not change on retry.
func (o *Outbox) body(d *models.Delivery, n Notice) (string, error) {
	var payload any
	switch d.Channel {
	case Email:
		m, err := o.mail(n, d.Recipient)
		if err != nil {
			return "", err
		}
		payload = m
	default:
		body := WebhookBody{
			DeliveryID: d.DeliveryID, Event: n.Event, OccurredAt: n.At.UTC(), Comment: n.Comment,
			Request: WebhookRequest{
				ID: n.Request.ID, Title: n.Request.Title, State: n.Request.State, Classification: n.Request.Classification,
				RequestingAgency: n.Request.RequestingAgency, OwnerAgency: n.Request.OwnerAgency,
				DueAt: n.Request.SLA.DueAt, URL: o.links.request(n.Request.ID),
			},
		}
		if n.ActorName != "" {
			body.Actor = &n.ActorName
		}
		payload = body
	}
	b, err := json.Marshal(payload)
	return string(b), err
}
