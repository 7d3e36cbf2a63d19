package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/errs"
	"datashare/models"
	"datashare/workflow"
)

// The lockout rule: after MaxFailures failed password sign-ins for one
// email within FailureWindow, every attempt for that email is refused for
// LockoutPeriod, whatever the password.
const (
	MaxFailures   = 5
	FailureWindow = 15 * time.Minute
	LockoutPeriod = 15 * time.Minute
)

// Outcomes of a sign-in event.
const (
	OutcomeSignedIn  = "signed_in"
	OutcomeFailed    = "failed"  // a wrong email or password
	OutcomeLocked    = "locked"  // the failure that started a lockout
	OutcomeRefused   = "refused" // an attempt during a lockout, not checked
	OutcomeSignedOut = "signed_out"
	// OutcomeDeactivated is the right password of a deactivated user.
	OutcomeDeactivated = "deactivated"
	// Single sign-on: a sign-in through the agency's identity provider, and
	// one refused, with the reason in the event (see SSOSignIn).
	OutcomeSSOSignedIn = "sso_signed_in"
	OutcomeSSORefused  = "sso_refused"
)

// Reasons the service itself refuses a single sign-on for; package sso
// names the reasons found in what the provider or the browser sent.
const (
	ReasonUnknownEmail = "unknown_email"
	ReasonDeactivated  = "deactivated"
)

// RecentSignInCount is how many events a user's list of recent sign-ins
// shows.
const RecentSignInCount = 10

// maxEmailBytes bounds what is counted and recorded of a typed email: no
// address is longer, and a client may send anything.
const maxEmailBytes = 254

// ErrSignIn is the one answer to a wrong email or a wrong password, so that
// a sign-in form does not tell which emails have accounts.
var ErrSignIn = errs.E(errs.Unauthenticated, "Email or password is incorrect")

// dummyHash is compared against when no user has the email, so that an
// unknown email costs the same bcrypt work as a wrong password. It is made
// at the first sign-in, not at every start of every command.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("datashare-no-such-user"), bcrypt.DefaultCost)
	return h
})

// SignIn returns the user whose email and password these are. Errors:
// ErrSignIn for a wrong email or password (a user without a password
// cannot sign in with one); ErrDeactivated for the right password of a
// deactivated user; too_many_requests, with RetryAfter the time
// left, while the email is locked out. Every attempt is counted (for
// emails without an account too), logged and recorded with address, the
// client's; a successful one clears the count.
func (s *Service) SignIn(ctx context.Context, email, password, address string) (models.User, error) {
	now := s.now()
	key := signInKey(email)
	u, err := s.UserByEmail(ctx, key)
	known := err == nil
	if err != nil && !errs.Is(err, errs.NotFound) {
		return models.User{}, fmt.Errorf("sign in: %w", err)
	}
	ev := models.SignInEvent{Email: key, Address: address, At: now}
	if known {
		ev.UserID, ev.Email = &u.ID, u.Email
	}
	starts, until, locked, err := s.claimAttempt(ctx, key, now)
	if err != nil {
		return models.User{}, err
	}
	if locked {
		ev.Outcome = OutcomeRefused
		if err := s.record(ctx, ev); err != nil {
			return models.User{}, err
		}
		left := until.Sub(now)
		return models.User{}, &errs.Error{Code: errs.TooManyRequests, RetryAfter: left,
			Message: fmt.Sprintf("too many failed sign-ins for this email; try again in %d minutes", int(math.Ceil(left.Minutes())))}
	}
	if !passwordMatches(u, known, password) {
		ev.Outcome = OutcomeFailed
		if starts {
			ev.Outcome = OutcomeLocked
		}
		if err := s.record(ctx, ev); err != nil {
			return models.User{}, err
		}
		return models.User{}, ErrSignIn
	}
	if !mayStartSession(u) {
		ev.Outcome = OutcomeDeactivated
		if err := s.record(ctx, ev); err != nil {
			return models.User{}, err
		}
		return models.User{}, ErrDeactivated
	}
	ev.Outcome = OutcomeSignedIn
	err = s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		if err := tx.Where("email = ?", key).Delete(&models.SignInFailures{}).Error; err != nil {
			return err
		}
		return s.record(ctx, ev)
	})
	if err != nil {
		return models.User{}, fmt.Errorf("sign in %s: %w", u.Email, err)
	}
	return u, nil
}

// passwordMatches does the same bcrypt work whether or not the user exists
// or has a password.
func passwordMatches(u models.User, known bool, password string) bool {
	if !known || u.PasswordHash == nil {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return false
	}
	// bcrypt reads 72 bytes: a longer password would match on its start.
	return len(password) <= 72 && bcrypt.CompareHashAndPassword([]byte(*u.PasswordHash), []byte(password)) == nil
}

