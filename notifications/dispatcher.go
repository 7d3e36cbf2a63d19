package notifications

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"datashare/errs"
	"datashare/models"
)

// Sender delivers one delivery over its channel. An error means "try again
// later".
type Sender interface {
	Send(ctx context.Context, d *models.Delivery) error
}

// Policy says how hard the dispatcher tries.
type Policy struct {
	MaxAttempts int           // then the delivery is dead
	BaseBackoff time.Duration // wait after the first failure; doubles each time
	MaxBackoff  time.Duration
	Lease       time.Duration // a claim older than this is retried
	Interval    time.Duration // how often to look for work when not kicked
	Batch       int           // deliveries claimed at once
	FanOutBatch int           // events fanned out at once; Batch when 0
	// PerReceiver is how many deliveries are sent at once to one receiver:
	// the SMTP server, or one webhook host and port. 4 when 0.
	PerReceiver int
}

// DefaultPolicy retries for about a day before giving up.
func DefaultPolicy() Policy {
	return Policy{MaxAttempts: 10, BaseBackoff: 30 * time.Second, MaxBackoff: 2 * time.Hour,
		Lease: 2 * time.Minute, Interval: time.Second, Batch: 50, FanOutBatch: 200, PerReceiver: 4}
}

// Dispatcher fans events out to messages and delivers the outbox.
type Dispatcher struct {
	db      *models.DB
	outbox  *Outbox
	senders map[string]Sender
	policy  Policy
	now     func() time.Time
	log     *slog.Logger
	kick    chan struct{}

	mu    sync.Mutex
	rng   *rand.Rand
	lanes map[string]chan struct{} // by receiver: a slot per delivery in flight
	hosts map[int64]string         // receiver of each webhook seen; a webhook's URL never changes
	sends sync.WaitGroup           // deliveries started by Run
}

// NewDispatcher returns a Dispatcher of o's events with a sender per
// channel.
func NewDispatcher(o *Outbox, senders map[string]Sender, p Policy, now func() time.Time, log *slog.Logger) *Dispatcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if p.FanOutBatch <= 0 {
		p.FanOutBatch = p.Batch
	}
	if p.PerReceiver <= 0 {
		p.PerReceiver = 4
	}
	return &Dispatcher{db: o.db, outbox: o, senders: senders, policy: p, now: now, log: log,
		kick: make(chan struct{}, 1), rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1)),
		lanes: map[string]chan struct{}{}, hosts: map[int64]string{}}
}

// Kick wakes the dispatcher at once; it never blocks.
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run fans out and delivers until ctx is done, then waits for the
// deliveries in flight, which ctx cancels. Each delivery is sent in a
// goroutine of its own as soon as its receiver has a free slot, so that a
// slow or dead receiver holds up only its own deliveries, never email or
// another receiver's.
func (d *Dispatcher) Run(ctx context.Context) {
	defer d.sends.Wait()
	t := time.NewTicker(d.policy.Interval)
	defer t.Stop()
	for {
		for {
			more, err := d.step(ctx)
			if err != nil && ctx.Err() == nil {
				d.log.Error("dispatch", "error", err)
			}
			if !more || err != nil || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.kick:
		}
	}
}

// step fans out a batch of events, claims what the receivers have room
// for and starts sending it without waiting; it reports whether there may
// be more to do at once.
func (d *Dispatcher) step(ctx context.Context) (bool, error) {
	fanned, err := d.FanOut(ctx)
	batch, cerr := d.Claim(ctx)
	if cerr != nil {
		return false, errors.Join(err, cerr)
	}
	failed, rerr := d.outbox.render(ctx, batch)
	if rerr != nil {
		return false, errors.Join(err, fmt.Errorf("render deliveries: %w", rerr)) // the lease brings them back
	}
	for i := range batch {
		del := &batch[i]
		slot := d.lane(del)
		// Claim counted the free slots, so this takes one at once; it is
		// taken here rather than in the goroutine so that the next Claim
		// sees it taken.
		held := false
		select {
		case slot <- struct{}{}:
			held = true
		default:
		}
		d.sends.Add(1)
		go func() {
			defer d.sends.Done()
			if !held && !acquire(ctx, slot) {
				return // the lease brings it back
			}
			defer func() {
				<-slot
				d.Kick() // the receiver has room again
			}()
			d.send(ctx, del, failed[del.ID])
		}()
	}
	return fanned == d.policy.FanOutBatch || len(batch) > 0, err
}

// Tick fans out a batch of events, then claims a batch of due deliveries,
// sends them and records each outcome; it returns how many deliveries it
// claimed.
func (d *Dispatcher) Tick(ctx context.Context) (int, error) {
	// Deliveries already written go out even when the fan-out failed.
	_, err := d.FanOut(ctx)
	batch, cerr := d.Claim(ctx)
	if cerr != nil {
		return 0, errors.Join(err, cerr)
	}
	d.Deliver(ctx, batch)
	return len(batch), err
}

