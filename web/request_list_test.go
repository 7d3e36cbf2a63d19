package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
)

// rowOf returns the table row of the request titled title.
func rowOf(body, title string) string {
	for _, tr := range regexp.MustCompile(`(?s)<tr>.*?</tr>`).FindAllString(body, -1) {
		if strings.Contains(tr, ">"+title+"</a>") {
			return tr
		}
	}
	return ""
}

func TestInbox(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		c := newClock("2025-01-06T10:00:00+08:00")
		s := newSite(t, db, siteOptions{App: apptest.Options{Now: c.Now}})
		req, a1, a2 := "req@msf.gov.sg", "approver1@moh.gov.sg", "approver2@moh.gov.sg"
		submitAt := func(at, title, classification string, steps ...[2]string) int64 {
			c.set(at)
			id := s.mustRequest(t, req, "MOH", classification, title)
			s.mustApply(t, id, append([][2]string{{req, "submit"}}, steps...)...)
			return id
		}
		// Filed out of due order: the inbox sorts by due, not by id.
		submitAt("2025-01-21T09:00:00+08:00", "On track", "official-open")
		submitAt("2025-01-06T10:00:00+08:00", "Breached", "official-open")
		submitAt("2025-01-13T10:00:00+08:00", "At risk, approved once", "restricted", [2]string{a1, "approve"})
		submitAt("2025-01-14T10:00:00+08:00", "To share", "official-open", [2]string{a1, "approve"})
		submitAt("2025-01-14T11:00:00+08:00", "Paused", "official-open", [2]string{a1, "request_clarification"})
		submitAt("2025-01-14T12:00:00+08:00", "Shared", "official-open", [2]string{a1, "approve"}, [2]string{a2, "fulfil"})
		c.set("2025-01-14T13:00:00+08:00")
		s.mustRequest(t, req, "MOH", "official-open", "Draft")
		hdb := s.mustRequest(t, "req@hdb.gov.sg", "MSF", "official-open", "To MSF")
		s.mustApply(t, hdb, [2]string{"req@hdb.gov.sg", "submit"})
		c.set("2025-01-21T10:00:00+08:00")

		b1 := s.signIn(t, a1)
		inbox := b1.get("/inbox")
		wantStatus(t, "inbox", inbox, http.StatusOK)
		want := []string{"Breached", "At risk, approved once", "To share", "On track"}
		if got := titles(inbox.Body); !slices.Equal(got, want) {
			t.Errorf("inbox: got %q, want %q", got, want)
		}
		for title, marks := range map[string][]string{
			"Breached":               {`sla-breached"`, "Breached</span>", "0 of 1"},
			"At risk, approved once": {`sla-at_risk"`, "At risk</span>", "1 of 2", "You approved"},
			"To share":               {`state-approved"`, "You approved", "awaiting Mark as shared"},
			"On track":               {`sla-on_track"`},
		} {
			row := rowOf(inbox.Body, title)
			for _, m := range marks {
				if !strings.Contains(row, m) {
					t.Errorf("inbox row %q lacks %q:\n%s", title, m, row)
				}
			}
		}
		if row := rowOf(inbox.Body, "Breached"); strings.Contains(row, "You approved") {
			t.Errorf("inbox row of a request nobody approved says You approved")
		}
		// The other approver approved nothing.
		b2 := s.signIn(t, a2)
		if other := b2.get("/inbox"); strings.Contains(other.Body, "You approved") || !slices.Equal(titles(other.Body), want) {
			t.Errorf("second approver's inbox: got %q (You approved: %v), want %q without the mark",
				titles(other.Body), strings.Contains(other.Body, "You approved"), want)
		}
		home := b1.get("/")
		wantContains(t, "approver's home", home, `<a href="/inbox">Open your inbox</a>`)
		if got := titles(home.Body); !slices.Equal(got, want) {
			t.Errorf("approver's home: got %q, want the inbox %q", got, want)
		}
		for _, who := range []string{req, "manager@moh.gov.sg", "admin@govtech.gov.sg"} {
			if a := s.signIn(t, who).get("/inbox"); a.Status != http.StatusForbidden {
				t.Errorf("inbox as %s: got status %d, want 403", who, a.Status)
			}
		}
		msfHome := s.signIn(t, "approver@msf.gov.sg").get("/inbox")
		if got := titles(msfHome.Body); !slices.Equal(got, []string{"To MSF"}) {
			t.Errorf("MSF approver's inbox: got %q, want [To MSF]", got)
		}
	})
}

