package calendar

import (
	"strings"
	"testing"
)

// FuzzParseHours: the working-hours setting never panics; it is refused
// with an error naming what could not be read, or read as a week that
// writes back (String) as text reading as the same week.
func FuzzParseHours(f *testing.F) {
	for _, s := range []string{
		"mon-thu 08:30-18:00; fri 08:30-17:30", "mon,wed 09:00-17:00; fri-sun 10:00-14:00", "fri-mon 00:00-24:00",
		"Monday 9:00 - 17:00", "mon 09:00-09:00", "mon 24:00-24:00", "mon 08:30-18:00; mon 09:00-10:00", "", ";;",
		"mon", "08:30-18:00", "xyz 08:30-18:00", "mon-thu 8:30-18", "mon 99:99-100:00", "mon, 09:00-17:00", "mon-\x00 09:00-17:00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseHours(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "parse working hours: ") {
				t.Fatalf("ParseHours(%q): error %q does not say what it read", s, err)
			}
			return
		}
		_ = w.Validate()
		back, err := ParseHours(w.String())
		if err != nil || back != w {
			t.Fatalf("ParseHours(%q) = %v; written %q reads back as %v, %v", s, w, w.String(), back, err)
		}
	})
}
