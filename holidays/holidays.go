// Package holidays keeps the days off of the working calendar in the
// database (Singapore's public holidays, loaded from the list built into
// the binary, plus what administrators add, remove or import) and hands out
// the calendar.Calendar built from them.
package holidays

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	ics "github.com/arran4/golang-ical"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/calendar"
	"datashare/errs"
	"datashare/input"
	"datashare/models"
	"datashare/workflow"
)

// Sources of a holiday row.
const (
	SourceBuiltin = "builtin"
	SourceAdmin   = "admin"
	SourceImport  = "import"
)

// ChangeFunc is called inside the transaction that changed the days off,
// with the new calendar already in force, so that due dates can follow.
type ChangeFunc func(ctx context.Context, now time.Time) error

// Service stores the days off and builds the calendar from them.
type Service struct {
	db       *models.DB
	loc      *time.Location
	hours    calendar.WeekHours
	now      func() time.Time
	onChange ChangeFunc

	mu      sync.RWMutex
	current *calendar.Calendar
}

// NewService returns a Service; call Load before Current.
func NewService(db *models.DB, loc *time.Location, hours calendar.WeekHours, now func() time.Time) *Service {
	return &Service{db: db, loc: loc, hours: hours, now: now}
}

// OnChange sets the function called after every change of the days off.
func (s *Service) OnChange(f ChangeFunc) { s.onChange = f }

// Current returns the calendar in force.
func (s *Service) Current() *calendar.Calendar {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.current
}

// Location returns the calendar's time zone.
func (s *Service) Location() *time.Location { return s.loc }

// Load adds built-in holidays the database does not know yet (a removed one
// stays removed) and builds the calendar from the database.
func (s *Service) Load(ctx context.Context) error {
	now := s.now()
	rows := []models.Holiday{}
	for _, h := range calendar.SingaporeHolidays() {
		rows = append(rows, models.Holiday{Date: h.Date.String(), Name: h.Name, Kind: string(h.Kind), Source: SourceBuiltin, UpdatedAt: now})
	}
	err := s.db.Conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, 200).Error
	if err != nil {
		return fmt.Errorf("load built-in holidays: %w", err)
	}
	return s.rebuild(ctx)
}

// Refresh rebuilds the calendar from the database; replicas call it to pick
// up changes made by another replica.
func (s *Service) Refresh(ctx context.Context) error { return s.rebuild(ctx) }

func (s *Service) rebuild(ctx context.Context) error {
	var rows []models.Holiday
	if err := s.db.Conn(ctx).Where("removed = ?", false).Order("date").Find(&rows).Error; err != nil {
		return fmt.Errorf("read holidays: %w", err)
	}
	hs := make([]calendar.Holiday, 0, len(rows))
	for _, r := range rows {
		d, err := calendar.ParseDate(r.Date)
		if err != nil {
			return fmt.Errorf("holiday %q: %w", r.Date, err)
		}
		hs = append(hs, calendar.Holiday{Date: d, Name: r.Name, Kind: calendar.Kind(r.Kind)})
	}
	cal, err := calendar.New(s.loc, s.hours, hs)
	if err != nil {
		return fmt.Errorf("build calendar: %w", err)
	}
	s.mu.Lock()
	s.current = cal
	s.mu.Unlock()
	return nil
}

// List returns the days off of a year (all years when year is 0).
func (s *Service) List(ctx context.Context, year int) ([]models.Holiday, error) {
	q := s.db.Conn(ctx).Where("removed = ?", false)
	if year != 0 {
		q = q.Where("date >= ? AND date < ?", fmt.Sprintf("%04d-01-01", year), fmt.Sprintf("%04d-01-01", year+1))
	}
	var out []models.Holiday
	err := q.Order("date").Find(&out).Error
	return out, err
}

// Earliest and latest years a day off may fall in: a typo like 0202 should
// not silently bloat the calendar.
const (
	MinYear = 1990
	MaxYear = 2200
)

func checkDay(field, date, name, kind string) (calendar.Date, error) {
	d, err := calendar.ParseDate(strings.TrimSpace(date))
	if err != nil {
		return d, errs.Field(field, "date must be a real day written YYYY-MM-DD, got %q", date)
	}
	if d.Year < MinYear || d.Year > MaxYear {
		return d, errs.Field(field, "date must fall between %d and %d", MinYear, MaxYear)
	}
	if strings.TrimSpace(name) == "" || len(name) > 200 {
		return d, errs.Field("name", "name is required (at most 200 characters)")
	}
	if err := input.Text("name", name); err != nil {
		return d, err
	}
	if kind != string(calendar.PublicHoliday) && kind != string(calendar.Closure) {
		return d, errs.Field("kind", "kind must be public_holiday or closure")
	}
	return d, nil
}

func requireAdmin(a workflow.Actor) error {
	if !a.Has(workflow.Admin) {
		return errs.E(errs.Forbidden, "only an admin may change the calendar")
	}
	return nil
}

