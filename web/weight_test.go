package web_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"testing"

	"datashare/models"
	"datashare/models/modelstest"
)

var assetRE = regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`)

// maxRequestPage is the budget for a request page with everything
// it loads, as transferred (gzip).
const maxRequestPage = 60 << 10

// TestRequestPageWeight adds up the bytes a browser transfers for a
// request page and its icon, stylesheet and script, gzip compressed as the
// server sends them.
func TestRequestPageWeight(t *testing.T) {
	s := newSite(t, modelstest.MustOpen(t, models.SQLite), siteOptions{})
	r := s.mustSubmitted(t, "Household sizes per block")
	b := s.signIn(t, "approver1@moh.gov.sg")
	fetch := func(path string) int {
		req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := http.DefaultTransport.RoundTrip(withCookies(b, req))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		n, err := io.Copy(io.Discard, res.Body)
		if err != nil || res.StatusCode != http.StatusOK || res.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("GET %s: %d %q (%v), want 200 gzip", path, res.StatusCode, res.Header.Get("Content-Encoding"), err)
		}
		return int(n)
	}
	path := fmt.Sprintf("/requests/%d", r.ID)
	page := b.get(path)
	total := fetch(path)
	assets := assetRE.FindAllStringSubmatch(page.Body, -1)
	if len(assets) != 3 {
		t.Fatalf("the request page loads %d static files, want the icon, the stylesheet and the script", len(assets))
	}
	for _, m := range assets {
		total += fetch(m[1])
	}
	t.Logf("request page with its icon, stylesheet and script: %d bytes transferred (gzip)", total)
	if total > maxRequestPage {
		t.Errorf("request page weighs %d bytes with its assets, want at most %d", total, maxRequestPage)
	}
}

// withCookies gives req the browser's cookies; the transport alone sends
// none, and it is used so that Go does not undo the gzip for us.
func withCookies(b *browser, req *http.Request) *http.Request {
	for _, c := range b.client.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	return req
}
