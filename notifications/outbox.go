package notifications

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"datashare/accounts"
	"datashare/models"
	"datashare/sla"
	"datashare/workflow"
)

// Notice is one event to tell people about, as the messages render it.
type Notice struct {
	Event     string
	Request   *models.Request // as it was at the event, with Approvals
	ActorID   *int64          // nil for the system
	ActorName string
	Comment   string
	At        time.Time
}

// Outbox records the events of transitions and SLA flags in the caller's
// transaction; a Dispatcher fans them out to messages after commit.
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

// OnCommit sets what to call once a transaction that wrote events or
// deliveries has committed, typically Dispatcher.Kick.
func (o *Outbox) OnCommit(f func()) { o.kick = f }

// Mandatory reports whether u may not switch event off: approvers always
// hear of a breach of the 7-working-day target.
func Mandatory(event string, u models.User) bool {
	return event == SLABreached && slices.Contains(accounts.RolesOf(u), workflow.Approver)
}

// NewDeliveryID returns a unique id that stays the same across retries: a
// UUID of version 7, whose leading milliseconds make ids written together
// sort together, so that inserting many touches few pages of their index.
func NewDeliveryID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	ms := uint64(time.Now().UnixMilli())
	for i := 0; i < 6; i++ {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Transition implements workflow.Notifier: it writes the event of a
// transition, and nothing else, in the transition's transaction.
func (o *Outbox) Transition(ctx context.Context, e workflow.Event) error {
	ev, ok := eventOfAction[e.Action]
	if !ok {
		return nil
	}
	r := e.Request
	row := models.Event{Event: ev, RequestID: r.ID, Comment: e.Comment, At: e.At.UTC(), State: r.State,
		ApprovalsRequired: r.ApprovalsRequired, ApprovedBy: approvedBy(r.Approvals), DueAt: r.SLA.DueAt}
	tx := o.db.Conn(ctx)
	if e.ActorName != "" {
		row.ActorName = e.ActorName + " (" + e.ActorAgency + ")"
	}
	if e.ActorID != 0 {
		id := e.ActorID
		row.ActorID = &id
		if e.ActorName == "" {
			// The name as it is now, as the message would have said it.
			var u models.User
			if err := tx.Select("name", "agency_code").Take(&u, "id = ?", id).Error; err == nil {
				row.ActorName = u.Name + " (" + u.AgencyCode + ")"
			}
		}
	}
	if err := tx.Create(&row).Error; err != nil {
		return fmt.Errorf("record event %s of request %d: %w", ev, r.ID, err)
	}
	o.db.AfterCommit(ctx, o.kick)
	return nil
}

// SLA is an sla.Notifier: it records, in the check's transaction and in one
// statement, an event for each request of the batch.
func (o *Outbox) SLA(ctx context.Context, tx *gorm.DB, f sla.Flags) error {
	if len(f.IDs) == 0 {
		return nil
	}
	err := tx.Exec(`INSERT INTO events (event, request_id, actor_id, actor_name, comment, at, state, approvals_required, approved_by, due_at)
		SELECT ?, id, NULL, '', '', ?, state, approvals_required, '', sla_due_at FROM requests WHERE id IN ? ORDER BY id`,
		f.Kind, f.At.UTC(), f.IDs).Error
	if err != nil {
		return fmt.Errorf("record %s events: %w", f.Kind, err)
	}
	o.db.AfterCommit(ctx, o.kick)
	return nil
}

// approvedBy lists the approvers of approvals, comma separated.
func approvedBy(approvals []models.Approval) string {
	ids := make([]string, len(approvals))
	for i, a := range approvals {
		ids[i] = strconv.FormatInt(a.ApproverID, 10)
	}
	return strings.Join(ids, ",")
}

// delivery builds an outbox row with its payload stored as JSON: a digest,
// whose content is what was waiting when it was written.
func (o *Outbox) delivery(n Notice, channel string, userID, webhookID *int64, to string, payload any) (models.Delivery, error) {
	d := models.Delivery{
		DeliveryID: NewDeliveryID(), Event: n.Event, Channel: channel, UserID: userID, WebhookID: webhookID,
		Recipient: to, State: StatePending, NextAttemptAt: n.At.UTC(), CreatedAt: n.At.UTC(),
	}
	if n.Request != nil {
		id := n.Request.ID
		d.RequestID = &id
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
