// Package backup copies a live SQLite database to a file (Backup) and puts
// such a copy back in place of a database no process has open (Restore).
// PostgreSQL deployments use the tools of PostgreSQL (pg_dump, pg_restore).
package backup
