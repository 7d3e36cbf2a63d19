package calendar

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// The table always spans these years, whatever holidays are given, so that
// any plausible SLA date is answered from it; holidays outside widen it.
var (
	tableFirst = Date{Year: 1970, Month: time.January, Day: 1}.dayNumber()
	tableEnd   = Date{Year: 2201, Month: time.January, Day: 1}.dayNumber()
)

// maxDue bounds Due's n so that day numbers and civil years stay far from
// overflow; a million working days is some four thousand years.
const maxDue = 1e6

// Calendar answers working-time questions for one time zone, one set of
// working hours and one list of days off. It is immutable once built and safe
// for concurrent use.
type Calendar struct {
	loc      *time.Location
	hours    WeekHours
	holidays []Holiday
	perWeek  int // working days in a week without holidays

	// first is the day number of the table's first date; prefix[i] is the
	// number of working days in [first, first+i), so len(prefix) is one more
	// than the number of dates covered. int32 keeps a 230-year table near
	// 340 KB.
	first  int
	prefix []int32
}

// New builds a calendar for loc with the given weekly hours and days off. It
// returns an error if loc is nil, if the hours are malformed or give no
// working day in the week, or if a holiday has an invalid date or an unknown
// kind. The holidays are copied; a date may appear more than once (a closure
// on a public holiday changes nothing).
func New(loc *time.Location, hours WeekHours, holidays []Holiday) (*Calendar, error) {
	if loc == nil {
		return nil, errors.New("new calendar: time zone is nil")
	}
	if err := hours.Validate(); err != nil {
		return nil, fmt.Errorf("new calendar: working hours: %w", err)
	}
	hs := slices.Clone(holidays)
	first, end := tableFirst, tableEnd
	for _, h := range hs {
		if !h.Date.valid() {
			return nil, fmt.Errorf("new calendar: holiday %q: date %s does not exist", h.Name, h.Date)
		}
		if h.Kind != PublicHoliday && h.Kind != Closure {
			return nil, fmt.Errorf("new calendar: holiday %q on %s: kind %q, want %q or %q", h.Name, h.Date, h.Kind, PublicHoliday, Closure)
		}
		n := h.Date.dayNumber()
		first, end = min(first, n), max(end, n+1)
	}
	slices.SortStableFunc(hs, func(a, b Holiday) int { return a.Date.Compare(b.Date) })

	off := make([]bool, end-first)
	for _, h := range hs {
		off[h.Date.dayNumber()-first] = true
	}
	prefix := make([]int32, end-first+1)
	for i := range off {
		prefix[i+1] = prefix[i]
		if !off[i] && !hours[weekdayOf(first+i)].IsZero() {
			prefix[i+1]++
		}
	}
	return &Calendar{
		loc:      loc,
		hours:    hours,
		holidays: hs,
		perWeek:  hours.workingDays(),
		first:    first,
		prefix:   prefix,
	}, nil
}

// Location returns the time zone in which days begin and end.
func (c *Calendar) Location() *time.Location { return c.loc }

// Hours returns the weekly working hours.
func (c *Calendar) Hours() WeekHours { return c.hours }

// Holidays returns a copy of the days off, sorted by date.
func (c *Calendar) Holidays() []Holiday { return slices.Clone(c.holidays) }

// IsWorkingDay reports whether d has working hours and is not a day off. It
// returns false for a date that does not exist.
func (c *Calendar) IsWorkingDay(d Date) bool {
	return d.valid() && c.working(d.dayNumber())
}

// WorkingDays returns the working time between from and to in fractional
// working days: each working day contributes the share of its working hours
// that falls between the two instants. It returns 0 if to is not after from.
func (c *Calendar) WorkingDays(from, to time.Time) float64 {
	if !to.After(from) {
		return 0
	}
	nf, ff := c.position(from)
	nt, ft := c.position(to)
	if nf == nt {
		return ft - ff
	}
	// Whole days first, fractions second: when both instants sit at the same
	// time of day the fractions cancel exactly and the result is an integer,
	// not 6.9999999.
	return float64(c.before(nt)-c.before(nf)) + (ft - ff)
}

