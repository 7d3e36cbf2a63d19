package web_test

import (
	"net/http"
	"strings"
	"testing"

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
	form := draftForm("Census")
	form.Set("data_description", strings.Repeat("Counts per block. ", 270)) // more than a page

	modelstest.MustFill(t, db)
	a := req.post("/requests/new", form)
	wantStatus(t, "new request on a full database", a, http.StatusInsufficientStorage)
	wantContains(t, "new request on a full database", a, "The service has no room to save this", "nothing was saved")
	if ct := a.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("new request on a full database: Content-Type %q, want text/html", ct)
	}

	modelstest.MustUnfill(t, db)
	if a := req.post("/requests/new", form); a.Status != http.StatusSeeOther {
		t.Errorf("new request once there is room: got %d, want 303\n%s", a.Status, a.Body)
	}
}
