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
	from, to := r.start(q.From), r.start(q.To)

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
