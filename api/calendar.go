package api

import (
	"math"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"datashare/errs"
	"datashare/workflow"
)

type holidayJSON struct {
	Date string `json:"date"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// holidayImportPath bounds its body itself (holidays.MaxICSBytes).
const holidayImportPath = "/calendar/holidays/import"

func registerCalendarRoutes(g authedGroup, s *server) {
	g.GET("/calendar/holidays", s.handleHolidayList)
	g.POST("/calendar/holidays", s.handleHolidayCreate)
	g.POST(holidayImportPath, s.handleHolidayImport)
	g.DELETE("/calendar/holidays/:date", s.handleHolidayDelete)
	g.GET("/calendar/working-days", s.handleWorkingDays)
	g.GET("/calendar/due", s.handleDue)
}

func (s *server) handleHolidayList(c echo.Context) error {
	year := 0
	if v := c.QueryParam("year"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1900 || n > 2300 {
			return errs.Field("year", "year must be a year like 2026")
		}
		year = n
	}
	hs, err := s.Holidays.List(c.Request().Context(), year)
	if err != nil {
		return err
	}
	out := list[holidayJSON]{Items: []holidayJSON{}}
	for _, h := range hs {
		out.Items = append(out.Items, holidayJSON{Date: h.Date, Name: h.Name, Kind: h.Kind})
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) handleHolidayCreate(c echo.Context) error {
	var in struct {
		Date string `json:"date"`
		Name string `json:"name"`
		Kind string `json:"kind"`
	}
	if err := c.Bind(&in); err != nil {
		return err
	}
	h, err := s.Holidays.Add(c.Request().Context(), caller(c).actor, in.Date, in.Name, in.Kind)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, holidayJSON{Date: h.Date, Name: h.Name, Kind: h.Kind})
}

func (s *server) handleHolidayDelete(c echo.Context) error {
	if err := s.Holidays.Remove(c.Request().Context(), caller(c).actor, c.Param("date")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) handleHolidayImport(c echo.Context) error {
	if !caller(c).actor.Has(workflow.Admin) {
		return errs.E(errs.Forbidden, "only an admin may change the calendar")
	}
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil || mt != "text/calendar" {
		return errs.E(errs.UnsupportedMedia, "send the iCalendar file as text/calendar")
	}
	// The route is outside the body limit of the others: Import reads at
	// most its own bound and names it.
	n, err := s.Holidays.Import(c.Request().Context(), caller(c).actor, c.Request().Body, c.QueryParam("kind"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"imported": n})
}

func parseInstant(c echo.Context, name string) (time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return time.Time{}, errs.Field(name, "%s is required, as RFC 3339 like 2026-01-05T10:00:00+08:00", name)
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, errs.Field(name, "%s must be RFC 3339 like 2026-01-05T10:00:00+08:00", name)
	}
	if t.Year() < 1990 || t.Year() > 2200 {
		return time.Time{}, errs.Field(name, "%s must fall between 1990 and 2200", name)
	}
	return t, nil
}

func (s *server) handleWorkingDays(c echo.Context) error {
	from, err := parseInstant(c, "from")
	if err != nil {
		return err
	}
	to, err := parseInstant(c, "to")
	if err != nil {
		return err
	}
	if to.Before(from) {
		return errs.Field("to", "to must not be before from")
	}
	d := s.Holidays.Current().WorkingDays(from, to)
	return c.JSON(http.StatusOK, map[string]float64{"working_days": round3(d)})
}

func (s *server) handleDue(c echo.Context) error {
	start, err := parseInstant(c, "start")
	if err != nil {
		return err
	}
	days, err := strconv.ParseFloat(c.QueryParam("days"), 64)
	if err != nil || math.IsNaN(days) || days < 0 || days > 3650 {
		return errs.Field("days", "days must be a number of working days from 0 to 3650")
	}
	due := s.Holidays.Current().Due(start, days)
	return c.JSON(http.StatusOK, map[string]time.Time{"due_at": due.UTC()})
}
