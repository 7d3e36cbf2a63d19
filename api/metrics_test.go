package api_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"datashare/api"
	"datashare/models"
	"datashare/models/modelstest"
)

// Whatever a client sends, the HTTP figures are labelled by route template,
// a known method and no host: a scraper's memory cannot be filled from
// outside.
func TestHTTPMetricsLabelsAreBoundedWhateverClientsSend(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) { checkHTTPMetricsLabels(t, db) })
}

func checkHTTPMetricsLabels(t *testing.T, db *models.DB) {
	d, _ := mustDeps(t, db, nil, nil)
	reg := prometheus.NewRegistry()
	d.Metrics = reg
	h := api.New(d)

	cases := []struct {
		name, method, path, host string
		want                     string // code,method,host,url
	}{
		{"a route with an id", http.MethodGet, "/api/v1/requests/12345", "datashare.test", "401,GET,,/api/v1/requests/:request_id"},
		{"another id counts alike", http.MethodGet, "/api/v1/requests/67890", "elsewhere-1.test", "401,GET,,/api/v1/requests/:request_id"},
		{"a path no route has", http.MethodGet, "/wp-admin/setup-83812.php", "elsewhere-2.test", "404,GET,,"},
		{"an invented method", "BREW", "/healthz", "datashare.test", "405,OTHER,,/healthz"},
		{"a probe", http.MethodGet, "/healthz", "datashare.test", "200,GET,,/healthz"},
	}
	for _, tc := range cases {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		req.Host = tc.host
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "datashare_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[strings.Join([]string{labels["code"], labels["method"], labels["host"], labels["url"]}, ",")] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{}
	for _, tc := range cases {
		want[tc.want]++
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("datashare_http_requests_total{%s}: got %v, want %v", k, got[k], n)
		}
	}
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(got) != len(want) {
		t.Errorf("series: got %v, want only %v", keys, want)
	}
}
