package sla

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
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

// Flags are the requests one batch of the check newly flagged for one kind.
type Flags struct {
	Kind string
	IDs  []int64 // ascending
	At   time.Time
}

// Notifier hears of each batch of flagged requests inside the transaction
// that records it, so that the events of notifications are written if and
// only if the flags are; it should write them in a few statements, as the
// history is.
type Notifier func(ctx context.Context, tx *gorm.DB, f Flags) error

// Projects flags, as of now, the projects whose own clocks turned at risk
// or breached, once each, and says how many it flagged: the check runs it
// after the requests, in the same run (under the same lock on PostgreSQL).
// It lives outside package sla, which knows no project.
type Projects func(ctx context.Context, now time.Time) (atRisk, breached int, err error)

// Result counts what one check did.
type Result struct {
	Checked          int  `json:"checked"`           // open requests looked at
	AtRisk           int  `json:"at_risk"`           // requests newly flagged at_risk
	Breached         int  `json:"breached"`          // requests newly flagged breached
	ProjectsAtRisk   int  `json:"projects_at_risk"`  // projects newly flagged at_risk
	ProjectsBreached int  `json:"projects_breached"` // projects newly flagged breached
	Skipped          bool `json:"-"`                 // another replica held the lock
	// LongestBatch is the longest a batch's transaction took, the most
	// other writers waited on the check at a time.
	LongestBatch time.Duration `json:"-"`
}

// Checker flags open requests that turned at_risk or breached.
type Checker struct {
	db       *models.DB
	keeper   *Keeper
	notify   Notifier
	projects Projects
	log      *slog.Logger
	batch    int

	mu   sync.Mutex
	last Run
}

// Run is one check this process ran through RunExclusive, for monitoring.
type Run struct {
	At     time.Time     // when it started, as the check's now
	Took   time.Duration // wall time
	Result Result
	Err    error // nil when it succeeded
}

// NewChecker returns a Checker; notify may be nil.
func NewChecker(db *models.DB, k *Keeper, notify Notifier, log *slog.Logger) *Checker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Checker{db: db, keeper: k, notify: notify, log: log, batch: 500}
}

// WithBatch sets how many requests one transaction of the check claims.
// The default, 500, keeps each transaction (flags, history and events of
// notifications) to some tens of milliseconds, so that other writers wait
// on a mass breach only that long at a time (BenchmarkCheck100k measures
// the longest).
func (c *Checker) WithBatch(n int) *Checker {
	if n > 0 {
		c.batch = n
	}
	return c
}

// WithProjects makes each check flag projects with f once the requests
// are flagged; nil leaves projects out.
func (c *Checker) WithProjects(f Projects) *Checker {
	c.projects = f
	return c
}

// lockKey is the PostgreSQL advisory lock that lets one replica check. It
// is taken with the schema's hash as a second key: advisory locks belong to
// the whole database, and a deployment in another schema of it (or a test
// running beside this one) must not make this one's check skip.
const lockKey = 7261002

// Check flags, as of now, every open request whose warning or due instant
// has passed and that has not been flagged for it yet: each gets one
// history row (actor null) and one notification. It is idempotent for the
// same now, and safe to run from several processes at once: a request is
// claimed by an UPDATE that only one of them can win. Then it flags the
// projects (WithProjects), which must be as safe.
func (c *Checker) Check(ctx context.Context, now time.Time) (Result, error) {
	now = now.UTC().Truncate(time.Microsecond)
	var res Result
	var open int64
	if err := c.db.Conn(ctx).Model(&models.Request{}).Where(isOpen.sql).Count(&open).Error; err != nil {
		return res, fmt.Errorf("sla check: count open: %w", err)
	}
	res.Checked = int(open)
	// Breaches first: a request past due is past its warning too, so one
	// update records both flags when neither was recorded yet; the second
	// pass finds the requests at risk but not yet due.
	risk, breached, err := c.flag(ctx, now, "sla_due_at", "sla_breached_flagged_at", true, &res.LongestBatch)
	if err != nil {
		return res, err
	}
	more, _, err := c.flag(ctx, now, "sla_warn_at", "sla_at_risk_flagged_at", false, &res.LongestBatch)
	if err != nil {
		return res, err
	}
	res.AtRisk, res.Breached = risk+more, breached
	if c.projects != nil {
		if res.ProjectsAtRisk, res.ProjectsBreached, err = c.projects(ctx, now); err != nil {
			return res, fmt.Errorf("sla check: projects: %w", err)
		}
	}
	if res.AtRisk+res.Breached+res.ProjectsAtRisk+res.ProjectsBreached > 0 {
		c.log.Info("sla check", "checked", res.Checked, "at_risk", res.AtRisk, "breached", res.Breached,
			"projects_at_risk", res.ProjectsAtRisk, "projects_breached", res.ProjectsBreached)
	}
	return res, nil
}

