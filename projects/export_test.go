package projects

import (
	"slices"
	"time"

	"datashare/calendar"
	"datashare/models"
	"datashare/sla"
)

// StoredAt is the row stored for a project whose requests have the
// histories hs, recounted at every step up to now, as the workflow does.
func StoredAt(hs []History, cal *calendar.Calendar, set sla.Settings, now time.Time) models.ProjectClock {
	var steps []time.Time
	for _, h := range hs {
		for _, s := range h.Steps {
			if !s.At.After(now) {
				steps = append(steps, s.At)
			}
		}
	}
	slices.SortFunc(steps, func(a, b time.Time) int { return a.Compare(b) })
	pc := models.ProjectClock{Status: sla.NotStarted}
	for _, at := range slices.Compact(steps) {
		var keep time.Time
		if pc.CountedAt != nil {
			keep = *pc.CountedAt
		}
		pc = store(Compute(hs, cal, set, at), pc, at, keep)
	}
	return pc
}

// StoredClockAt is the clock at now as a list reads it from the row
// StoredAt gives.
func StoredClockAt(hs []History, cal *calendar.Calendar, set sla.Settings, now time.Time) Clock {
	return clockOf(StoredAt(hs, cal, set, now), cal, set, now)
}

// StoredOnce is the row the workflow leaves after the last step of hs up to
// now: the same as StoredAt while the calendar does not change, at the
// cost of one count.
func StoredOnce(hs []History, cal *calendar.Calendar, set sla.Settings, now time.Time) models.ProjectClock {
	var last time.Time
	for _, h := range hs {
		for _, s := range h.Steps {
			if !s.At.After(now) && s.At.After(last) {
				last = s.At
			}
		}
	}
	return store(Compute(hs, cal, set, last), models.ProjectClock{Status: sla.NotStarted}, last, time.Time{})
}

// StoredStatus is storedStatus, for the report's oracle.
var StoredStatus = storedStatus
