package web_test

import (
	"context"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"testing"

	"datashare/accounts"
	"datashare/workflow"
)

// mustRequest files a draft as email through the service, not the pages.
func (s *site) mustRequest(tb testing.TB, email, owner, classification, title string) int64 {
	tb.Helper()
	r, err := s.Workflow.Create(context.Background(), s.actor(email), workflow.NewRequest{
		Title: title, Purpose: "Purpose of " + title, DataDescription: "Rows of " + title,
		Classification: classification, OwnerAgency: owner,
	})
	if err != nil {
		tb.Fatalf("create %q: %v", title, err)
	}
	return r.ID
}

// mustApply takes actions in turn on request id through the service.
func (s *site) mustApply(tb testing.TB, id int64, steps ...[2]string) {
	tb.Helper()
	for _, st := range steps {
		if _, err := s.Workflow.Apply(context.Background(), s.actor(st[0]), id, workflow.Action(st[1]), "because", 0); err != nil {
			tb.Fatalf("%s by %s on request %d: %v", st[1], st[0], id, err)
		}
	}
}

// mustPerson adds a user with several roles to the site, signing in with
// password.
func (s *site) mustPerson(tb testing.TB, email, agency string, roles ...string) {
	tb.Helper()
	ctx := context.Background()
	u, err := s.Accounts.CreateUserUnchecked(ctx, accounts.NewUser{Email: email, Name: email, Agency: agency, Roles: roles})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Accounts.SetPasswordsUnchecked(ctx, []int64{u.ID}, password); err != nil {
		tb.Fatal(err)
	}
	if u, err = s.Accounts.UserByID(ctx, u.ID); err != nil {
		tb.Fatal(err)
	}
	s.Users[email] = u
}

var (
	buttonRE  = regexp.MustCompile(`<button type="submit" name="action" value="([a-z_]+)"[^>]*>([^<]+)</button>`)
	versionRE = regexp.MustCompile(`name="version" value="(\d+)"`)
	rowRE     = regexp.MustCompile(`<td><a href="/requests/(\d+)">([^<]*)</a></td>`)
	h1RE      = regexp.MustCompile(`<h1[^>]*>([^<]*)</h1>`)
	nextRE    = regexp.MustCompile(`<a href="([^"]*)" rel="next">Next page</a>`)
	firstRE   = regexp.MustCompile(`<a href="([^"]*)">First page</a>`)
)

// buttons are the labels of a page's action buttons, in order.
func buttons(body string) []string {
	var out []string
	for _, m := range buttonRE.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[2]))
	}
	return out
}

// titles are the titles of a page's list of requests, in order.
func titles(body string) []string {
	var out []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[2]))
	}
	return out
}

func h1s(body string) []string {
	var out []string
	for _, m := range h1RE.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

func link(re *regexp.Regexp, body string) string {
	m := re.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// act posts the action form of request id as its page offers it, with the
// version the page shows.
func (b *browser) act(id int64, action, comment string) answer {
	b.tb.Helper()
	page := b.get("/requests/" + strconv.FormatInt(id, 10))
	m := versionRE.FindStringSubmatch(page.Body)
	if m == nil {
		b.tb.Fatalf("request %d offers no action form (status %d)", id, page.Status)
	}
	return b.actAt(id, action, comment, m[1])
}

func (b *browser) actAt(id int64, action, comment, version string) answer {
	b.tb.Helper()
	return b.post("/requests/"+strconv.FormatInt(id, 10)+"/transitions",
		url.Values{"action": {action}, "comment": {comment}, "version": {version}})
}

func path(id int64) string { return "/requests/" + strconv.FormatInt(id, 10) }
