// Package holidays keeps the days off of the working calendar in the
// database (Singapore's public holidays, loaded from the list built into
// the binary, plus what administrators add, remove or import) and hands out
// the calendar.Calendar built from them.
package holidays

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

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
	cal, err := s.build(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.current = cal
	s.mu.Unlock()
	return nil
}

// build reads the days off into a calendar.
func (s *Service) build(ctx context.Context) (*calendar.Calendar, error) {
	var rows []models.Holiday
	if err := s.db.Conn(ctx).Select("date", "name", "kind").Where("removed = ?", false).Order("date").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read holidays: %w", err)
	}
	hs := make([]calendar.Holiday, 0, len(rows))
	for _, r := range rows {
		d, err := calendar.ParseDate(r.Date)
		if err != nil {
			return nil, fmt.Errorf("holiday %q: %w", r.Date, err)
		}
		hs = append(hs, calendar.Holiday{Date: d, Name: r.Name, Kind: calendar.Kind(r.Kind)})
	}
	cal, err := calendar.New(s.loc, s.hours, hs)
	if err != nil {
		return nil, fmt.Errorf("build calendar: %w", err)
	}
	return cal, nil
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
	return s.changeTo(ctx, fn, nil)
}

// changeTo is change with the calendar to put in force already built, or
// nil to rebuild it in the transaction.
func (s *Service) changeTo(ctx context.Context, fn func(ctx context.Context, tx *gorm.DB) error, cal *calendar.Calendar) error {
	s.mu.RLock()
	old := s.current
	s.mu.RUnlock()
	err := s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		if err := fn(ctx, tx); err != nil {
			return err
		}
		if cal != nil {
			s.mu.Lock()
			s.current = cal
			s.mu.Unlock()
		} else if err := s.rebuild(ctx); err != nil {
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
	h, err := s.dayOff(actor, date, name, kind)
	if err != nil {
		return models.Holiday{}, err
	}
	err = s.change(ctx, func(ctx context.Context, tx *gorm.DB) error { return upsert(tx, h) })
	if err != nil {
		return models.Holiday{}, fmt.Errorf("add holiday %s: %w", h.Date, err)
	}
	return h, nil
}

// dayOff is the row Add writes, once the caller and the day are checked.
func (s *Service) dayOff(actor workflow.Actor, date, name, kind string) (models.Holiday, error) {
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
	return models.Holiday{Date: d.String(), Name: strings.TrimSpace(name), Kind: kind, Source: SourceAdmin, UpdatedAt: s.now()}, nil
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

// importChunk is how many days one transaction of an import writes: some
// 20 ms of the writer on a busy 2-core machine (BenchmarkImportChunk), so
// that other writes wait behind an import about that long rather than for
// all of it.
const importChunk = 1000

// Import adds every all-day event of an iCalendar file as a day off of the
// given kind (each day of a multi-day event; where events overlap, the
// later one names the day) and returns how many days it wrote. The file is
// parsed and checked whole before anything is written: a malformed file
// imports nothing. The days are written in transactions of importChunk
// days; then the calendar is read from the database and put in force, with
// due dates following, in a transaction of its own. Should one fail, the
// days before it stay, and importing the file again completes it.
// Errors: forbidden unless admin; invalid (field file, see ParseICS).
func (s *Service) Import(ctx context.Context, actor workflow.Actor, r io.Reader, kind string) (int, error) {
	rows, err := s.importRows(actor, r, kind)
	if err != nil {
		return 0, err
	}
	for start := 0; start < len(rows); start += importChunk {
		chunk := rows[start:min(start+importChunk, len(rows))]
		if err := s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error { return upsertAll(tx, chunk) }); err != nil {
			return 0, fmt.Errorf("import holidays: %w", err)
		}
	}
	// Reading tens of thousands of days into a calendar takes longer than
	// a transaction should hold the writer; only putting the calendar in
	// force and letting due dates follow need one.
	cal, err := s.build(ctx)
	if err != nil {
		return 0, fmt.Errorf("import holidays: %w", err)
	}
	if err := s.changeTo(ctx, func(context.Context, *gorm.DB) error { return nil }, cal); err != nil {
		return 0, fmt.Errorf("import holidays: %w", err)
	}
	return len(rows), nil
}

// importRows are the rows Import writes, once the caller and the whole
// file are checked.
func (s *Service) importRows(actor workflow.Actor, r io.Reader, kind string) ([]models.Holiday, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	if kind == "" {
		kind = string(calendar.PublicHoliday)
	}
	days, err := ParseICS(r, s.loc)
	if err != nil {
		return nil, err
	}
	now := s.now()
	names := make(map[calendar.Date]string, len(days)/4)
	for _, d := range days {
		names[d.Date] = d.Name
	}
	rows := make([]models.Holiday, 0, len(names))
	for date, name := range names {
		rows = append(rows, models.Holiday{Date: date.String(), Name: name, Kind: kind, Source: SourceImport, UpdatedAt: now})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Date < rows[j].Date })
	for _, h := range rows {
		if _, err := checkDay("file", h.Date, h.Name, kind); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// upsertAll writes days with one statement per hundred of them.
func upsertAll(tx *gorm.DB, rows []models.Holiday) error {
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "date"}},
		DoUpdates: clause.AssignmentColumns([]string{"name", "kind", "source", "removed", "updated_at"}),
	}).CreateInBatches(rows, 100).Error
}
