package calendar

import (
	"cmp"
	"fmt"
	"time"
)

// Date is a civil date with no time zone. Holidays are days on the wall
// calendar, not instants, so they are kept apart from time.Time, which would
// invite comparing them across zones.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses a date written exactly as YYYY-MM-DD (years 0001–9999).
// It returns an error if the layout is wrong or the day does not exist, such
// as 2025-02-29.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("parse date %q: want YYYY-MM-DD", s)
	}
	y, okY := atoi(s[0:4])
	m, okM := atoi(s[5:7])
	d, okD := atoi(s[8:10])
	if !okY || !okM || !okD {
		return Date{}, fmt.Errorf("parse date %q: want YYYY-MM-DD", s)
	}
	if y < 1 {
		return Date{}, fmt.Errorf("parse date %q: year must be 0001 or later", s)
	}
	if m < 1 || m > 12 {
		return Date{}, fmt.Errorf("parse date %q: month %02d does not exist", s, m)
	}
	if n := daysIn(y, time.Month(m)); d < 1 || d > n {
		return Date{}, fmt.Errorf("parse date %q: %s %d has no day %d", s, time.Month(m), y, d)
	}
	return Date{Year: y, Month: time.Month(m), Day: d}, nil
}

// DateOf returns the civil date of t as seen in loc. A nil loc means t's own
// location.
func DateOf(t time.Time, loc *time.Location) Date {
	if loc != nil {
		t = t.In(loc)
	}
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// String formats d as YYYY-MM-DD, the form ParseDate reads.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Start returns the instant d begins in loc, the midnight that opens it.
func (d Date) Start(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc).UTC()
}

// Weekday returns the day of the week of a valid date.
func (d Date) Weekday() time.Weekday {
	return weekdayOf(d.dayNumber())
}

// Compare returns -1, 0 or +1 as d is before, equal to or after e, so that
// dates sort with slices.SortFunc.
func (d Date) Compare(e Date) int {
	if c := cmp.Compare(d.Year, e.Year); c != 0 {
		return c
	}
	if c := cmp.Compare(d.Month, e.Month); c != 0 {
		return c
	}
	return cmp.Compare(d.Day, e.Day)
}

// MarshalText writes the YYYY-MM-DD form, so dates travel through JSON and
// configuration as plain strings.
func (d Date) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// UnmarshalText reads the YYYY-MM-DD form with ParseDate's rules.
func (d *Date) UnmarshalText(b []byte) error {
	p, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

func (d Date) valid() bool {
	return d.Year >= 1 && d.Year <= 9999 && d.Month >= time.January && d.Month <= time.December &&
		d.Day >= 1 && d.Day <= daysIn(d.Year, d.Month)
}

// dayNumber counts days since 1970-01-01 with integer arithmetic only
// (Howard Hinnant's days_from_civil): going through time.Date would cost a
// zone lookup on the hot path and tie a zone-free date to some zone.
func (d Date) dayNumber() int {
	y, m := d.Year, int(d.Month)
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d.Day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// dateOfDayNumber inverts dayNumber (Hinnant's civil_from_days).
func dateOfDayNumber(n int) Date {
	z := n + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	return Date{Year: y, Month: time.Month(m), Day: d}
}

// weekdayOf relies on 1970-01-01 having been a Thursday.
func weekdayOf(n int) time.Weekday {
	return time.Weekday(floorMod(n+4, 7))
}

func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	default:
		return 31
	}
}

// atoi accepts ASCII digits only; strconv.Atoi would let signs through.
func atoi(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int) int {
	return a - floorDiv(a, b)*b
}
