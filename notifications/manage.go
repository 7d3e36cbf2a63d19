package notifications

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/errs"
	"datashare/models"
	"datashare/workflow"
)

// Service is what users and admins do with notifications: their inbox,
// their preferences, webhooks and failed deliveries.
type Service struct {
	db    *models.DB
	now   func() time.Time
	guard *Guard
}

// NewService returns a Service that refuses webhooks to any internal
// address until WithGuard says otherwise.
func NewService(db *models.DB, now func() time.Time) *Service {
	return &Service{db: db, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }, guard: NewGuard(AllowList{})}
}

// WithGuard sets which receiver addresses webhooks may be registered for:
// the deliveries' own guard.
func (s *Service) WithGuard(g *Guard) *Service {
	s.guard = g
	return s
}

func requireAdmin(a workflow.Actor) error {
	if !a.Has(workflow.Admin) {
		return errs.E(errs.Forbidden, "only an admin may manage webhooks and deliveries")
	}
	return nil
}

// Inbox returns the user's in-app notifications, newest first (at most
// 200), only unread ones when unread is true.
func (s *Service) Inbox(ctx context.Context, userID int64, unread bool) ([]models.Notification, error) {
	q := s.db.Conn(ctx).Where("user_id = ?", userID)
	if unread {
		q = q.Where("read_at IS NULL")
	}
	var out []models.Notification
	err := q.Order("id DESC").Limit(200).Find(&out).Error
	return out, err
}

// Unread counts the user's unread in-app notifications; every page's
// header shows it.
func (s *Service) Unread(ctx context.Context, userID int64) (int64, error) {
	var n int64
	err := s.db.Conn(ctx).Model(&models.Notification{}).Where("user_id = ? AND read_at IS NULL", userID).Count(&n).Error
	return n, err
}

// MarkRead marks one of the user's notifications read. Errors: not_found
// for another user's or an unknown notification.
func (s *Service) MarkRead(ctx context.Context, userID, id int64) (models.Notification, error) {
	var n models.Notification
	err := s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		if err := tx.Take(&n, "id = ? AND user_id = ?", id, userID).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return errs.E(errs.NotFound, "notification %d not found", id)
			}
			return err
		}
		if n.ReadAt != nil {
			return nil
		}
		now := s.now()
		n.ReadAt = &now
		return tx.Model(&models.Notification{}).Where("id = ?", id).Update("read_at", now).Error
	})
	return n, err
}

// MarkAllRead marks every unread notification of the user read and returns
// how many.
func (s *Service) MarkAllRead(ctx context.Context, userID int64) (int64, error) {
	res := s.db.Conn(ctx).Model(&models.Notification{}).Where("user_id = ? AND read_at IS NULL", userID).Update("read_at", s.now())
	return res.RowsAffected, res.Error
}

// Preferences maps channel → event → on.
type Preferences map[string]map[string]bool

// Preferences returns u's settings for every channel and event, with the
// ones u may not switch off listed in locked.
func (s *Service) Preferences(ctx context.Context, u models.User) (Preferences, []string, error) {
	out := Preferences{}
	for _, c := range UserChannels {
		out[c] = map[string]bool{}
		for _, e := range Events {
			out[c][e] = true
		}
	}
	var rows []models.Preference
	if err := s.db.Conn(ctx).Where("user_id = ?", u.ID).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	for _, r := range rows {
		if _, ok := out[r.Channel]; ok && KnownEvent(r.Event) {
			out[r.Channel][r.Event] = r.Enabled || Mandatory(r.Event, u)
		}
	}
	var locked []string
	for _, e := range Events {
		if Mandatory(e, u) {
			locked = append(locked, e)
		}
	}
	return out, locked, nil
}