// change runs fn in a transaction, rebuilds the calendar and lets due dates
// follow before the transaction commits; on failure the old calendar stays.
func (s *Service) change(ctx context.Context, fn func(ctx context.Context, tx *gorm.DB) error) error {
	s.mu.RLock()
	old := s.current
	s.mu.RUnlock()
	err := s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		if err := fn(ctx, tx); err != nil {
			return err
		}
		if err := s.rebuild(ctx); err != nil {
			return err
		}
		if s.onChange != nil {
			return s.onChange(ctx, s.now())
		}
		return nil
	})
	if err != nil {
		s.mu.Lock()
		s.current = old
		s.mu.Unlock()
	}
	return err
}

func upsert(tx *gorm.DB, h models.Holiday) error {
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "date"}},
		DoUpdates: clause.AssignmentColumns([]string{"name", "kind", "source", "removed", "updated_at"}),
	}).Create(&h).Error
}

// Add adds or replaces a day off. Errors: forbidden unless admin; invalid
// date, name or kind.
func (s *Service) Add(ctx context.Context, actor workflow.Actor, date, name, kind string) (models.Holiday, error) {
	if err := requireAdmin(actor); err != nil {
		return models.Holiday{}, err
	}
	if kind == "" {
		kind = string(calendar.PublicHoliday)
	}
	d, err := checkDay("date", date, name, kind)
	if err != nil {
		return models.Holiday{}, err
	}
	h := models.Holiday{Date: d.String(), Name: strings.TrimSpace(name), Kind: kind, Source: SourceAdmin, UpdatedAt: s.now()}
	err = s.change(ctx, func(ctx context.Context, tx *gorm.DB) error { return upsert(tx, h) })
	if err != nil {
		return models.Holiday{}, fmt.Errorf("add holiday %s: %w", h.Date, err)
	}
	return h, nil
}

// Remove makes a day a working day again. Errors: forbidden unless admin;
// not_found when the day is not a day off.
func (s *Service) Remove(ctx context.Context, actor workflow.Actor, date string) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	d, err := calendar.ParseDate(date)
	if err != nil {
		return errs.E(errs.NotFound, "%q is not a day off", date)
	}
	err = s.change(ctx, func(ctx context.Context, tx *gorm.DB) error {
		res := tx.Model(&models.Holiday{}).Where("date = ? AND removed = ?", d.String(), false).
			Updates(map[string]any{"removed": true, "updated_at": s.now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errs.E(errs.NotFound, "%s is not a day off", d)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove holiday %s: %w", date, err)
	}
	return nil
}

// Import adds every all-day event of an iCalendar file as a day off of the
// given kind (each day of a multi-day event). The file is parsed whole
// before anything is written: a malformed file imports nothing.
func (s *Service) Import(ctx context.Context, actor workflow.Actor, r io.Reader, kind string) (int, error) {
	if err := requireAdmin(actor); err != nil {
		return 0, err
	}
	if kind == "" {
		kind = string(calendar.PublicHoliday)
	}
	days, err := ParseICS(r, s.loc)
	if err != nil {
		return 0, err
	}
	now := s.now()
	rows := make([]models.Holiday, 0, len(days))
	for _, d := range days {
		if _, err := checkDay("file", d.Date.String(), d.Name, kind); err != nil {
			return 0, err
		}
		rows = append(rows, models.Holiday{Date: d.Date.String(), Name: d.Name, Kind: kind, Source: SourceImport, UpdatedAt: now})
	}
	err = s.change(ctx, func(ctx context.Context, tx *gorm.DB) error {
		for _, h := range rows {
			if err := upsert(tx, h); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("import holidays: %w", err)
	}
	return len(rows), nil
}

// ParseICS reads the days off in an iCalendar file: every VEVENT's days
// from DTSTART up to (not including) DTEND, named by its SUMMARY. Timed
// events count for the day they start on in loc.
func ParseICS(r io.Reader, loc *time.Location) ([]calendar.Holiday, error) {
	cal, err := ics.ParseCalendar(r)
	if err != nil {
		return nil, errs.Field("file", "not a valid iCalendar file: %v", err)
	}
	events := cal.Events()
	if len(events) == 0 {
		return nil, errs.Field("file", "the iCalendar file holds no events")
	}
	var out []calendar.Holiday
	for i, ev := range events {
		name := ""
		if p := ev.GetProperty(ics.ComponentPropertySummary); p != nil {
			name = strings.TrimSpace(p.Value)
		}
		if name == "" {
			return nil, errs.Field("file", "event %d has no SUMMARY", i+1)
		}
		dateOnly := isDateOnly(ev)
		var start, end time.Time
		var endErr error
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
		for k := 0; k < days; k++ {
			t := time.Date(first.Year, first.Month, first.Day+k, 0, 0, 0, 0, time.UTC)
			out = append(out, calendar.Holiday{Date: calendar.Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}, Name: name})
		}
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
