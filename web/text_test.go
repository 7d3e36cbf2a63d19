package web_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"datashare/models"
	"datashare/models/modelstest"
	"datashare/web"
	"datashare/workflow"
)

// TestPagesRefuseTextThatIsNotUTF8OrHoldsNUL: a form field, a query
// parameter or a path segment that is not UTF-8 or holds NUL is refused
// before it reaches the database, naming the field, and changes nothing.
func TestPagesRefuseTextThatIsNotUTF8OrHoldsNUL(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := newSite(t, db, siteOptions{})
		draft, err := s.Workflow.Create(context.Background(), s.actor("req@msf.gov.sg"), workflow.NewRequest{Title: "Household sizes",
			Purpose: "Plan services", DataDescription: "Counts by town", Classification: "official-open", OwnerAgency: "MOH"})
		if err != nil {
			t.Fatal(err)
		}
		requestForm := func(field, v string) url.Values {
			f := url.Values{"title": {"Household sizes"}, "purpose": {"Plan services"}, "data_description": {"Counts by town"},
				"classification": {"official-open"}, "owner_agency": {"MOH"}, "legal_basis": {""}, "project": {""}}
			f.Set(field, v)
			return f
		}
		s.mustProject(t, "req@msf.gov.sg", "ELDERCARE")
		draftPath := fmt.Sprintf("/requests/%d", draft.ID)
		cases := []struct {
			name, method, path string // "^" in path marks the bad text
			form               func(bad string) url.Values
			signedIn           bool
			status             int
			field              string // named in the message
		}{
			{"new request title", "POST", "/requests/new", func(b string) url.Values { return requestForm("title", "Sizes"+b) }, true, 422, "title"},
			{"new request purpose", "POST", "/requests/new", func(b string) url.Values { return requestForm("purpose", b) }, true, 422, "purpose"},
			{"new request legal basis", "POST", "/requests/new", func(b string) url.Values { return requestForm("legal_basis", b) }, true, 422, "legal_basis"},
			{"edit request title", "POST", draftPath + "/edit", func(b string) url.Values {
				f := requestForm("title", "Sizes"+b)
				f.Set("version", "1")
				return f
			}, true, 422, "title"},
			{"transition comment", "POST", draftPath + "/transitions", func(b string) url.Values {
				return url.Values{"action": {"withdraw"}, "version": {"1"}, "comment": {"no longer" + b}}
			}, true, 422, "comment"},
			{"new request project", "POST", "/requests/new", func(b string) url.Values { return requestForm("project_code", "ELDERCARE"+b) }, true, 422, "project_code"},
			{"new project code", "POST", "/projects/new", func(b string) url.Values { return url.Values{"code": {"P-1" + b}, "name": {"n"}} }, true, 422, "code"},
			{"new project partner", "POST", "/projects/new", func(b string) url.Values {
				return url.Values{"code": {"P-1"}, "name": {"n"}, "partners": {"MOH" + b}}
			}, true, 422, "partners"},
			{"project name", "POST", "/projects/ELDERCARE/edit", func(b string) url.Values { return url.Values{"name": {"n" + b}} }, true, 422, "name"},
			{"project partner to add", "POST", "/projects/ELDERCARE/partners", func(b string) url.Values { return url.Values{"add_partners": {"MOH" + b}} }, true, 422, "add_partners"},
			{"project partner to remove", "POST", "/projects/ELDERCARE/partners", func(b string) url.Values { return url.Values{"remove": {"MOH" + b}} }, true, 422, "remove"},
			{"project path", "GET", "/projects/ELDER^", nil, true, 400, ""},
			{"search box", "GET", "/requests?q=house^", nil, true, 422, "q"},
			{"owner filter", "GET", "/requests?owner=MO^H", nil, true, 422, "owner"},
			{"inbox filter", "GET", "/inbox?requesting=MS^F", nil, true, 422, "requesting"},
			{"report agency", "GET", "/reports?from=2025-01-01&to=2026-01-01&agency=MO^H", nil, true, 422, "agency"},
			{"preferences", "POST", "/preferences", func(b string) url.Values { return url.Values{"shown": {"email.sla.breached" + b}} }, true, 422, "shown"},
			{"account password", "POST", "/account/password", func(b string) url.Values {
				return url.Values{"current_password": {password + b}, "new_password": {"a much longer passphrase"}, "confirm_password": {"a much longer passphrase"}}
			}, true, 422, "current_password"},
			{"sign-in email", "POST", "/login", func(b string) url.Values { return url.Values{"email": {"req@msf.gov.sg" + b}, "password": {password}} }, false, 422, "email"},
			{"sign-in password", "POST", "/login", func(b string) url.Values { return url.Values{"email": {"req@msf.gov.sg"}, "password": {password + b}} }, false, 422, "password"},
			{"sign-in next", "GET", "/login?next=/requests^", nil, false, 422, "next"},
			{"request path", "GET", "/requests/1^", nil, true, 400, ""},
		}
		signedIn := s.signIn(t, "req@msf.gov.sg")
		for _, tc := range cases {
			for name, bad := range map[string]string{"nul": "\x00", "invalid_utf8": "\xff"} {
				t.Run(tc.name+"/"+name, func(t *testing.T) {
					b := signedIn
					if !tc.signedIn {
						b = s.browser(t)
						b.get("/login")
					}
					path := strings.Replace(tc.path, "^", url.QueryEscape(bad), 1)
					before := mustPageFingerprint(t, db)
					var a answer
					if tc.form == nil {
						a = b.get(path)
					} else {
						a = b.post(path, tc.form(bad))
					}
					if a.Status != tc.status {
						t.Fatalf("got %d, want %d\n%s", a.Status, tc.status, a.Body)
					}
					if tc.field != "" && !strings.Contains(strings.ToLower(a.Body), tc.field+" holds a character") {
						t.Errorf("the page does not name %s:\n%s", tc.field, a.Body)
					}
					if after := mustPageFingerprint(t, db); after != before {
						t.Errorf("the database changed on a refused page:\nbefore %s\nafter  %s", before, after)
					}
				})
			}
		}
	})
}

