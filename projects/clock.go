package projects

import (
	"slices"
	"sort"
	"time"

	"datashare/calendar"
	"datashare/sla"
	"datashare/workflow"
)

// Partial is the project outcome that requests do not have: the clock
// stopped after the due instant and some of the data were refused or
// withdrawn after it. The other statuses are sla's.
const Partial = "partial"

// Statuses lists every status of a project's clock.
var Statuses = []string{sla.NotStarted, sla.OnTrack, sla.AtRisk, sla.Breached, sla.Met, sla.Missed, Partial, sla.Excluded}

// Step is one row of a request's history as the clock reads it: the state
// the request entered and when.
type Step struct {
	At time.Time
	To workflow.State
}

// History is the history of one request of a project, its steps in the
// order they happened.
type History struct {
	OwnerAgency string
	Steps       []Step
}

// Clock is a project's clock at an instant.
type Clock struct {
	Status  string
	Elapsed float64 // working days counted
	// DueAt is when the counted time reaches the target: fixed once
	// reached; otherwise projected from now (or from the stop) with the
	// working days that remain. Nil before the first submission.
	DueAt     *time.Time
	StartedAt *time.Time // the first submission of any request
	StoppedAt *time.Time // the last close, once every submitted request is closed and one was fulfilled
	WaitingOn []string   // owner agencies of the requests still open, sorted

	// ClosedAt is the last close once every submitted request is closed,
	// whether or not one was fulfilled; LastOwner is the owner agency of
	// the request that closed last then (the one the project waited on at
	// the end).
	ClosedAt  *time.Time
	LastOwner string
	// Running tells whether a request runs at now (submitted or approved):
	// the counted time grows. WarnAt is when the counted time reaches the
	// warning: fixed once reached, projected while running, nil otherwise.
	Running bool
	WarnAt  *time.Time
	// dueReached tells whether DueAt was reached rather than projected.
	dueReached bool
}

// span is a half-open interval [from, to); to is nil while it lasts.
type span struct {
	from time.Time
	to   *time.Time
}

// request is what the clock needs of one history.
type request struct {
	owner     string
	submitted bool
	open      bool
	closedAt  time.Time      // when it last closed, if it is closed
	final     workflow.State // its state at now
	running   []span         // submitted or approved
}

func readHistory(h History, now time.Time) request {
	r := request{owner: h.OwnerAgency, final: workflow.Draft}
	steps := slices.Clone(h.Steps)
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].At.Before(steps[j].At) })
	for _, s := range steps {
		if s.At.After(now) {
			break
		}
		if s.To == workflow.Submitted {
			r.submitted = true
		}
		if !r.submitted {
			continue
		}
		wasRunning := isRunning(r.final)
		r.final = s.To
		switch {
		case wasRunning && !isRunning(s.To):
			t := s.At
			r.running[len(r.running)-1].to = &t
		case !wasRunning && isRunning(s.To):
			r.running = append(r.running, span{from: s.At})
		}
		if s.To.Terminal() {
			r.closedAt = s.At
		}
	}
	r.open = r.submitted && !r.final.Terminal()
	return r
}

func isRunning(s workflow.State) bool { return s == workflow.Submitted || s == workflow.Approved }