// FanOut claims a batch of events not fanned out yet and writes their
// in-app notifications and deliveries; it returns how many events it
// claimed.
func (d *Dispatcher) FanOut(ctx context.Context) (int, error) {
	return d.outbox.fanOut(ctx, d.now(), d.policy.Lease, d.policy.FanOutBatch)
}

// dueRow is a delivery that Claim considers.
type dueRow struct {
	ID        int64
	Channel   string
	WebhookID *int64
}

// Claim marks due deliveries as being sent by this dispatcher until the
// lease ends, counting an attempt for each: up to Batch in all, and no
// more for a receiver than it has free slots, so that every delivery
// claimed is sent at once and none waits out its lease in memory. Rows
// claimed by a dispatcher that died are due again once their lease has
// passed.
func (d *Dispatcher) Claim(ctx context.Context) ([]models.Delivery, error) {
	now := d.now().UTC()
	lock := ""
	if d.db.Dialect == models.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []models.Delivery
	err := d.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		// Rows of receivers with no free slot are left out, so that they
		// cannot fill the window while others are due.
		channels, hooks := d.full()
		q := `SELECT id, channel, webhook_id FROM outbox
			WHERE ((state = ? AND next_attempt_at <= ?) OR (state = ? AND claimed_until < ?))`
		args := []any{StatePending, now, StateSending, now}
		if len(channels) > 0 {
			q += ` AND channel NOT IN ?`
			args = append(args, channels)
		}
		if len(hooks) > 0 {
			q += ` AND (webhook_id IS NULL OR webhook_id NOT IN ?)`
			args = append(args, hooks)
		}
		q += ` ORDER BY id LIMIT ?` + lock
		args = append(args, 2*d.policy.Batch)
		var due []dueRow
		if err := tx.Raw(q, args...).Scan(&due).Error; err != nil {
			return err
		}
		if err := d.learnReceivers(tx, due); err != nil {
			return err
		}
		ids := d.pick(due)
		if len(ids) == 0 {
			return nil
		}
		return tx.Raw(`UPDATE outbox SET state = ?, claimed_until = ?, attempts = attempts + 1
			WHERE id IN ? AND ((state = ? AND next_attempt_at <= ?) OR (state = ? AND claimed_until < ?))
			RETURNING *`,
			StateSending, now.Add(d.policy.Lease), ids, StatePending, now, StateSending, now).Scan(&out).Error
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// receiverOf names the receiver a webhook URL reaches: its host and port.
func receiverOf(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return "", false
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return "webhook " + net.JoinHostPort(strings.ToLower(u.Hostname()), port), true
}

// learnReceivers notes the receiver of each webhook of due not seen yet.
func (d *Dispatcher) learnReceivers(tx *gorm.DB, due []dueRow) error {
	var unknown []int64
	d.mu.Lock()
	for _, r := range due {
		if r.WebhookID != nil {
			if _, ok := d.hosts[*r.WebhookID]; !ok && !slices.Contains(unknown, *r.WebhookID) {
				unknown = append(unknown, *r.WebhookID)
			}
		}
	}
	d.mu.Unlock()
	if len(unknown) == 0 {
		return nil
	}
	var hooks []models.Webhook
	if err := tx.Select("id", "url").Where("id IN ?", unknown).Find(&hooks).Error; err != nil {
		return fmt.Errorf("read webhooks: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, h := range hooks {
		if r, ok := receiverOf(h.URL); ok {
			d.hosts[h.ID] = r
		}
	}
	return nil
}

// receiver names who receives a delivery; d.mu is held.
func (d *Dispatcher) receiver(channel string, webhookID *int64) string {
	if channel == Webhook && webhookID != nil {
		if r, ok := d.hosts[*webhookID]; ok {
			return r
		}
		return "webhook #" + strconv.FormatInt(*webhookID, 10)
	}
	return channel
}

// slots returns the in-flight slots of a receiver; d.mu is held.
func (d *Dispatcher) slots(receiver string) chan struct{} {
	ch, ok := d.lanes[receiver]
	if !ok {
		ch = make(chan struct{}, d.policy.PerReceiver)
		d.lanes[receiver] = ch
	}
	return ch
}

func (d *Dispatcher) lane(del *models.Delivery) chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.slots(d.receiver(del.Channel, del.WebhookID))
}

// full returns the channels and the webhooks whose receiver has no free
// slot.
func (d *Dispatcher) full() (channels []string, hooks []int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, r := range d.hosts {
		if ch := d.lanes[r]; ch != nil && len(ch) == cap(ch) {
			hooks = append(hooks, id)
		}
	}
	for _, c := range []string{Email, Webhook} {
		if ch := d.lanes[c]; ch != nil && len(ch) == cap(ch) {
			channels = append(channels, c)
		}
	}
	slices.Sort(hooks)
	return channels, hooks
}

// pick chooses from due, in order, up to Batch rows that their receivers
// have free slots for.
func (d *Dispatcher) pick(due []dueRow) []int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	taken := map[string]int{}
	var ids []int64
	for _, r := range due {
		if len(ids) == d.policy.Batch {
			break
		}
		name := d.receiver(r.Channel, r.WebhookID)
		ch := d.slots(name)
		if len(ch)+taken[name] < cap(ch) {
			taken[name]++
			ids = append(ids, r.ID)
		}
	}
	return ids
}