// SetPreferences changes the settings named in p and leaves the others.
// Errors: invalid for an unknown channel or event, or for switching off an
// event u must hear of.
func (s *Service) SetPreferences(ctx context.Context, u models.User, p Preferences) (Preferences, []string, error) {
	var rows []models.Preference
	channels := make([]string, 0, len(p))
	for c := range p {
		channels = append(channels, c)
	}
	sort.Strings(channels) // the first bad entry named is the same on every call
	for _, c := range channels {
		events := p[c]
		if !slices.Contains(UserChannels, c) {
			return nil, nil, errs.Field(c, "unknown channel %q; channels are email and in_app", c)
		}
		names := make([]string, 0, len(events))
		for e := range events {
			names = append(names, e)
		}
		sort.Strings(names)
		for _, e := range names {
			on := events[e]
			if !KnownEvent(e) {
				return nil, nil, errs.Field(c+"."+e, "unknown event %q", e)
			}
			if !on && Mandatory(e, u) {
				return nil, nil, errs.Field(c+"."+e, "approvers cannot switch off %s: a breach of the 7-working-day target always reaches them", e)
			}
			rows = append(rows, models.Preference{UserID: u.ID, Channel: c, Event: e, Enabled: on})
		}
	}
	if len(rows) > 0 {
		err := s.db.Conn(ctx).Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "user_id"}, {Name: "channel"}, {Name: "event"}},
			DoUpdates: clause.AssignmentColumns([]string{"enabled"}),
		}).Create(&rows).Error
		if err != nil {
			return nil, nil, fmt.Errorf("save preferences: %w", err)
		}
	}
	return s.Preferences(ctx, u)
}

// NewWebhook is the input of CreateWebhook.
type NewWebhook struct {
	URL    string
	Events []string
	Secret string
}

// CreateWebhook registers a receiver. Errors: forbidden unless admin;
// invalid URL (not http or https, with a user name or password, or naming
// an internal address the guard refuses), events or a secret shorter than
// 16 characters.
func (s *Service) CreateWebhook(ctx context.Context, actor workflow.Actor, in NewWebhook) (models.Webhook, error) {
	if err := requireAdmin(actor); err != nil {
		return models.Webhook{}, err
	}
	u, err := url.Parse(strings.TrimSpace(in.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return models.Webhook{}, errs.Field("url", "the address must start with http:// or https:// and name a host")
	}
	if u.User != nil {
		return models.Webhook{}, errs.Field("url", "the address must not carry a user name or password; the receiver checks the signature instead")
	}
	if err := s.guard.CheckURL(u); err != nil {
		if errors.Is(err, ErrRefused) {
			return models.Webhook{}, errs.Field("url", "the address names an internal host; only public addresses and those in DATASHARE_WEBHOOK_ALLOW may receive webhooks")
		}
		return models.Webhook{}, errs.Field("url", "the address: %v", err)
	}
	if len(in.Events) == 0 {
		return models.Webhook{}, errs.Field("events", "name at least one event, or * for all")
	}
	events := []string{}
	for _, e := range in.Events {
		if e != "*" && (!KnownEvent(e) || e == DailyDigest) {
			return models.Webhook{}, errs.Field("events", "unknown event %q; events are %s or *", e, strings.Join(Events, ", "))
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	sort.Strings(events)
	if len(in.Secret) < 16 || len(in.Secret) > 200 {
		return models.Webhook{}, errs.Field("secret", "secret must be 16 to 200 characters")
	}
	h := models.Webhook{URL: u.String(), Events: strings.Join(events, ","), Secret: in.Secret, CreatedAt: s.now()}
	if err := s.db.Conn(ctx).Create(&h).Error; err != nil {
		return models.Webhook{}, fmt.Errorf("create webhook: %w", err)
	}
	return h, nil
}

// Webhooks lists live webhooks; admins only.
func (s *Service) Webhooks(ctx context.Context, actor workflow.Actor) ([]models.Webhook, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	var out []models.Webhook
	err := s.db.Conn(ctx).Where("deleted_at IS NULL").Order("id").Find(&out).Error
	return out, err
}

// DeleteWebhook stops a webhook; deliveries already queued for it go dead
// rather than out. Errors: forbidden, not_found.
func (s *Service) DeleteWebhook(ctx context.Context, actor workflow.Actor, id int64) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		now := s.now()
		res := tx.Model(&models.Webhook{}).Where("id = ? AND deleted_at IS NULL", id).Update("deleted_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errs.E(errs.NotFound, "webhook %d not found", id)
		}
		return tx.Model(&models.Delivery{}).Where("webhook_id = ? AND state IN ?", id, []string{StatePending, StateSending}).
			Updates(map[string]any{"state": StateDead, "last_error": "webhook deleted", "claimed_until": nil}).Error
	})
}

