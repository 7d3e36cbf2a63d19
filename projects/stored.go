package projects

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/calendar"
	"datashare/models"
	"datashare/sla"
	"datashare/workflow"
)

// Open is the stored status of a project whose clock runs or is paused;
// whether it is on track, at risk or breached depends on the instant it is
// read at (see storedStatus).
const Open = "open"

// store turns the clock c, computed at now, into the row kept for it. An
// instant of before (the row stored earlier) that had passed by keep stays
// as it was: its outcome is fixed, as a request's is, whatever the
// calendar says since.
func store(c Clock, before models.ProjectClock, now, keep time.Time) models.ProjectClock {
	pc := models.ProjectClock{
		StartedAt: c.StartedAt, ClosedAt: c.ClosedAt, StoppedAt: c.StoppedAt, Elapsed: c.Elapsed, WarnAt: c.WarnAt,
		WaitingOn:       strings.Join(c.WaitingOn, ","),
		AtRiskFlaggedAt: before.AtRiskFlaggedAt, BreachedFlaggedAt: before.BreachedFlaggedAt, CountedAt: &now,
	}
	switch {
	case c.StartedAt == nil:
		pc.Status = sla.NotStarted
	case c.ClosedAt == nil:
		pc.Status = Open
	default:
		pc.Status = c.Status
	}
	if c.LastOwner != "" {
		pc.LastOwner = &c.LastOwner
	}
	if c.Running && c.ClosedAt == nil {
		pc.RunningSince = &now
	}
	if c.dueReached || pc.RunningSince != nil {
		pc.DueAt = c.DueAt
	}
	if passed(before.DueAt, keep) {
		pc.DueAt = before.DueAt
	}
	if passed(before.WarnAt, keep) {
		pc.WarnAt = before.WarnAt
	}
	// Stored in UTC, as every instant is: SQLite compares them as text.
	for _, t := range []**time.Time{&pc.StartedAt, &pc.ClosedAt, &pc.StoppedAt, &pc.RunningSince, &pc.DueAt, &pc.WarnAt, &pc.CountedAt} {
		if *t != nil {
			*t = ptr((*t).UTC())
		}
	}
	return pc
}

func passed(t *time.Time, now time.Time) bool { return t != nil && !t.After(now) }

// storedStatus is the status at now of a project whose stored clock is pc:
// the outcome once closed; while open, breached from the due instant,
// at_risk from the warning, on_track before. It agrees with Compute over
// the same histories (TestStoredClockAgreesWithCompute).
func storedStatus(pc models.ProjectClock, now time.Time) string {
	switch {
	case pc.Status != Open:
		return pc.Status
	case passed(pc.DueAt, now):
		return sla.Breached
	case passed(pc.WarnAt, now):
		return sla.AtRisk
	}
	return sla.OnTrack
}

// clockOf is the clock at now read from the stored row: what a list shows
// without reading a history.
func clockOf(pc models.ProjectClock, cal *calendar.Calendar, set sla.Settings, now time.Time) Clock {
	c := Clock{Status: storedStatus(pc, now), Elapsed: pc.Elapsed, StartedAt: pc.StartedAt, ClosedAt: pc.ClosedAt, StoppedAt: pc.StoppedAt,
		DueAt: pc.DueAt, WarnAt: pc.WarnAt, Running: pc.RunningSince != nil, WaitingOn: []string{}}
	if pc.WaitingOn != "" {
		c.WaitingOn = strings.Split(pc.WaitingOn, ",")
	}
	if pc.LastOwner != nil {
		c.LastOwner = *pc.LastOwner
	}
	if pc.RunningSince != nil && now.After(*pc.RunningSince) {
		c.Elapsed += cal.WorkingDays(*pc.RunningSince, now)
	}
	if c.DueAt == nil && c.StartedAt != nil {
		// Paused before due: projected from now, as Compute does.
		from := now
		if pc.ClosedAt != nil {
			from = *pc.ClosedAt
		}
		c.DueAt = micro(ptr(cal.Due(from, max(0, set.Target-c.Elapsed))))
	}
	return c
}

// Recount recomputes and stores the clock of project code from its
// requests' histories, inside tx, the transaction that wrote one of its
// requests' transitions (workflow calls it). On PostgreSQL it holds the
// project's row first, so that two transitions of its requests at once
// count one after the other and the later sees the earlier.
func (s *Service) Recount(tx *gorm.DB, code string) error {
	return s.recount(tx, code, time.Time{})
}