// Due returns the earliest instant at which n working days of working time
// have elapsed since start, in UTC. When the total lands exactly at the end of
// a working day, that is the day's close, not the next opening. Due(start, 0)
// returns start unchanged. Due panics if n is negative, NaN or above one
// million, which no SLA target can be.
func (c *Calendar) Due(start time.Time, n float64) time.Time {
	if n == 0 {
		return start
	}
	if !(n > 0 && n <= maxDue) {
		panic(fmt.Sprintf("calendar: Due with n = %v, want 0 <= n <= %v", n, maxDue))
	}
	// Splitting n keeps the fraction exact, so the sum below carries the
	// rounding error of one addition of numbers below 2, not of a large n.
	whole, part := math.Modf(n)
	day, f := c.position(start)
	k := c.before(day) + int(whole)
	s := part + f
	if s >= 1 {
		k++
		s--
	}
	// The answer lies s of the way through the working day with index k
	// (counting working days, not dates).
	target := c.nth(k)
	open, closing := c.span(target)
	length := closing.Sub(open)
	offset := min(time.Duration(math.Round(s*float64(length))), length)
	var due time.Time
	if offset <= 0 {
		// No working time passes between the previous close and this
		// opening, so the earliest instant is that close.
		_, due = c.span(c.nth(k - 1))
	} else {
		due = open.Add(offset)
	}
	if due.Before(start) {
		// Only when n is so small that it rounds to no time at all.
		due = start
	}
	return due.UTC()
}

// position locates t as its day number and the fraction of that day's working
// hours elapsed by t: 0 before opening and on days off, 1 after closing.
func (c *Calendar) position(t time.Time) (day int, frac float64) {
	day = DateOf(t, c.loc).dayNumber()
	if !c.working(day) {
		return day, 0
	}
	open, closing := c.span(day)
	switch {
	case !t.After(open):
		return day, 0
	case !t.Before(closing):
		return day, 1
	default:
		return day, float64(t.Sub(open)) / float64(closing.Sub(open))
	}
}

// span returns the opening and closing instants of a day. Building them with
// time.Date from the civil time, rather than adding minutes to midnight, keeps
// them right on days when the zone's offset changes.
func (c *Calendar) span(day int) (open, closing time.Time) {
	d := dateOfDayNumber(day)
	s := c.hours[weekdayOf(day)]
	open = time.Date(d.Year, d.Month, d.Day, s.Start/60, s.Start%60, 0, 0, c.loc)
	closing = time.Date(d.Year, d.Month, d.Day, s.End/60, s.End%60, 0, 0, c.loc)
	return open, closing
}

// end is the day number just past the table.
func (c *Calendar) end() int { return c.first + len(c.prefix) - 1 }

func (c *Calendar) working(day int) bool {
	if day >= c.first && day < c.end() {
		i := day - c.first
		return c.prefix[i+1] > c.prefix[i]
	}
	return !c.hours[weekdayOf(day)].IsZero()
}

// before returns the number of working days before the given day, counted
// from the table's first date (negative before it). Only differences of it
// mean anything.
func (c *Calendar) before(day int) int {
	switch end := c.end(); {
	case day < c.first:
		return -c.weekdaysBetween(day, c.first)
	case day > end:
		return int(c.prefix[len(c.prefix)-1]) + c.weekdaysBetween(end, day)
	default:
		return int(c.prefix[day-c.first])
	}
}

// weekdaysBetween counts the days with working hours in [from, to), from <=
// to, ignoring holidays: outside the table there are none.
func (c *Calendar) weekdaysBetween(from, to int) int {
	weeks := (to - from) / 7
	n := weeks * c.perWeek
	for d := from + 7*weeks; d < to; d++ {
		if !c.hours[weekdayOf(d)].IsZero() {
			n++
		}
	}
	return n
}

// nth returns the working day whose before() equals k, the inverse of before
// on working days.
func (c *Calendar) nth(k int) int {
	last := int(c.prefix[len(c.prefix)-1])
	switch {
	case k < 0:
		// Walk back from the table's start: skip whole weeks, then at most
		// a week day by day.
		m := -k - 1
		r := m % c.perWeek
		for d := c.first - 7*(m/c.perWeek) - 1; ; d-- {
			if !c.hours[weekdayOf(d)].IsZero() {
				if r == 0 {
					return d
				}
				r--
			}
		}
	case k >= last:
		m := k - last
		r := m % c.perWeek
		for d := c.end() + 7*(m/c.perWeek); ; d++ {
			if !c.hours[weekdayOf(d)].IsZero() {
				if r == 0 {
					return d
				}
				r--
			}
		}
	default:
		// The first index whose count exceeds k is one past that day.
		i, _ := slices.BinarySearch(c.prefix, int32(k+1))
		return c.first + i - 1
	}
}
