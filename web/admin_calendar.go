package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"datashare/calendar"
	"datashare/errs"
	"datashare/holidays"
	"datashare/models"
	"datashare/notifications"
)

type calendarView struct {
	Page
	Year                 fieldView
	Shown                int // the year listed
	Days                 []models.Holiday
	Date, Name, Kind     fieldView // a day off to add
	File, ImportKind     fieldView
	Preview              *calendarPreview
	Problems             []problem
	PrevYear, NextYear   int
	MinYear, MaxYear     int
	HasPrevYear, HasNext bool
}

// calendarPreview is what a change would do, shown before it is made; a
// removal is confirmed from here.
type calendarPreview struct {
	What   string // the change, in words
	Moves  int    // open requests whose due time it moves
	Remove string // the date to remove on confirmation, for a removal
	Name   string
}

var kindLabels = map[string]string{string(calendar.PublicHoliday): "Public holiday", string(calendar.Closure): "Closure"}

var sourceLabels = map[string]string{
	holidays.SourceBuiltin: "Built-in Singapore holiday",
	holidays.SourceAdmin:   "Added here",
	holidays.SourceImport:  "Imported",
}

func kindLabel(k string) string   { return label(kindLabels, k) }
func sourceLabel(s string) string { return label(sourceLabels, s) }

// dayLabel shows a date written YYYY-MM-DD as "Fri 25 Dec 2026".
func dayLabel(date string) string {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return t.Format("Mon 2 Jan 2006")
}

func kindOptions(chosen string) []option {
	var out []option
	for _, k := range []calendar.Kind{calendar.PublicHoliday, calendar.Closure} {
		out = append(out, option{Value: string(k), Label: kindLabels[string(k)], Selected: string(k) == chosen})
	}
	return out
}

// calendarView lists the days off of year.
func (a *app) calendarView(c echo.Context, year int) (*calendarView, error) {
	days, err := a.Holidays.List(c.Request().Context(), year)
	if err != nil {
		return nil, err
	}
	v := &calendarView{Page: Page{Nav: "admin"}, Shown: year, Days: days,
		Year: fieldView{ID: "year", Name: "year", Label: "Year", Type: "number", Value: strconv.Itoa(year), Required: true},
		Date: fieldView{ID: "day-date", Name: "date", Label: "Date", Type: "date", Required: true,
			Hint: "A day already off is replaced, with the name and kind given here."},
		Name:       fieldView{ID: "day-name", Name: "name", Label: "Name", Required: true, MaxLength: 200, Hint: "Like Deepavali, or Office move."},
		Kind:       fieldView{ID: "day-kind", Name: "kind", Label: "Kind", Required: true, Options: kindOptions("")},
		File:       fieldView{ID: "ics-file", Name: "file", Label: "iCalendar file (.ics)", Type: "file", Required: true, Hint: "Every all-day event becomes a day off, named by its summary. At most 1 MiB."},
		ImportKind: fieldView{ID: "ics-kind", Name: "kind", Label: "Kind of the imported days", Required: true, Options: kindOptions("")},
		PrevYear:   year - 1, NextYear: year + 1, HasPrevYear: year > holidays.MinYear, HasNext: year < holidays.MaxYear,
		MinYear: holidays.MinYear, MaxYear: holidays.MaxYear,
	}
	return v, nil
}

func (a *app) thisYear() int { return a.Now().In(a.Holidays.Location()).Year() }

func (a *app) handleCalendar(c echo.Context) error {
	year, raw := a.thisYear(), c.QueryParam("year")
	var bad string
	if raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < holidays.MinYear || n > holidays.MaxYear {
			bad = fmt.Sprintf("Year must be a year from %d to %d, like %d", holidays.MinYear, holidays.MaxYear, year)
		} else {
			year = n
		}
	}
	v, err := a.calendarView(c, year)
	if err != nil {
		return err
	}
	if bad != "" {
		v.Year.Value = raw
		v.Problems = markField("year", bad, &v.Year)
		return a.render(c, http.StatusUnprocessableEntity, "admin_calendar", v)
	}
	return a.render(c, http.StatusOK, "admin_calendar", v)
}

// confirmed reports whether the form's button was the one that makes the
// change; any other (the preview's) changes nothing.
func confirmed(c echo.Context) bool { return c.FormValue("do") == "save" }

// showPreview draws the calendar page of year with how many open
// requests' due times cal would move; show fills in the rest of the view.
func (a *app) showPreview(c echo.Context, cal *calendar.Calendar, year int, show func(v *calendarView, moves int)) error {
	n, err := a.Reprojector.Moves(c.Request().Context(), a.Now(), cal)
	if err != nil {
		return err
	}
	v, err := a.calendarView(c, year)
	if err != nil {
		return err
	}
	show(v, n)
	return a.render(c, http.StatusOK, "admin_calendar", v)
}

func yearOf(date string, fallback int) int {
	if d, err := calendar.ParseDate(date); err == nil {
		return d.Year
	}
	return fallback
}

