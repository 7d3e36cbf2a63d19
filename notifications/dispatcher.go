package notifications

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
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
}

// DefaultPolicy retries for about a day before giving up.
func DefaultPolicy() Policy {
	return Policy{MaxAttempts: 10, BaseBackoff: 30 * time.Second, MaxBackoff: 2 * time.Hour,
		Lease: 2 * time.Minute, Interval: time.Second, Batch: 50, FanOutBatch: 200}
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

	mu  sync.Mutex
	rng *rand.Rand
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
	return &Dispatcher{db: o.db, outbox: o, senders: senders, policy: p, now: now, log: log,
		kick: make(chan struct{}, 1), rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))}
}

// Kick wakes the dispatcher at once; it never blocks.
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run fans out and delivers until ctx is done.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.policy.Interval)
	defer t.Stop()
	for {
		for {
			fanned, n, err := d.tick(ctx)
			if err != nil && ctx.Err() == nil {
				d.log.Error("dispatch", "error", err)
			}
			if fanned < d.policy.FanOutBatch && n < d.policy.Batch || err != nil {
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

// Tick fans out a batch of events, then claims a batch of due deliveries,
// sends them and records each outcome; it returns how many deliveries it
// claimed.
func (d *Dispatcher) Tick(ctx context.Context) (int, error) {
	_, n, err := d.tick(ctx)
	return n, err
}

func (d *Dispatcher) tick(ctx context.Context) (fanned, claimed int, err error) {
	// Deliveries already written go out even when the fan-out failed.
	fanned, err = d.FanOut(ctx)
	batch, cerr := d.Claim(ctx)
	if cerr != nil {
		return fanned, 0, errors.Join(err, cerr)
	}
	d.Deliver(ctx, batch)
	return fanned, len(batch), err
}

// FanOut claims a batch of events not fanned out yet and writes their
// in-app notifications and deliveries; it returns how many events it
// claimed.
func (d *Dispatcher) FanOut(ctx context.Context) (int, error) {
	return d.outbox.fanOut(ctx, d.now(), d.policy.Lease, d.policy.FanOutBatch)
}

// Claim marks up to Batch due deliveries as being sent by this dispatcher
// until the lease ends, counting an attempt for each. Rows claimed by a
// dispatcher that died are due again once their lease has passed.
func (d *Dispatcher) Claim(ctx context.Context) ([]models.Delivery, error) {
	now := d.now().UTC()
	lock := ""
	if d.db.Dialect == models.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []models.Delivery
	err := d.db.Conn(ctx).Raw(`UPDATE outbox SET state = ?, claimed_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox
			WHERE (state = ? AND next_attempt_at <= ?) OR (state = ? AND claimed_until < ?)
			ORDER BY id LIMIT ?`+lock+`)
		RETURNING *`,
		StateSending, now.Add(d.policy.Lease), StatePending, now, StateSending, now, d.policy.Batch).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// Deliver renders claimed deliveries, sends them one by one and records
// the outcomes.
func (d *Dispatcher) Deliver(ctx context.Context, batch []models.Delivery) {
	failed, err := d.outbox.render(ctx, batch)
	if err != nil {
		d.log.Error("render deliveries", "error", err)
		return // the lease brings them back
	}
	for i := range batch {
		if ctx.Err() != nil {
			return // the lease brings unsent ones back
		}
		del := &batch[i]
		s, ok := d.senders[del.Channel]
		err := failed[del.ID]
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
	// Only this claim's outcome counts: if the lease ran out and another
	// dispatcher claimed the row again, its claim has another end.
	q := d.db.Conn(ctx).Model(&models.Delivery{}).Where("id = ? AND state = ?", del.ID, StateSending)
	if del.ClaimedUntil != nil {
		q = q.Where("claimed_until = ?", del.ClaimedUntil.UTC())
	}
	if sendErr == nil {
		return q.Updates(map[string]any{"state": StateDelivered, "delivered_at": now, "claimed_until": nil, "last_error": ""}).Error
	}
	msg := sendErr.Error()
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	if del.Attempts >= d.policy.MaxAttempts {
		d.log.Warn("delivery dead", "delivery_id", del.DeliveryID, "channel", del.Channel, "attempts", del.Attempts, "error", msg)
		return q.Updates(map[string]any{"state": StateDead, "claimed_until": nil, "last_error": msg}).Error
	}
	d.log.Info("delivery failed; will retry", "delivery_id", del.DeliveryID, "channel", del.Channel, "attempts", del.Attempts, "error", msg)
	return q.Updates(map[string]any{"state": StatePending, "claimed_until": nil, "last_error": msg,
		"next_attempt_at": now.Add(d.Backoff(del.Attempts))}).Error
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
