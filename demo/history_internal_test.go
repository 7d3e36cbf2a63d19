package demo

import (
	"testing"
	"time"

	"datashare/calendar"
)

// A request submitted workingDaysAgo(n) is n working days old, whatever
// the hour or day of now: at night, on a weekend, across public holidays.
func TestWorkingDaysAgo(t *testing.T) {
	sgt, err := time.LoadLocation("Asia/Singapore")
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.New(sgt, calendar.DefaultHours(), calendar.SingaporeHolidays())
	if err != nil {
		t.Fatal(err)
	}
	nows := []time.Time{
		time.Date(2026, 12, 2, 8, 19, 0, 0, sgt),  // before opening
		time.Date(2026, 12, 2, 13, 47, 0, 0, sgt), // working hours
		time.Date(2026, 12, 5, 23, 0, 0, 0, sgt),  // Saturday night
		time.Date(2026, 1, 2, 10, 0, 0, 0, sgt),   // after New Year's Day
		time.Date(2026, 2, 19, 9, 0, 0, 0, sgt),   // after Chinese New Year
	}
	for _, now := range nows {
		for _, n := range []float64{2, 6, 8, 9} {
			at := workingDaysAgo(cal, now, n)
			got := cal.WorkingDays(at, now)
			if got < n || got-n > 1e-4 || !at.Before(now) {
				t.Errorf("workingDaysAgo(%s, %v) = %s: %v working days before, want %v", now, n, at, got, n)
			}
		}
	}
}
