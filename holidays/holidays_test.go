package holidays_test

import (
	"strings"
	"testing"
	"time"

	"datashare/errs"
	"datashare/holidays"
)

func ics(events ...string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + strings.Join(events, "") + "END:VCALENDAR\r\n"
}

func event(lines ...string) string {
	return "BEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:20260101T000000Z\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VEVENT\r\n"
}

func TestParseICS(t *testing.T) {
	sgt, err := time.LoadLocation("Asia/Singapore")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		file    string
		want    []string // date name
		wantErr bool
	}{
		{"one all-day event", ics(event("DTSTART;VALUE=DATE:20270104", "SUMMARY:Stocktake")), []string{"2027-01-04 Stocktake"}, false},
		{"DTEND is exclusive", ics(event("DTSTART;VALUE=DATE:20270104", "DTEND;VALUE=DATE:20270107", "SUMMARY:Move")),
			[]string{"2027-01-04 Move", "2027-01-05 Move", "2027-01-06 Move"}, false},
		{"timed event counts on its Singapore day", ics(event("DTSTART:20270104T200000Z", "DTEND:20270104T210000Z", "SUMMARY:Night works")),
			[]string{"2027-01-05 Night works"}, false},
		{"two events", ics(event("DTSTART;VALUE=DATE:20270301", "SUMMARY:A"), event("DTSTART;VALUE=DATE:20270302", "SUMMARY:B")),
			[]string{"2027-03-01 A", "2027-03-02 B"}, false},
		{"no summary", ics(event("DTSTART;VALUE=DATE:20270104")), nil, true},
		{"no events", ics(), nil, true},
		{"not a calendar", "hello", nil, true},
		{"bad date", ics(event("DTSTART:yesterday", "SUMMARY:x")), nil, true},
		{"longer than a month", ics(event("DTSTART;VALUE=DATE:20270101", "DTEND;VALUE=DATE:20270301", "SUMMARY:x")), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := holidays.ParseICS(strings.NewReader(tt.file), sgt)
			if tt.wantErr {
				if !errs.Is(err, errs.Invalid) {
					t.Fatalf("got %v, %v; want an invalid error", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			var names []string
			for _, h := range got {
				names = append(names, h.Date.String()+" "+h.Name)
			}
			if strings.Join(names, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("got %v, want %v", names, tt.want)
			}
		})
	}
}
