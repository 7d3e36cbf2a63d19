// Package deployment keeps in the database the settings that a
// deployment's figures depend on, as its service last started with them,
// so that every process on that database can tell whether it counts the
// same way: a report printed by a command must be the one the service
// would give.
package deployment

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/models"
)

// Setting is one setting by its environment variable's name, with its
// value written the one way the configuration prints it.
type Setting struct {
	Name, Value string
}

// Difference is a setting whose value stored for the service is not the
// one given.
type Difference struct {
	Name, Stored, Given string
}

type row struct {
	Name      string `gorm:"primaryKey"`
	Value     string
	UpdatedAt time.Time
}

func (row) TableName() string { return "deployment_settings" }

// Record stores settings as the service's, the latest start winning, and
// returns those that differ from what the previous start stored.
func Record(ctx context.Context, db *models.DB, now time.Time, settings []Setting) ([]Difference, error) {
	var diffs []Difference
	err := db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		var err error
		if diffs, err = compare(tx, settings); err != nil {
			return err
		}
		rows := make([]row, len(settings))
		for i, s := range settings {
			rows[i] = row{Name: s.Name, Value: s.Value, UpdatedAt: now}
		}
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "name"}},
			DoUpdates: clause.AssignmentColumns([]string{"value", "updated_at"}),
		}).Create(&rows).Error
	})
	if err != nil {
		return nil, fmt.Errorf("record deployment settings: %w", err)
	}
	return diffs, nil
}

// Compare returns the settings whose value stored by the service differs
// from the given one. A setting no service has stored yet (a database
// never served) is not compared.
func Compare(ctx context.Context, db *models.DB, settings []Setting) ([]Difference, error) {
	diffs, err := compare(db.Conn(ctx), settings)
	if err != nil {
		return nil, fmt.Errorf("read deployment settings: %w", err)
	}
	return diffs, nil
}

func compare(conn *gorm.DB, settings []Setting) ([]Difference, error) {
	var stored []row
	if err := conn.Find(&stored).Error; err != nil {
		return nil, err
	}
	byName := make(map[string]string, len(stored))
	for _, r := range stored {
		byName[r.Name] = r.Value
	}
	var diffs []Difference
	for _, s := range settings {
		if v, ok := byName[s.Name]; ok && v != s.Value {
			diffs = append(diffs, Difference{Name: s.Name, Stored: v, Given: s.Value})
		}
	}
	return diffs, nil
}
