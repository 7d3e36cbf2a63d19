package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"datashare/models"
	"datashare/models/modelstest"
)

// On SQLite a write sent to the reader pool would wait on the busy timeout
// behind a long transaction and then fail with "database is locked"; the
// readers refuse every write so that such a path fails at once, in tests.
func TestTheSQLiteReaderPoolRefusesWrites(t *testing.T) {
	db := modelstest.MustOpen(t, models.SQLite)
	_, err := models.ReaderPool(db).Exec("INSERT INTO agencies (code, name, created_at) VALUES ('RDR', 'Reader', '2026-01-01T00:00:00Z')")
	if err == nil {
		t.Fatal("a write through the reader pool succeeded, want it refused")
	}
	var n int64
	if err := db.Gorm.Raw("SELECT COUNT(*) FROM agencies WHERE code = 'RDR'").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("agencies RDR: got %d rows, want 0", n)
	}
}

// Every way gorm writes outside a transaction reaches the writer: it waits
// for a transaction holding the writer and then succeeds.
func TestWritesOutsideATransactionGoThroughTheWriter(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		for _, code := range []string{"UPD", "DEL"} {
			if err := db.Gorm.WithContext(ctx).Create(&models.Agency{Code: code, Name: code}).Error; err != nil {
				t.Fatal(err)
			}
		}
		held := make(chan struct{})
		release := make(chan struct{})
		txDone := make(chan error, 1)
		go func() {
			txDone <- db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
				if err := tx.Exec("INSERT INTO agencies (code, name, created_at) VALUES ('HLD', 'Held', ?)", time.Now().UTC()).Error; err != nil {
					return err
				}
				close(held)
				<-release
				return nil
			})
		}()
		<-held
		writes := []struct {
			name string
			run  func() error
		}{
			{"Create", func() error {
				return db.Gorm.WithContext(ctx).Create(&models.Agency{Code: "CRT", Name: "Created"}).Error
			}},
			{"Exec", func() error {
				return db.Gorm.WithContext(ctx).Exec("INSERT INTO agencies (code, name, created_at) VALUES ('EXC', 'Exec', ?)", time.Now().UTC()).Error
			}},
			{"Save", func() error { return db.Gorm.WithContext(ctx).Save(&models.Agency{Code: "SAV", Name: "Saved"}).Error }},
			{"Update", func() error {
				return db.Gorm.WithContext(ctx).Model(&models.Agency{}).Where("code = ?", "UPD").Update("name", "Renamed").Error
			}},
			{"Delete", func() error { return db.Gorm.WithContext(ctx).Where("code = ?", "DEL").Delete(&models.Agency{}).Error }},
			{"Conn", func() error {
				return db.Conn(ctx).Create(&models.Agency{Code: "CON", Name: "Conn"}).Error
			}},
		}
		done := make(chan error, len(writes))
		for _, w := range writes {
			go func() {
				if err := w.run(); err != nil {
					done <- err
					return
				}
				done <- nil
			}()
		}
		// Give the writes time to queue behind the transaction; they must
		// wait rather than fail.
		time.Sleep(100 * time.Millisecond)
		close(release)
		if err := <-txDone; err != nil {
			t.Fatalf("holding transaction: %v", err)
		}
		for range writes {
			if err := <-done; err != nil {
				t.Errorf("write outside a transaction: %v", err)
			}
		}
		var rows []models.Agency
		if err := db.Gorm.Where("code IN ?", []string{"HLD", "CRT", "EXC", "SAV", "CON", "UPD", "DEL"}).Order("code").Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, r := range rows {
			got += r.Code + "=" + r.Name + " "
		}
		if want := "CON=Conn CRT=Created EXC=Exec HLD=Held SAV=Saved UPD=Renamed "; got != want {
			t.Fatalf("agencies: got %q, want %q", got, want)
		}
	})
}

// A write beside the transaction its context carries would wait for ever
// for the writer that transaction holds; it fails at once instead.
func TestAWriteBesideTheContextsTransactionFails(t *testing.T) {
	db := modelstest.MustOpen(t, models.SQLite)
	err := db.Tx(context.Background(), func(ctx context.Context, tx *gorm.DB) error {
		return db.Gorm.WithContext(ctx).Create(&models.Agency{Code: "BSD", Name: "Beside"}).Error
	})
	if err == nil || !strings.Contains(err.Error(), "outside the transaction") {
		t.Fatalf("got %v, want the write refused as outside the transaction", err)
	}
}
