package calendar

import (
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// Kind says why a day is off. Both kinds stop the clock the same way; the
// distinction is for the people maintaining the list, since public holidays
// ship with the binary and closures are decided by each agency.
type Kind string

const (
	// PublicHoliday is a gazetted holiday, including days in lieu and
	// polling days.
	PublicHoliday Kind = "public_holiday"
	// Closure is a day an agency closes on its own decision.
	Closure Kind = "closure"
)

// Holiday is a day on which nobody works, whatever its weekday.
type Holiday struct {
	Date Date
	Name string
	Kind Kind
}

// The list ships inside the binary so that a fresh deployment counts working
// days correctly before an administrator has touched anything.
//
//go:embed holidays_sg.csv
var singaporeCSV string

var singaporeHolidays = sync.OnceValue(func() []Holiday {
	hs, err := parseHolidayCSV(strings.NewReader(singaporeCSV), PublicHoliday)
	if err != nil {
		// The file is fixed at build time and covered by tests, so a failure
		// here is a broken build, not a condition to handle at run time.
		panic("calendar: embedded holidays_sg.csv: " + err.Error())
	}
	return hs
})

// SingaporeHolidays returns Singapore's public holidays for 2019–2027,
// including days given in lieu and polling days, in date order, all of kind
// PublicHoliday. Each call returns a fresh slice the caller may modify.
// Later years are not known in advance and have to be added by the caller.
func SingaporeHolidays() []Holiday {
	return slices.Clone(singaporeHolidays())
}

// parseHolidayCSV reads rows of date,name,observed_reason under that header.
func parseHolidayCSV(r io.Reader, kind Kind) ([]Holiday, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 3
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	if !slices.Equal(header, []string{"date", "name", "observed_reason"}) {
		return nil, fmt.Errorf("header %q: want date,name,observed_reason", strings.Join(header, ","))
	}
	var hs []Holiday
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		d, err := ParseDate(row[0])
		if err != nil {
			return nil, err
		}
		if row[1] == "" {
			return nil, fmt.Errorf("holiday on %s has no name", d)
		}
		hs = append(hs, Holiday{Date: d, Name: row[1], Kind: kind})
	}
	slices.SortStableFunc(hs, func(a, b Holiday) int { return a.Date.Compare(b.Date) })
	return hs, nil
}
