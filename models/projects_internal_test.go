package models

import (
	"context"
	"testing"
	"time"
)

// Migration 0017 keeps the free-text project of every request as it was and
// puts no request in a project: a free text names no lead agency.
func TestMigrationKeepsTheFreeTextProject(t *testing.T) {
	for _, d := range []Dialect{SQLite, Postgres} {
		t.Run(string(d), func(t *testing.T) {
			db := openAt(t, d, 16)
			g := db.Gorm
			at := time.Date(2025, 3, 3, 2, 0, 0, 0, time.UTC)
			for _, q := range []string{
				"INSERT INTO agencies (code, name, created_at) VALUES ('MOH', 'Health', ?), ('HDB', 'Housing', ?)",
				"INSERT INTO users (id, email, name, agency_code, roles, created_at) VALUES (1, 'r@hdb.gov.sg', 'R', 'HDB', 'requester', ?)",
			} {
				if err := g.Exec(q, at, at).Error; err != nil {
					t.Fatal(err)
				}
			}
			for id, project := range map[int]any{1: "Eldercare 2026", 2: nil} {
				err := g.Exec(`INSERT INTO requests (id, title, purpose, data_description, classification, project, requesting_agency, owner_agency,
					requester_id, state, approvals_required, version, created_at, updated_at) VALUES (?, 't', 'p', 'd', 'official-open', ?, 'HDB', 'MOH', 1, 'draft', 1, 1, ?, ?)`,
					id, project, at, at).Error
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Migrate(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			var rs []Request
			if err := g.Order("id").Find(&rs).Error; err != nil {
				t.Fatal(err)
			}
			if len(rs) != 2 || rs[0].Project == nil || *rs[0].Project != "Eldercare 2026" || rs[1].Project != nil {
				t.Fatalf("projects after the migration: got %+v, want the free text kept on 1 and none on 2", rs)
			}
			for _, r := range rs {
				if r.ProjectCode != nil {
					t.Fatalf("request %d: got project_code %q, want none", r.ID, *r.ProjectCode)
				}
			}
			var n int64
			if err := g.Model(&Project{}).Count(&n).Error; err != nil || n != 0 {
				t.Fatalf("projects made by the migration: got %d (%v), want 0", n, err)
			}
			// An unknown project code is refused by the schema itself.
			err := g.Exec("UPDATE requests SET project_code = 'NOPE' WHERE id = 1").Error
			if err == nil {
				t.Fatal("a request with an unknown project_code: got no error, want the foreign key to refuse it")
			}
		})
	}
}
