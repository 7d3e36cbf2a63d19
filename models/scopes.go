package models

import (
	"time"

	"gorm.io/gorm"
)

// SLAStatusScope narrows a query on requests to those whose SLA status at
// now is status (one of sla.Statuses); it reports false for an unknown
// status. It reads the same columns, with the same comparisons, as
// sla.Keeper.Evaluate, so a list filtered by status agrees with the status
// each request shows.
func SLAStatusScope(status string, now time.Time) (func(*gorm.DB) *gorm.DB, bool) {
	// SQLite compares timestamps as text, stored in UTC.
	now = now.UTC()
	open := []string{"submitted", "clarification_requested", "approved"}
	stopped := []string{"fulfilled", "rejected"}
	var where func(*gorm.DB) *gorm.DB
	switch status {
	case "not_started":
		where = func(q *gorm.DB) *gorm.DB { return q.Where("sla_target IS NULL AND state <> ?", "withdrawn") }
	case "on_track":
		where = func(q *gorm.DB) *gorm.DB {
			return q.Where("state IN ? AND (sla_due_at IS NULL OR sla_due_at > ?) AND (sla_warn_at IS NULL OR sla_warn_at > ?)", open, now, now)
		}
	case "at_risk":
		where = func(q *gorm.DB) *gorm.DB {
			return q.Where("state IN ? AND sla_warn_at <= ? AND (sla_due_at IS NULL OR sla_due_at > ?)", open, now, now)
		}
	case "breached":
		where = func(q *gorm.DB) *gorm.DB { return q.Where("state IN ? AND sla_due_at <= ?", open, now) }
	case "met":
		where = func(q *gorm.DB) *gorm.DB {
			return q.Where("state IN ? AND (sla_due_at IS NULL OR closed_at <= sla_due_at)", stopped)
		}
	case "missed":
		where = func(q *gorm.DB) *gorm.DB {
			return q.Where("state IN ? AND closed_at > sla_due_at", append(stopped, "withdrawn"))
		}
	case "excluded":
		where = func(q *gorm.DB) *gorm.DB {
			return q.Where("state = ? AND (sla_due_at IS NULL OR closed_at <= sla_due_at)", "withdrawn")
		}
	default:
		return nil, false
	}
	return where, true
}