func TestHomeByRole(t *testing.T) {
	s := newSite(t, modelstest.MustOpen(t, models.SQLite), siteOptions{})
	s.mustPerson(t, "all@msf.gov.sg", "MSF", "requester", "approver", "manager")
	open := s.mustRequest(t, "req@msf.gov.sg", "MOH", "official-open", "Open one")
	s.mustApply(t, open, [2]string{"req@msf.gov.sg", "submit"})
	s.mustRequest(t, "req@msf.gov.sg", "MOH", "official-open", "A draft")
	done := s.mustRequest(t, "req@msf.gov.sg", "MOH", "official-open", "Withdrawn one")
	s.mustApply(t, done, [2]string{"req@msf.gov.sg", "withdraw"})
	s.mustRequest(t, "req@hdb.gov.sg", "MOH", "official-open", "Of HDB")

	for _, tc := range []struct {
		who            string
		sections, none []string
		titles         []string
	}{
		{"req@msf.gov.sg", []string{"Your agency's open requests", ">New request</a>"}, []string{"Your inbox", `href="/reports"`}, []string{"A draft", "Open one"}},
		{"approver1@moh.gov.sg", []string{"Your inbox"}, []string{"Your agency's open requests", `href="/reports"`}, []string{"Open one"}},
		{"manager@moh.gov.sg", []string{`<a href="/reports">Open the SLA report</a>`}, []string{"Your inbox", "Your agency's open requests"}, nil},
		{"admin@govtech.gov.sg", []string{`<a href="/reports">Open the SLA report</a>`}, []string{"Your inbox", "Your agency's open requests"}, nil},
		{"all@msf.gov.sg", []string{"Your agency's open requests", "Your inbox", "Open the SLA report"}, nil, []string{"A draft", "Open one"}},
	} {
		home := s.signIn(t, tc.who).get("/")
		wantStatus(t, tc.who+"'s home", home, http.StatusOK)
		wantContains(t, tc.who+"'s home", home, tc.sections...)
		for _, n := range tc.none {
			if strings.Contains(home.Body, n) {
				t.Errorf("%s's home shows %q", tc.who, n)
			}
		}
		if got := titles(home.Body); !slices.Equal(got, tc.titles) {
			t.Errorf("%s's home: got requests %q, want %q", tc.who, got, tc.titles)
		}
		if n := len(h1s(home.Body)); n != 1 {
			t.Errorf("%s's home: got %d h1, want 1", tc.who, n)
		}
	}
}

func TestRequestListFiltersAndSearch(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		c := newClock("2025-01-06T10:00:00+08:00")
		s := newSite(t, db, siteOptions{App: apptest.Options{Now: c.Now}})
		req := "req@msf.gov.sg"
		late := s.mustRequest(t, req, "MOH", "official-open", "Household census")
		s.mustApply(t, late, [2]string{req, "submit"})
		c.set("2025-01-20T10:00:00+08:00")
		s.mustRequest(t, req, "HDB", "official-open", "Flat 50% sample")
		s.mustRequest(t, req, "MOH", "official-open", "Clinic visits")
		soon := s.mustRequest(t, req, "MOH", "official-open", "Carers")
		s.mustApply(t, soon, [2]string{req, "submit"})
		s.mustRequest(t, "req@hdb.gov.sg", "MOH", "official-open", "HDB census")
		b := s.signIn(t, req)

		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"", []string{"Carers", "Clinic visits", "Flat 50% sample", "Household census"}},
			{"q=CENSUS", []string{"Household census"}},
			{"q=purpose+of+clinic", []string{"Clinic visits"}},
			{"q=%25", []string{"Flat 50% sample"}},
			{"state=submitted", []string{"Carers", "Household census"}},
			{"sla=breached", []string{"Household census"}},
			{"sla=on_track", []string{"Carers"}},
			{"owner=HDB", []string{"Flat 50% sample"}},
			{"requesting=HDB", nil},
			{"requesting=MSF&state=draft&q=c", []string{"Clinic visits"}},
		} {
			a := b.get("/requests?" + tc.query)
			wantStatus(t, tc.query, a, http.StatusOK)
			if got := titles(a.Body); !slices.Equal(got, tc.want) {
				t.Errorf("/requests?%s: got %q, want %q", tc.query, got, tc.want)
			}
		}
		row := rowOf(b.get("/requests").Body, "Household census")
		for _, w := range []string{`state-submitted"`, "<td>MOH</td>", "<td>MSF</td>", `sla-breached"`, "Wed 15 Jan 2025, 10:00 SGT"} {
			if !strings.Contains(row, w) {
				t.Errorf("list row lacks %q:\n%s", w, row)
			}
		}
		kept := b.get("/requests?state=submitted&q=cen")
		wantContains(t, "filtered list", kept, `<option value="submitted" selected>`, `value="cen"`, `<a href="/requests">Clear filters</a>`)

		for _, tc := range []struct{ query, id, msg string }{
			{"state=lost", "state", "Unknown state"},
			{"sla=late", "sla", "Unknown SLA status"},
			{"q=" + strings.Repeat("x", 201), "q", "Search must be at most 200 characters"},
			{"after=abc", "pager", "Start again from the first page"},
			{"after=5&due=1", "pager", "Start again from the first page"},
		} {
			a := b.get("/requests?" + tc.query)
			wantStatus(t, tc.query, a, http.StatusUnprocessableEntity)
			wantContains(t, tc.query, a, `role="alert"`, `<a href="#`+tc.id+`">`, tc.msg)
			if tc.id != "pager" {
				wantContains(t, tc.query, a, `id="`+tc.id+`-error"`)
			}
		}

		hdb := s.signIn(t, "req@hdb.gov.sg").get("/requests")
		if got := titles(hdb.Body); !slices.Equal(got, []string{"HDB census"}) {
			t.Errorf("HDB's list: got %q, want only its own", got)
		}
		moh := s.signIn(t, "approver1@moh.gov.sg").get("/requests")
		if got := titles(moh.Body); !slices.Equal(got, []string{"Carers", "Household census"}) {
			t.Errorf("MOH's list: got %q, want the submitted requests it owns", got)
		}
	})
}

