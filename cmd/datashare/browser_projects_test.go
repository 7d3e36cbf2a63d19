package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// testProjects creates a project as the lead agency's manager, with a
// refused first attempt; a requester of the lead files a request in it
// through the project picker and submits it; the owner agency's approver
// finds the project on /projects; the manager adds a partner and closes
// the project, which the picker then no longer offers. axe runs on every
// page loaded.
func testProjects(t *testing.T, s *site) {
	const code, name, title = "SCHOOL-MEALS-2027", "School meals uptake", "Households of pupils on school meal support"
	page := "/projects/" + code

	lead := s.newWindow(t, "MSF manager")
	lead.signIn("msf.manager@demo.gov.sg")
	if st := lead.follow("Projects"); st != http.StatusOK || lead.path() != "/projects" {
		t.Fatalf("Projects: got %d at %s, want 200 at /projects", st, lead.path())
	}
	if st := lead.follow("New project"); st != http.StatusOK || lead.path() != "/projects/new" {
		t.Fatalf("New project: got %d at %s, want 200 at /projects/new", st, lead.path())
	}
	lead.fill("Project code", "school meals")
	lead.fill("Name", name)
	lead.fill("Description", "How many households of pupils on meal support also receive ComCare.")
	lead.tick("MOE — Ministry of Education")
	if st := lead.press("Create project"); st != http.StatusUnprocessableEntity {
		t.Errorf("Create project with a bad code: got %d, want 422", st)
	}
	if msg := lead.fieldMessage("Project code"); !strings.Contains(msg, "Project code must be") {
		t.Errorf("refused project: the Project code field is not described by its error (got %q)", msg)
	}
	if got := lead.value("Name"); got != name {
		t.Errorf("Name after the refused create: got %q, want %q kept", got, name)
	}
	lead.fill("Project code", code)
	if st := lead.press("Create project"); st != http.StatusOK || lead.path() != page {
		t.Fatalf("Create project: got %d at %s, want 200 at %s", st, lead.path(), page)
	}
	for _, want := range []string{"Project " + code + " has been created.", "Not started", "MOE"} {
		if got := lead.mainText(); !strings.Contains(got, want) {
			t.Errorf("the new project's page: lacks %q in %q", want, got)
		}
	}

	requester := s.newWindow(t, "MSF requester")
	requester.signIn("msf.requester@demo.gov.sg")
	requester.open("/requests/new")
	requester.fill("Title", title)
	requester.fill("Purpose", "Plan the uptake of school meal support with ComCare.")
	requester.fill("Data description", "Count of households per planning area, latest school term.")
	requester.choose("Classification", "official-open")
	requester.choose("Owner agency", "HDB")
	requester.choose("Cross-agency project", code)
	if st := requester.press("Save draft"); st != http.StatusOK || !regexp.MustCompile(`^/requests/\d+$`).MatchString(requester.path()) {
		t.Fatalf("Save draft in the project: got %d at %s, want 200 at the new request", st, requester.path())
	}
	request := requester.path()
	requester.act("Submit", "", "Submitted")
	if st := requester.follow(code); st != http.StatusOK || requester.path() != page {
		t.Fatalf("the request's project link: got %d at %s, want 200 at %s", st, requester.path(), page)
	}
	got := requester.mainText()
	for _, want := range []string{title, "asked by MSF", "On track", "Waiting on\nHDB"} {
		if !strings.Contains(got, want) {
			t.Errorf("the project's page after the submission: lacks %q in %q", want, got)
		}
	}
	requester.screenshot("project")

	owner := s.newWindow(t, "HDB approver")
	owner.signIn("hdb.approver@demo.gov.sg")
	if st := owner.follow("Projects"); st != http.StatusOK {
		t.Fatalf("Projects as the owner agency: got %d, want 200", st)
	}
	if st := owner.follow(code); st != http.StatusOK || owner.path() != page {
		t.Fatalf("the project from the owner's list: got %d at %s, want 200 at %s", st, owner.path(), page)
	}
	if st := owner.follow(title); st != http.StatusOK || owner.path() != request {
		t.Errorf("the request from the project's timeline: got %d at %s, want 200 at %s", st, owner.path(), request)
	}
	if owner.open(page); owner.has(button("Close project")) {
		t.Errorf("the owner agency's approver is offered Close project")
	}

	lead.open(page)
	lead.choose("Add a partner agency", "IRAS")
	if st := lead.press("Add partner"); st != http.StatusOK || !strings.Contains(lead.mainText(), "IRAS is now a partner") {
		t.Errorf("Add partner: got %d, want 200 saying IRAS is now a partner", st)
	}
	if st := lead.press("Close project"); st != http.StatusOK || !strings.Contains(lead.mainText(), "Project closed") {
		t.Errorf("Close project: got %d, want 200 saying the project is closed", st)
	}
	if lead.has(button("Close project")) {
		t.Errorf("a closed project still offers Close project")
	}
	if st := lead.follow("Projects"); st != http.StatusOK || !strings.Contains(lead.mainText(), code) {
		t.Errorf("Projects after closing: got %d, want 200 listing %s", st, code)
	}
	lead.screenshot("projects")

	requester.open("/requests/new")
	if requester.has(`//select[@id="project-code"]/option[@value="` + code + `"]`) {
		t.Errorf("the picker still offers the closed project %s", code)
	}

	// The lead's manager finds the project report beside the request
	// report: MSF leads or partners four of the demo's projects, one of
	// them still open, and now the closed one above, still waiting on HDB.
	if st := lead.follow("Reports"); st != http.StatusOK || lead.path() != "/reports" {
		t.Fatalf("Reports: got %d at %s, want 200 at /reports", st, lead.path())
	}
	got = lead.mainText()
	for _, want := range []string{"Cross-agency projects", "Projects open now: 2", "Waiting on", "Download CSV"} {
		if !strings.Contains(got, want) {
			t.Errorf("the project report on /reports: lacks %q in %q", want, got)
		}
	}
}
