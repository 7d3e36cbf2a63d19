package accounts

import (
	"strings"
	"testing"
	"time"

	"datashare/models"
)

func TestAfterFailure(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	ptr := func(t time.Time) *time.Time { return &t }
	for _, tc := range []struct {
		name       string
		before     models.SignInFailures
		now        time.Time
		failures   int
		start      time.Time
		lockedTill *time.Time
		locks      bool
	}{
		{"first failure opens a window", models.SignInFailures{WindowStart: at(0)}, at(time.Minute), 1, at(time.Minute), nil, false},
		{"fourth failure within the window", models.SignInFailures{Failures: 3, WindowStart: at(0)}, at(14 * time.Minute), 4, at(0), nil, false},
		{"fifth failure within the window locks", models.SignInFailures{Failures: 4, WindowStart: at(0)}, at(14 * time.Minute), 5, at(0), ptr(at(29 * time.Minute)), true},
		{"fifth failure at the end of the window starts again", models.SignInFailures{Failures: 4, WindowStart: at(0)}, at(15 * time.Minute), 1, at(15 * time.Minute), nil, false},
		{"a failure after a lockout starts again", models.SignInFailures{Failures: 5, WindowStart: at(0), LockedUntil: ptr(at(15 * time.Minute))}, at(15 * time.Minute), 1, at(15 * time.Minute), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, locks := afterFailure(tc.before, tc.now)
			if got.Failures != tc.failures || !got.WindowStart.Equal(tc.start) || locks != tc.locks {
				t.Errorf("got %d failures from %s, locks %v; want %d from %s, %v", got.Failures, got.WindowStart, locks, tc.failures, tc.start, tc.locks)
			}
			if (got.LockedUntil == nil) != (tc.lockedTill == nil) || (got.LockedUntil != nil && !got.LockedUntil.Equal(*tc.lockedTill)) {
				t.Errorf("locked until %v, want %v", got.LockedUntil, tc.lockedTill)
			}
		})
	}
}

func TestLockedUntil(t *testing.T) {
	until := time.Date(2026, 6, 1, 2, 15, 0, 0, time.UTC)
	f := models.SignInFailures{Failures: 5, LockedUntil: &until}
	for _, tc := range []struct {
		name   string
		now    time.Time
		locked bool
	}{
		{"a second before the end", until.Add(-time.Second), true},
		{"at the end", until, false},
	} {
		if _, got := lockedUntil(f, tc.now); got != tc.locked {
			t.Errorf("%s: locked %v, want %v", tc.name, got, tc.locked)
		}
	}
	if _, got := lockedUntil(models.SignInFailures{Failures: 4}, until); got {
		t.Error("four failures: locked, want not")
	}
}

func TestSignInKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{" Req@MSF.gov.sg ", "req@msf.gov.sg"},
		{"a\x00b\xffc", "abc"},
		{strings.Repeat("é", 200), strings.Repeat("é", 127)}, // two bytes each, cut to 254
	} {
		if got := signInKey(tc.in); got != tc.want {
			t.Errorf("signInKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
