package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"datashare/models"
	"datashare/models/modelstest"
)

// A full SQLite database answers writes 507 storage_full and readiness
// 503, reads still work, and both pass once there is room again. The
// database is filled for real: SQLite's max_page_count fails writes with
// SQLITE_FULL as a full disk does.
func TestFullDatabaseAnswers507AndReadinessSaysSo(t *testing.T) {
	db := modelstest.MustOpen(t, models.SQLite)
	e := newQuietEnv(t, db)
	send := func(rq request) resp {
		t.Helper()
		req, res, body, err := e.send(rq)
		if err != nil {
			t.Fatal(err)
		}
		e.validate(t, req, res, body)
		return resp{Status: res.StatusCode, Header: res.Header, Body: body}
	}
	create := request{method: "POST", path: "/api/v1/requests", token: "MOH.requester", body: func() map[string]any {
		b := newRequestBody("restricted", "HDB")
		b["data_description"] = strings.Repeat("Counts per block. ", 270) // more than a page
		return b
	}()}

	modelstest.MustFill(t, db)
	r := send(create)
	var eb struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(r.Body, &eb)
	if r.Status != http.StatusInsufficientStorage || eb.Error.Code != "storage_full" || !strings.Contains(eb.Error.Message, "nothing was saved") {
		t.Errorf("POST /api/v1/requests on a full database: got %d %s, want 507 storage_full saying nothing was saved", r.Status, r.Body)
	}
	if r := send(request{method: "GET", path: "/readyz"}); r.Status != http.StatusServiceUnavailable || strings.TrimSpace(string(r.Body)) != `{"status":"storage_full"}` {
		t.Errorf("GET /readyz on a full database: got %d %s, want 503 {\"status\":\"storage_full\"}", r.Status, r.Body)
	}
	if r := send(request{method: "GET", path: "/api/v1/requests", token: "MOH.requester"}); r.Status != http.StatusOK {
		t.Errorf("GET /api/v1/requests on a full database: got %d %s, want 200", r.Status, r.Body)
	}

	modelstest.MustUnfill(t, db)
	if r := send(request{method: "GET", path: "/readyz"}); r.Status != http.StatusOK {
		t.Errorf("GET /readyz once there is room: got %d %s, want 200", r.Status, r.Body)
	}
	if r := send(create); r.Status != http.StatusCreated {
		t.Errorf("POST /api/v1/requests once there is room: got %d %s, want 201", r.Status, r.Body)
	}
}
