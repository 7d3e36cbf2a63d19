package workflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"datashare/errs"
	"datashare/models"
)

// IdempotencyWindow is how long a client's Idempotency-Key is remembered.
const IdempotencyWindow = 24 * time.Hour

// Answer is what a client was told: a status and a body.
type Answer struct {
	Status   int
	Body     []byte
	Replayed bool // true when this is the stored first answer
}

var errKeyRace = errors.New("idempotency key stored concurrently")

// Once runs fn at most once per (user, key) within IdempotencyWindow and
// returns its answer; a repeat returns the stored first answer without
// running fn. fn's writes and the stored answer commit in one transaction, so
// a crash leaves either both or neither. fingerprint identifies the
// operation and its input: reusing a key for another one is invalid. A
// failed fn stores nothing, so the client may retry with the same key.
func (s *Service) Once(ctx context.Context, userID int64, key, fingerprint string, fn func(ctx context.Context) (int, []byte, error)) (Answer, error) {
	if key == "" {
		st, body, err := fn(ctx)
		return Answer{Status: st, Body: body}, err
	}
	if len(key) > 255 {
		return Answer{}, errs.Field("Idempotency-Key", "Idempotency-Key must be at most 255 characters")
	}
	for attempt := 0; ; attempt++ {
		var ans Answer
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
			case err == nil && rec.CreatedAt.After(now.Add(-IdempotencyWindow)):
				if rec.Fingerprint != fingerprint {
					return errs.Field("Idempotency-Key", "this Idempotency-Key was already used for a different request")
				}
				ans = Answer{Status: rec.Status, Body: rec.Body, Replayed: true}
				return nil
			case err == nil:
				if err := tx.Where("user_id = ? AND key = ?", userID, key).Delete(&models.IdempotencyKey{}).Error; err != nil {
					return err
				}
			case !errors.Is(err, gorm.ErrRecordNotFound):
				return err
			}
			st, body, err := fn(ctx)
			if err != nil {
				return err
			}
			rec = models.IdempotencyKey{UserID: userID, Key: key, Fingerprint: fingerprint, Status: st, Body: body, CreatedAt: now}
			if err := tx.Create(&rec).Error; err != nil {
				if models.IsUniqueViolation(err) {
					return errKeyRace
				}
				return err
			}
			ans = Answer{Status: st, Body: body}
			return nil
		})
		if errors.Is(err, errKeyRace) && attempt == 0 {
			continue // the other writer committed; the next round replays its answer
		}
		if err != nil {
			return Answer{}, fmt.Errorf("idempotent call: %w", err)
		}
		return ans, nil
	}
}
