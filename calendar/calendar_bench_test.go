package calendar_test

import (
	"testing"
	"time"

	"datashare/calendar"
)

var (
	sinkFloat float64
	sinkTime  time.Time
)

// A ten-year span is far beyond any SLA, so these show that the cost does not
// grow with the distance between the instants.
func BenchmarkWorkingDays10Years(b *testing.B) {
	c, sg := mustSingapore(b)
	from := mustAt(b, sg, "2019-03-04 10:17")
	to := mustAt(b, sg, "2029-03-05 15:42")
	for b.Loop() {
		sinkFloat = c.WorkingDays(from, to)
	}
}

func BenchmarkDue10Years(b *testing.B) {
	c, sg := mustSingapore(b)
	start := mustAt(b, sg, "2019-03-04 10:17")
	n := c.WorkingDays(start, mustAt(b, sg, "2029-03-05 15:42"))
	for b.Loop() {
		sinkTime = c.Due(start, n)
	}
}

func BenchmarkNew(b *testing.B) {
	sg := mustLoad(b, "Asia/Singapore")
	hols := calendar.SingaporeHolidays()
	for b.Loop() {
		if _, err := calendar.New(sg, calendar.DefaultHours(), hols); err != nil {
			b.Fatal(err)
		}
	}
}
