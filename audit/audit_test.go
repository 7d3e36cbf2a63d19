package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/audit"
	"datashare/demo"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/sla"
	"datashare/workflow"
)

// mustDemo fills db with the demo's history (live transitions and imported
// ones) and the SLA check's flags, and returns the app.
func mustDemo(t *testing.T, db *models.DB) *apptest.App {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	a := apptest.Wire(t, db, apptest.Options{Now: func() time.Time { return now }})
	if err := demo.Run(ctx, a.Accounts, a.Workflow, a.Projects, a.Importer, a.Holidays.Current(), sla.DefaultSettings(), now, io.Discard); err != nil {
		t.Fatalf("demo: %v", err)
	}
	// Small batches put several batches, and a breach's two flags of one
	// request, in one check.
	res, err := a.Checker.WithBatch(2).Check(ctx, now)
	if err != nil {
		t.Fatalf("sla check: %v", err)
	}
	if res.AtRisk == 0 || res.Breached == 0 {
		t.Fatalf("sla check flagged %d at risk and %d breached, want some of each", res.AtRisk, res.Breached)
	}
	return a
}

// mustHistory files two requests with a few transitions each, live.
func mustHistory(t *testing.T, db *models.DB) {
	t.Helper()
	ctx := context.Background()
	a := apptest.Wire(t, db, apptest.Options{})
	people := a.MustSeed(t, apptest.CastAgencies, apptest.CastPeople)
	req, app := accounts.ActorOf(people["req@msf.gov.sg"]), accounts.ActorOf(people["approver1@moh.gov.sg"])
	for range 2 {
		r, err := a.Workflow.Create(ctx, req, workflow.NewRequest{Title: "Clinic visits", Purpose: "Plan outreach", DataDescription: "Visits by planning area",
			Classification: "official-open", OwnerAgency: "MOH"})
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			who     workflow.Actor
			act     workflow.Action
			comment string
		}{
			{req, workflow.Submit, ""},
			{app, workflow.RequestClarification, "Which years?"},
			{req, workflow.Respond, "2023 to 2025."},
			{app, workflow.Approve, ""},
		}
		for _, st := range steps {
			if _, err := a.Workflow.Apply(ctx, st.who, r.ID, st.act, st.comment, 0); err != nil {
				t.Fatalf("%s: %v", st.act, err)
			}
		}
	}
}

func count(t *testing.T, db *models.DB, where string, args ...any) int {
	t.Helper()
	var n int64
	if err := db.Gorm.Model(&models.Transition{}).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestVerifyHoldsOnEveryPathThatWritesHistory(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		mustDemo(t, db)
		sum, err := audit.Verify(context.Background(), db)
		if err != nil {
			t.Fatalf("verify: got %v, want every chain to hold", err)
		}
		if want := count(t, db, "1 = 1"); sum.Rows != want {
			t.Errorf("rows verified: got %d, want %d", sum.Rows, want)
		}
		var requests int64
		db.Gorm.Model(&models.Request{}).Count(&requests)
		if sum.Requests != int(requests) {
			t.Errorf("requests verified: got %d, want %d", sum.Requests, requests)
		}
		for _, action := range []string{"create", "submit", "approve", sla.ActionAtRisk, sla.ActionBreached} {
			if count(t, db, "action = ?", action) == 0 {
				t.Errorf("no %s row: the demo should write every kind", action)
			}
		}
		if n := count(t, db, "hash = '' OR hash IS NULL"); n != 0 {
			t.Errorf("%d rows without a hash", n)
		}
	})
}

