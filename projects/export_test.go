package projects

import (
	"slices"
	"time"

	"datashare/calendar"
	"datashare/models"
	"datashare/sla"
)

// StoredClockAt is the clock at now as a list reads it from the stored row,
// the row recounted at every step of hs up to now, as the workflow does.
func StoredClockAt(hs []History, cal *calendar.Calendar, set sla.Settings, now time.Time) Clock {
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
		pc = store(Compute(hs, cal, set, at), pc, at)
	}
	return clockOf(pc, cal, set, now)
}
