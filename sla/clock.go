package sla

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"datashare/calendar"
	"datashare/models"
	"datashare/workflow"
)

// Settings are the SLA targets in working days.
type Settings struct {
	Target float64 // the promise: 7 working days
	Warn   float64 // at_risk from this many elapsed working days
}

// DefaultSettings are the Digital Government Blueprint's 7 days with a
// warning at 5.
func DefaultSettings() Settings { return Settings{Target: 7, Warn: 5} }

// Validate reports settings that cannot work.
func (s Settings) Validate() error {
	if s.Target <= 0 || s.Target > 365 {
		return fmt.Errorf("SLA target must be between 0 and 365 working days, got %v", s.Target)
	}
	if s.Warn <= 0 || s.Warn >= s.Target {
		return fmt.Errorf("SLA warning must be above 0 and below the target %v, got %v", s.Target, s.Warn)
	}
	return nil
}

// Status values of DESIGN.md.
const (
	NotStarted = "not_started"
	OnTrack    = "on_track"
	AtRisk     = "at_risk"
	Breached   = "breached"
	Met        = "met"
	Missed     = "missed"
	Excluded   = "excluded"
)

// Statuses lists every status.
var Statuses = []string{NotStarted, OnTrack, AtRisk, Breached, Met, Missed, Excluded}

func running(state string) bool {
	s := workflow.State(state)
	return s == workflow.Submitted || s == workflow.Approved
}

func terminal(state string) bool {
	s := workflow.State(state)
	return s == workflow.Fulfilled || s == workflow.Rejected || s == workflow.Withdrawn
}

// Calendars gives the working calendar in force.
type Calendars interface {
	Current() *calendar.Calendar
}

// Keeper moves the clock of a request on each transition.
type Keeper struct {
	cals     Calendars
	settings Settings
}

// NewKeeper returns a Keeper counting with cals and settings.
func NewKeeper(cals Calendars, s Settings) *Keeper { return &Keeper{cals: cals, settings: s} }

// Settings returns the targets in force.
func (k *Keeper) Settings() Settings { return k.settings }

// Calendar returns the calendar in force.
func (k *Keeper) Calendar() *calendar.Calendar { return k.cals.Current() }

// DueIfSubmitted is when a request submitted at now would be due: the
// instant the target's working days have elapsed, under the calendar in
// force.
func (k *Keeper) DueIfSubmitted(now time.Time) time.Time {
	return k.cals.Current().Due(now, k.settings.Target)
}

func ptr(t time.Time) *time.Time { return &t }

// Stamp updates r.SLA for a transition from one state to another at at. It
// is called inside the transaction that saves the transition; it does not
// touch r.State.
//
// The clock starts at the first submission, pauses while clarification is
// requested (the due instant moves later by the pause), and stops in a
// terminal state. Working days spent in each open state are added up as the
// request leaves it.
func (k *Keeper) Stamp(r *models.Request, from, to string, at time.Time) {
	cal := k.cals.Current()
	c := &r.SLA
	if from != to {
		if c.StateSince != nil && at.After(*c.StateSince) {
			d := cal.WorkingDays(*c.StateSince, at)
			switch workflow.State(from) {
			case workflow.Submitted:
				c.DaysSubmitted += d
			case workflow.ClarificationRequested:
				c.DaysClarification += d
			case workflow.Approved:
				c.DaysApproved += d
			}
		}
		c.StateSince = ptr(at)
	}
	if workflow.State(from) == workflow.Draft && workflow.State(to) == workflow.Submitted && c.Target == nil {
		t := k.settings.Target
		c.Target = &t
		c.Elapsed = 0
		c.RunningSince = ptr(at)
		c.DueAt = ptr(cal.Due(at, t))
		c.WarnAt = ptr(cal.Due(at, k.settings.Warn))
		return
	}
	if c.Target == nil {
		return // never submitted: no clock
	}
	wasRunning, isRunning := c.RunningSince != nil, running(to) && !terminal(to)
	switch {
	case wasRunning && !isRunning:
		if at.After(*c.RunningSince) {
			c.Elapsed += cal.WorkingDays(*c.RunningSince, at)
		}
		c.RunningSince = nil
		if workflow.State(to) == workflow.ClarificationRequested {
			// While paused the due instant is unknown; one already passed
			// stays, so a missed outcome is never undone.
			if c.DueAt != nil && c.DueAt.After(at) {
				c.DueAt = nil
			}
			if c.WarnAt != nil && c.WarnAt.After(at) {
				c.WarnAt = nil
			}
		}
	case !wasRunning && isRunning:
		c.RunningSince = ptr(at)
		k.project(r, cal, at)
	}
}

// project fills in the due and warning instants of a running clock that
// lack one, from the working time still left.
func (k *Keeper) project(r *models.Request, cal *calendar.Calendar, floor time.Time) {
	c := &r.SLA
	if c.RunningSince == nil || c.Target == nil {
		return
	}
	if c.DueAt == nil {
		c.DueAt = ptr(latest(cal.Due(*c.RunningSince, max(0, *c.Target-c.Elapsed)), floor))
	}
	if c.WarnAt == nil {
		c.WarnAt = ptr(latest(cal.Due(*c.RunningSince, max(0, k.settings.Warn-c.Elapsed)), floor))
	}
}

