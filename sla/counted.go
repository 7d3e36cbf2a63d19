package sla

import (
	"context"
	"fmt"
	"time"
)

// Counted returns the ids, in order, of the requests behind the met and
// missed counts of q's window and agency scope as of now: the same
// conditions as Compute, listed rather than counted, so that a published
// figure can say which requests it is made of.
func (r *Reporter) Counted(ctx context.Context, q Query, now time.Time) (met, missed []int64, err error) {
	if err := q.Validate(); err != nil {
		return nil, nil, err
	}
	rq := &reportQuery{db: r.db.Conn(ctx), dialect: r.db.Dialect, agency: q.Agency, now: now.UTC()}
	from, to := q.From.Start(r.keeper.Calendar().Location()), q.To.Start(r.keeper.Calendar().Location())

	w := rq.scoped("closed_at", from, to, isFinished).cond(closedByDue, rq.now)
	if err := rq.db.Raw("SELECT id FROM requests WHERE "+w.String()+" ORDER BY id", w.args...).Scan(&met).Error; err != nil {
		return nil, nil, fmt.Errorf("report: requests met: %w", err)
	}
	w = rq.scoped("sla_due_at", from, to, missedAtDue)
	if err := rq.db.Raw("SELECT id FROM requests WHERE "+w.String()+" ORDER BY id", w.args...).Scan(&missed).Error; err != nil {
		return nil, nil, fmt.Errorf("report: requests missed: %w", err)
	}
	return met, missed, nil
}

// openAt holds for a request open at the instant now stands for: submitted
// by then and not yet closed. With the status rule's own conditions read at
// that instant, the open, at-risk and breached counts of a past instant come
// from the stored columns exactly, since an instant once passed never moves
// (see Keeper.Stamp and Keeper.Reproject).
var openAt = allOf(reached(submittedAt), stillAhead(closedAt))

// OpenAt counts the requests of agency's scope (all when empty) that were
// open, at risk and breached at the instant at.
func (r *Reporter) OpenAt(ctx context.Context, agency string, at time.Time) (Open, error) {
	rq := &reportQuery{db: r.db.Conn(ctx), dialect: r.db.Dialect, agency: agency, now: at.UTC()}
	w := (&where{}).cond(openAt, rq.now)
	if agency != "" {
		w.add("owner_agency = ? OR requesting_agency = ?", agency, agency)
	}
	atRisk, atRiskArgs := allOf(openAt, warned).where(rq.now)
	breached, breachedArgs := allOf(openAt, overdue).where(rq.now)
	sql := "SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN " + atRisk + " THEN 1 ELSE 0 END), 0) AS at_risk, " +
		"COALESCE(SUM(CASE WHEN " + breached + " THEN 1 ELSE 0 END), 0) AS breached FROM requests WHERE " + w.String()
	args := append(append(atRiskArgs, breachedArgs...), w.args...)
	var out Open
	if err := rq.db.Raw(sql, args...).Scan(&out).Error; err != nil {
		return Open{}, fmt.Errorf("report: open requests at %s: %w", at.UTC().Format(time.RFC3339), err)
	}
	return out, nil
}
