package holidays

import (
	"bytes"
	"io"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"datashare/calendar"
	"datashare/errs"
)

// Bounds of an iCalendar import, checked before the file is parsed. The
// parser copies the rest of a line for every parameter it reads, so a line
// of many parameters costs their number times its length; within these
// bounds a file parses in a few tens of milliseconds. A real calendar of
// days off holds a few hundred short events.
const (
	MaxICSBytes      = 1 << 20 // the file
	MaxICSLines      = 100_000 // content lines, after unfolding
	MaxICSLineBytes  = 8 << 10 // one content line, after unfolding
	MaxICSLineParams = 16      // parameters of one content line
	MaxICSEvents     = 20_000  // VEVENTs
)

// ParseICS reads the days off in an iCalendar file: every VEVENT's days
// from DTSTART up to (not including) DTEND, named by its SUMMARY. Timed
// events count for the day they start on in loc. Errors: invalid (field
// file) for a file past one of the bounds above, naming it, or one that is
// not a calendar of days off.
func ParseICS(r io.Reader, loc *time.Location) ([]calendar.Holiday, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxICSBytes+1))
	if err != nil {
		return nil, errs.E(errs.Malformed, "could not read the file: %v", err)
	}
	if err := checkICSBounds(data); err != nil {
		return nil, err
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(data))
	if err != nil {
		return nil, errs.Field("file", "not a valid iCalendar file: %v", err)
	}
	events := cal.Events()
	if len(events) == 0 {
		return nil, errs.Field("file", "the iCalendar file holds no events")
	}
	perEvent := make([][]calendar.Holiday, len(events))
	total := 0
	for i, ev := range events {
		if perEvent[i], err = eventDays(ev, i, loc); err != nil {
			return nil, err
		}
		total += len(perEvent[i])
	}
	out := make([]calendar.Holiday, 0, total)
	for _, days := range perEvent {
		out = append(out, days...)
	}
	return out, nil
}

// checkICSBounds refuses a file past one of the bounds, in one pass over it.
func checkICSBounds(data []byte) error {
	if len(data) > MaxICSBytes {
		return errs.Field("file", "the file is larger than %d bytes (1 MiB), the most an import may hold", MaxICSBytes)
	}
	const headLen = len("BEGIN:VEVENT") + 4
	lines, events := 0, 0
	// The content line being read: its first bytes (enough to tell a
	// BEGIN:VEVENT), length, parameters so far, and whether its name and
	// parameters have ended at the first ':' outside quotes.
	var head []byte
	length, params, inValue, quoted := 0, 0, false, false
	end := func() error {
		if length == 0 {
			return nil
		}
		lines++
		if lines > MaxICSLines {
			return errs.Field("file", "the file holds more than %d lines, the most an import may hold", MaxICSLines)
		}
		if bytes.EqualFold(bytes.TrimSpace(head), []byte("BEGIN:VEVENT")) {
			events++
			if events > MaxICSEvents {
				return errs.Field("file", "the file holds more than %d events, the most an import may hold", MaxICSEvents)
			}
		}
		head, length, params, inValue, quoted = head[:0], 0, 0, false, false
		return nil
	}
	for len(data) > 0 {
		piece := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			piece, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		piece = bytes.TrimSuffix(piece, []byte("\r"))
		if len(piece) > 0 && (piece[0] == ' ' || piece[0] == '\t') {
			piece = piece[1:] // a folded continuation of the line before
		} else if err := end(); err != nil {
			return err
		}
		head = append(head, piece[:min(len(piece), headLen-len(head))]...)
		for _, c := range piece {
			if inValue {
				break
			}
			switch {
			case c == '"':
				quoted = !quoted
			case c == ';' && !quoted:
				params++
				if params > MaxICSLineParams {
					return errs.Field("file", "line %d has more than %d parameters, the most an import may hold", lines+1, MaxICSLineParams)
				}
			case c == ':' && !quoted:
				inValue = true
			}
		}
		length += len(piece)
		if length > MaxICSLineBytes {
			return errs.Field("file", "line %d is longer than %d bytes, the most an import may hold", lines+1, MaxICSLineBytes)
		}
	}
	return end()
}

// eventDays returns the days off of the i-th event.
func eventDays(ev *ics.VEvent, i int, loc *time.Location) ([]calendar.Holiday, error) {
	name := ""
	if p := ev.GetProperty(ics.ComponentPropertySummary); p != nil {
		name = strings.TrimSpace(p.Value)
	}
	if name == "" {
		return nil, errs.Field("file", "event %d has no SUMMARY", i+1)
	}
	dateOnly := isDateOnly(ev)
	var start, end time.Time
	var err, endErr error
	if dateOnly {
		start, err = ev.GetAllDayStartAt()
		end, endErr = ev.GetAllDayEndAt()
	} else {
		start, err = ev.GetStartAt()
		end, endErr = ev.GetEndAt()
	}
	if err != nil {
		return nil, errs.Field("file", "event %q has no readable DTSTART: %v", name, err)
	}
	first := calendar.DateOf(start, loc)
	if dateOnly {
		first = calendar.Date{Year: start.Year(), Month: start.Month(), Day: start.Day()}
	}
	days := 1
	if endErr == nil && dateOnly {
		last := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, time.UTC)
		fd := time.Date(first.Year, first.Month, first.Day, 0, 0, 0, 0, time.UTC)
		if n := int(last.Sub(fd).Hours() / 24); n > 1 {
			days = n
		}
	}
	if days > 31 {
		return nil, errs.Field("file", "event %q lasts %d days; a day off should be at most 31", name, days)
	}
	out := make([]calendar.Holiday, 0, days)
	for k := 0; k < days; k++ {
		t := time.Date(first.Year, first.Month, first.Day+k, 0, 0, 0, 0, time.UTC)
		out = append(out, calendar.Holiday{Date: calendar.Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}, Name: name})
	}
	return out, nil
}

func isDateOnly(ev *ics.VEvent) bool {
	p := ev.GetProperty(ics.ComponentPropertyDtStart)
	if p == nil {
		return false
	}
	if v, ok := p.ICalParameters["VALUE"]; ok && len(v) > 0 && strings.EqualFold(v[0], "DATE") {
		return true
	}
	return len(strings.TrimSpace(p.Value)) == 8
}