// mustPageFingerprint is the content of every table a page may write but
// the sessions, which a visit may touch whatever it sends.
func mustPageFingerprint(tb testing.TB, db *models.DB) string {
	tb.Helper()
	var sb strings.Builder
	for _, table := range []string{"agencies", "users", "api_tokens", "requests", "approvals", "transitions", "events",
		"outbox", "notifications", "preferences", "webhooks", "holidays", "projects", "project_partners"} {
		var rows []map[string]any
		if err := db.Conn(context.Background()).Table(table).Order("1").Find(&rows).Error; err != nil {
			tb.Fatalf("read %s: %v", table, err)
		}
		fmt.Fprintf(&sb, "%s:%d:%v;", table, len(rows), rows)
	}
	return sb.String()
}

// TestStrictTransportSecurityOnlyOverHTTPS: a deployment reached over
// https tells browsers to keep to it, on pages and API alike; one over
// http says nothing of it.
func TestStrictTransportSecurityOnlyOverHTTPS(t *testing.T) {
	for _, secure := range []bool{false, true} {
		s := newSite(t, modelstest.MustOpen(t, models.SQLite), siteOptions{Web: web.Settings{Secure: secure}})
		for _, path := range []string{"/login", "/api/v1/me", "/no/such/page"} {
			a := s.browser(t).get(path)
			got := a.Header.Get("Strict-Transport-Security")
			if secure != strings.HasPrefix(got, "max-age=") || !secure && got != "" {
				t.Errorf("%s, https %v: Strict-Transport-Security %q", path, secure, got)
			}
			if a.Header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("%s: X-Frame-Options %q, want DENY", path, a.Header.Get("X-Frame-Options"))
			}
		}
	}
}