func latest(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// Reproject recomputes the due and warning instants of r under the calendar
// in force, for a running clock whose instants are still ahead of now. An
// instant already passed is left alone: its outcome is fixed, so published
// figures do not change after the fact. It reports whether anything changed.
func (k *Keeper) Reproject(r *models.Request, now time.Time) bool {
	c := &r.SLA
	if c.RunningSince == nil || c.Target == nil || terminal(r.State) {
		return false
	}
	oldDue, oldWarn := c.DueAt, c.WarnAt
	if c.DueAt != nil && c.DueAt.After(now) {
		c.DueAt = nil
	}
	if c.WarnAt != nil && c.WarnAt.After(now) {
		c.WarnAt = nil
	}
	k.project(r, k.cals.Current(), now)
	return !sameTime(oldDue, c.DueAt) || !sameTime(oldWarn, c.WarnAt)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// View is the SLA of a request as clients see it.
type View struct {
	Status    string
	Target    float64
	Elapsed   float64
	Remaining float64
	DueAt     *time.Time // projected from now while paused
	Paused    bool
}

// Evaluate returns the SLA of r at now; the status follows statusRules, the
// same rule StatusScope gives as SQL.
func (k *Keeper) Evaluate(r *models.Request, now time.Time) View {
	c := r.SLA
	v := View{Target: k.settings.Target, Status: statusOf(r, now)}
	if c.Target == nil {
		v.Remaining = v.Target
		return v
	}
	cal := k.cals.Current()
	v.Target = *c.Target
	v.Elapsed = c.Elapsed
	if c.RunningSince != nil && now.After(*c.RunningSince) {
		v.Elapsed += cal.WorkingDays(*c.RunningSince, now)
	}
	v.Remaining = max(0, v.Target-v.Elapsed)
	v.DueAt = c.DueAt
	v.Paused = workflow.State(r.State) == workflow.ClarificationRequested
	if v.DueAt == nil {
		// Paused before the due instant: were the clock to resume now.
		v.DueAt = ptr(cal.Due(now, v.Remaining))
	}
	return v
}

// Reprojector moves the due and warning instants of open requests after the
// working calendar changed.
type Reprojector struct {
	db     *models.DB
	keeper *Keeper
}

// NewReprojector returns a Reprojector.
func NewReprojector(db *models.DB, k *Keeper) *Reprojector { return &Reprojector{db: db, keeper: k} }

// Run recomputes, under the calendar now in force, the instants of every
// running request that are still ahead of now; it joins the transaction
// carried by ctx, so the calendar change and the new instants commit
// together.
func (p *Reprojector) Run(ctx context.Context, now time.Time) error {
	now = now.UTC()
	return p.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		rs, err := aheadOf(tx, now)
		if err != nil {
			return err
		}
		for i := range rs {
			r := &rs[i]
			if !p.keeper.Reproject(r, now) {
				continue
			}
			err := tx.Model(&models.Request{}).Where("id = ?", r.ID).
				Updates(map[string]any{"sla_due_at": r.SLA.DueAt, "sla_warn_at": r.SLA.WarnAt}).Error
			if err != nil {
				return fmt.Errorf("move due date of request %d: %w", r.ID, err)
			}
		}
		return nil
	})
}

// aheadOf finds the running requests with an instant still ahead of now:
// those a change of the calendar may move.
func aheadOf(tx *gorm.DB, now time.Time) ([]models.Request, error) {
	var rs []models.Request
	err := tx.Where("sla_running_since IS NOT NULL AND state IN ? AND (sla_due_at > ? OR sla_warn_at > ?)",
		[]workflow.State{workflow.Submitted, workflow.Approved}, now, now).Find(&rs).Error
	if err != nil {
		return nil, fmt.Errorf("find open requests: %w", err)
	}
	return rs, nil
}

// fixed is one calendar, whatever is in force.
type fixed struct{ cal *calendar.Calendar }

func (f fixed) Current() *calendar.Calendar { return f.cal }

// Moves counts the open requests whose due instant Run would move at now
// were cal in force instead of the calendar in force, and saves nothing:
// each due instant is projected under both calendars and the two compared.
func (p *Reprojector) Moves(ctx context.Context, now time.Time, cal *calendar.Calendar) (int, error) {
	now = now.UTC()
	rs, err := aheadOf(p.db.Conn(ctx), now)
	if err != nil {
		return 0, err
	}
	after := NewKeeper(fixed{cal}, p.keeper.settings)
	n := 0
	for _, r := range rs {
		before, moved := r, r
		p.keeper.Reproject(&before, now)
		after.Reproject(&moved, now)
		if !sameTime(before.SLA.DueAt, moved.SLA.DueAt) {
			n++
		}
	}
	return n, nil
}
