package sla_test

import (
	"testing"
	"time"

	"datashare/apptest"
	"datashare/calendar"
	"datashare/models"
	"datashare/sla"
)

type staticCalendar struct{ cal *calendar.Calendar }

func (s staticCalendar) Current() *calendar.Calendar { return s.cal }

func mustKeeper(tb testing.TB, extra ...calendar.Holiday) *sla.Keeper {
	tb.Helper()
	cal, err := calendar.New(apptest.SGT, calendar.DefaultHours(), append(calendar.SingaporeHolidays(), extra...))
	if err != nil {
		tb.Fatal(err)
	}
	return sla.NewKeeper(staticCalendar{cal}, sla.DefaultSettings())
}

// at parses a Singapore wall-clock time like "2025-01-06 10:00".
func at(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.ParseInLocation("2006-01-02 15:04", s, apptest.SGT)
	if err != nil {
		tb.Fatal(err)
	}
	return t.UTC()
}

type step struct {
	from, to string
	at       string
}

// replay moves a draft through steps, as workflow.Service does.
func replay(tb testing.TB, k *sla.Keeper, steps []step) *models.Request {
	tb.Helper()
	r := &models.Request{State: "draft"}
	created := at(tb, steps[0].at)
	r.SLA.StateSince = &created
	for _, s := range steps {
		t := at(tb, s.at)
		k.Stamp(r, s.from, s.to, t)
		r.State = s.to
		if s.to == "fulfilled" || s.to == "rejected" || s.to == "withdrawn" {
			r.ClosedAt = &t
		}
	}
	return r
}

func wantTime(tb testing.TB, name string, got *time.Time, want time.Time) {
	tb.Helper()
	if got == nil {
		tb.Fatalf("%s: got nil, want %s", name, want.In(apptest.SGT))
	}
	if !got.Equal(want) {
		tb.Fatalf("%s: got %s, want %s", name, got.In(apptest.SGT), want.In(apptest.SGT))
	}
}

func near(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }

func TestClockStartsAtSubmissionAndDueIsSevenWorkingDaysLater(t *testing.T) {
	k := mustKeeper(t)
	tests := []struct {
		name     string
		submit   string
		wantDue  string
		wantWarn string
	}{
		// Mon 10:00 + 7 working days, no holidays: Wednesday of the next week.
		{"monday morning", "2025-01-06 10:00", "2025-01-15 10:00", "2025-01-13 10:00"},
		// Saturday: the clock starts Monday 08:30; 7 days end at the close of
		// the following Tuesday.
		{"saturday", "2025-01-11 11:00", "2025-01-21 18:00", "2025-01-17 17:30"},
		// After hours on Monday counts from Tuesday's opening.
		{"after hours", "2025-01-06 20:00", "2025-01-15 18:00", "2025-01-13 18:00"},
		// On Chinese New Year (Wed 29 Jan 2025; Thu 30 also off) the clock
		// starts Friday 31 Jan 08:30: Fri, Mon–Fri (6), Mon 10 Feb (7).
		{"chinese new year", "2025-01-29 10:00", "2025-02-10 18:00", "2025-02-06 18:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := replay(t, k, []step{{"draft", "submitted", tt.submit}})
			wantTime(t, "due_at", r.SLA.DueAt, at(t, tt.wantDue))
			due := k.DueIfSubmitted(at(t, tt.submit))
			wantTime(t, "due if submitted", &due, at(t, tt.wantDue))
			wantTime(t, "warn_at", r.SLA.WarnAt, at(t, tt.wantWarn))
			if r.SLA.Target == nil || *r.SLA.Target != 7 {
				t.Fatalf("target: got %v, want 7", r.SLA.Target)
			}
		})
	}
}

func TestPauseMovesDueLaterByThePausedWorkingTime(t *testing.T) {
	k := mustKeeper(t)
	// Submitted Mon 6 Jan 08:30; clarification asked Wed 8 Jan 08:30 (2.0
	// days used); answered Fri 10 Jan 08:30. 5 days remain from Friday's
	// opening: Fri, Mon, Tue, Wed, Thu 16 Jan at 18:00. Without the pause it
	// would have been Tue 14 Jan 18:00.
	r := replay(t, k, []step{
		{"draft", "submitted", "2025-01-06 08:30"},
		{"submitted", "clarification_requested", "2025-01-08 08:30"},
	})
	if r.SLA.DueAt != nil {
		t.Fatalf("due while paused: got %v, want nil (unknown until resumed)", r.SLA.DueAt)
	}
	v := k.Evaluate(r, at(t, "2025-01-09 12:00"))
	if !v.Paused || !near(v.Elapsed, 2) || v.Status != sla.OnTrack {
		t.Fatalf("paused view: got %+v, want paused, 2 days elapsed, on_track", v)
	}
	k.Stamp(r, "clarification_requested", "submitted", at(t, "2025-01-10 08:30"))
	r.State = "submitted"
	wantTime(t, "due_at after respond", r.SLA.DueAt, at(t, "2025-01-16 18:00"))
	if !near(r.SLA.DaysSubmitted, 2) || !near(r.SLA.DaysClarification, 2) {
		t.Fatalf("time in state: got submitted %v clarification %v, want 2 and 2", r.SLA.DaysSubmitted, r.SLA.DaysClarification)
	}
}

