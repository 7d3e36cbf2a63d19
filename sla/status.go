package sla

import (
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"datashare/models"
	"datashare/workflow"
)

// A condition is a test on the stored columns of a request at an instant,
// written once and read two ways: as SQL, to select among many requests,
// and in Go, for the request in hand. Both read a comparison with a missing
// instant as false, as SQL does with NULL, so the two cannot drift apart.
type condition struct {
	sql  string // with one ? per use of now
	nows int    // how many times now is bound
	test func(r *models.Request, now time.Time) bool
}

// where renders c for gorm's Where.
func (c condition) where(now time.Time) (string, []any) {
	args := make([]any, c.nows)
	for i := range args {
		args[i] = now.UTC() // SQLite compares instants as text, stored in UTC
	}
	return c.sql, args
}

// An instant is a nullable time column of requests.
type instant struct {
	column string
	of     func(r *models.Request) *time.Time
}

var (
	dueAt    = instant{"sla_due_at", func(r *models.Request) *time.Time { return r.SLA.DueAt }}
	warnAt   = instant{"sla_warn_at", func(r *models.Request) *time.Time { return r.SLA.WarnAt }}
	closedAt = instant{"closed_at", func(r *models.Request) *time.Time { return r.ClosedAt }}
	// submittedAt is the first submission.
	submittedAt = instant{"submitted_at", func(r *models.Request) *time.Time { return r.SubmittedAt }}
)

// instants names every instant a condition may read.
var instants = []instant{dueAt, warnAt, closedAt, submittedAt}

// inStates holds when the request is in one of states. The names are
// written into the SQL so that the planner can match partial indexes.
func inStates(states ...workflow.State) condition {
	quoted := make([]string, len(states))
	for i, s := range states {
		quoted[i] = "'" + string(s) + "'"
	}
	return condition{
		sql:  "state IN (" + strings.Join(quoted, ", ") + ")",
		test: func(r *models.Request, _ time.Time) bool { return slices.Contains(states, workflow.State(r.State)) },
	}
}

// notStarted holds until the first submission fixes the target.
var notStarted = condition{
	sql:  "sla_target IS NULL",
	test: func(r *models.Request, _ time.Time) bool { return r.SLA.Target == nil },
}

func missing(i instant) condition {
	return condition{
		sql:  i.column + " IS NULL",
		test: func(r *models.Request, _ time.Time) bool { return i.of(r) == nil },
	}
}

// reached holds once now is at or past the instant.
func reached(i instant) condition {
	return condition{
		sql: i.column + " <= ?", nows: 1,
		test: func(r *models.Request, now time.Time) bool { t := i.of(r); return t != nil && !now.Before(*t) },
	}
}

// ahead holds while the instant is later than now.
func ahead(i instant) condition {
	return condition{
		sql: i.column + " > ?", nows: 1,
		test: func(r *models.Request, now time.Time) bool { t := i.of(r); return t != nil && t.After(now) },
	}
}

// notLater holds when instant a is at or before instant b.
func notLater(a, b instant) condition {
	return condition{
		sql: a.column + " <= " + b.column,
		test: func(r *models.Request, _ time.Time) bool {
			x, y := a.of(r), b.of(r)
			return x != nil && y != nil && !x.After(*y)
		},
	}
}

// later holds when instant a is after instant b.
func later(a, b instant) condition {
	return condition{
		sql: a.column + " > " + b.column,
		test: func(r *models.Request, _ time.Time) bool {
			x, y := a.of(r), b.of(r)
			return x != nil && y != nil && x.After(*y)
		},
	}
}

func join(op string, cs []condition) condition {
	parts := make([]string, len(cs))
	n := 0
	for i, c := range cs {
		parts[i] = "(" + c.sql + ")"
		n += c.nows
	}
	return condition{sql: strings.Join(parts, " "+op+" "), nows: n}
}

func allOf(cs ...condition) condition {
	c := join("AND", cs)
	c.test = func(r *models.Request, now time.Time) bool {
		for _, x := range cs {
			if !x.test(r, now) {
				return false
			}
		}
		return true
	}
	return c
}

