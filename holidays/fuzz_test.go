package holidays_test

import (
	"errors"
	"testing"
	"time"

	"datashare/errs"
	"datashare/holidays"
)

// FuzzParseICS feeds the iCalendar reader anything: it must answer days or
// an errs.Error naming the file, never panic, and hold to its bounds.
func FuzzParseICS(f *testing.F) {
	f.Add([]byte(ics(event("DTSTART;VALUE=DATE:20270104", "DTEND;VALUE=DATE:20270107", "SUMMARY:Move"))))
	f.Add([]byte(ics(event("DTSTART:20270104T200000Z", "DTEND:20270104T210000Z", "SUMMARY:Night works"))))
	f.Add([]byte(ics(event(`DTSTART;TZID="Asia/Singapore";VALUE=DATE:20270104`, "SUMMARY:Quoted\r\n  and folded"))))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;X=1;X=1;X=1:2027\r\nEND:VCALENDAR"))
	f.Add([]byte("not a calendar"))
	loc := time.FixedZone("SGT", 8*3600)
	f.Fuzz(func(t *testing.T, file []byte) {
		days, err := holidays.ParseICS(bytesReader(file), loc)
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) || e.Message == "" || (e.Code != errs.Invalid && e.Code != errs.Malformed) || (e.Code == errs.Invalid && e.Field != "file") {
				t.Fatalf("got error %#v, want an invalid error of field file", err)
			}
			return
		}
		if len(days) == 0 {
			t.Fatal("no error and no days")
		}
		if len(days) > holidays.MaxICSEvents*31 {
			t.Fatalf("got %d days, past %d events of 31 days", len(days), holidays.MaxICSEvents)
		}
		for _, d := range days {
			if d.Name == "" {
				t.Fatalf("day %s has no name", d.Date)
			}
		}
	})
}