func acquire(ctx context.Context, slot chan struct{}) bool {
	select {
	case slot <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// Deliver renders claimed deliveries, sends them, each receiver's at most
// PerReceiver at a time and receivers side by side, records the outcomes
// and returns once all are recorded.
func (d *Dispatcher) Deliver(ctx context.Context, batch []models.Delivery) {
	failed, err := d.outbox.render(ctx, batch)
	if err != nil {
		d.log.Error("render deliveries", "error", err)
		return // the lease brings them back
	}
	var wg sync.WaitGroup
	for i := range batch {
		del := &batch[i]
		slot := d.lane(del)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !acquire(ctx, slot) {
				return // the lease brings it back
			}
			defer func() { <-slot }()
			d.send(ctx, del, failed[del.ID])
		}()
	}
	wg.Wait()
}

// send sends one claimed delivery, unless rendering it failed, and records
// the outcome.
func (d *Dispatcher) send(ctx context.Context, del *models.Delivery, err error) {
	if ctx.Err() != nil {
		return // the lease brings it back
	}
	s, ok := d.senders[del.Channel]
	switch {
	case err != nil:
	case !ok:
		err = fmt.Errorf("no sender for channel %q", del.Channel)
	default:
		err = s.Send(ctx, del)
	}
	if rerr := d.record(ctx, del, err); rerr != nil {
		d.log.Error("record delivery", "delivery_id", del.DeliveryID, "error", rerr)
	}
}

// Backoff is the wait before attempt n+1 after n failed attempts: doubling
// from BaseBackoff up to MaxBackoff, with jitter so that many failures do
// not come back at the same moment.
func (d *Dispatcher) Backoff(n int) time.Duration {
	wait := float64(d.policy.BaseBackoff) * math.Pow(2, float64(max(0, n-1)))
	wait = min(wait, float64(d.policy.MaxBackoff))
	d.mu.Lock()
	j := 0.5 + d.rng.Float64()/2
	d.mu.Unlock()
	return time.Duration(wait * j)
}

func (d *Dispatcher) record(ctx context.Context, del *models.Delivery, sendErr error) error {
	now := d.now().UTC()
	var set map[string]any
	if sendErr == nil {
		set = map[string]any{"state": StateDelivered, "delivered_at": now, "claimed_until": nil, "last_error": ""}
	} else {
		// The log has the whole story; the row, which admins read, has
		// only the category of a failure that has one.
		msg := sendErr.Error()
		var f *Failure
		if errors.As(sendErr, &f) {
			msg = f.Category
		}
		if len(msg) > 1000 {
			msg = msg[:1000]
		}
		if del.Attempts >= d.policy.MaxAttempts {
			d.log.Warn("delivery dead", "delivery_id", del.DeliveryID, "channel", del.Channel, "attempts", del.Attempts, "error", sendErr.Error())
			set = map[string]any{"state": StateDead, "claimed_until": nil, "last_error": msg}
		} else {
			d.log.Info("delivery failed; will retry", "delivery_id", del.DeliveryID, "channel", del.Channel, "attempts", del.Attempts, "error", sendErr.Error())
			set = map[string]any{"state": StatePending, "claimed_until": nil, "last_error": msg,
				"next_attempt_at": now.Add(d.Backoff(del.Attempts))}
		}
	}
	return d.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		// Only this claim's outcome counts: if the lease ran out and another
		// dispatcher claimed the row again, its claim has another end.
		q := tx.Model(&models.Delivery{}).Where("id = ? AND state = ?", del.ID, StateSending)
		if del.ClaimedUntil != nil {
			q = q.Where("claimed_until = ?", del.ClaimedUntil.UTC())
		}
		return q.Updates(set).Error
	})
}

// Retry puts a dead delivery back in the queue with a fresh set of
// attempts. Errors: not_found for an unknown id, conflict unless dead.
func Retry(ctx context.Context, db *models.DB, id int64, now time.Time) error {
	return db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		var d models.Delivery
		if err := tx.Take(&d, "id = ?", id).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return errs.E(errs.NotFound, "delivery %d not found", id)
			}
			return err
		}
		if d.State != StateDead {
			return errs.E(errs.Conflict, "delivery %d is %s; only a dead delivery can be retried", id, d.State)
		}
		return tx.Model(&models.Delivery{}).Where("id = ?", id).Updates(map[string]any{
			"state": StatePending, "attempts": 0, "next_attempt_at": now.UTC(), "claimed_until": nil,
		}).Error
	})
}
