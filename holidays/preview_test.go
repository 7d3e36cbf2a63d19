package holidays_test

import (
	"context"
	"strings"
	"testing"

	"datashare/apptest"
	"datashare/calendar"
	"datashare/errs"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/workflow"
)

func mustDate(tb testing.TB, s string) calendar.Date {
	tb.Helper()
	d, err := calendar.ParseDate(s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// The previews return the calendar the change would put in force, refuse
// what the change refuses, and write nothing.
func TestPreviewsBuildTheChangedCalendarAndSaveNothing(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		a := apptest.Wire(t, db, apptest.Options{})
		h, ctx := a.Holidays, context.Background()
		before, err := h.List(ctx, 2026)
		if err != nil {
			t.Fatal(err)
		}
		inForce := h.Current()

		cal, err := h.PreviewAdd(apptest.Admin, "2026-03-04", "Office move", "closure")
		if err != nil {
			t.Fatal(err)
		}
		if cal.IsWorkingDay(mustDate(t, "2026-03-04")) || !cal.IsWorkingDay(mustDate(t, "2026-03-05")) {
			t.Errorf("PreviewAdd: 4 March should be off and 5 March working")
		}
		if !cal.IsWorkingDay(mustDate(t, "2026-03-03")) || cal.IsWorkingDay(mustDate(t, "2026-12-25")) {
			t.Errorf("PreviewAdd: the other days should be as in force")
		}

		cal, err = h.PreviewRemove(apptest.Admin, "2026-12-25")
		if err != nil {
			t.Fatal(err)
		}
		if !cal.IsWorkingDay(mustDate(t, "2026-12-25")) || cal.IsWorkingDay(mustDate(t, "2026-01-01")) {
			t.Errorf("PreviewRemove: Christmas should be working, New Year's Day still off")
		}

		file := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:1@t\r\nDTSTART;VALUE=DATE:20260309\r\n" +
			"DTEND;VALUE=DATE:20260311\r\nSUMMARY:Retreat\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		cal, n, err := h.PreviewImport(apptest.Admin, strings.NewReader(file), "closure")
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 || cal.IsWorkingDay(mustDate(t, "2026-03-09")) || cal.IsWorkingDay(mustDate(t, "2026-03-10")) || !cal.IsWorkingDay(mustDate(t, "2026-03-11")) {
			t.Errorf("PreviewImport: got %d days, want 9 and 10 March off", n)
		}

		requester := workflow.Actor{ID: 1, Roles: []workflow.Role{workflow.Requester}}
		for _, c := range []struct {
			name  string
			err   error
			code  errs.Code
			field string
		}{
			{"add as a requester", second(h.PreviewAdd(requester, "2026-03-04", "X", "closure")), errs.Forbidden, ""},
			{"add a bad date", second(h.PreviewAdd(apptest.Admin, "2026-02-30", "X", "closure")), errs.Invalid, "date"},
			{"add without a name", second(h.PreviewAdd(apptest.Admin, "2026-03-04", "", "closure")), errs.Invalid, "name"},
			{"add a bad kind", second(h.PreviewAdd(apptest.Admin, "2026-03-04", "X", "party")), errs.Invalid, "kind"},
			{"remove as a requester", second(h.PreviewRemove(requester, "2026-12-25")), errs.Forbidden, ""},
			{"remove a working day", second(h.PreviewRemove(apptest.Admin, "2026-03-04")), errs.NotFound, ""},
			{"remove nonsense", second(h.PreviewRemove(apptest.Admin, "nonsense")), errs.NotFound, ""},
			{"import not a calendar", third(h.PreviewImport(apptest.Admin, strings.NewReader("hello"), "closure")), errs.Invalid, "file"},
			{"import as a requester", third(h.PreviewImport(requester, strings.NewReader(file), "closure")), errs.Forbidden, ""},
		} {
			if !errs.Is(c.err, c.code) {
				t.Errorf("%s: got %v, want %s", c.name, c.err, c.code)
			} else if fs := errs.Fields(c.err); c.field != "" && (len(fs) == 0 || fs[0].Field != c.field) {
				t.Errorf("%s: got %v, want field %s", c.name, c.err, c.field)
			}
		}

		after, err := h.List(ctx, 2026)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before) {
			t.Errorf("after the previews 2026 has %d days off, want %d as before", len(after), len(before))
		}
		if h.Current() != inForce {
			t.Errorf("a preview put another calendar in force")
		}
	})
}

func second[T any](_ T, err error) error        { return err }
func third[T, U any](_ T, _ U, err error) error { return err }
