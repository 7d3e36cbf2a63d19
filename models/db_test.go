package models_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
)

func TestMigrateIsRepeatable(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		if err := db.Migrate(ctx, nil); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		v, err := db.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v < 1 {
			t.Fatalf("schema version: got %d, want at least 1", v)
		}
		// Versions need not be consecutive: each branch of work takes its
		// own number.
		files, err := filepath.Glob(filepath.Join("migrations", string(db.Dialect), "*.sql"))
		if err != nil || len(files) == 0 {
			t.Fatalf("migration files: %v (%v)", files, err)
		}
		var n int64
		db.Gorm.Raw("SELECT COUNT(*) FROM schema_migrations").Scan(&n)
		if int(n) != len(files) {
			t.Fatalf("schema_migrations rows: got %d, want %d (one per migration)", n, len(files))
		}
		last, _, _ := strings.Cut(filepath.Base(files[len(files)-1]), "_")
		if want, _ := strconv.Atoi(last); v != want {
			t.Fatalf("schema version: got %d, want %d (the last migration)", v, want)
		}
	})
}

func TestTransitionsAreAppendOnly(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		g := db.Gorm
		now := time.Now().UTC()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(g.Create(&models.Agency{Code: "AAA", Name: "A", CreatedAt: now}).Error)
		must(g.Create(&models.Agency{Code: "BBB", Name: "B", CreatedAt: now}).Error)
		u := models.User{Email: "a@a.gov.sg", Name: "A", AgencyCode: "AAA", Roles: "requester", CreatedAt: now}
		must(g.Create(&u).Error)
		r := models.Request{Title: "t", Purpose: "p", DataDescription: "d", Classification: "official-open",
			RequestingAgency: "AAA", OwnerAgency: "BBB", RequesterID: u.ID, State: "draft", ApprovalsRequired: 1,
			Version: 1, CreatedAt: now, UpdatedAt: now}
		must(g.Omit("Requester", "Approvals").Create(&r).Error)
		tr := models.Transition{RequestID: r.ID, Action: "create", ToState: "draft", ActorID: &u.ID, At: now}
		must(g.Omit("Actor").Create(&tr).Error)

		if err := g.Model(&models.Transition{}).Where("id = ?", tr.ID).Update("comment", "rewritten").Error; err == nil {
			t.Fatal("update of a transition: got no error, want the schema to refuse it")
		}
		if err := g.Delete(&models.Transition{}, tr.ID).Error; err == nil {
			t.Fatal("delete of a transition: got no error, want the schema to refuse it")
		}
		var got models.Transition
		must(g.First(&got, tr.ID).Error)
		if got.Comment != "" {
			t.Fatalf("comment after refused update: got %q, want empty", got.Comment)
		}
	})
}

func TestSameOwnerAndRequestingAgencyIsRefusedBySchema(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		now := time.Now().UTC()
		db.Gorm.Create(&models.Agency{Code: "AAA", Name: "A", CreatedAt: now})
		u := models.User{Email: "a@a.gov.sg", Name: "A", AgencyCode: "AAA", Roles: "requester", CreatedAt: now}
		db.Gorm.Create(&u)
		r := models.Request{Title: "t", Purpose: "p", DataDescription: "d", Classification: "official-open",
			RequestingAgency: "AAA", OwnerAgency: "AAA", RequesterID: u.ID, State: "draft", ApprovalsRequired: 1,
			Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := db.Gorm.Omit("Requester", "Approvals").Create(&r).Error; err == nil {
			t.Fatal("insert with owner = requesting agency: got no error, want a CHECK violation")
		}
	})
}