// union merges the running spans of every request, cut at now, into
// disjoint spans in order: working time is counted once however many
// requests run at the same moment.
func union(rs []request, now time.Time) []span {
	var all []span
	for _, r := range rs {
		for _, s := range r.running {
			to := now
			if s.to != nil && s.to.Before(now) {
				to = *s.to
			}
			if to.After(s.from) {
				all = append(all, span{from: s.from, to: &to})
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].from.Before(all[j].from) })
	var out []span
	for _, s := range all {
		if n := len(out); n > 0 && !s.from.After(*out[n-1].to) {
			if s.to.After(*out[n-1].to) {
				out[n-1].to = s.to
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// Compute returns the clock at now of the project whose requests have the
// histories hs, counted on cal against the targets of s. It is the one home
// of the project rule, which the README states with an example:
//
//   - the clock starts at the first submission of any request;
//   - it counts the working time during which at least one request is open
//     and not paused for clarification;
//   - it stops when every submitted request is fulfilled, rejected or
//     withdrawn and at least one was fulfilled; a request submitted after
//     that reopens it, and the time in between counts nothing;
//   - met: stopped at or before the due instant; missed: the due instant
//     passed with the clock running or paused, whatever happens later;
//     partial: missed, and stopped with a request rejected or withdrawn
//     after the due instant; excluded: every submitted request closed,
//     none fulfilled, before the due instant (after it, the project stays
//     missed, as a request withdrawn late does);
//   - open: breached from the due instant, at_risk from s.Warn working
//     days, on_track before.
func Compute(hs []History, cal *calendar.Calendar, s sla.Settings, now time.Time) Clock {
	rs := make([]request, 0, len(hs))
	var c Clock
	for _, h := range hs {
		r := readHistory(h, now)
		if !r.submitted {
			continue
		}
		rs = append(rs, r)
		if first := r.running[0].from; c.StartedAt == nil || first.Before(*c.StartedAt) {
			c.StartedAt = &first
		}
	}
	if c.StartedAt == nil {
		c.Status = sla.NotStarted
		return c
	}
	fulfilled, lastClose := false, time.Time{}
	waiting := map[string]bool{}
	for _, r := range rs {
		if r.open {
			waiting[r.owner] = true
			c.Running = c.Running || isRunning(r.final)
			continue
		}
		fulfilled = fulfilled || r.final == workflow.Fulfilled
		if r.closedAt.After(lastClose) {
			lastClose, c.LastOwner = r.closedAt, r.owner
		}
	}
	for a := range waiting {
		c.WaitingOn = append(c.WaitingOn, a)
	}
	slices.Sort(c.WaitingOn)
	allClosed := len(waiting) == 0
	if allClosed {
		c.ClosedAt = &lastClose
		if fulfilled {
			c.StoppedAt = &lastClose
		}
	} else {
		c.LastOwner = ""
	}

	// Walk the counted spans until the target is reached.
	var reached, warned *time.Time
	for _, sp := range union(rs, now) {
		d := cal.WorkingDays(sp.from, *sp.to)
		reached = reachedIn(reached, cal, sp, c.Elapsed, d, s.Target)
		warned = reachedIn(warned, cal, sp, c.Elapsed, d, s.Warn)
		c.Elapsed += d
	}
	c.WarnAt = warned
	if warned == nil && c.Running {
		w := cal.Due(now, s.Warn-c.Elapsed)
		c.WarnAt = &w
	}
	if reached != nil {
		c.DueAt, c.dueReached = reached, true
	} else {
		from := now
		if allClosed {
			from = lastClose
		}
		due := cal.Due(from, s.Target-c.Elapsed)
		c.DueAt = &due
	}
	// Instants are kept to the microsecond, as the databases store them.
	c.DueAt, c.WarnAt = micro(c.DueAt), micro(c.WarnAt)
	late := reached != nil && (!allClosed || reached.Before(lastClose))

	switch {
	case !allClosed && late:
		c.Status = sla.Breached
	case !allClosed && c.Elapsed >= s.Warn:
		c.Status = sla.AtRisk
	case !allClosed:
		c.Status = sla.OnTrack
	case !late && !fulfilled:
		c.Status = sla.Excluded
	case !late:
		c.Status = sla.Met
	case fulfilled && refusedAfter(rs, *reached):
		c.Status = Partial
	default:
		c.Status = sla.Missed
	}
	return c
}

func micro(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	m := t.Truncate(time.Microsecond)
	return &m
}

// reachedIn returns when the counted time, elapsed before span sp, which
// counts d working days, reaches limit within sp; or reached, if set.
func reachedIn(reached *time.Time, cal *calendar.Calendar, sp span, elapsed, d, limit float64) *time.Time {
	if reached != nil || elapsed+d < limit {
		return reached
	}
	t := cal.Due(sp.from, limit-elapsed)
	if t.After(*sp.to) { // rounding at the span's end
		t = *sp.to
	}
	return &t
}

// refusedAfter reports whether a request was rejected or withdrawn after
// due.
func refusedAfter(rs []request, due time.Time) bool {
	for _, r := range rs {
		if (r.final == workflow.Rejected || r.final == workflow.Withdrawn) && r.closedAt.After(due) {
			return true
		}
	}
	return false
}
