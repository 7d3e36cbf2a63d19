package holidays

import (
	"fmt"
	"io"

	"datashare/calendar"
	"datashare/errs"
	"datashare/models"
	"datashare/workflow"
)

// The previews answer what a change of the days off would put in force,
// checked as the change itself is and built from the calendar in force,
// without writing anything, so that an admin sees what the change does to
// due dates before making it.

// PreviewAdd is the calendar Add with these arguments would put in force.
// Errors: as Add.
func (s *Service) PreviewAdd(actor workflow.Actor, date, name, kind string) (*calendar.Calendar, error) {
	h, err := s.dayOff(actor, date, name, kind)
	if err != nil {
		return nil, err
	}
	return s.with([]models.Holiday{h}, nil)
}

// PreviewRemove is the calendar Remove of date would put in force. Errors:
// as Remove.
func (s *Service) PreviewRemove(actor workflow.Actor, date string) (*calendar.Calendar, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	d, err := calendar.ParseDate(date)
	if err != nil {
		return nil, errs.E(errs.NotFound, "%q is not a day off", date)
	}
	for _, h := range s.Current().Holidays() {
		if h.Date == d {
			return s.with(nil, &d)
		}
	}
	return nil, errs.E(errs.NotFound, "%s is not a day off", d)
}

// PreviewImport is the calendar Import of the file would put in force, and
// the number of days it would write. Errors: as Import.
func (s *Service) PreviewImport(actor workflow.Actor, r io.Reader, kind string) (*calendar.Calendar, int, error) {
	rows, err := s.importRows(actor, r, kind)
	if err != nil {
		return nil, 0, err
	}
	cal, err := s.with(rows, nil)
	return cal, len(rows), err
}

// with builds the calendar in force with the days of add off (replacing a
// day off of the same date, as the upsert does) and the day drop working.
func (s *Service) with(add []models.Holiday, drop *calendar.Date) (*calendar.Calendar, error) {
	replaced := make(map[string]bool, len(add))
	for _, h := range add {
		replaced[h.Date] = true
	}
	var hs []calendar.Holiday
	for _, h := range s.Current().Holidays() {
		if !replaced[h.Date.String()] && (drop == nil || h.Date != *drop) {
			hs = append(hs, h)
		}
	}
	for _, h := range add {
		d, err := calendar.ParseDate(h.Date)
		if err != nil {
			return nil, fmt.Errorf("preview holiday %q: %w", h.Date, err)
		}
		hs = append(hs, calendar.Holiday{Date: d, Name: h.Name, Kind: calendar.Kind(h.Kind)})
	}
	cal, err := calendar.New(s.loc, s.hours, hs)
	if err != nil {
		return nil, fmt.Errorf("preview calendar: %w", err)
	}
	return cal, nil
}
