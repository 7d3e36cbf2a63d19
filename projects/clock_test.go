package projects_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"datashare/apptest"
	"datashare/calendar"
	"datashare/projects"
	"datashare/sla"
	"datashare/workflow"
)

func mustCalendar(tb testing.TB) *calendar.Calendar {
	tb.Helper()
	cal, err := calendar.New(apptest.SGT, calendar.DefaultHours(), calendar.SingaporeHolidays())
	if err != nil {
		tb.Fatal(err)
	}
	return cal
}

// at parses a Singapore wall-clock time like "2025-01-06 10:00".
func at(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.ParseInLocation("2006-01-02 15:04", s, apptest.SGT)
	if err != nil {
		tb.Fatalf("parse %q: %v", s, err)
	}
	return t.UTC()
}

// req is a request owned by owner whose steps read "2025-01-06 10:00
// submitted"; a request is created as a draft on 2025-01-02.
func req(tb testing.TB, owner string, steps ...string) projects.History {
	tb.Helper()
	h := projects.History{OwnerAgency: owner, Steps: []projects.Step{{At: at(tb, "2025-01-02 09:00"), To: workflow.Draft}}}
	for _, s := range steps {
		i := strings.LastIndexByte(s, ' ')
		if i < 0 {
			tb.Fatalf("step %q: want a time and a state", s)
		}
		h.Steps = append(h.Steps, projects.Step{At: at(tb, s[:i]), To: workflow.State(s[i+1:])})
	}
	return h
}

// ruleCase is a project's requests and its clock at now.
type ruleCase struct {
	name        string
	reqs        []projects.History
	now         string
	wantStatus  string
	wantElapsed float64
	wantDue     string // "" for none
	wantStart   string
	wantStop    string
	wantWaiting []string
}

