package models

import "database/sql"

// ReaderPool returns the pool that serves reads outside a transaction.
func ReaderPool(db *DB) *sql.DB {
	if db.readers != nil {
		return db.readers
	}
	sqlDB, _ := db.Gorm.DB()
	return sqlDB
}