// RunExclusive runs Check unless another replica on the same PostgreSQL
// database is running it; on SQLite it simply runs Check.
func (c *Checker) RunExclusive(ctx context.Context, now time.Time) (Result, error) {
	began := time.Now()
	res, err := c.runExclusive(ctx, now)
	if !res.Skipped {
		c.mu.Lock()
		c.last = Run{At: now.UTC(), Took: time.Since(began), Result: res, Err: err}
		c.mu.Unlock()
	}
	return res, err
}

// LastRun returns the last check this process ran through RunExclusive,
// failed or not, leaving out the turns another replica took; ok is false
// before the first.
func (c *Checker) LastRun() (r Run, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last, !c.last.At.IsZero()
}

func (c *Checker) runExclusive(ctx context.Context, now time.Time) (Result, error) {
	if c.db.Dialect != models.Postgres {
		return c.Check(ctx, now)
	}
	var res Result
	err := c.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var got bool
		if err := tx.Raw("SELECT pg_try_advisory_xact_lock(?, hashtext(current_schema()))", lockKey).Scan(&got).Error; err != nil {
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
	ID                 int64
	State              string
	SlaAtRiskFlaggedAt *time.Time
}

// flag records, in batches, a flag on every open request whose instant has
// passed and whose mark is empty. With breach set, the mark is the breach
// and the at-risk flag is recorded too where it is missing (the history then
// shows sla_at_risk before sla_breached). It returns how many at-risk and
// breach flags it recorded, and keeps in longest the longest time a batch's
// transaction took.
func (c *Checker) flag(ctx context.Context, now time.Time, instant, mark string, breach bool, longest *time.Duration) (atRisk, breached int, err error) {
	set := mark + " = ?"
	args := []any{now}
	if breach {
		set += ", sla_at_risk_flagged_at = COALESCE(sla_at_risk_flagged_at, ?)"
		args = append(args, now)
	}
	for {
		var ids []int64
		err := c.db.Conn(ctx).Model(&models.Request{}).
			Where(passed(instant).sql+" AND "+mark+" IS NULL", now).
			Limit(c.batch).Pluck("id", &ids).Error
		if err != nil {
			return atRisk, breached, fmt.Errorf("sla check: find requests past %s: %w", instant, err)
		}
		if len(ids) == 0 {
			return atRisk, breached, nil
		}
		began := time.Now()
		err = c.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
			var rows []flagged
			// The guard on mark makes the claim exclusive: of two checkers
			// only one sees each row come back.
			q := "UPDATE requests SET " + set + " WHERE id IN ? AND " + mark + " IS NULL AND " + isOpen.sql + " RETURNING id, state, sla_at_risk_flagged_at"
			if err := tx.Raw(q, append(args, ids)...).Scan(&rows).Error; err != nil {
				return err
			}
			var risky, late []flagged
			for _, r := range rows {
				// An at-risk flag carrying this check's time was recorded
				// now: a check at the same instant cannot have recorded it
				// before, since it would have recorded the breach too.
				if r.SlaAtRiskFlaggedAt != nil && r.SlaAtRiskFlaggedAt.Equal(now) {
					risky = append(risky, r)
				}
				if breach {
					late = append(late, r)
				}
			}
			if err := c.record(ctx, tx, now, risky, ActionAtRisk, EventAtRisk); err != nil {
				return err
			}
			if err := c.record(ctx, tx, now, late, ActionBreached, EventBreached); err != nil {
				return err
			}
			atRisk, breached = atRisk+len(risky), breached+len(late)
			return nil
		})
		*longest = max(*longest, time.Since(began))
		if err != nil {
			return atRisk, breached, fmt.Errorf("sla check: record flags: %w", err)
		}
		if len(ids) < c.batch {
			return atRisk, breached, nil
		}
	}
}

// record writes the history rows of flagged requests in a few statements
// and tells the notifier of them at once.
func (c *Checker) record(ctx context.Context, tx *gorm.DB, now time.Time, rows []flagged, action, kind string) error {
	if len(rows) == 0 {
		return nil
	}
	slices.SortFunc(rows, func(a, b flagged) int { return cmp.Compare(a.ID, b.ID) })
	ids := make([]int64, len(rows))
	hist := make([]models.Transition, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
		state := r.State
		hist[i] = models.Transition{RequestID: r.ID, Action: action, FromState: &state, ToState: state, At: now, Comment: comment(kind)}
	}
	// The claim's UPDATE holds each request's row lock, so no transition
	// can chain onto these histories before this transaction ends.
	if err := models.AppendHistory(tx, hist); err != nil {
		return err
	}
	if c.notify == nil {
		return nil
	}
	return c.notify(ctx, tx, Flags{Kind: kind, IDs: ids, At: now})
}

func comment(kind string) string {
	if kind == EventAtRisk {
		return "The request is at risk of missing its working-day target."
	}
	return "The request has passed its due time without being fulfilled or rejected."
}