// ruleCases are the cases of the project rule.
func ruleCases(t testing.TB) []ruleCase {
	return []ruleCase{
		{name: "no request: not started", now: "2025-01-06 10:00", wantStatus: sla.NotStarted},
		{name: "only a draft: not started", reqs: []projects.History{req(t, "MOH")},
			now: "2025-01-06 10:00", wantStatus: sla.NotStarted},
		{name: "one day into one request: on track",
			reqs: []projects.History{req(t, "MOH", "2025-01-06 10:00 submitted"), req(t, "CPF")},
			now:  "2025-01-07 10:00", wantStatus: sla.OnTrack, wantElapsed: 1,
			wantDue: "2025-01-15 10:00", wantStart: "2025-01-06 10:00", wantWaiting: []string{"MOH"}},
		{name: "a step after now is not read",
			reqs: []projects.History{req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-08 10:00 fulfilled")},
			now:  "2025-01-07 10:00", wantStatus: sla.OnTrack, wantElapsed: 1,
			wantDue: "2025-01-15 10:00", wantStart: "2025-01-06 10:00", wantWaiting: []string{"MOH"}},
		{name: "five of seven days: at risk",
			reqs: []projects.History{
				req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-07 10:00 approved"),
				req(t, "HDB", "2025-01-08 10:00 submitted", "2025-01-09 10:00 fulfilled"),
			},
			now: "2025-01-13 10:00", wantStatus: sla.AtRisk, wantElapsed: 5,
			wantDue: "2025-01-15 10:00", wantStart: "2025-01-06 10:00", wantWaiting: []string{"MOH"}},
		{name: "just under five days: on track",
			reqs: []projects.History{req(t, "MOH", "2025-01-06 10:00 submitted")},
			now:  "2025-01-13 09:59", wantStatus: sla.OnTrack, wantElapsed: 5 - 1.0/9.5/60,
			wantDue: "2025-01-15 10:00", wantStart: "2025-01-06 10:00", wantWaiting: []string{"MOH"}},
		{name: "past the due instant while open: breached",
			reqs: []projects.History{
				req(t, "MOH", "2025-01-06 10:00 submitted"),
				req(t, "HDB", "2025-01-06 10:00 submitted"),
			},
			now: "2025-01-16 10:00", wantStatus: sla.Breached, wantElapsed: 8,
			wantDue: "2025-01-15 10:00", wantStart: "2025-01-06 10:00", wantWaiting: []string{"HDB", "MOH"}},
		{name: "every request fulfilled by due: met at the last",
			reqs: []projects.History{
				req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-07 10:00 approved", "2025-01-09 10:00 fulfilled"),
				req(t, "HDB", "2025-01-07 10:00 submitted", "2025-01-13 10:00 fulfilled"),
			},
			now: "2025-02-03 10:00", wantStatus: sla.Met, wantElapsed: 5,
			wantDue: "2025-01-15 10:00", wantStart: "2025-01-06 10:00", wantStop: "2025-01-13 10:00"},
		{name: "last data in exactly at due: met",
			reqs: []projects.History{req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-15 10:00 fulfilled")},
			now:  "2025-02-03 10:00", wantStatus: sla.Met, wantElapsed: 7,
			wantDue: "2025-01-15 10:00", wantStart: "2025-01-06 10:00", wantStop: "2025-01-15 10:00"},
		{name: "last data in after due: missed, due stays",
			reqs: []projects.History{
				req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-07 10:00 fulfilled"),
				req(t, "HDB", "2025-01-06 10:00 submitted", "2025-01-16 10:00 fulfilled"),
			},
			now: "2025-02-03 10:00", wantStatus: sla.Missed, wantElapsed: 8,
			wantDue: "2025-01-15 10:00", wantStart: "2025-01-06 10:00", wantStop: "2025-01-16 10:00"},
		{name: "overlapping pauses: only the time both wait is left out",
			reqs: []projects.History{
				req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-07 10:00 clarification_requested", "2025-01-09 10:00 submitted"),
				req(t, "HDB", "2025-01-06 10:00 submitted", "2025-01-08 10:00 clarification_requested", "2025-01-13 10:00 submitted"),
			},
			now: "2025-01-14 10:00", wantStatus: sla.AtRisk, wantElapsed: 5,
			wantDue: "2025-01-16 10:00", wantStart: "2025-01-06 10:00", wantWaiting: []string{"HDB", "MOH"}},
		{name: "one request paused while another runs: nothing left out",
			reqs: []projects.History{
				req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-07 10:00 clarification_requested", "2025-01-08 10:00 submitted"),
				req(t, "HDB", "2025-01-06 10:00 submitted"),
			},
			now: "2025-01-08 10:00", wantStatus: sla.OnTrack, wantElapsed: 2,
			wantDue: "2025-01-15 10:00", wantStart: "2025-01-06 10:00", wantWaiting: []string{"HDB", "MOH"}},
		{name: "every request paused past the old due: on track, due projected from now",
			reqs: []projects.History{req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-07 10:00 clarification_requested")},
			now:  "2025-01-20 10:00", wantStatus: sla.OnTrack, wantElapsed: 1,
			wantDue: "2025-01-28 10:00", wantStart: "2025-01-06 10:00", wantWaiting: []string{"MOH"}},
		{name: "paused at five days: still at risk",
			reqs: []projects.History{req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-13 10:00 clarification_requested")},
			now:  "2025-01-20 10:00", wantStatus: sla.AtRisk, wantElapsed: 5,
			wantDue: "2025-01-22 10:00", wantStart: "2025-01-06 10:00", wantWaiting: []string{"MOH"}},
		{name: "a holiday inside counts nothing",
			// Good Friday, 18 April 2025: due a working day later than
			// without it.
			reqs: []projects.History{req(t, "MOH", "2025-04-14 10:00 submitted")},
			now:  "2025-04-21 10:00", wantStatus: sla.OnTrack, wantElapsed: 4,
			wantDue: "2025-04-24 10:00", wantStart: "2025-04-14 10:00", wantWaiting: []string{"MOH"}},
		{name: "before a request added after the others finished: met",
			reqs: []projects.History{
				req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-08 10:00 fulfilled"),
				req(t, "CPF", "2025-01-13 10:00 submitted"),
			},
			now: "2025-01-13 09:00", wantStatus: sla.Met, wantElapsed: 2,
			wantDue: "2025-01-15 10:00", wantStart: "2025-01-06 10:00", wantStop: "2025-01-08 10:00"},
		{name: "a request added after the others finished reopens the clock; the gap counts nothing",
			reqs: []projects.History{
				req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-08 10:00 fulfilled"),
				req(t, "CPF", "2025-01-13 10:00 submitted"),
			},
			now: "2025-01-14 10:00", wantStatus: sla.OnTrack, wantElapsed: 3,
			wantDue: "2025-01-20 10:00", wantStart: "2025-01-06 10:00", wantWaiting: []string{"CPF"}},
		{name: "the added request runs past the remaining days: missed at the due instant",
			reqs: []projects.History{
				req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-08 10:00 fulfilled"),
				req(t, "CPF", "2025-01-13 10:00 submitted", "2025-01-22 10:00 fulfilled"),
			},
			now: "2025-02-03 10:00", wantStatus: sla.Missed, wantElapsed: 9,
			wantDue: "2025-01-20 10:00", wantStart: "2025-01-06 10:00", wantStop: "2025-01-22 10:00"},
		{name: "a request withdrawn, the other fulfilled by due: met",
			reqs: []projects.History{
				req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-08 10:00 fulfilled"),
				req(t, "HDB", "2025-01-06 10:00 submitted", "2025-01-09 10:00 withdrawn"),
			},
			now: "2025-02-03 10:00", wantStatus: sla.Met, wantElapsed: 3,
			wantDue: "2025-01-15 10:00", wantStart: "2025-01-06 10:00", wantStop: "2025-01-09 10:00"},
		{name: "a request rejected before due while the other is met: met",
			reqs: []projects.History{
				req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-09 10:00 fulfilled"),
				req(t, "HDB", "2025-01-06 10:00 submitted", "2025-01-07 10:00 rejected"),
			},
			now: "2025-02-03 10:00", wantStatus: sla.Met, wantElapsed: 3,
			wantDue: "2025-01-15 10:00", wantStart: "2025-01-06 10:00", wantStop: "2025-01-09 10:00"},
		{name: "a request rejected after due: partial",
			reqs: []projects.History{
				req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-09 10:00 fulfilled"),
				req(t, "HDB", "2025-01-06 10:00 submitted", "2025-01-16 10:00 rejected"),
			},
			now: "2025-02-03 10:00", wantStatus: projects.Partial, wantElapsed: 8,
			wantDue: "2025-01-15 10:00", wantStart: "2025-01-06 10:00", wantStop: "2025-01-16 10:00"},
		{name: "a request withdrawn after due: partial",
			reqs: []projects.History{
				req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-20 10:00 fulfilled"),
				req(t, "HDB", "2025-01-06 10:00 submitted", "2025-01-16 10:00 withdrawn"),
			},
			now: "2025-02-03 10:00", wantStatus: projects.Partial, wantElapsed: 10,
			wantDue: "2025-01-15 10:00", wantStart: "2025-01-06 10:00", wantStop: "2025-01-20 10:00"},
		{name: "late data, the refusal in time: missed",
			reqs: []projects.History{
				req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-16 10:00 fulfilled"),
				req(t, "HDB", "2025-01-06 10:00 submitted", "2025-01-07 10:00 rejected"),
			},
			now: "2025-02-03 10:00", wantStatus: sla.Missed, wantElapsed: 8,
			wantDue: "2025-01-15 10:00", wantStart: "2025-01-06 10:00", wantStop: "2025-01-16 10:00"},
		{name: "every request withdrawn before due: excluded, not stopped",
			reqs: []projects.History{
				req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-07 10:00 withdrawn"),
				req(t, "HDB", "2025-01-06 10:00 submitted", "2025-01-08 10:00 clarification_requested", "2025-01-09 10:00 withdrawn"),
			},
			now: "2025-02-03 10:00", wantStatus: sla.Excluded, wantElapsed: 2,
			wantDue: "2025-01-16 10:00", wantStart: "2025-01-06 10:00"},
		{name: "every request rejected after due: missed, not excluded",
			reqs: []projects.History{req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-16 10:00 rejected")},
			now:  "2025-02-03 10:00", wantStatus: sla.Missed, wantElapsed: 8,
			wantDue: "2025-01-15 10:00", wantStart: "2025-01-06 10:00"},
		{name: "the README's worked example: missed",
			reqs: readmeExample(t, "2026-01-19 10:00 fulfilled"),
			now:  "2026-02-02 10:00", wantStatus: sla.Missed, wantElapsed: 9,
			wantDue: "2026-01-15 10:00", wantStart: "2026-01-05 10:00", wantStop: "2026-01-19 10:00"},
		{name: "the README's worked example on the Monday: waiting on IRAS",
			reqs: readmeExample(t, "2026-01-19 10:00 fulfilled"),
			now:  "2026-01-12 10:00", wantStatus: sla.OnTrack, wantElapsed: 4,
			wantDue: "2026-01-15 10:00", wantStart: "2026-01-05 10:00", wantWaiting: []string{"IRAS"}},
		{name: "the README's worked example on the Tuesday: at risk",
			reqs: readmeExample(t, "2026-01-19 10:00 fulfilled"),
			now:  "2026-01-13 10:00", wantStatus: sla.AtRisk, wantElapsed: 5,
			wantDue: "2026-01-15 10:00", wantStart: "2026-01-05 10:00", wantWaiting: []string{"IRAS"}},
		{name: "the README's worked example, IRAS rejecting: partial",
			reqs: readmeExample(t, "2026-01-19 10:00 rejected"),
			now:  "2026-02-02 10:00", wantStatus: projects.Partial, wantElapsed: 9,
			wantDue: "2026-01-15 10:00", wantStart: "2026-01-05 10:00", wantStop: "2026-01-19 10:00"},
		{name: "the README's worked example, IRAS sharing on the Wednesday: met",
			reqs: readmeExample(t, "2026-01-14 10:00 fulfilled"),
			now:  "2026-02-02 10:00", wantStatus: sla.Met, wantElapsed: 6,
			wantDue: "2026-01-15 10:00", wantStart: "2026-01-05 10:00", wantStop: "2026-01-14 10:00"},
	}
}

func TestComputeFollowsTheProjectRule(t *testing.T) {
	cal := mustCalendar(t)
	for _, tt := range ruleCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			got := projects.Compute(tt.reqs, cal, sla.DefaultSettings(), at(t, tt.now))
			if got.Status != tt.wantStatus {
				t.Errorf("status: got %s, want %s", got.Status, tt.wantStatus)
			}
			if math.Abs(got.Elapsed-tt.wantElapsed) > 1e-9 {
				t.Errorf("elapsed: got %v, want %v", got.Elapsed, tt.wantElapsed)
			}
			wantInstant(t, "due_at", got.DueAt, tt.wantDue)
			wantInstant(t, "started_at", got.StartedAt, tt.wantStart)
			wantInstant(t, "stopped_at", got.StoppedAt, tt.wantStop)
			if !slices.Equal(got.WaitingOn, tt.wantWaiting) {
				t.Errorf("waiting_on: got %v, want %v", got.WaitingOn, tt.wantWaiting)
			}
		})
	}
}

// readmeExample is the worked example of the README: MSF's request to IRAS
// and MOH's to HDB, IRAS ending with last.
func readmeExample(tb testing.TB, last string) []projects.History {
	iras := []string{"2026-01-05 10:00 submitted", "2026-01-07 10:00 clarification_requested", "2026-01-12 10:00 submitted"}
	if strings.HasSuffix(last, "fulfilled") {
		iras = append(iras, "2026-01-13 15:00 approved")
	}
	return []projects.History{
		req(tb, "IRAS", append(iras, last)...),
		req(tb, "HDB", "2026-01-05 10:00 submitted", "2026-01-06 10:00 clarification_requested",
			"2026-01-08 10:00 submitted", "2026-01-09 11:00 approved", "2026-01-12 10:00 fulfilled"),
	}
}

func wantInstant(tb testing.TB, name string, got *time.Time, want string) {
	tb.Helper()
	switch {
	case want == "" && got != nil:
		tb.Errorf("%s: got %s, want none", name, got.In(apptest.SGT).Format("2006-01-02 15:04"))
	case want == "":
	case got == nil:
		tb.Errorf("%s: got none, want %s", name, want)
	case !got.Equal(at(tb, want)):
		tb.Errorf("%s: got %s, want %s", name, got.In(apptest.SGT).Format("2006-01-02 15:04:05"), want)
	}
}

// The rule agrees with a request's own clock on a project of one request.
func TestComputeOfOneRequestAgreesWithItsClock(t *testing.T) {
	cal := mustCalendar(t)
	h := req(t, "MOH", "2025-01-06 10:00 submitted", "2025-01-08 10:00 clarification_requested",
		"2025-01-10 11:00 submitted", "2025-01-14 15:00 approved")
	for _, now := range []string{"2025-01-07 12:00", "2025-01-09 12:00", "2025-01-13 16:00", "2025-01-20 09:00"} {
		got := projects.Compute([]projects.History{h}, cal, sla.DefaultSettings(), at(t, now))
		want := 2 + cal.WorkingDays(at(t, "2025-01-10 11:00"), at(t, now))
		if now < "2025-01-08 10:00" {
			want = cal.WorkingDays(at(t, "2025-01-06 10:00"), at(t, now))
		} else if now < "2025-01-10 11:00" {
			want = 2
		}
		if math.Abs(got.Elapsed-want) > 1e-9 {
			t.Errorf("at %s: elapsed got %v, want %v", now, got.Elapsed, want)
		}
	}
}

// A list reads a project's clock from the row recounted at each step of its
// requests; at any instant it must be the clock Compute gives from the
// histories.
func TestStoredClockAgreesWithCompute(t *testing.T) {
	cal := mustCalendar(t)
	set := sla.DefaultSettings()
	cases := ruleCases(t)
	cases = append(cases, ruleCase{name: "the README's example", reqs: readmeExample(t, "2026-01-19 10:00 fulfilled"), now: "2026-01-20 10:00"})
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			nows := []time.Time{at(t, tt.now)}
			for _, h := range tt.reqs {
				for _, s := range h.Steps {
					nows = append(nows, s.At, s.At.Add(time.Hour), s.At.Add(50*time.Hour), s.At.Add(9*24*time.Hour))
				}
			}
			for _, now := range nows {
				want := projects.Compute(tt.reqs, cal, set, now)
				got := projects.StoredClockAt(tt.reqs, cal, set, now)
				where := now.In(apptest.SGT).Format("2006-01-02 15:04")
				if got.Status != want.Status {
					t.Errorf("at %s: status got %s, want %s", where, got.Status, want.Status)
				}
				if math.Abs(got.Elapsed-want.Elapsed) > 1e-6 {
					t.Errorf("at %s: elapsed got %v, want %v", where, got.Elapsed, want.Elapsed)
				}
				for _, in := range []struct {
					name      string
					got, want *time.Time
				}{{"due_at", got.DueAt, want.DueAt}, {"warn_at", got.WarnAt, want.WarnAt},
					{"started_at", got.StartedAt, want.StartedAt}, {"stopped_at", got.StoppedAt, want.StoppedAt}} {
					if (in.got == nil) != (in.want == nil) || in.got != nil && in.got.Sub(*in.want).Abs() > time.Second {
						t.Errorf("at %s: %s got %v, want %v", where, in.name, in.got, in.want)
					}
				}
				if !slices.Equal(got.WaitingOn, want.WaitingOn) && len(got.WaitingOn)+len(want.WaitingOn) > 0 {
					t.Errorf("at %s: waiting_on got %v, want %v", where, got.WaitingOn, want.WaitingOn)
				}
			}
		})
	}
}
