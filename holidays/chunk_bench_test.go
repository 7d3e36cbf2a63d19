package holidays

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"datashare/models"
	"datashare/models/modelstest"
)

// BenchmarkImportChunk is one transaction of an import: importChunk days
// upserted over days already there, on SQLite.
func BenchmarkImportChunk(b *testing.B) {
	db := modelstest.MustOpen(b, models.SQLite)
	rows := make([]models.Holiday, importChunk)
	first := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range rows {
		rows[i] = models.Holiday{Date: first.AddDate(0, 0, i).Format("2006-01-02"), Kind: "closure", Source: SourceImport, UpdatedAt: first}
	}
	for i := 0; b.Loop(); i++ {
		for j := range rows {
			rows[j].Name = fmt.Sprintf("Closure %d", i)
		}
		if err := db.Tx(context.Background(), func(ctx context.Context, tx *gorm.DB) error { return upsertAll(tx, rows) }); err != nil {
			b.Fatal(err)
		}
	}
}
