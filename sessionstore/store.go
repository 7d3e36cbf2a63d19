// Package sessionstore keeps web sessions in the project's database, as a
// store for github.com/alexedwards/scs/v2, so that every replica shares
// them and a restart signs nobody out.
package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/models"
)

type session struct {
	Token  string `gorm:"primaryKey"`
	Data   []byte
	Expiry time.Time
}

// Store is an scs.CtxStore over the sessions table (migration 0008).
type Store struct {
	db  *models.DB
	now func() time.Time
}

// New returns a Store over db; now is the clock that judges expiry.
func New(db *models.DB, now func() time.Time) *Store { return &Store{db: db, now: now} }

// FindCtx returns the data of an unexpired session; found is false for an
// unknown or expired token.
func (s *Store) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var row session
	err := s.db.Conn(ctx).Where("token = ? AND expiry > ?", token, s.now().UTC()).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("find session: %w", err)
	}
	return row.Data, true, nil
}

// CommitCtx writes the session, replacing its data and expiry.
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	err := s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "token"}},
			DoUpdates: clause.AssignmentColumns([]string{"data", "expiry"}),
		}).Create(&session{Token: token, Data: b, Expiry: expiry.UTC()}).Error
	})
	if err != nil {
		return fmt.Errorf("commit session: %w", err)
	}
	return nil
}

// DeleteCtx removes the session; an unknown token is not an error.
func (s *Store) DeleteCtx(ctx context.Context, token string) error {
	err := s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		return tx.Where("token = ?", token).Delete(&session{}).Error
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// Cleanup deletes the sessions that expired before now and says how many.
func (s *Store) Cleanup(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		res := tx.Where("expiry <= ?", s.now().UTC()).Delete(&session{})
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("clean up sessions: %w", err)
	}
	return n, nil
}

// The context-free methods exist because scs.Store requires them; scs calls
// the Ctx ones.

func (s *Store) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s *Store) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

func (s *Store) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }
