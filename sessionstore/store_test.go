package sessionstore_test

import (
	"context"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
	"datashare/sessionstore"
)

// TestStore: a session is found until its expiry by the store's clock,
// written again in place, deleted, and cleaned up once expired, on both
// databases.
func TestStore(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		s := sessionstore.New(db, func() time.Time { return now })
		sgt := time.FixedZone("SGT", 8*3600)
		if err := s.CommitCtx(ctx, "a", []byte("one"), now.Add(time.Minute).In(sgt)); err != nil {
			t.Fatal(err)
		}
		if err := s.CommitCtx(ctx, "b", []byte("two"), now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.CommitCtx(ctx, "a", []byte("one again"), now.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		find := func(token string) string {
			t.Helper()
			b, ok, err := s.FindCtx(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				return "(none)"
			}
			return string(b)
		}
		if got := find("a"); got != "one again" {
			t.Errorf("session a: got %q, want the data written last", got)
		}
		if got := find("unknown"); got != "(none)" {
			t.Errorf("unknown token: got %q, want none", got)
		}
		now = now.Add(2 * time.Minute) // a's expiry: no longer found
		if got := find("a"); got != "(none)" {
			t.Errorf("session a at its expiry: got %q, want none", got)
		}
		if got := find("b"); got != "two" {
			t.Errorf("session b before its expiry: got %q, want %q", got, "two")
		}
		n, err := s.Cleanup(ctx)
		if err != nil || n != 1 {
			t.Errorf("cleanup: got %d, %v; want 1 expired session removed", n, err)
		}
		if err := s.DeleteCtx(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCtx(ctx, "b"); err != nil {
			t.Errorf("deleting an unknown token: %v, want no error", err)
		}
		if got := find("b"); got != "(none)" {
			t.Errorf("session b after delete: got %q, want none", got)
		}
	})
}
