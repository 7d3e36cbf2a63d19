package sla

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"datashare/models"
)

// Event kinds the check records and hands to notifications.
const (
	EventAtRisk   = "sla.at_risk"
	EventBreached = "sla.breached"
)

// History actions of the system events.
const (
	ActionAtRisk   = "sla_at_risk"
	ActionBreached = "sla_breached"
)

// Event is a request newly flagged by the check.
type Event struct {
	Kind      string
	RequestID int64
	State     string
	At        time.Time
}

// Notifier hears of each flagged request inside the transaction that
// records it, so that a notification is written if and only if the flag is.
type Notifier func(ctx context.Context, e Event) error

// Result counts what one check did.
type Result struct {
	Checked  int  `json:"checked"`  // open requests looked at
	AtRisk   int  `json:"at_risk"`  // newly flagged at_risk
	Breached int  `json:"breached"` // newly flagged breached
	Skipped  bool `json:"-"`        // another replica held the lock
}

// Checker flags open requests that turned at_risk or breached.
type Checker struct {
	db     *models.DB
	keeper *Keeper
	notify Notifier
	log    *slog.Logger
	batch  int
}

// NewChecker returns a Checker; notify may be nil.
func NewChecker(db *models.DB, k *Keeper, notify Notifier, log *slog.Logger) *Checker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Checker{db: db, keeper: k, notify: notify, log: log, batch: 2000}
}

// lockKey is the PostgreSQL advisory lock that lets one replica check.
const lockKey = 7261002

// Check flags, as of now, every open request whose warning or due instant
// has passed and that has not been flagged for it yet: each gets one
// history row (actor null) and one notification. It is idempotent for the
// same now, and safe to run from several processes at once: a request is
// claimed by an UPDATE that only one of them can win.
func (c *Checker) Check(ctx context.Context, now time.Time) (Result, error) {
	now = now.UTC().Truncate(time.Microsecond)
	var res Result
	var open int64
	if err := c.db.Conn(ctx).Model(&models.Request{}).Where("state IN ?", OpenStates).Count(&open).Error; err != nil {
		return res, fmt.Errorf("sla check: count open: %w", err)
	}
	res.Checked = int(open)
	var err error
	if res.AtRisk, err = c.flag(ctx, now, "sla_warn_at", "sla_at_risk_flagged_at", ActionAtRisk, EventAtRisk); err != nil {
		return res, err
	}
	if res.Breached, err = c.flag(ctx, now, "sla_due_at", "sla_breached_flagged_at", ActionBreached, EventBreached); err != nil {
		return res, err
	}
	if res.AtRisk+res.Breached > 0 {
		c.log.Info("sla check", "checked", res.Checked, "at_risk", res.AtRisk, "breached", res.Breached)
	}
	return res, nil
}

// RunExclusive runs Check unless another replica on the same PostgreSQL
// database is running it; on SQLite it simply runs Check.
func (c *Checker) RunExclusive(ctx context.Context, now time.Time) (Result, error) {
	if c.db.Dialect != models.Postgres {
		return c.Check(ctx, now)
	}
	var res Result
	err := c.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var got bool
		if err := tx.Raw("SELECT pg_try_advisory_xact_lock(?)", lockKey).Scan(&got).Error; err != nil {
			return err
		}
		if !got {
			res.Skipped = true
			return nil
		}
		var err error
		res, err = c.Check(ctx, now)
		return err
	})
	return res, err
}

type flagged struct {
	ID    int64
	State string
}

func (c *Checker) flag(ctx context.Context, now time.Time, instant, mark, action, kind string) (int, error) {
	total := 0
	for {
		var ids []int64
		err := c.db.Conn(ctx).Model(&models.Request{}).
			Where("state IN ? AND "+instant+" <= ? AND "+mark+" IS NULL", OpenStates, now).
			Limit(c.batch).Pluck("id", &ids).Error
		if err != nil {
			return total, fmt.Errorf("sla check: find %s: %w", action, err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		n := 0
		err = c.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
			var rows []flagged
			// The guard on mark makes the claim exclusive: of two checkers
			// only one sees each row come back.
			q := "UPDATE requests SET " + mark + " = ? WHERE id IN ? AND " + mark + " IS NULL AND state IN ? RETURNING id, state"
			if err := tx.Raw(q, now, ids, OpenStates).Scan(&rows).Error; err != nil {
				return err
			}
			if len(rows) == 0 {
				return nil
			}
			claimed := make([]int64, len(rows))
			for i, r := range rows {
				claimed[i] = r.ID
			}
			// One statement writes every history row of the batch.
			if err := tx.Exec(`INSERT INTO transitions (request_id, action, from_state, to_state, actor_id, at, comment)
				SELECT id, ?, state, state, NULL, ?, ? FROM requests WHERE id IN ?`,
				action, now, comment(kind), claimed).Error; err != nil {
				return err
			}
			if c.notify != nil {
				for _, r := range rows {
					if err := c.notify(ctx, Event{Kind: kind, RequestID: r.ID, State: r.State, At: now}); err != nil {
						return err
					}
				}
			}
			n = len(rows)
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("sla check: record %s: %w", action, err)
		}
		total += n
		if len(ids) < c.batch {
			return total, nil
		}
	}
}

func comment(kind string) string {
	if kind == EventAtRisk {
		return "The request is at risk of missing its working-day target."
	}
	return "The request has passed its due time without being fulfilled or rejected."
}