// claimAttempt counts an attempt of key as a failure before its password
// is checked, so that attempts made at once cannot all slip in under the
// limit: each takes its place in the count in turn, the row locked
// meanwhile (the one writer on SQLite, FOR UPDATE on PostgreSQL), on every
// replica. A right password then clears the count. It reports whether this
// attempt starts a lockout, or, when key is locked already, until when.
func (s *Service) claimAttempt(ctx context.Context, key string, now time.Time) (starts bool, until time.Time, locked bool, err error) {
	err = s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		var f models.SignInFailures
		// A sign-in that succeeds meanwhile deletes the row between the
		// insert that found it and the read: insert it again.
		for try := 0; ; try++ {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).
				Create(&models.SignInFailures{Email: key, WindowStart: now}).Error; err != nil {
				return err
			}
			q := tx
			if s.db.Dialect == models.Postgres {
				q = q.Clauses(clause.Locking{Strength: "UPDATE"})
			}
			err := q.Take(&f, "email = ?", key).Error
			if err == nil {
				break
			}
			if !errors.Is(err, gorm.ErrRecordNotFound) || try == 2 {
				return err
			}
		}
		if until, locked = lockedUntil(f, now); locked {
			return nil
		}
		f, starts = afterFailure(f, now)
		return tx.Model(&models.SignInFailures{}).Where("email = ?", key).Updates(map[string]any{
			"failures": f.Failures, "window_start": f.WindowStart, "locked_until": f.LockedUntil,
		}).Error
	})
	if err != nil {
		return false, time.Time{}, false, fmt.Errorf("count a sign-in attempt of %s: %w", key, err)
	}
	return starts, until, locked, nil
}

// afterFailure is f once a failure at now is counted, and whether that
// failure starts a lockout. A failure after the window of the first one
// starts a new window.
func afterFailure(f models.SignInFailures, now time.Time) (models.SignInFailures, bool) {
	if f.Failures == 0 || !now.Before(f.WindowStart.Add(FailureWindow)) {
		f.Failures, f.WindowStart, f.LockedUntil = 0, now, nil
	}
	f.Failures++
	if f.Failures == MaxFailures {
		until := now.Add(LockoutPeriod)
		f.LockedUntil = &until
		return f, true
	}
	return f, false
}

// lockedUntil reports whether f refuses attempts at now, and until when.
func lockedUntil(f models.SignInFailures, now time.Time) (time.Time, bool) {
	if f.LockedUntil == nil || !now.Before(*f.LockedUntil) {
		return time.Time{}, false
	}
	return *f.LockedUntil, true
}

// signInKey is the email as counted: the form of UserByEmail, cut to a
// length no address exceeds, and valid text for either database.
func signInKey(email string) string {
	k := strings.ToLower(strings.TrimSpace(strings.ToValidUTF8(email, "")))
	k = strings.ReplaceAll(k, "\x00", "")
	for len(k) > maxEmailBytes {
		_, size := utf8.DecodeLastRuneInString(k)
		k = k[:len(k)-size]
	}
	return k
}

var eventMessages = map[string]string{
	OutcomeSignedIn:    "signed in",
	OutcomeFailed:      "sign-in failed",
	OutcomeLocked:      "sign-in locked",
	OutcomeRefused:     "sign-in refused while locked",
	OutcomeSignedOut:   "signed out",
	OutcomeDeactivated: "sign-in refused: account deactivated",
	OutcomeSSOSignedIn: "signed in with single sign-on",
	OutcomeSSORefused:  "single sign-on refused",
}

// record stores ev and logs it once stored, with the attributes extra.
// Neither ever holds a password or a token.
func (s *Service) record(ctx context.Context, ev models.SignInEvent, extra ...any) error {
	if err := s.db.Conn(ctx).Create(&ev).Error; err != nil {
		return fmt.Errorf("record %s of %s: %w", ev.Outcome, ev.Email, err)
	}
	level := slog.LevelInfo
	if ev.Outcome == OutcomeLocked || ev.Outcome == OutcomeRefused || ev.Outcome == OutcomeDeactivated || ev.Outcome == OutcomeSSORefused {
		level = slog.LevelWarn
	}
	attrs := []any{"outcome", ev.Outcome, "email", ev.Email, "address", ev.Address}
	if ev.Reason != "" {
		attrs = append(attrs, "reason", ev.Reason)
	}
	if ev.UserID != nil {
		attrs = append(attrs, "user_id", *ev.UserID)
	}
	attrs = append(attrs, extra...)
	s.db.AfterCommit(ctx, func() { s.log.Log(ctx, level, eventMessages[ev.Outcome], attrs...) })
	return nil
}

// SignedOut records that caller signed out from address.
func (s *Service) SignedOut(ctx context.Context, caller workflow.Actor, address string) error {
	id := caller.ID
	return s.record(ctx, models.SignInEvent{UserID: &id, Email: caller.Email, Address: address, Outcome: OutcomeSignedOut, At: s.now()})
}

// RecentSignIns returns the caller's last RecentSignInCount sign-in
// events, newest first.
func (s *Service) RecentSignIns(ctx context.Context, caller workflow.Actor) ([]models.SignInEvent, error) {
	var out []models.SignInEvent
	err := s.db.Conn(ctx).Where("user_id = ?", caller.ID).Order("at DESC, id DESC").Limit(RecentSignInCount).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("recent sign-ins of user %d: %w", caller.ID, err)
	}
	return out, nil
}