func anyOf(cs ...condition) condition {
	c := join("OR", cs)
	c.test = func(r *models.Request, now time.Time) bool {
		for _, x := range cs {
			if x.test(r, now) {
				return true
			}
		}
		return false
	}
	return c
}

// The states the clock reads, in workflow's names.
var (
	openStates     = []workflow.State{workflow.Submitted, workflow.ClarificationRequested, workflow.Approved}
	finishedStates = []workflow.State{workflow.Fulfilled, workflow.Rejected}
)

// OpenStates are the states in which a request is waiting on someone.
var OpenStates = names(openStates)

func names(states []workflow.State) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}

var (
	isOpen = inStates(openStates...)
	// closed_at is unset exactly while a request is open; saying so in the
	// statuses of open requests lets a list filtered by one read the
	// indexes of open requests (migration 0009).
	stillOpen  = allOf(isOpen, missing(closedAt))
	isFinished = inStates(finishedStates...)

	// Of an open request: past due; past the warning but not yet due; or
	// neither.
	overdue  = reached(dueAt)
	warned   = allOf(reached(warnAt), stillAhead(dueAt))
	underway = allOf(stillAhead(dueAt), stillAhead(warnAt))

	// Of a closed request: closed at or before the due instant.
	closedByDue = notLater(closedAt, dueAt)
	// The due instant held (or none was ever set), judged at the close.
	closedInTime = anyOf(missing(dueAt), closedByDue)
	// Still open, or closed after the due instant.
	lateOrOpen = anyOf(missing(closedAt), later(closedAt, dueAt))
)

// stillAhead holds while the instant is unset or later than now.
func stillAhead(i instant) condition { return anyOf(missing(i), ahead(i)) }

// statusRules is the SLA status rule of DESIGN.md, one condition per
// status; on a request the workflow can produce exactly one holds.
var statusRules = []struct {
	status string
	when   condition
}{
	{NotStarted, allOf(notStarted, inStates(workflow.Draft, workflow.Submitted, workflow.ClarificationRequested,
		workflow.Approved, workflow.Fulfilled, workflow.Rejected))},
	{OnTrack, allOf(stillOpen, underway)},
	{AtRisk, allOf(stillOpen, warned)},
	{Breached, allOf(stillOpen, overdue)},
	{Met, allOf(isFinished, closedInTime)},
	{Missed, allOf(inStates(workflow.Fulfilled, workflow.Rejected, workflow.Withdrawn), later(closedAt, dueAt))},
	{Excluded, allOf(inStates(workflow.Withdrawn), closedInTime)},
}

// The compliance outcomes of DESIGN.md, which the report counts: met when
// fulfilled or rejected at or before the due instant, counted at the close;
// missed when the due instant passed with the request not closed by then,
// counted at the due instant whatever happened later.
var (
	metInTime   = allOf(isFinished, closedByDue)
	missedAtDue = allOf(overdue, lateOrOpen)
)

// statusOf returns the first status whose condition holds for r at now.
func statusOf(r *models.Request, now time.Time) string {
	for _, s := range statusRules {
		if s.when.test(r, now) {
			return s.status
		}
	}
	return ""
}

// StatusScope narrows a query on requests to those whose SLA status at now
// is status, by the same rule as Keeper.Evaluate; it reports false for an
// unknown status.
func StatusScope(status string, now time.Time) (func(*gorm.DB) *gorm.DB, bool) {
	for _, s := range statusRules {
		if s.status == status {
			sql, args := s.when.where(now)
			return func(q *gorm.DB) *gorm.DB { return q.Where(sql, args...) }, true
		}
	}
	return nil, false
}

// passed is the condition of the scheduled check: open, and the column
// (sla_warn_at or sla_due_at) reached at now.
func passed(column string) condition {
	for _, i := range instants {
		if i.column == column {
			return allOf(isOpen, reached(i))
		}
	}
	panic("sla: no instant column " + column)
}