// recount counts the clock of project code. After a transition (now is
// zero) it counts at the project's last step, which is the transition's
// time, or later when a request's past is replayed before another's: the
// row holds until the next step whatever the hour. An instant that had
// passed when the row was last counted stays. After a change of the
// calendar it counts at now, keeping the instants passed by now.
func (s *Service) recount(tx *gorm.DB, code string, now time.Time) error {
	var p models.Project
	q := tx
	if s.db.Dialect == models.Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	if err := q.Take(&p, "code = ?", code).Error; err != nil {
		return fmt.Errorf("lock project %s: %w", code, err)
	}
	hs, err := histories(tx, []string{code})
	if err != nil {
		return err
	}
	at, keep := now, now
	if now.IsZero() {
		at, keep = lastStep(hs[code], s.now()), time.Time{}
		if p.Clock.CountedAt != nil {
			keep = *p.Clock.CountedAt
		}
	}
	c := Compute(hs[code], s.keeper.Calendar(), s.keeper.Settings(), at)
	pc := store(c, p.Clock, at, keep)
	err = tx.Model(&models.Project{}).Where("code = ?", code).Updates(map[string]any{
		"sla_status": pc.Status, "sla_started_at": pc.StartedAt, "sla_closed_at": pc.ClosedAt, "sla_stopped_at": pc.StoppedAt,
		"sla_running_since": pc.RunningSince, "sla_elapsed": pc.Elapsed, "sla_due_at": pc.DueAt, "sla_warn_at": pc.WarnAt,
		"sla_last_owner": pc.LastOwner, "sla_waiting_on": pc.WaitingOn, "sla_counted_at": pc.CountedAt,
	}).Error
	if err != nil {
		return fmt.Errorf("store the clock of project %s: %w", code, err)
	}
	return nil
}

// lastStep is the time of the latest step of hs, or otherwise if none.
func lastStep(hs []History, otherwise time.Time) time.Time {
	var last time.Time
	for _, h := range hs {
		for _, st := range h.Steps {
			if st.At.After(last) {
				last = st.At
			}
		}
	}
	if last.IsZero() {
		return otherwise
	}
	return last
}

// histories reads the histories of the requests of the projects codes,
// by project code.
func histories(tx *gorm.DB, codes []string) (map[string][]History, error) {
	var rs []models.Request
	if err := tx.Select("id", "project_code", "owner_agency").Where("project_code IN ?", codes).Order("id").Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("load requests of projects: %w", err)
	}
	return historiesOf(tx, rs)
}

// historiesOf reads the histories of the requests rs of projects, by
// project code.
func historiesOf(tx *gorm.DB, rs []models.Request) (map[string][]History, error) {
	ids := make([]int64, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	steps := map[int64][]Step{}
	for chunk := range slices.Chunk(ids, 5000) {
		var ts []models.Transition
		if err := tx.Select("request_id", "to_state", "at").Where("request_id IN ?", chunk).Order("at, id").Find(&ts).Error; err != nil {
			return nil, fmt.Errorf("load histories of projects: %w", err)
		}
		for _, t := range ts {
			steps[t.RequestID] = append(steps[t.RequestID], Step{At: t.At, To: workflow.State(t.ToState)})
		}
	}
	out := map[string][]History{}
	for _, r := range rs {
		out[*r.ProjectCode] = append(out[*r.ProjectCode], History{OwnerAgency: r.OwnerAgency, Steps: steps[r.ID]})
	}
	return out, nil
}

// Reproject recounts, under the calendar now in force, every project whose
// clock is open, in the transaction carried by ctx: a change of the
// calendar moves a project's due instant as it moves its requests'.
func (s *Service) Reproject(ctx context.Context, now time.Time) error {
	return s.recountWhere(ctx, now.UTC(), "sla_started_at IS NOT NULL AND sla_closed_at IS NULL")
}

// Backfill counts the clock of every project never counted (those made
// before migration 0018); it is run at each start and does nothing once
// every project has been counted.
func (s *Service) Backfill(ctx context.Context) (int, error) {
	var n int64
	if err := s.db.Conn(ctx).Model(&models.Project{}).Where("sla_counted_at IS NULL").Count(&n).Error; err != nil {
		return 0, fmt.Errorf("find projects to count: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	return int(n), s.recountWhere(ctx, time.Time{}, "sla_counted_at IS NULL")
}

func (s *Service) recountWhere(ctx context.Context, now time.Time, where string) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		var codes []string
		if err := tx.Model(&models.Project{}).Where(where).Order("code").Pluck("code", &codes).Error; err != nil {
			return fmt.Errorf("find projects to recount: %w", err)
		}
		for _, code := range codes {
			if err := s.recount(tx, code, now); err != nil {
				return err
			}
		}
		return nil
	})
}

func ptr(t time.Time) *time.Time { return &t }