func TestListPages(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		c := newClock("2025-01-06T15:00:00+08:00")
		s := newSite(t, db, siteOptions{App: apptest.Options{Now: c.Now}})
		const n = 27
		base := c.Now()
		var newestFirst []string
		for i := range n {
			newestFirst = slices.Insert(newestFirst, 0, "Request "+string(rune('A'+i)))
			// Later ids submitted earlier, within one working day: the inbox's order is not the ids'.
			c.at(base.Add(-time.Duration(i) * 10 * time.Minute))
			id := s.mustRequest(t, "req@msf.gov.sg", "MOH", "official-open", "Request "+string(rune('A'+i)))
			s.mustApply(t, id, [2]string{"req@msf.gov.sg", "submit"})
		}
		c.at(base)
		for _, tc := range []struct {
			who, start string
			total      int
		}{
			{"req@msf.gov.sg", "/requests?q=request", n},
			{"approver1@moh.gov.sg", "/inbox", n},
		} {
			b := s.signIn(t, tc.who)
			first := b.get(tc.start)
			page1 := titles(first.Body)
			next := link(nextRE, first.Body)
			if len(page1) != 25 || next == "" || link(firstRE, first.Body) != "" {
				t.Fatalf("%s page 1: got %d rows, next %q; want 25 and a Next page link, no First page link", tc.start, len(page1), next)
			}
			u, _ := url.Parse(next)
			if !strings.HasPrefix(next, strings.SplitN(tc.start, "?", 2)[0]+"?") || (strings.Contains(tc.start, "q=") && u.Query().Get("q") != "request") {
				t.Errorf("%s: next page link %q loses the filters", tc.start, next)
			}
			second := b.get(next)
			page2 := titles(second.Body)
			if link(nextRE, second.Body) != "" || link(firstRE, second.Body) == "" {
				t.Errorf("%s page 2: want a First page link and no Next page link", tc.start)
			}
			all := append(slices.Clone(page1), page2...)
			seen := map[string]bool{}
			for _, ti := range all {
				seen[ti] = true
			}
			// Newest first and soonest due first agree here.
			if !slices.Equal(all, newestFirst) {
				t.Errorf("%s: got %q over two pages, want %q", tc.start, all, newestFirst)
			}
			if len(all) != tc.total || len(seen) != tc.total {
				t.Errorf("%s: got %d rows over two pages (%d distinct), want %d distinct", tc.start, len(all), len(seen), tc.total)
			}
			if back := titles(b.get(link(firstRE, second.Body)).Body); !slices.Equal(back, page1) {
				t.Errorf("%s: First page link shows %q, want page 1 again", tc.start, back)
			}
		}
	})
}