func TestPauseOverAWeekendCountsOnlyWorkingTimeBeforeAndAfter(t *testing.T) {
	k := mustKeeper(t)
	// Paused Fri 10 Jan 12:00 to Mon 13 Jan 12:00. Before: Mon–Thu (4) and
	// Fri 08:30–12:00 = 3.5 h of 9 h. After: 7 − 4.3889 = 2.6111 days from
	// Mon 12:00: Mon rest 6/9.5 = 0.6316, Tue 1, then 0.9795 of Wed's 9.5 h
	// = 9 h 18 m 20 s after 08:30: Wed 15 Jan 17:48:20.
	r := replay(t, k, []step{
		{"draft", "submitted", "2025-01-06 08:30"},
		{"submitted", "clarification_requested", "2025-01-10 12:00"},
		{"clarification_requested", "submitted", "2025-01-13 12:00"},
	})
	if want := 4 + 3.5/9; !near(r.SLA.Elapsed, want) {
		t.Fatalf("elapsed before resume: got %v, want %v", r.SLA.Elapsed, want)
	}
	got := r.SLA.DueAt.In(apptest.SGT)
	want := time.Date(2025, 1, 15, 17, 48, 20, 0, apptest.SGT)
	if d := got.Sub(want); d > time.Second || d < -time.Second {
		t.Fatalf("due: got %s, want %s (±1 s)", got, want)
	}
}

func TestStatusThroughTheLifeOfARequest(t *testing.T) {
	k := mustKeeper(t)
	submitted := []step{{"draft", "submitted", "2025-01-06 10:00"}} // due 15 Jan 10:00, warn 13 Jan 10:00
	tests := []struct {
		name  string
		steps []step
		now   string
		want  string
	}{
		{"draft", []step{}, "2025-01-06 10:00", sla.NotStarted},
		{"fresh", submitted, "2025-01-07 10:00", sla.OnTrack},
		{"warning reached", submitted, "2025-01-13 10:00", sla.AtRisk},
		{"due reached", submitted, "2025-01-15 10:00", sla.Breached},
		{"fulfilled in time", append(submitted, step{"submitted", "approved", "2025-01-08 10:00"}, step{"approved", "fulfilled", "2025-01-15 10:00"}), "2025-02-01 10:00", sla.Met},
		{"fulfilled late", append(submitted, step{"submitted", "approved", "2025-01-08 10:00"}, step{"approved", "fulfilled", "2025-01-15 10:01"}), "2025-02-01 10:00", sla.Missed},
		{"rejected in time", append(submitted, step{"submitted", "rejected", "2025-01-07 10:00"}), "2025-02-01 10:00", sla.Met},
		{"withdrawn before due", append(submitted, step{"submitted", "withdrawn", "2025-01-14 10:00"}), "2025-02-01 10:00", sla.Excluded},
		{"withdrawn after due", append(submitted, step{"submitted", "withdrawn", "2025-01-16 10:00"}), "2025-02-01 10:00", sla.Missed},
		{"draft withdrawn", []step{{"draft", "withdrawn", "2025-01-06 10:00"}}, "2025-02-01 10:00", sla.Excluded},
		{"paused past warning", append(submitted, step{"submitted", "clarification_requested", "2025-01-14 10:00"}), "2025-01-20 10:00", sla.AtRisk},
		{"paused past due stays breached", append(submitted, step{"submitted", "clarification_requested", "2025-01-16 10:00"}), "2025-01-20 10:00", sla.Breached},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *models.Request
			if len(tt.steps) == 0 {
				r = &models.Request{State: "draft"}
			} else {
				r = replay(t, k, tt.steps)
			}
			if got := k.Evaluate(r, at(t, tt.now)).Status; got != tt.want {
				t.Fatalf("status: got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestReprojectMovesOnlyInstantsStillAhead(t *testing.T) {
	// Due Wed 15 Jan 10:00 without holidays; a closure on Tue 14 Jan moves
	// it one working day later, to Thu 16 Jan 10:00.
	plain := mustKeeper(t)
	r := replay(t, plain, []step{{"draft", "submitted", "2025-01-06 10:00"}})
	closed := mustKeeper(t, calendar.Holiday{Date: calendar.Date{Year: 2025, Month: 1, Day: 14}, Name: "Office move", Kind: calendar.Closure})
	if !closed.Reproject(r, at(t, "2025-01-10 10:00")) {
		t.Fatal("reproject before the due date: got no change, want one")
	}
	wantTime(t, "due after closure", r.SLA.DueAt, at(t, "2025-01-16 10:00"))

	late := replay(t, plain, []step{{"draft", "submitted", "2025-01-06 10:00"}})
	if closed.Reproject(late, at(t, "2025-01-15 11:00")) {
		t.Fatal("reproject after the due instant: got a change, want the missed outcome fixed")
	}
	wantTime(t, "due kept", late.SLA.DueAt, at(t, "2025-01-15 10:00"))
}