// Deliveries lists deliveries, newest first (at most 200), of one webhook
// when webhookID is not 0, or of any channel in state when state is set.
func (s *Service) Deliveries(ctx context.Context, actor workflow.Actor, webhookID int64, state string) ([]models.Delivery, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	q := s.db.Conn(ctx).Model(&models.Delivery{})
	if webhookID != 0 {
		var n int64
		if err := s.db.Conn(ctx).Model(&models.Webhook{}).Where("id = ?", webhookID).Count(&n).Error; err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, errs.E(errs.NotFound, "webhook %d not found", webhookID)
		}
		q = q.Where("webhook_id = ?", webhookID)
	}
	if state != "" {
		if !slices.Contains([]string{StatePending, StateSending, StateDelivered, StateDead, StateSkipped}, state) {
			return nil, errs.Field("state", "state must be pending, sending, delivered, dead or skipped")
		}
		q = q.Where("state = ?", state)
	}
	var out []models.Delivery
	err := q.Order("id DESC").Limit(200).Find(&out).Error
	return out, err
}

// Requeue puts a dead delivery back in the queue; admins only.
func (s *Service) Requeue(ctx context.Context, actor workflow.Actor, id int64) (models.Delivery, error) {
	if err := requireAdmin(actor); err != nil {
		return models.Delivery{}, err
	}
	var d models.Delivery
	if err := s.db.Conn(ctx).Take(&d, "id = ?", id).Error; err == nil && d.WebhookID != nil {
		var h models.Webhook
		if err := s.db.Conn(ctx).Take(&h, "id = ?", *d.WebhookID).Error; err == nil && h.DeletedAt != nil {
			return models.Delivery{}, errs.E(errs.Conflict, "delivery %d is for webhook %d, which was deleted", id, h.ID)
		}
	}
	if err := Retry(ctx, s.db, id, s.now()); err != nil {
		return models.Delivery{}, err
	}
	err := s.db.Conn(ctx).Take(&d, "id = ?", id).Error
	return d, err
}

// RequeueDead puts every dead delivery back in the queue, newest first,
// except those of a deleted webhook, which it counts as skipped; admins
// only.
func (s *Service) RequeueDead(ctx context.Context, actor workflow.Actor) (requeued, skipped int, err error) {
	if err := requireAdmin(actor); err != nil {
		return 0, 0, err
	}
	// Pages of ids below the last one seen: skipped deliveries stay dead,
	// so a page from the top would find them again.
	before := int64(math.MaxInt64)
	for {
		var ds []models.Delivery
		if err := s.db.Conn(ctx).Where("state = ? AND id < ?", StateDead, before).Order("id DESC").Limit(200).Find(&ds).Error; err != nil {
			return requeued, skipped, err
		}
		if len(ds) == 0 {
			return requeued, skipped, nil
		}
		for _, d := range ds {
			before = d.ID
			_, err := s.Requeue(ctx, actor, d.ID)
			switch {
			case err == nil:
				requeued++
			case errs.Is(err, errs.Conflict):
				skipped++
			default:
				return requeued, skipped, err
			}
		}
	}
}