// tamper runs statements on the history behind the service's back, with
// the append-only triggers lifted for the length of one transaction.
func tamper(t *testing.T, db *models.DB, stmts ...string) {
	t.Helper()
	lift := []string{"DROP TRIGGER transitions_no_update", "DROP TRIGGER transitions_no_delete"}
	restore := []string{
		"CREATE TRIGGER transitions_no_update BEFORE UPDATE ON transitions BEGIN SELECT RAISE(ABORT, 'transitions are append-only'); END",
		"CREATE TRIGGER transitions_no_delete BEFORE DELETE ON transitions BEGIN SELECT RAISE(ABORT, 'transitions are append-only'); END",
	}
	if db.Dialect == models.Postgres {
		lift = []string{"DROP TRIGGER transitions_no_change ON transitions"}
		restore = []string{"CREATE TRIGGER transitions_no_change BEFORE UPDATE OR DELETE ON transitions FOR EACH ROW EXECUTE FUNCTION transitions_append_only()"}
	}
	all := append(append(lift, stmts...), restore...)
	for _, s := range all {
		if err := db.Gorm.Exec(s).Error; err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// middleRow returns a row of a request with at least three history rows
// that is neither the first nor the last of it, and the ids of the rows
// before and after it.
func middleRow(t *testing.T, db *models.DB) (req, before, id, after int64) {
	t.Helper()
	err := db.Gorm.Raw(`SELECT request_id FROM transitions GROUP BY request_id HAVING COUNT(*) >= 3 ORDER BY request_id LIMIT 1`).Scan(&req).Error
	if err != nil || req == 0 {
		t.Fatalf("no request with three history rows (%v)", err)
	}
	var ids []int64
	db.Gorm.Model(&models.Transition{}).Where("request_id = ?", req).Order("id").Limit(3).Pluck("id", &ids)
	return req, ids[0], ids[1], ids[2]
}

// rehash stands for the statement rehashed makes once the row is known.
const rehash = "rehash"

// rehashed returns the statement that rewrites row id's comment and sets
// its hash to that of the new content, as a forger would.
func rehashed(t *testing.T, db *models.DB, id int64, comment string) []string {
	t.Helper()
	var tr models.Transition
	if err := db.Gorm.Take(&tr, id).Error; err != nil {
		t.Fatal(err)
	}
	tr.Comment = comment
	return []string{"UPDATE transitions SET comment = '" + comment + "', hash = '" + models.HistoryHash(tr, tr.PrevHash) + "' WHERE id = " + itoa(id)}
}

func TestVerifyNamesTheFirstRowChangedBehindTheService(t *testing.T) {
	cases := []struct {
		name    string
		tamper  func(req, before, id, after int64) []string
		row     func(req, before, id, after int64) int64
		problem string
	}{
		{
			name: "a comment rewritten",
			tamper: func(_, _, id, _ int64) []string {
				return []string{"UPDATE transitions SET comment = 'nothing to see' WHERE id = " + itoa(id)}
			},
			row:     func(_, _, id, _ int64) int64 { return id },
			problem: "does not match the row's content",
		},
		{
			name: "an actor replaced",
			tamper: func(_, _, id, _ int64) []string {
				return []string{"UPDATE transitions SET actor_id = NULL WHERE id = " + itoa(id)}
			},
			row:     func(_, _, id, _ int64) int64 { return id },
			problem: "does not match the row's content",
		},
		{
			name: "a row removed",
			tamper: func(_, _, id, _ int64) []string {
				return []string{"DELETE FROM transitions WHERE id = " + itoa(id)}
			},
			row:     func(_, _, _, after int64) int64 { return after },
			problem: "is not the hash of history row",
		},
		{
			name: "the first row removed",
			tamper: func(_, before, _, _ int64) []string {
				return []string{"DELETE FROM transitions WHERE id = " + itoa(before)}
			},
			row:     func(_, _, id, _ int64) int64 { return id },
			problem: "an earlier row is missing",
		},
		{
			name: "a hash replaced",
			tamper: func(_, _, id, _ int64) []string {
				return []string{"UPDATE transitions SET hash = 'ab" + strings.Repeat("0", 62) + "' WHERE id = " + itoa(id)}
			},
			row:     func(_, _, id, _ int64) int64 { return id },
			problem: "does not match the row's content",
		},
		{
			// Whoever knows the canonical form can rehash a changed row;
			// the next row still holds the old hash.
			name: "a comment rewritten and its hash recomputed",
			tamper: func(_, _, id, _ int64) []string {
				return []string{rehash}
			},
			row:     func(_, _, _, after int64) int64 { return after },
			problem: "is not the hash of history row",
		},
		{
			name: "the last rows removed",
			tamper: func(req, before, _, _ int64) []string {
				return []string{"DELETE FROM transitions WHERE request_id = " + itoa(req) + " AND id > " + itoa(before)}
			},
			row:     func(_, before, _, _ int64) int64 { return before },
			problem: "a later row is missing",
		},
	}
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				// Each case tampers with a fresh copy of the demo's history.
				db := modelstest.MustOpen(t, db.Dialect)
				mustHistory(t, db)
				req, before, id, after := middleRow(t, db)
				stmts := tc.tamper(req, before, id, after)
				if stmts[0] == rehash {
					stmts = rehashed(t, db, id, "nothing to see")
				}
				tamper(t, db, stmts...)
				_, err := audit.Verify(context.Background(), db)
				var b *audit.Break
				if !errors.As(err, &b) {
					t.Fatalf("verify: got %v, want a break", err)
				}
				if want := tc.row(req, before, id, after); b.RequestID != req || b.HistoryID != want {
					t.Errorf("break at request %d row %d, want request %d row %d (%v)", b.RequestID, b.HistoryID, req, want, err)
				}
				if !strings.Contains(b.Problem, tc.problem) {
					t.Errorf("problem: got %q, want it to say %q", b.Problem, tc.problem)
				}
			})
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestExportWritesTheWindowsRowsWithTheirHashes(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		mustDemo(t, db)
		var all []models.Transition
		db.Gorm.Order("id").Find(&all)
		mid := all[len(all)/2].At
		cases := []struct {
			name     string
			from, to time.Time
			want     int
		}{
			{"everything", time.Time{}, time.Time{}, len(all)},
			{"from the middle", mid, time.Time{}, count(t, db, "at >= ?", mid)},
			{"up to the middle", time.Time{}, mid, count(t, db, "at < ?", mid)},
			{"an empty window", mid, mid, 0},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var out bytes.Buffer
				n, err := audit.Export(context.Background(), db, tc.from, tc.to, &out)
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
				if out.Len() == 0 {
					lines = nil
				}
				if n != tc.want || len(lines) != tc.want {
					t.Fatalf("rows: got %d (%d lines), want %d", n, len(lines), tc.want)
				}
				var prevID int64
				for _, line := range lines {
					var r audit.Record
					if err := json.Unmarshal([]byte(line), &r); err != nil {
						t.Fatalf("line %q: %v", line, err)
					}
					at, err := time.Parse(models.HistoryTimeLayout, r.At)
					if err != nil {
						t.Fatalf("at %q: %v", r.At, err)
					}
					if !tc.from.IsZero() && at.Before(tc.from) || !tc.to.IsZero() && !at.Before(tc.to) {
						t.Errorf("row %d at %s is outside the window", r.ID, r.At)
					}
					if r.ID <= prevID {
						t.Errorf("row %d after row %d: want id order", r.ID, prevID)
					}
					prevID = r.ID
					tr := models.Transition{RequestID: r.RequestID, Action: r.Action, FromState: r.FromState, ToState: r.ToState, ActorID: r.ActorID, At: at, Comment: r.Comment}
					if got := models.HistoryHash(tr, r.PrevHash); got != r.Hash {
						t.Errorf("row %d: exported hash %s, its fields hash to %s", r.ID, r.Hash, got)
					}
				}
			})
		}
	})
}

func TestVerifyAndExportRefuseAnUnchainedSchema(t *testing.T) {
	db := modelstest.MustOpen(t, models.SQLite)
	if err := db.Gorm.Exec("DELETE FROM schema_migrations WHERE version >= ?", audit.ChainVersion).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Verify(context.Background(), db); err == nil || !strings.Contains(err.Error(), "run datashare migrate") {
		t.Errorf("verify: got %v, want a request to migrate first", err)
	}
	if _, err := audit.Export(context.Background(), db, time.Time{}, time.Time{}, io.Discard); err == nil || !strings.Contains(err.Error(), "run datashare migrate") {
		t.Errorf("export: got %v, want a request to migrate first", err)
	}
}
