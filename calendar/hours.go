package calendar

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// minutesPerDay is also the largest End a Span may have, so that a day can
// run to midnight ("24:00").
const minutesPerDay = 24 * 60

// Span is the working hours of one weekday in minutes since local midnight,
// End exclusive. The zero Span means the weekday is not a working day, which
// keeps "off" from needing a separate flag that could disagree with the
// times.
type Span struct {
	Start, End int
}

// IsZero reports whether s is the zero Span, a day off.
func (s Span) IsZero() bool { return s == Span{} }

// String formats s as HH:MM-HH:MM, or "off" for the zero Span.
func (s Span) String() string {
	if s.IsZero() {
		return "off"
	}
	return clock(s.Start) + "-" + clock(s.End)
}

func (s Span) validate() error {
	if s.IsZero() {
		return nil
	}
	if s.Start < 0 || s.End > minutesPerDay || s.Start >= s.End {
		return fmt.Errorf("hours %s: want 00:00 <= start < end <= 24:00", s)
	}
	return nil
}

// WeekHours holds the working hours of each day of the week, indexed by
// time.Weekday.
type WeekHours [7]Span

// DefaultHours returns the civil-service hours: Monday to Thursday
// 08:30–18:00, Friday 08:30–17:30, weekends off.
func DefaultHours() WeekHours {
	var w WeekHours
	for d := time.Monday; d <= time.Thursday; d++ {
		w[d] = Span{Start: 8*60 + 30, End: 18 * 60}
	}
	w[time.Friday] = Span{Start: 8*60 + 30, End: 17*60 + 30}
	return w
}

// Validate returns an error if a span is malformed or no day of the week is
// a working day; without one, no amount of working time could ever elapse.
func (w WeekHours) Validate() error {
	working := false
	for d, s := range w {
		if err := s.validate(); err != nil {
			return fmt.Errorf("%s: %w", dayNames[d], err)
		}
		working = working || !s.IsZero()
	}
	if !working {
		return errors.New("no working day in the week")
	}
	return nil
}

// workingDays counts the working days in one week.
func (w WeekHours) workingDays() int {
	n := 0
	for _, s := range w {
		if !s.IsZero() {
			n++
		}
	}
	return n
}

// dayNames are the names String writes, indexed by time.Weekday.
var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

var dayByName = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday,
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tues": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thur": time.Thursday, "thurs": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

// ParseHours reads working hours written as clauses separated by ";", each a
// set of days followed by a time range, for example
//
//	mon-thu 08:30-18:00; fri 08:30-17:30
//	mon,wed 09:00-17:00; fri-sun 10:00-14:00
//
// Days are three-letter or full English names, case-insensitive, given singly,
// as comma lists or as ranges (a range may wrap past Sunday, as in fri-mon).
// Times are HH:MM on a 24-hour clock; the end may be 24:00 and must be after
// the start. Days not named are off, so the empty string yields a week with no
// working day, which Validate and New reject. The error names the clause and
// the part of it that could not be read, and a day named twice is an error.
func ParseHours(s string) (WeekHours, error) {
	var w WeekHours
	var named [7]bool
	for _, clause := range strings.Split(s, ";") {
		clause = strings.TrimSpace(clause)
		if clause == "" {
			continue
		}
		days, span, err := parseClause(clause)
		if err != nil {
			return WeekHours{}, fmt.Errorf("parse working hours: clause %q: %w", clause, err)
		}
		for _, d := range days {
			if named[d] {
				return WeekHours{}, fmt.Errorf("parse working hours: clause %q: %s is already given hours in an earlier clause", clause, dayNames[d])
			}
			named[d] = true
			w[d] = span
		}
	}
	return w, nil
}

func parseClause(clause string) ([]time.Weekday, Span, error) {
	// Day names hold no digits, so the first digit starts the time range;
	// that lets either side carry spaces ("mon, wed 09:00 - 17:00").
	i := strings.IndexAny(clause, "0123456789")
	if i < 0 {
		return nil, Span{}, errors.New(`no time range, want e.g. "mon-fri 08:30-17:30"`)
	}
	daysPart, timesPart := strings.TrimSpace(clause[:i]), clause[i:]
	if daysPart == "" {
		return nil, Span{}, errors.New(`no day before the time range, want e.g. "mon-fri 08:30-17:30"`)
	}
	days, err := parseDays(daysPart)
	if err != nil {
		return nil, Span{}, err
	}
	span, err := parseSpan(strings.Join(strings.Fields(timesPart), ""))
	if err != nil {
		return nil, Span{}, err
	}
	return days, span, nil
}

func parseDays(s string) ([]time.Weekday, error) {
	var days []time.Weekday
	for _, item := range strings.Split(s, ",") {
		item = strings.ToLower(strings.Join(strings.Fields(item), ""))
		if item == "" {
			return nil, fmt.Errorf("empty day in %q", s)
		}
		from, to, isRange := strings.Cut(item, "-")
		first, ok := dayByName[from]
		if !ok {
			return nil, fmt.Errorf("unknown day %q, want one of mon tue wed thu fri sat sun", from)
		}
		if !isRange {
			days = append(days, first)
			continue
		}
		last, ok := dayByName[to]
		if !ok {
			return nil, fmt.Errorf("unknown day %q in range %q, want one of mon tue wed thu fri sat sun", to, item)
		}
		for d := first; ; d = (d + 1) % 7 {
			days = append(days, d)
			if d == last {
				break
			}
		}
	}
	return days, nil
}

func parseSpan(s string) (Span, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return Span{}, fmt.Errorf("time range %q: want HH:MM-HH:MM", s)
	}
	start, err := parseClock(from, false)
	if err != nil {
		return Span{}, err
	}
	end, err := parseClock(to, true)
	if err != nil {
		return Span{}, err
	}
	if end <= start {
		return Span{}, fmt.Errorf("time range %q: end %s is not after start %s", s, to, from)
	}
	return Span{Start: start, End: end}, nil
}

// parseClock reads H:MM or HH:MM; 24:00 only as an end, since a working day
// may run to midnight but cannot start at the end of the day.
func parseClock(s string, isEnd bool) (int, error) {
	hh, mm, ok := strings.Cut(s, ":")
	h, okH := atoi(hh)
	m, okM := atoi(mm)
	if !ok || !okH || !okM || len(hh) > 2 || len(mm) != 2 {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	if m > 59 || h > 24 || (h == 24 && (m != 0 || !isEnd)) {
		return 0, fmt.Errorf("time %q: no such time of day", s)
	}
	return h*60 + m, nil
}

func clock(minutes int) string {
	return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60)
}

// String writes w in the form ParseHours reads, weeks starting on Monday:
// consecutive days with the same hours become a range and days sharing hours
// share a clause, as in "mon-thu 08:30-18:00; fri 08:30-17:30". A valid
// WeekHours round-trips through ParseHours.
func (w WeekHours) String() string {
	order := [7]time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
	var done [7]bool
	var clauses []string
	for i, d := range order {
		if done[i] || w[d].IsZero() {
			continue
		}
		span := w[d]
		var runs []string
		for j := i; j < len(order); j++ {
			if w[order[j]] != span {
				continue
			}
			k := j
			for k+1 < len(order) && w[order[k+1]] == span {
				k++
			}
			for x := j; x <= k; x++ {
				done[x] = true
			}
			run := dayNames[order[j]]
			if k > j {
				run += "-" + dayNames[order[k]]
			}
			runs = append(runs, run)
			j = k
		}
		clauses = append(clauses, strings.Join(runs, ",")+" "+span.String())
	}
	return strings.Join(clauses, "; ")
}
