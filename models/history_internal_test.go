package models

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/gorm"
)

// openAt returns a database of dialect d migrated up to version last. It
// cannot use modelstest, which imports this package.
func openAt(t *testing.T, d Dialect, last int) *DB {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "datashare.db")
	if d == Postgres {
		base := os.Getenv("DATASHARE_TEST_POSTGRES_URL")
		if base == "" {
			t.Skip("PostgreSQL tests skipped: set DATASHARE_TEST_POSTGRES_URL to run them")
		}
		admin, err := Open(base)
		if err != nil {
			t.Fatal(err)
		}
		schema := fmt.Sprintf("t_hist_%d", time.Now().UnixNano())
		if err := admin.Gorm.Exec("CREATE SCHEMA " + schema).Error; err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Gorm.Exec("DROP SCHEMA " + schema + " CASCADE"); admin.Close() })
		dsn = base + "&search_path=" + schema
	}
	db, err := Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.migrateTo(context.Background(), nil, last); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestMigrationChainsTheHistoryAlreadyStored(t *testing.T) {
	for _, d := range []Dialect{SQLite, Postgres} {
		t.Run(string(d), func(t *testing.T) {
			db := openAt(t, d, 9)
			g := db.Gorm
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			at := time.Date(2025, 3, 3, 2, 0, 0, 123456000, time.UTC)
			must(g.Exec("INSERT INTO agencies (code, name, created_at) VALUES ('MOH', 'Health', ?), ('HDB', 'Housing', ?)", at, at).Error)
			must(g.Exec("INSERT INTO users (id, email, name, agency_code, roles, created_at) VALUES (1, 'r@hdb.gov.sg', 'R', 'HDB', 'requester', ?)", at).Error)
			for id := 1; id <= 3; id++ {
				must(g.Exec(`INSERT INTO requests (id, title, purpose, data_description, classification, requesting_agency, owner_agency,
					requester_id, state, approvals_required, version, created_at, updated_at) VALUES (?, 't', 'p', 'd', 'official-open', 'HDB', 'MOH', 1, 'submitted', 1, 2, ?, ?)`,
					id, at, at).Error)
			}
			// Rows of different requests interleave, as in a live database.
			type hist struct {
				req          int64
				action, from string
				to           string
				actor        any
				comment      string
				minutesLater int
			}
			rows := []hist{
				{1, "create", "", "draft", 1, "", 0},
				{2, "create", "", "draft", 1, "", 1},
				{1, "submit", "draft", "submitted", 1, "", 2},
				{3, "create", "", "draft", 1, "", 3},
				{2, "submit", "draft", "submitted", 1, "line one\nline two", 4},
				{3, "submit", "draft", "submitted", 1, "", 5},
				{1, "sla_at_risk", "submitted", "submitted", nil, "At risk.", 6},
			}
			for _, r := range rows {
				var from any
				if r.from != "" {
					from = r.from
				}
				must(g.Exec("INSERT INTO transitions (request_id, action, from_state, to_state, actor_id, at, comment) VALUES (?, ?, ?, ?, ?, ?, ?)",
					r.req, r.action, from, r.to, r.actor, at.Add(time.Duration(r.minutesLater)*time.Minute), r.comment).Error)
			}
			must(db.Migrate(context.Background(), nil))

			var got []Transition
			must(g.Order("request_id, id").Find(&got).Error)
			if len(got) != len(rows) {
				t.Fatalf("rows after the migration: got %d, want %d", len(got), len(rows))
			}
			prev := map[int64]string{}
			for _, tr := range got {
				if tr.PrevHash != prev[tr.RequestID] {
					t.Errorf("row %d: prev_hash %q, want %q", tr.ID, tr.PrevHash, prev[tr.RequestID])
				}
				if want := HistoryHash(tr, prev[tr.RequestID]); tr.Hash != want || len(tr.Hash) != 64 {
					t.Errorf("row %d: hash %q, want %q", tr.ID, tr.Hash, want)
				}
				prev[tr.RequestID] = tr.Hash
			}
			// The triggers are back once the migration is done.
			if err := g.Model(&Transition{}).Where("id = ?", got[0].ID).Update("comment", "rewritten").Error; err == nil {
				t.Error("an update of a history row succeeded after the migration")
			}
			if err := g.Delete(&Transition{}, got[0].ID).Error; err == nil {
				t.Error("a delete of a history row succeeded after the migration")
			}
			// New rows chain onto the backfilled ones.
			actor := int64(1)
			from := "submitted"
			next := []Transition{{RequestID: 2, Action: "withdraw", FromState: &from, ToState: "withdrawn", ActorID: &actor, At: at.Add(time.Hour)}}
			must(db.Tx(context.Background(), func(_ context.Context, tx *gorm.DB) error { return AppendHistory(tx, next) }))
			if next[0].PrevHash != prev[2] || next[0].ID == 0 {
				t.Errorf("new row of request 2: prev_hash %q (id %d), want %q", next[0].PrevHash, next[0].ID, prev[2])
			}
		})
	}
}

func TestHistoryHashOfTheCanonicalForm(t *testing.T) {
	from, actor := "draft", int64(7)
	at := time.Date(2026, 1, 5, 2, 30, 0, 1500, time.UTC) // 1.5 µs: truncated
	tr := Transition{RequestID: 42, Action: "submit", FromState: &from, ToState: "submitted", ActorID: &actor, At: at, Comment: "é\n"}
	// Computed by hand from the form in HistoryHash's comment:
	//   printf '20:datashare-history-v1\n2:42\n6:submit\n5:draft\n9:submitted\n1:7\n27:2026-01-05T02:30:00.000001Z\n3:é\n\n0:\n' | sha256sum
	const want = "a729f1c25652181564a98bca1266162145f1d57d90ac1cf28ac3534d071202af"
	if got := HistoryHash(tr, ""); got != want {
		t.Errorf("hash: got %s, want %s", got, want)
	}
	other := tr
	other.At = at.In(time.FixedZone("SGT", 8*3600))
	if HistoryHash(other, "") != HistoryHash(tr, "") {
		t.Error("the same instant in another zone hashes differently")
	}
	for name, change := range map[string]func(*Transition){
		"comment": func(t *Transition) { t.Comment = "é" },
		"actor":   func(t *Transition) { t.ActorID = nil },
		"from":    func(t *Transition) { t.FromState = nil },
		"request": func(t *Transition) { t.RequestID = 43 },
		"at":      func(t *Transition) { t.At = t.At.Add(time.Microsecond) },
	} {
		c := tr
		change(&c)
		if HistoryHash(c, "") == HistoryHash(tr, "") {
			t.Errorf("a change of %s keeps the hash", name)
		}
	}
	if HistoryHash(tr, "a") == HistoryHash(tr, "") {
		t.Error("the previous hash does not change the hash")
	}
}
