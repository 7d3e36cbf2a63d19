package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/statements"
)

// mustPublishedMonth files and shares one MSF request to MOH in May 2025
// and publishes May's statements on 2 June.
func mustPublishedMonth(tb testing.TB, db *models.DB) (*site, *clock) {
	tb.Helper()
	clk := newClock("2025-05-05T10:00:00+08:00")
	s := newSite(tb, db, siteOptions{App: apptest.Options{Now: clk.Now}})
	r := s.mustFile(tb, clk, "req@msf.gov.sg", "MOH", "Eldercare households")
	s.mustShare(tb, clk, r.ID, "approver1@moh.gov.sg")
	clk.set("2025-06-02T09:00:00+08:00")
	if _, err := s.Statements.Publish(context.Background(), statements.Month{Year: 2025, Month: time.May}, clk.Now()); err != nil {
		tb.Fatal(err)
	}
	return s, clk
}

func TestStatementsPageListsWhatTheViewerMayRead(t *testing.T) {
	t.Parallel()
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s, _ := mustPublishedMonth(t, db)
		admin := s.signIn(t, "admin@govtech.gov.sg").get("/statements")
		if admin.Status != 200 || !strings.Contains(admin.Body, `<h2 id="month-2025-05">May 2025</h2>`) ||
			!strings.Contains(admin.Body, "Whole of government") || strings.Count(admin.Body, `<tr id="statement-`) != 5 {
			t.Fatalf("admin's statements page: got %d, want May 2025 with the whole of government and 4 agencies:\n%s", admin.Status, admin.Body)
		}
		manager := s.signIn(t, "manager@moh.gov.sg")
		page := manager.get("/statements")
		if page.Status != 200 || strings.Count(page.Body, `<tr id="statement-`) != 1 || strings.Contains(page.Body, "Whole of government") ||
			!strings.Contains(page.Body, `<th scope="row">MOH</th>`) || !strings.Contains(page.Body, "100.0%") {
			t.Fatalf("MOH manager's statements page: got %d, want MOH's statement only, at 100.0%%:\n%s", page.Status, page.Body)
		}
		list, err := s.Statements.List(context.Background(), s.actor("manager@moh.gov.sg"), statements.ListQuery{})
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v, %v", list, err)
		}
		csv := manager.get(fmt.Sprintf("/statements/%d/statement.csv", list[0].ID))
		sum := sha256.Sum256([]byte(csv.Body))
		if csv.Status != 200 || hex.EncodeToString(sum[:]) != list[0].Hash || !strings.Contains(page.Body, list[0].Hash) {
			t.Errorf("the CSV download: got %d with SHA-256 %x, want 200 with the hash the page shows, %s", csv.Status, sum, list[0].Hash)
		}
		all, err := s.Statements.List(context.Background(), s.actor("admin@govtech.gov.sg"), statements.ListQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if got := manager.get(fmt.Sprintf("/statements/%d/statement.xlsx", all[0].ID)); got.Status != 404 {
			t.Errorf("the whole of government's XLSX to MOH's manager: got %d, want 404", got.Status)
		}
		if got := s.signIn(t, "req@msf.gov.sg").get("/statements"); got.Status != 403 {
			t.Errorf("a requester's statements page: got %d, want 403", got.Status)
		}

		// The report of the closed month links to its statement.
		rep := manager.get("/reports?from=2025-05-01&to=2025-06-01")
		if !strings.Contains(rep.Body, `id="published-statement"`) || !strings.Contains(rep.Body, fmt.Sprintf(`href="/statements#statement-%d"`, list[0].ID)) {
			t.Errorf("the May report does not link to May's statement:\n%s", rep.Body)
		}
		if other := manager.get("/reports?from=2025-04-01&to=2025-06-01"); strings.Contains(other.Body, `id="published-statement"`) {
			t.Errorf("a two-month report links to a statement")
		}
	})
}
