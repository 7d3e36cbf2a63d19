package calendar_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	// The tests load Asia/Singapore and America/New_York by name; embedding
	// the zone database makes them pass on machines without one.
	_ "time/tzdata"

	"datashare/calendar"
)

func mustLoad(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func mustCalendar(tb testing.TB, loc *time.Location, hours calendar.WeekHours, holidays []calendar.Holiday) *calendar.Calendar {
	tb.Helper()
	c, err := calendar.New(loc, hours, holidays)
	if err != nil {
		tb.Fatalf("new calendar: %v", err)
	}
	return c
}

func mustDate(tb testing.TB, s string) calendar.Date {
	tb.Helper()
	d, err := calendar.ParseDate(s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// mustAt reads "2006-01-02 15:04" or "2006-01-02 15:04:05" as local time in loc.
func mustAt(tb testing.TB, loc *time.Location, s string) time.Time {
	tb.Helper()
	layout := "2006-01-02 15:04"
	if strings.Count(s, ":") == 2 {
		layout = "2006-01-02 15:04:05"
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func mustHours(tb testing.TB, s string) calendar.WeekHours {
	tb.Helper()
	w, err := calendar.ParseHours(s)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

func closeTo(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// mustSingapore returns the production calendar: Singapore time, civil-service
// hours, the embedded public holidays.
func mustSingapore(tb testing.TB) (*calendar.Calendar, *time.Location) {
	tb.Helper()
	sg := mustLoad(tb, "Asia/Singapore")
	return mustCalendar(tb, sg, calendar.DefaultHours(), calendar.SingaporeHolidays()), sg
}

func TestWorkingDays(t *testing.T) {
	c, sg := mustSingapore(t)
	tests := []struct {
		name     string
		from, to string
		want     float64
	}{
		{"3.8 hours of a 9.5-hour Monday is 0.4", "2025-03-03 10:00", "2025-03-03 13:48", 0.4},
		{"to before from counts nothing", "2025-03-03 13:48", "2025-03-03 10:00", 0},
		{"to equal to from counts nothing", "2025-03-03 10:00", "2025-03-03 10:00", 0},
		{"whole short Friday counts one", "2025-03-07 08:30", "2025-03-07 17:30", 1},
		{"half a short Friday is 4.5 hours", "2025-03-07 08:30", "2025-03-07 13:00", 0.5},
		{"hours around the working day count nothing", "2025-03-03 00:00", "2025-03-04 00:00", 1},
		{"weekend counts nothing", "2025-03-07 17:30", "2025-03-10 08:30", 0},
		{"crossing a weekend adds Friday's and Monday's shares", "2025-03-07 13:00", "2025-03-10 13:00", 0.5 + 4.5/9.5},
		{"same time a week later is five days", "2025-03-03 10:00", "2025-03-10 10:00", 5},
		{"evening after hours counts nothing", "2025-03-03 18:00", "2025-03-03 20:00", 0},
		{"before opening counts nothing", "2025-03-03 06:00", "2025-03-03 08:30", 0},
		{"Chinese New Year 2025 counts nothing", "2025-01-28 18:00", "2025-01-31 08:30", 0},
		{"Chinese New Year week has three working days", "2025-01-27 00:00", "2025-02-01 00:00", 3},
		{"Deepavali in lieu Monday counts nothing", "2026-11-09 00:00", "2026-11-10 00:00", 0},
		{"Friday then Tuesday around Deepavali 2026", "2026-11-06 08:30", "2026-11-10 18:00", 2},
		{"2025 has 261 weekdays less 9 on holidays", "2025-01-01 00:00", "2026-01-01 00:00", 252},
		{"1900, before the table, counts by weekday", "1900-01-01 00:00", "1900-01-08 00:00", 5},
		{"2300, after the table, counts by weekday", "2300-01-01 12:00", "2300-01-08 12:00", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.WorkingDays(mustAt(t, sg, tt.from), mustAt(t, sg, tt.to))
			if !closeTo(got, tt.want, 1e-12) {
				t.Errorf("WorkingDays(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

func TestWorkingDaysOfWholeDaysIsAnInteger(t *testing.T) {
	c, sg := mustSingapore(t)
	from := mustAt(t, sg, "2025-03-03 10:17:23")
	for days := 1; days <= 400; days++ {
		to := from.AddDate(0, 0, days)
		// On a Friday the same clock time is a different share of the day.
		if !c.IsWorkingDay(calendar.DateOf(to, sg)) || to.Weekday() == time.Friday {
			continue
		}
		got := c.WorkingDays(from, to)
		if got != math.Trunc(got) {
			t.Fatalf("WorkingDays(%v, %v) = %v, want a whole number", from, to, got)
		}
	}
}

func TestDue(t *testing.T) {
	sg := mustLoad(t, "Asia/Singapore")
	plain := mustCalendar(t, sg, calendar.DefaultHours(), nil)
	withHolidays := mustCalendar(t, sg, calendar.DefaultHours(), calendar.SingaporeHolidays())
	tests := []struct {
		name  string
		c     *calendar.Calendar
		start string
		n     float64
		want  string
	}{
		{"Monday 10:00 plus 7 is Wednesday of the next week at 10:00", plain, "2025-03-03 10:00", 7, "2025-03-12 10:00"},
		{"Saturday plus 7 is the close of the Tuesday after next", plain, "2025-03-08 11:00", 7, "2025-03-18 18:00"},
		{"Friday 10:00 plus 1 carries 1/6 into Monday", plain, "2025-03-07 10:00", 1, "2025-03-10 10:05"},
		{"Friday 08:30 plus 0.5 is 13:00 on the short day", plain, "2025-03-07 08:30", 0.5, "2025-03-07 13:00"},
		{"Monday 10:00 plus 0.4 is 13:48", plain, "2025-03-03 10:00", 0.4, "2025-03-03 13:48"},
		{"opening plus one day is that day's close, not the next opening", plain, "2025-03-03 08:30", 1, "2025-03-03 18:00"},
		{"Friday opening plus one is Friday's close", plain, "2025-03-07 08:30", 1, "2025-03-07 17:30"},
		{"before opening counts from opening", plain, "2025-03-03 07:00", 0.4, "2025-03-03 12:18"},
		{"20:00 counts from the next opening", plain, "2025-03-03 20:00", 1, "2025-03-04 18:00"},
		{"20:00 plus half a day is 13:15 next day", plain, "2025-03-03 20:00", 0.5, "2025-03-04 13:15"},
		{"after Friday's close counts from Monday", plain, "2025-03-07 17:45", 0.5, "2025-03-10 13:15"},
		{"zero days returns start unchanged", plain, "2025-03-08 11:00", 0, "2025-03-08 11:00"},
		{"without holidays Chinese New Year week would be due Thursday", plain, "2025-01-28 10:00", 7, "2025-02-06 10:00"},
		{"Chinese New Year 2025 moves due to Monday 10 Feb", withHolidays, "2025-01-28 10:00", 7, "2025-02-10 10:00"},
		{"submitted on Chinese New Year starts on Friday's opening", withHolidays, "2025-01-29 11:00", 7, "2025-02-10 18:00"},
		{"Deepavali in lieu Monday moves due a day later", withHolidays, "2026-11-05 10:00", 7, "2026-11-17 10:00"},
		{"submitted on Deepavali Sunday starts on Tuesday", withHolidays, "2026-11-08 12:00", 1, "2026-11-10 18:00"},
		{"ending exactly at close before Good Friday stays on Thursday", withHolidays, "2025-04-17 13:15", 0.5, "2025-04-17 18:00"},
		{"past Thursday's close before Good Friday carries to Monday", withHolidays, "2025-04-17 13:15", 0.6, "2025-04-21 09:27"},
		{"2300, after the table, counts by weekday", withHolidays, "2300-01-01 10:00", 7, "2300-01-10 10:00"},
		{"1900, before the table, counts by weekday", withHolidays, "1900-01-01 10:00", 7, "1900-01-10 10:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := mustAt(t, sg, tt.start)
			got := tt.c.Due(start, tt.n)
			want := mustAt(t, sg, tt.want)
			if !got.Equal(want) {
				t.Errorf("Due(%s, %v) = %s, want %s", tt.start, tt.n, got.In(sg).Format(time.DateTime+".000000000"), tt.want)
			}
			if tt.n > 0 && got.Location() != time.UTC {
				t.Errorf("Due(%s, %v) is in %v, want UTC", tt.start, tt.n, got.Location())
			}
			if back := tt.c.WorkingDays(start, got); !closeTo(back, tt.n, 1e-9) {
				t.Errorf("WorkingDays(%s, Due) = %v, want %v", tt.start, back, tt.n)
			}
		})
	}
}

func TestDueIsOneWorkingDayLaterWithAClosure(t *testing.T) {
	sg := mustLoad(t, "Asia/Singapore")
	hols := calendar.SingaporeHolidays()
	before := mustCalendar(t, sg, calendar.DefaultHours(), hols)
	closure := calendar.Holiday{Date: mustDate(t, "2025-03-05"), Name: "Office move", Kind: calendar.Closure}
	after := mustCalendar(t, sg, calendar.DefaultHours(), append(hols, closure))

	start := mustAt(t, sg, "2025-03-03 10:00")
	if got, want := before.Due(start, 7), mustAt(t, sg, "2025-03-12 10:00"); !got.Equal(want) {
		t.Errorf("without closure: got %s, want %s", got.In(sg), want)
	}
	if got, want := after.Due(start, 7), mustAt(t, sg, "2025-03-13 10:00"); !got.Equal(want) {
		t.Errorf("with closure: got %s, want %s", got.In(sg), want)
	}
	if got := after.IsWorkingDay(closure.Date); got {
		t.Errorf("IsWorkingDay(%s) = true, want false", closure.Date)
	}
	if got, want := after.Holidays(), len(hols)+1; len(got) != want {
		t.Errorf("got %d holidays, want %d", len(got), want)
	}
}

func TestDuePanicsOnInvalidN(t *testing.T) {
	c, sg := mustSingapore(t)
	start := mustAt(t, sg, "2025-03-03 10:00")
	for _, n := range []float64{-1, -1e-9, math.NaN(), math.Inf(1), 2e6} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Due(start, %v) did not panic, want a panic", n)
				}
			}()
			c.Due(start, n)
		}()
	}
}

// A zone with daylight saving and a 24-hour working day makes the day's length
// change; each day must still be worth exactly one.
func TestDaylightSavingDaysAreStillWorthOne(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	c := mustCalendar(t, ny, mustHours(t, "mon-sun 00:00-24:00"), nil)
	tests := []struct {
		name      string
		start     string
		n         float64
		want      string
		wantWhole float64
	}{
		{"23-hour spring-forward day is worth one", "2025-03-09 00:00", 0.5, "2025-03-09 12:30", 1},
		{"25-hour fall-back day is worth one", "2025-11-02 00:00", 0.5, "2025-11-02 11:30", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := mustAt(t, ny, tt.start)
			if got := c.WorkingDays(start, start.AddDate(0, 0, 1)); got != tt.wantWhole {
				t.Errorf("WorkingDays over the day = %v, want %v", got, tt.wantWhole)
			}
			got := c.Due(start, tt.n)
			if want := mustAt(t, ny, tt.want); !got.Equal(want) {
				t.Errorf("Due(%s, %v) = %s, want %s", tt.start, tt.n, got.In(ny), want)
			}
		})
	}
}

func TestIsWorkingDay(t *testing.T) {
	c, _ := mustSingapore(t)
	tests := []struct {
		date string
		want bool
	}{
		{"2025-01-28", true},
		{"2025-01-29", false}, // Chinese New Year
		{"2025-01-31", true},
		{"2025-03-08", false}, // Saturday
		{"2025-03-09", false}, // Sunday
		{"2026-11-09", false}, // Deepavali in lieu
		{"2026-11-10", true},
		{"2300-01-01", true}, // Monday beyond the table
		{"2300-01-06", false},
	}
	for _, tt := range tests {
		if got := c.IsWorkingDay(mustDate(t, tt.date)); got != tt.want {
			t.Errorf("IsWorkingDay(%s) = %v, want %v", tt.date, got, tt.want)
		}
	}
	if got := c.IsWorkingDay(calendar.Date{Year: 2025, Month: time.February, Day: 30}); got {
		t.Errorf("IsWorkingDay(2025-02-30) = true, want false")
	}
}

func TestParseHours(t *testing.T) {
	def := calendar.DefaultHours()
	var everyDay calendar.WeekHours
	for d := range everyDay {
		everyDay[d] = calendar.Span{Start: 0, End: 24 * 60}
	}
	var monWed calendar.WeekHours
	monWed[time.Monday] = calendar.Span{Start: 9 * 60, End: 17 * 60}
	monWed[time.Wednesday] = monWed[time.Monday]
	var friToMon calendar.WeekHours
	for _, d := range []time.Weekday{time.Friday, time.Saturday, time.Sunday, time.Monday} {
		friToMon[d] = calendar.Span{Start: 10 * 60, End: 14 * 60}
	}
	good := []struct {
		name, in string
		want     calendar.WeekHours
	}{
		{"civil-service hours", "mon-thu 08:30-18:00; fri 08:30-17:30", def},
		{"case, spaces and a trailing semicolon are ignored", "  MON-Thu 08:30 - 18:00 ;Friday 8:30-17:30; ", def},
		{"comma list", "mon, wed 09:00-17:00", monWed},
		{"range wrapping past Sunday", "fri-mon 10:00-14:00", friToMon},
		{"midnight to midnight every day", "mon-sun 00:00-24:00", everyDay},
		{"empty means every day off", "", calendar.WeekHours{}},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			got, err := calendar.ParseHours(tt.in)
			if err != nil {
				t.Fatalf("ParseHours(%q): got error %v, want none", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseHours(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
	bad := []struct {
		name, in, wantInErr string
	}{
		{"missing time range", "mon-fri", "no time range"},
		{"missing days", "08:30-17:30", "no day"},
		{"unknown day", "funday 09:00-17:00", `unknown day "funday"`},
		{"unknown end of range", "mon-fry 09:00-17:00", `unknown day "fry"`},
		{"empty item in list", "mon,,wed 09:00-17:00", "empty day"},
		{"end before start", "mon 18:00-08:30", "end 08:30 is not after start 18:00"},
		{"end equal to start", "mon 09:00-09:00", "not after start"},
		{"single time", "mon 08:30", `time range "08:30"`},
		{"hour out of range", "mon 09:00-25:00", `time "25:00": no such time`},
		{"minute out of range", "mon 09:60-17:00", `time "09:60"`},
		{"24:00 as a start", "mon 24:00-24:00", `time "24:00": no such time`},
		{"hours without minutes", "mon 9-17", `time "9": want HH:MM`},
		{"day named twice", "mon-fri 09:00-17:00; fri 09:00-12:00", "fri is already given hours"},
		{"error names the clause", "mon 09:00-17:00; tue 9:00-8:00", `clause "tue 9:00-8:00"`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := calendar.ParseHours(tt.in)
			if err == nil {
				t.Fatalf("ParseHours(%q): got no error, want one containing %q", tt.in, tt.wantInErr)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("ParseHours(%q): got error %q, want it to contain %q", tt.in, err, tt.wantInErr)
			}
		})
	}
}

func TestWeekHoursStringRoundTrips(t *testing.T) {
	if got, want := calendar.DefaultHours().String(), "mon-thu 08:30-18:00; fri 08:30-17:30"; got != want {
		t.Errorf("DefaultHours().String() = %q, want %q", got, want)
	}
	for _, in := range []string{
		"mon-thu 08:30-18:00; fri 08:30-17:30",
		"mon,wed 09:00-17:00",
		"mon,wed-thu,sat 09:00-17:00; tue 10:00-11:00; sun 00:00-24:00",
		"fri-mon 10:00-14:00",
		"",
	} {
		w := mustHours(t, in)
		s := w.String()
		back, err := calendar.ParseHours(s)
		if err != nil {
			t.Errorf("ParseHours(%q) from %q: got error %v, want none", s, in, err)
			continue
		}
		if back != w {
			t.Errorf("ParseHours(%q.String()) = %v, want %v", in, back, w)
		}
	}
	if got, want := mustHours(t, "fri-mon 10:00-14:00").String(), "mon,fri-sun 10:00-14:00"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestParseDate(t *testing.T) {
	good := []struct {
		in   string
		want calendar.Date
	}{
		{"2025-01-29", calendar.Date{Year: 2025, Month: time.January, Day: 29}},
		{"2024-02-29", calendar.Date{Year: 2024, Month: time.February, Day: 29}},
		{"2000-02-29", calendar.Date{Year: 2000, Month: time.February, Day: 29}},
		{"0001-01-01", calendar.Date{Year: 1, Month: time.January, Day: 1}},
		{"9999-12-31", calendar.Date{Year: 9999, Month: time.December, Day: 31}},
	}
	for _, tt := range good {
		got, err := calendar.ParseDate(tt.in)
		if err != nil {
			t.Errorf("ParseDate(%q): got error %v, want none", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseDate(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("ParseDate(%q).String() = %q, want %q", tt.in, got.String(), tt.in)
		}
	}
	bad := []struct{ in, wantInErr string }{
		{"2025-02-29", "February 2025 has no day 29"},
		{"1900-02-29", "no day 29"},
		{"2025-04-31", "April 2025 has no day 31"},
		{"2025-01-00", "no day 0"},
		{"2025-13-01", "month 13"},
		{"2025-00-10", "month 00"},
		{"0000-01-01", "year"},
		{"2025-1-29", "want YYYY-MM-DD"},
		{"25-01-29", "want YYYY-MM-DD"},
		{"2025/01/29", "want YYYY-MM-DD"},
		{"+025-01-29", "want YYYY-MM-DD"},
		{"2025-01-2a", "want YYYY-MM-DD"},
		{"2025-01-29T00:00:00Z", "want YYYY-MM-DD"},
		{"", "want YYYY-MM-DD"},
	}
	for _, tt := range bad {
		_, err := calendar.ParseDate(tt.in)
		if err == nil {
			t.Errorf("ParseDate(%q): got no error, want one containing %q", tt.in, tt.wantInErr)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantInErr) {
			t.Errorf("ParseDate(%q): got error %q, want it to contain %q", tt.in, err, tt.wantInErr)
		}
	}
}

func TestDateTextRoundTrips(t *testing.T) {
	d := mustDate(t, "2026-11-09")
	b, err := d.MarshalText()
	if err != nil || string(b) != "2026-11-09" {
		t.Fatalf("MarshalText = %q, %v, want \"2026-11-09\", nil", b, err)
	}
	var back calendar.Date
	if err := back.UnmarshalText(b); err != nil || back != d {
		t.Errorf("UnmarshalText(%q) = %v, %v, want %v, nil", b, back, err, d)
	}
	if err := back.UnmarshalText([]byte("2026-02-30")); err == nil {
		t.Errorf("UnmarshalText(2026-02-30): got no error, want one")
	}
}

func TestDateOfUsesTheGivenZone(t *testing.T) {
	sg := mustLoad(t, "Asia/Singapore")
	instant := time.Date(2025, time.January, 28, 17, 0, 0, 0, time.UTC) // 01:00 on the 29th in Singapore
	if got, want := calendar.DateOf(instant, sg), mustDate(t, "2025-01-29"); got != want {
		t.Errorf("DateOf in Singapore = %v, want %v", got, want)
	}
	if got, want := calendar.DateOf(instant, nil), mustDate(t, "2025-01-28"); got != want {
		t.Errorf("DateOf with nil zone = %v, want %v", got, want)
	}
}

func TestDateWeekdayAndCompareAgreeWithTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	first := time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)
	span := time.Date(9999, time.December, 31, 0, 0, 0, 0, time.UTC).Sub(first) / (24 * time.Hour)
	var prev time.Time
	for i := 0; i < 20000; i++ {
		tm := first.AddDate(0, 0, rng.IntN(int(span)+1))
		d := calendar.DateOf(tm, time.UTC)
		if got, want := d.Weekday(), tm.Weekday(); got != want {
			t.Fatalf("%v.Weekday() = %v, want %v", d, got, want)
		}
		if i > 0 {
			if got, want := d.Compare(calendar.DateOf(prev, time.UTC)), tm.Compare(prev); got != want {
				t.Fatalf("%v.Compare(%v) = %d, want %d", d, calendar.DateOf(prev, time.UTC), got, want)
			}
		}
		prev = tm
	}
}

func TestSingaporeHolidays(t *testing.T) {
	raw, err := os.ReadFile("holidays_sg.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows := bytes.Count(bytes.TrimSpace(raw), []byte("\n")) // lines less the header
	hs := calendar.SingaporeHolidays()
	if len(hs) != rows {
		t.Errorf("got %d holidays, want %d (rows in holidays_sg.csv)", len(hs), rows)
	}
	byDate := map[string]calendar.Holiday{}
	for _, h := range hs {
		byDate[h.Date.String()] = h
		if h.Kind != calendar.PublicHoliday {
			t.Errorf("%s %q: got kind %q, want %q", h.Date, h.Name, h.Kind, calendar.PublicHoliday)
		}
	}
	for date, name := range map[string]string{
		"2025-01-29": "Chinese New Year",
		"2026-11-09": "Deepavali (in lieu)",
		"2025-05-03": "Polling Day (General Election)",
	} {
		if got := byDate[date].Name; got != name {
			t.Errorf("holiday on %s: got %q, want %q", date, got, name)
		}
	}
	if !slices.IsSortedFunc(hs, func(a, b calendar.Holiday) int { return a.Date.Compare(b.Date) }) {
		t.Errorf("holidays are not sorted by date")
	}
	hs[0].Name = "changed"
	if got := calendar.SingaporeHolidays()[0].Name; got == "changed" {
		t.Errorf("changing the returned slice changed the next call's result")
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	sg := mustLoad(t, "Asia/Singapore")
	def := calendar.DefaultHours()
	badSpan := def
	badSpan[time.Monday] = calendar.Span{Start: 600, End: 500}
	tests := []struct {
		name      string
		loc       *time.Location
		hours     calendar.WeekHours
		holidays  []calendar.Holiday
		wantInErr string
	}{
		{"nil zone", nil, def, nil, "time zone is nil"},
		{"no working day", sg, calendar.WeekHours{}, nil, "no working day"},
		{"end before start", sg, badSpan, nil, "mon: hours 10:00-08:20"},
		{"holiday on a date that does not exist", sg, def, []calendar.Holiday{{Date: calendar.Date{Year: 2025, Month: 2, Day: 29}, Name: "x", Kind: calendar.Closure}}, "2025-02-29 does not exist"},
		{"holiday of unknown kind", sg, def, []calendar.Holiday{{Date: calendar.Date{Year: 2025, Month: 2, Day: 3}, Name: "x", Kind: "party"}}, `kind "party"`},
		{"holiday with no kind", sg, def, []calendar.Holiday{{Date: calendar.Date{Year: 2025, Month: 2, Day: 3}, Name: "x"}}, `kind ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := calendar.New(tt.loc, tt.hours, tt.holidays)
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tt.wantInErr)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("got error %q, want it to contain %q", err, tt.wantInErr)
			}
		})
	}
}

func TestCalendarKeepsItsOwnCopies(t *testing.T) {
	sg := mustLoad(t, "Asia/Singapore")
	hols := []calendar.Holiday{
		{Date: mustDate(t, "2025-03-05"), Name: "later", Kind: calendar.Closure},
		{Date: mustDate(t, "2025-03-04"), Name: "earlier", Kind: calendar.Closure},
	}
	c := mustCalendar(t, sg, calendar.DefaultHours(), hols)
	hols[0].Date = mustDate(t, "2025-03-06")
	got := c.Holidays()
	if got[0].Name != "earlier" || got[1].Name != "later" || got[1].Date != mustDate(t, "2025-03-05") {
		t.Errorf("Holidays() = %v, want earlier 2025-03-04 then later 2025-03-05", got)
	}
	got[0].Name = "changed"
	if c.Holidays()[0].Name != "earlier" {
		t.Errorf("changing Holidays()'s result changed the calendar")
	}
	if c.Hours() != calendar.DefaultHours() {
		t.Errorf("Hours() = %v, want %v", c.Hours(), calendar.DefaultHours())
	}
	if c.Location() != sg {
		t.Errorf("Location() = %v, want %v", c.Location(), sg)
	}
	if !c.IsWorkingDay(mustDate(t, "2025-03-06")) {
		t.Errorf("IsWorkingDay(2025-03-06) = false after the caller's slice changed, want true")
	}
}

// reference is the obvious day-by-day implementation the fast one must agree
// with.
type reference struct {
	loc   *time.Location
	hours calendar.WeekHours
	off   map[calendar.Date]bool
}

func newReference(loc *time.Location, hours calendar.WeekHours, holidays []calendar.Holiday) reference {
	off := map[calendar.Date]bool{}
	for _, h := range holidays {
		off[h.Date] = true
	}
	return reference{loc: loc, hours: hours, off: off}
}

// day returns the working hours of d as instants, ok false on a day off.
func (r reference) day(d calendar.Date) (open, closing time.Time, ok bool) {
	s := r.hours[time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()]
	if s.IsZero() || r.off[d] {
		return time.Time{}, time.Time{}, false
	}
	open = time.Date(d.Year, d.Month, d.Day, s.Start/60, s.Start%60, 0, 0, r.loc)
	closing = time.Date(d.Year, d.Month, d.Day, s.End/60, s.End%60, 0, 0, r.loc)
	return open, closing, true
}

func nextDate(d calendar.Date) calendar.Date {
	return calendar.DateOf(time.Date(d.Year, d.Month, d.Day+1, 12, 0, 0, 0, time.UTC), time.UTC)
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (r reference) workingDays(from, to time.Time) float64 {
	total := 0.0
	last := calendar.DateOf(to, r.loc)
	for d := calendar.DateOf(from, r.loc); d.Compare(last) <= 0; d = nextDate(d) {
		open, closing, ok := r.day(d)
		if !ok {
			continue
		}
		lo := laterOf(from, open)
		hi := to
		if closing.Before(hi) {
			hi = closing
		}
		if hi.After(lo) {
			total += float64(hi.Sub(lo)) / float64(closing.Sub(open))
		}
	}
	return total
}

func (r reference) due(start time.Time, n float64) time.Time {
	remaining := n
	for d := calendar.DateOf(start, r.loc); ; d = nextDate(d) {
		open, closing, ok := r.day(d)
		if !ok {
			continue
		}
		lo := laterOf(start, open)
		if !lo.Before(closing) {
			continue
		}
		length := float64(closing.Sub(open))
		avail := float64(closing.Sub(lo)) / length
		if remaining <= avail+1e-12 {
			return lo.Add(time.Duration(remaining * length))
		}
		remaining -= avail
	}
}

func TestFastAgreesWithDayByDayReference(t *testing.T) {
	sg := mustLoad(t, "Asia/Singapore")
	ny := mustLoad(t, "America/New_York")
	closures := []calendar.Holiday{
		{Date: mustDate(t, "2024-12-24"), Name: "Christmas Eve", Kind: calendar.Closure},
		{Date: mustDate(t, "2026-03-04"), Name: "Office move", Kind: calendar.Closure},
		{Date: mustDate(t, "2200-12-30"), Name: "Table's last days", Kind: calendar.Closure},
	}
	setups := []struct {
		name     string
		loc      *time.Location
		hours    calendar.WeekHours
		holidays []calendar.Holiday
	}{
		{"Singapore", sg, calendar.DefaultHours(), append(calendar.SingaporeHolidays(), closures...)},
		{"odd hours with Saturdays", sg, mustHours(t, "mon,wed 09:00-12:00; sat 10:00-14:00; thu 13:00-24:00"), append(calendar.SingaporeHolidays(), closures...)},
		{"New York with daylight saving", ny, mustHours(t, "mon-fri 00:00-24:00; sun 01:00-03:30"), closures},
	}
	// Windows of years where starts are drawn: the holiday years, and the
	// edges of the precomputed table where arithmetic switches to weeks.
	windows := []struct{ from, to int }{{2018, 2028}, {1969, 1971}, {2200, 2202}}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			c := mustCalendar(t, s.loc, s.hours, s.holidays)
			ref := newReference(s.loc, s.hours, s.holidays)
			for i := 0; i < 3000; i++ {
				w := windows[i%len(windows)]
				day := time.Date(w.from+rng.IntN(w.to-w.from), time.January, 1+rng.IntN(365), 0, 0, 0, 0, s.loc)
				start := day.Add(time.Duration(rng.Int64N(int64(24 * time.Hour))))
				if i%5 == 0 { // exact minutes hit openings and closings
					start = day.Add(time.Duration(rng.IntN(24*60)) * time.Minute)
				}
				end := start.Add(time.Duration(rng.Int64N(int64(60 * 24 * time.Hour))))
				if got, want := c.WorkingDays(start, end), ref.workingDays(start, end); !closeTo(got, want, 1e-9) {
					t.Fatalf("WorkingDays(%v, %v) = %v, want %v", start, end, got, want)
				}

				n := rng.Float64() * 30
				if i%3 == 0 {
					n = math.Ceil(n)
				}
				due := c.Due(start, n)
				if want := ref.due(start, n); due.Sub(want).Abs() > time.Microsecond {
					t.Fatalf("Due(%v, %v) = %v, want %v", start, n, due.In(s.loc), want)
				}
				if back := c.WorkingDays(start, due); !closeTo(back, n, 1e-9) {
					t.Fatalf("WorkingDays(%v, Due(%v)) = %v, want %v", start, n, back, n)
				}
				if due.Before(start) {
					t.Fatalf("Due(%v, %v) = %v, before start", start, n, due)
				}
				more := n + rng.Float64()
				if later := c.Due(start, more); later.Before(due) {
					t.Fatalf("Due(%v, %v) = %v is before Due(.., %v) = %v, want monotone", start, more, later, n, due)
				}
				laterStart := start.Add(time.Duration(rng.Int64N(int64(72 * time.Hour))))
				if later := c.Due(laterStart, n); later.Before(due) {
					t.Fatalf("Due(%v, %v) = %v is before Due(%v, ..) = %v, want monotone", laterStart, n, later, start, due)
				}
			}
		})
	}
}

// Whole days from an opening must end exactly on a close: not a nanosecond
// after it, and not at the next opening.
func TestDueOfWholeDaysFromOpeningIsExactlyAClose(t *testing.T) {
	c, sg := mustSingapore(t)
	hours := c.Hours()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 2000; i++ {
		d := time.Date(2019+rng.IntN(9), time.January, 1+rng.IntN(365), 0, 0, 0, 0, sg)
		if !c.IsWorkingDay(calendar.DateOf(d, sg)) {
			continue
		}
		s := hours[d.Weekday()]
		start := d.Add(time.Duration(s.Start) * time.Minute)
		n := float64(1 + rng.IntN(60))
		due := c.Due(start, n).In(sg)
		end := hours[due.Weekday()].End
		if got := due.Hour()*60 + due.Minute(); got != end || due.Second() != 0 || due.Nanosecond() != 0 {
			t.Fatalf("Due(%v, %v) = %v, want a close at %02d:%02d:00.000000000", start, n, due, end/60, end%60)
		}
		if got := c.WorkingDays(start, due); got != n {
			t.Fatalf("WorkingDays(%v, %v) = %v, want exactly %v", start, due, got, n)
		}
	}
}

func TestWorkingDaysOverCenturiesMatchesReference(t *testing.T) {
	sg := mustLoad(t, "Asia/Singapore")
	hols := calendar.SingaporeHolidays()
	c := mustCalendar(t, sg, calendar.DefaultHours(), hols)
	ref := newReference(sg, calendar.DefaultHours(), hols)
	from := mustAt(t, sg, "1900-03-01 11:00")
	to := mustAt(t, sg, "2300-06-01 15:00")
	if got, want := c.WorkingDays(from, to), ref.workingDays(from, to); !closeTo(got, want, 1e-9) {
		t.Errorf("WorkingDays(%v, %v) = %v, want %v", from, to, got, want)
	}
}

func TestConcurrentUseIsSafe(t *testing.T) {
	c, sg := mustSingapore(t)
	start := mustAt(t, sg, "2025-01-28 10:00")
	want := c.Due(start, 7)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if got := c.Due(start, 7); !got.Equal(want) {
					t.Errorf("got %v, want %v", got, want)
					return
				}
				_ = c.WorkingDays(start, want)
				_ = c.Holidays()
			}
		})
	}
	wg.Wait()
}
