package holidays_test

import (
	"errors"
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

func TestParseICSRefusesFilesPastItsBounds(t *testing.T) {
	sgt := time.FixedZone("SGT", 8*3600)
	tests := []struct {
		name string
		file string
		want string // in the message
	}{
		{"40,000 parameters on one line", ics(event("DTSTART"+strings.Repeat(";X=1", 40_000)+";VALUE=DATE:20270104", "SUMMARY:x")), "more than 16 parameters"},
		{"17 parameters", ics(event("DTSTART"+strings.Repeat(";X=1", 16)+";VALUE=DATE:20270104", "SUMMARY:x")), "more than 16 parameters"},
		{"parameters across folded lines", ics(event("DTSTART"+strings.Repeat(";X=1\r\n ", 17)+";VALUE=DATE:20270104", "SUMMARY:x")), "more than 16 parameters"},
		{"a long line", ics(event("DTSTART;VALUE=DATE:20270104", "SUMMARY:"+strings.Repeat("a", holidays.MaxICSLineBytes))), "longer than 8192 bytes"},
		{"a long folded line", ics(event("DTSTART;VALUE=DATE:20270104", "SUMMARY:"+strings.Repeat("a\r\n a", holidays.MaxICSLineBytes/2))), "longer than 8192 bytes"},
		{"too many lines", ics(event("DTSTART;VALUE=DATE:20270104", "SUMMARY:x"+strings.Repeat("\r\nX-A:1", holidays.MaxICSLines))), "more than 100000 lines"},
		{"too many events", ics(strings.Repeat("BEGIN:VEVENT\r\nEND:VEVENT\r\n", holidays.MaxICSEvents+1)), "more than 20000 events"},
		{"too large", ics(event("DTSTART;VALUE=DATE:20270104", "SUMMARY:x", strings.Repeat("X-A:"+strings.Repeat("b", 1000)+"\r\n", 1100))), "larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := holidays.ParseICS(strings.NewReader(tt.file), sgt)
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != errs.Invalid || e.Field != "file" || !strings.Contains(e.Message, tt.want) {
				t.Fatalf("got %v, want an invalid error of field file saying %q", err, tt.want)
			}
		})
	}
}

func TestParseICSTakesQuotedSemicolonsAndColons(t *testing.T) {
	file := ics(event(`DTSTART;X-NOTE="a;b;c;d;e;f;g;h;i;j;k;l;m;n;o;p;q:r";VALUE=DATE:20270104`, "SUMMARY:Quoted"))
	got, err := holidays.ParseICS(strings.NewReader(file), time.UTC)
	if err != nil || len(got) != 1 || got[0].Name != "Quoted" {
		t.Fatalf("got %v, %v; want one day named Quoted", got, err)
	}
}

func bytesReader(b []byte) *strings.Reader { return strings.NewReader(string(b)) }
