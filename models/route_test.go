package models

import "testing"

func TestReadOnlyTellsReadsFromWrites(t *testing.T) {
	tests := []struct {
		query string
		want  bool
	}{
		{"SELECT * FROM requests WHERE id = ?", true},
		{"  select count(*) from holidays", true},
		{"(SELECT 1) UNION (SELECT 2)", true},
		{"WITH x AS (SELECT updated_at FROM requests) SELECT * FROM x", true},
		{"INSERT INTO agencies (code) VALUES (?) RETURNING code", false},
		{"UPDATE preferences SET enabled = ?", false},
		{"DELETE FROM sessions WHERE expires_at < ?", false},
		{"WITH x AS (SELECT id FROM requests) DELETE FROM notifications WHERE request_id IN (SELECT id FROM x)", false},
		{"REPLACE INTO t VALUES (1)", false},
		{"PRAGMA wal_checkpoint", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := readOnly(tt.query); got != tt.want {
			t.Errorf("readOnly(%q): got %v, want %v", tt.query, got, tt.want)
		}
	}
}
