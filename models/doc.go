// Package models holds the persisted types of datashare, the code that opens
// the database (SQLite by default, PostgreSQL when the DSN is a postgres://
// URL) and the versioned migrations that create and evolve its schema.
//
// The migrations are plain SQL files embedded in the binary, one folder per
// dialect, applied in order and recorded in schema_migrations; a release adds
// files and never edits an applied one, so upgrades keep every row. A file
// may name a step written in Go ("-- step: NAME", see steps) where SQL alone
// cannot do the work on both dialects, such as hashing the history.
//
// The history is written only through AppendHistory, which chains each row
// to the request's row before it (HistoryHash); package audit checks the
// chains.
//
// It also knows how the database fails: connections and statements are
// bounded in time (Options), Fault tells a database that is away or full
// from any other error, and Ready tells whether it can serve at all.
package models
