package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"gorm.io/gorm"

	"datashare/models"
	"datashare/models/modelstest"
)

// A page that saves into a full database answers the API's 507 as a page
// that says nothing was saved, and saves again once there is room. The
// database is filled for real with SQLite's max_page_count, which fails
// writes with SQLITE_FULL as a full disk does.
func TestFullDatabaseAnswers507Page(t *testing.T) {
	db := modelstest.MustOpen(t, models.SQLite)
	s := newSite(t, db, siteOptions{})
	req := s.signIn(t, "req@msf.gov.sg")
	setLimit := func(pages string) {
		t.Helper()
		// The limit is the writer connection's, which the writer keeps.
		if err := db.Tx(context.Background(), func(ctx context.Context, tx *gorm.DB) error {
			return tx.Exec("PRAGMA max_page_count = " + pages).Error
		}); err != nil {
			t.Fatal(err)
		}
	}
	form := draftForm("Census")
	form.Set("data_description", strings.Repeat("Counts per block. ", 270)) // more than a page

	setLimit("1") // SQLite raises it to the current size
	a := req.post("/requests/new", form)
	wantStatus(t, "new request on a full database", a, http.StatusInsufficientStorage)
	wantContains(t, "new request on a full database", a, "The service has no room to save this", "nothing was saved")
	if ct := a.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("new request on a full database: Content-Type %q, want text/html", ct)
	}

	setLimit("1073741823")
	if a := req.post("/requests/new", form); a.Status != http.StatusSeeOther {
		t.Errorf("new request once there is room: got %d, want 303\n%s", a.Status, a.Body)
	}
}
