package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// tick clicks the checkbox labelled label.
func (w *window) tick(label string) {
	w.t.Helper()
	step(w, "tick "+label, chromedp.Click(field(label), chromedp.NodeVisible))
}

// testAdminPages goes through every admin page as the demo's admin, from
// the header's and the admin pages' own links, with a refused and a
// successful form on each (axe runs on every page loaded, refusals
// included), and checks that a requester is refused them.
func testAdminPages(t *testing.T, s *site) {
	requester := s.newWindow(t, "HDB requester")
	requester.signIn("hdb.requester@demo.gov.sg")
	if requester.has(link("Admin")) {
		t.Errorf("a requester's header offers Admin")
	}
	if st := requester.open("/admin/users"); st != http.StatusForbidden {
		t.Errorf("a requester opening /admin/users: got %d, want 403", st)
	}

	w := s.newWindow(t, "admin")
	w.signIn("govtech.admin@demo.gov.sg")
	want := func(what string, st, status int64, texts ...string) {
		t.Helper()
		if st != status {
			t.Errorf("%s: got %d at %s, want %d", what, st, w.path(), status)
		}
		got := w.mainText()
		for _, text := range texts {
			if !strings.Contains(got, text) {
				t.Errorf("%s: page lacks %q in %q", what, text, got)
			}
		}
	}
	want("Admin", w.follow("Admin"), http.StatusOK, "Active users by role", "Next days off", "Dead deliveries")

	want("Agencies", w.follow("Agencies"), http.StatusOK, "Ministry of Health")
	w.fill("Code", "moe!")
	w.fill("Name", "Ministry of Education, again")
	want("Add agency refused", w.press("Add agency"), http.StatusUnprocessableEntity, "Agency code must be")
	if msg := w.fieldMessage("Code"); !strings.Contains(msg, "Agency code must be") {
		t.Errorf("refused agency: the Code field is not described by its error (got %q)", msg)
	}
	w.fill("Code", "MND")
	w.fill("Name", "Ministry of National Development")
	want("Add agency", w.press("Add agency"), http.StatusOK, "Agency MND (Ministry of National Development) has been added.")
	w.fill("Name of MND", "")
	want("Rename refused", w.press("Rename MND"), http.StatusUnprocessableEntity, "Agency name is required")
	w.fill("Name of MND", "Ministry of National Development (MND)")
	want("Rename", w.press("Rename MND"), http.StatusOK, "Agency MND is now named Ministry of National Development (MND).")

	want("Users", w.follow("Users"), http.StatusOK, "Every user")
	w.choose("Filter by role", "Manager")
	want("Filter", w.press("Filter"), http.StatusOK, "msf.manager@demo.gov.sg")
	w.fill("Name", "Tan Ah Kow")
	w.fill("Email", "not an email")
	w.choose("Agency", "MND")
	w.tick("Requester")
	want("Add user refused", w.press("Add user"), http.StatusUnprocessableEntity, "Email must be a plain address")
	w.fill("Email", "ahkow@mnd.gov.sg")
	want("Add user", w.press("Add user"), http.StatusOK, "Tan Ah Kow (ahkow@mnd.gov.sg) has been added to MND.")
	want("User page", w.follow("Tan Ah Kow"), http.StatusOK, "ahkow@mnd.gov.sg", "Open requests they filed")
	w.fill("New password", "short")
	want("Save refused", w.press("Save changes"), http.StatusUnprocessableEntity, "The password must be 12 to 72 characters")
	w.fill("New password", "")
	w.fill("Name", "Tan Ah Kow Jr")
	want("Save", w.press("Save changes"), http.StatusOK, "Tan Ah Kow Jr has been saved.")
	want("Deactivate", w.press("Deactivate Tan Ah Kow Jr"), http.StatusOK, "is deactivated")
	want("Reactivate", w.press("Reactivate Tan Ah Kow Jr"), http.StatusOK, "is active again")

	want("Calendar", w.follow("Calendar"), http.StatusOK, "Built-in Singapore holiday")
	w.fill("Year", "1800")
	want("Year refused", w.press("Show year"), http.StatusUnprocessableEntity, "Year must be a year from 1990 to 2200")
	w.fill("Year", "2027")
	want("Year", w.press("Show year"), http.StatusOK, "Days off in 2027")
	w.fill("Date", "2027-13-01")
	w.fill("Name", "Office move")
	w.choose("Kind", "Closure")
	want("Preview refused", w.press("Preview the change"), http.StatusUnprocessableEntity, "Date must be a real day")
	w.setValue("Date", field("Date"), "2027-03-05")
	want("Preview", w.press("Preview the change"), http.StatusOK, "would move the due time of", "Nothing has been changed yet.")
	want("Add day off", w.press("Add day off"), http.StatusOK, "Fri 5 Mar 2027 is now a day off: Office move.")
	want("Remove preview", w.press("Remove Office move on 2027-03-05"), http.StatusOK, "a working day again would move the due time of")
	want("Remove", w.press("Remove Office move"), http.StatusOK, "Fri 5 Mar 2027 is a working day again.")
	ics := filepath.Join(t.TempDir(), "closures.ics")
	err := os.WriteFile(ics, []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:1@test\r\n"+
		"DTSTART;VALUE=DATE:20270308\r\nDTEND;VALUE=DATE:20270309\r\nSUMMARY:Retreat\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	want("Import refused", w.press("Preview the import"), http.StatusUnprocessableEntity, "Choose an .ics file to import")
	step(w, "choose the file", chromedp.SetUploadFiles(field("iCalendar file (.ics)"), []string{ics}))
	want("Import preview", w.press("Preview the import"), http.StatusOK, "Importing closures.ics (1 day off) would move")

	want("Webhooks", w.follow("Webhooks"), http.StatusOK, "Add a webhook")
	w.fill("Address", "ftp://hooks.example.org")
	w.tick("Request submitted")
	w.fill("Signing secret", "0123456789abcdef")
	want("Add webhook refused", w.press("Add webhook"), http.StatusUnprocessableEntity, "The address must start with http:// or https:// and name a host")
	w.fill("Address", "https://hooks.example.org/datashare")
	// The refused form kept the event ticked; the secret is not sent back.
	w.fill("Signing secret", "0123456789abcdef")
	want("Add webhook", w.press("Add webhook"), http.StatusOK, "to https://hooks.example.org/datashare has been added.", "Nothing has been sent to it yet.")
	if !w.has(`//button[starts-with(normalize-space(), "Delete webhook ")]`) {
		t.Fatalf("no Delete webhook button")
	}
	st := w.clickAndWait("delete the webhook", `//button[starts-with(normalize-space(), "Delete webhook ")]`)
	want("Delete webhook", st, http.StatusOK, "has been deleted")

	want("Dead deliveries", w.follow("Dead deliveries"), http.StatusOK, "Mails and webhook calls that failed")
}