func (a *app) handleCalendarAdd(c echo.Context) error {
	ctx, actor := c.Request().Context(), viewer(c).Actor
	date, name, kind := c.FormValue("date"), c.FormValue("name"), c.FormValue("kind")
	refuse := func(r refusal) error {
		v, err := a.calendarView(c, yearOf(date, a.thisYear()))
		if err != nil {
			return err
		}
		v.Date.Value, v.Name.Value, v.Kind.Options = date, name, kindOptions(kind)
		v.Problems = markField(r.Field, r.Message, &v.Date, &v.Name, &v.Kind)
		return a.render(c, r.Status, "admin_calendar", v)
	}
	if !confirmed(c) {
		cal, err := a.Holidays.PreviewAdd(actor, date, name, kind)
		if r, ok := refusalOf(err, ""); ok {
			return refuse(r)
		}
		if err != nil {
			return err
		}
		return a.showPreview(c, cal, yearOf(date, a.thisYear()), func(v *calendarView, n int) {
			v.Date.Value, v.Name.Value, v.Kind.Options = date, name, kindOptions(kind)
			v.Preview = &calendarPreview{What: fmt.Sprintf("Making %s a day off (%s)", dayLabel(date), name), Moves: n}
		})
	}
	h, err := a.Holidays.Add(ctx, actor, date, name, kind)
	if r, ok := refusalOf(err, ""); ok {
		return refuse(r)
	}
	if err != nil {
		return err
	}
	a.flash(c, fmt.Sprintf("%s is now a day off: %s.", dayLabel(h.Date), h.Name))
	return seeOther(c, fmt.Sprintf("/admin/calendar?year=%d", yearOf(h.Date, a.thisYear())))
}

func (a *app) handleCalendarRemove(c echo.Context) error {
	ctx, actor, date := c.Request().Context(), viewer(c).Actor, c.Param("date")
	if !confirmed(c) {
		cal, err := a.Holidays.PreviewRemove(actor, date)
		if err != nil {
			return err
		}
		return a.showPreview(c, cal, yearOf(date, a.thisYear()), func(v *calendarView, n int) {
			name := ""
			for _, h := range v.Days {
				if h.Date == date {
					name = h.Name
				}
			}
			v.Preview = &calendarPreview{What: fmt.Sprintf("Making %s (%s) a working day again", dayLabel(date), name), Moves: n, Remove: date, Name: name}
		})
	}
	if err := a.Holidays.Remove(ctx, actor, date); err != nil {
		return err
	}
	a.flash(c, fmt.Sprintf("%s is a working day again.", dayLabel(date)))
	return seeOther(c, fmt.Sprintf("/admin/calendar?year=%d", yearOf(date, a.thisYear())))
}

func (a *app) handleCalendarImport(c echo.Context) error {
	ctx, actor, kind := c.Request().Context(), viewer(c).Actor, c.FormValue("kind")
	refuse := func(r refusal) error {
		v, err := a.calendarView(c, a.thisYear())
		if err != nil {
			return err
		}
		v.ImportKind.Options = kindOptions(kind)
		v.Problems = markField(r.Field, r.Message, &v.File, &v.ImportKind)
		return a.render(c, r.Status, "admin_calendar", v)
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return refuse(refusal{Field: "file", Message: "Choose an .ics file to import", Status: http.StatusUnprocessableEntity})
	}
	f, err := fh.Open()
	if err != nil {
		return errs.E(errs.Malformed, "could not read the file: %v", err)
	}
	defer f.Close()
	if !confirmed(c) {
		cal, days, err := a.Holidays.PreviewImport(actor, f, kind)
		if r, ok := refusalOf(err, ""); ok {
			return refuse(r)
		}
		if err != nil {
			return err
		}
		return a.showPreview(c, cal, a.thisYear(), func(v *calendarView, n int) {
			v.ImportKind.Options = kindOptions(kind)
			v.Preview = &calendarPreview{What: fmt.Sprintf("Importing %s (%d %s off)", fh.Filename, days, plural(days, "day", "days")), Moves: n}
		})
	}
	n, err := a.Holidays.Import(ctx, actor, f, kind)
	if r, ok := refusalOf(err, ""); ok {
		return refuse(r)
	}
	if err != nil {
		return err
	}
	a.flash(c, fmt.Sprintf("%d %s imported from %s.", n, plural(n, "day off", "days off"), fh.Filename))
	return seeOther(c, "/admin/calendar")
}

func channelLabel(ch string) string { return label(channelLabels, ch) }

// recipient is whom a delivery goes to; a webhook's address is shown
// without what may be secret in it.
func recipient(d models.Delivery) string {
	if d.Channel == notifications.Webhook {
		return notifications.DisplayURL(d.Recipient)
	}
	return d.Recipient
}

var deliveryLabels = map[string]string{
	notifications.StatePending: "Waiting", notifications.StateSending: "Sending", notifications.StateDelivered: "Delivered",
	notifications.StateDead: "Dead", notifications.StateSkipped: "Skipped",
}

func deliveryLabel(s string) string { return label(deliveryLabels, s) }
