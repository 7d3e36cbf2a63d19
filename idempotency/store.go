// Package idempotency remembers the first outcome of an operation a client
// asked for under a key of its choosing, so that a retry of the same call
// (after a timeout, say) is answered from the record instead of acting
// twice. The outcome is opaque here: its caller decides what it holds.
package idempotency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"datashare/models"
)

// Window is how long a key is remembered.
const Window = 24 * time.Hour

// MaxKeyLen is the longest key accepted.
const MaxKeyLen = 255

// Outcome is what the caller was answered: a code and a body of its own
// meaning.
type Outcome struct {
	Code     int
	Body     []byte
	Replayed bool // true when this is the stored first outcome
}

// Errors of Once, for the caller to word for its client.
var (
	ErrKeyTooLong = errors.New("the key is longer than MaxKeyLen")
	ErrKeyReused  = errors.New("the key was already used for a different operation")
)

var errKeyRace = errors.New("idempotency key stored concurrently")

// Store keeps outcomes in the database.
type Store struct {
	db  *models.DB
	now func() time.Time
}

// NewStore returns a Store over db, dating outcomes with now.
func NewStore(db *models.DB, now func() time.Time) *Store {
	return &Store{db: db, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// Once runs fn at most once per (user, key) within Window and returns its
// outcome; a repeat returns the stored first outcome without running fn.
// fn's writes and the stored outcome commit in one transaction (fn joins
// it through ctx), so a crash leaves either both or neither. fingerprint
// identifies the operation and its input: reusing a key for another one is
// ErrKeyReused. A failed fn stores nothing, so the client may retry with
// the same key. An empty key runs fn without recording anything.
func (s *Store) Once(ctx context.Context, userID int64, key, fingerprint string, fn func(ctx context.Context) (int, []byte, error)) (Outcome, error) {
	if key == "" {
		code, body, err := fn(ctx)
		return Outcome{Code: code, Body: body}, err
	}
	if len(key) > MaxKeyLen {
		return Outcome{}, ErrKeyTooLong
	}
	for attempt := 0; ; attempt++ {
		var ans Outcome
		err := s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
			if s.db.Dialect == models.Postgres {
				// Two calls with one key wait for each other here, so the
				// second finds the first's answer instead of acting again.
				// (SQLite's IMMEDIATE transactions already serialise them.)
				lock := fmt.Sprintf("%d:%s", userID, key)
				if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended(?, 7261))", lock).Error; err != nil {
					return err
				}
			}
			now := s.now()
			var rec models.IdempotencyKey
			err := tx.Where("user_id = ? AND key = ?", userID, key).Take(&rec).Error
			switch {
			case err == nil && rec.CreatedAt.After(now.Add(-Window)):
				if rec.Fingerprint != fingerprint {
					return ErrKeyReused
				}
				ans = Outcome{Code: rec.Status, Body: rec.Body, Replayed: true}
				return nil
			case err == nil:
				if err := tx.Where("user_id = ? AND key = ?", userID, key).Delete(&models.IdempotencyKey{}).Error; err != nil {
					return err
				}
			case !errors.Is(err, gorm.ErrRecordNotFound):
				return err
			}
			code, body, err := fn(ctx)
			if err != nil {
				return err
			}
			rec = models.IdempotencyKey{UserID: userID, Key: key, Fingerprint: fingerprint, Status: code, Body: body, CreatedAt: now}
			if err := tx.Create(&rec).Error; err != nil {
				if models.IsUniqueViolation(err) {
					return errKeyRace
				}
				return err
			}
			ans = Outcome{Code: code, Body: body}
			return nil
		})
		if errors.Is(err, errKeyRace) && attempt == 0 {
			continue // the other writer committed; the next round replays its answer
		}
		if err != nil {
			return Outcome{}, fmt.Errorf("idempotent call: %w", err)
		}
		return ans, nil
	}
}
