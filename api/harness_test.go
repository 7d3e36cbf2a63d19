package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"datashare/accounts"
	"datashare/api"
	"datashare/apptest"
	"datashare/models"
	"datashare/workflow"
)

// env is a running API over a real database with a cast of users.
type env struct {
	t      testing.TB
	db     *models.DB
	srv    *httptest.Server
	router routers.Router
	tokens map[string]string // by user key, e.g. "MOH.requester"
	users  map[string]models.User
	wf     *workflow.Service
	acc    *accounts.Service
	now    func() time.Time // the clock the services were given
	app    *apptest.App
}

// cast: agencies and the users of each. "X" is a third agency that is
// neither requesting nor owning in most tests.
var castAgencies = []string{"MOH", "HDB", "X"}
var castPeople = []struct{ key, role string }{
	{"requester", "requester"},
	{"requester2", "requester"},
	{"approver", "approver"},
	{"approver2", "approver"},
	{"approver3", "approver"},
	{"manager", "manager"},
}

func mustLoadSpec(tb testing.TB) routers.Router {
	tb.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPISpec())
	if err != nil {
		tb.Fatalf("load openapi: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		tb.Fatalf("openapi document is invalid: %v", err)
	}
	doc.Servers = nil
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		tb.Fatalf("openapi router: %v", err)
	}
	return r
}

func newEnv(tb testing.TB, db *models.DB) *env {
	tb.Helper()
	return newEnvWithClock(tb, db, func() time.Time { return time.Now().UTC() })
}

// quietStart is a Saturday at midnight in Singapore: no working time passes
// for the next 48 hours.
var quietStart = time.Date(2025, 11, 29, 0, 0, 0, 0, time.FixedZone("SGT", 8*3600))

// newQuietEnv is newEnv with a clock that runs at real speed from
// quietStart. No working time elapses during a test, so the SLA figures in
// an answer do not move between two reads of an unchanged request and such
// reads can be compared byte for byte.
func newQuietEnv(tb testing.TB, db *models.DB) *env {
	tb.Helper()
	origin := time.Now()
	return newEnvWithClock(tb, db, func() time.Time { return quietStart.Add(time.Since(origin)).UTC() })
}

func newEnvWithClock(tb testing.TB, db *models.DB, clock func() time.Time) *env {
	tb.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, app := mustDeps(tb, db, clock, log)
	acc, wf := d.Accounts, d.Workflow
	h := api.New(d)
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	e := &env{t: tb, db: db, srv: srv, router: mustLoadSpec(tb), tokens: map[string]string{}, users: map[string]models.User{}, wf: wf, acc: acc, now: clock, app: app}

	if _, err := acc.Bootstrap(ctx, "admin@govtech.gov.sg", strings.Repeat("a", 40)); err != nil {
		tb.Fatal(err)
	}
	e.tokens["admin"] = strings.Repeat("a", 40)
	adminUser, _ := acc.UserByEmail(ctx, "admin@govtech.gov.sg")
	e.users["admin"] = adminUser
	for _, a := range castAgencies {
		if err := acc.EnsureAgency(ctx, a, a+" agency"); err != nil {
			tb.Fatal(err)
		}
		for _, p := range castPeople {
			u, err := acc.CreateUserUnchecked(ctx, accounts.NewUser{
				Email: strings.ToLower(a) + "." + p.key + "@gov.sg", Name: a + " " + p.key, Agency: a, Roles: []string{p.role},
			})
			if err != nil {
				tb.Fatal(err)
			}
			tok, err := acc.IssueDemoToken(ctx, u.ID)
			if err != nil {
				tb.Fatal(err)
			}
			e.tokens[a+"."+p.key] = tok
			e.users[a+"."+p.key] = u
		}
	}
	return e
}

// mustDeps wires the services over db the way the binary does, with the
// Singapore calendar, the default SLA settings and notifications without
// SMTP.
func mustDeps(tb testing.TB, db *models.DB, clock func() time.Time, log *slog.Logger) (api.Deps, *apptest.App) {
	tb.Helper()
	a := apptest.Wire(tb, db, apptest.Options{Now: clock, Notify: true, Log: log})
	return a.API(), a
}

// resp is a response whose body has been read and checked against the
// OpenAPI document.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("decode %s: %v", r.Body, err)
	}
}

// errCode returns the code and field of an error body.
func (r resp) errCode(tb testing.TB) (string, string) {
	tb.Helper()
	var b struct {
		Error struct{ Code, Message, Field string }
	}
	r.decode(tb, &b)
	if b.Error.Message == "" {
		tb.Fatalf("error body without a message: %s", r.Body)
	}
	return b.Error.Code, b.Error.Field
}

// request is one call; body may be a string (sent as is), []byte, or a value
// sent as JSON.
type request struct {
	method, path, token string
	body                any
	header              map[string]string
	chunked             bool // send the body without Content-Length
}

func (e *env) do(tb testing.TB, rq request) resp {
	tb.Helper()
	req, res, body, err := e.send(rq)
	if err != nil {
		tb.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	if res.StatusCode >= 500 {
		tb.Errorf("%s %s: got %d %s, want no server error", rq.method, rq.path, res.StatusCode, body)
	}
	e.validate(tb, req, res, body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: body}
}

// send performs rq and reads the whole answer without touching a testing.TB,
// so that goroutines can use it; check the answer with e.validate on the test
// goroutine. The returned response's body is already read and closed.
func (e *env) send(rq request) (*http.Request, *http.Response, []byte, error) {
	var raw []byte
	switch b := rq.body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return nil, nil, nil, err
		}
	}
	var rd io.Reader = bytes.NewReader(raw)
	if rq.chunked {
		// A reader of unknown length: the client sends no Content-Length and
		// a chunked body.
		rd = io.MultiReader(bytes.NewReader(raw))
	}
	req, err := http.NewRequest(rq.method, e.srv.URL+rq.path, rd)
	if err != nil {
		return nil, nil, nil, err
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.token != "" {
		tok, ok := e.tokens[rq.token]
		if !ok {
			tok = rq.token
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		return nil, nil, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, nil, nil, err
	}
	return req, res, body, nil
}

// validate checks a response against the served OpenAPI document.
func (e *env) validate(tb testing.TB, req *http.Request, res *http.Response, body []byte) {
	tb.Helper()
	vreq := req.Clone(context.Background())
	vreq.URL.Host, vreq.URL.Scheme = "", ""
	route, params, err := e.router.FindRoute(vreq)
	if err != nil {
		if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed {
			return // a route the document does not have
		}
		tb.Errorf("%s %s: no route in the OpenAPI document: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{
		Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true},
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                in.Options,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		tb.Errorf("%s %s: %d response does not match the OpenAPI document: %v\nbody: %s", req.Method, req.URL.Path, res.StatusCode, err, body)
	}
}

// requestView is the subset of a request the tests read.
type requestView struct {
	ID        int64  `json:"id"`
	State     string `json:"state"`
	Version   int    `json:"version"`
	Approvals []struct {
		Approver struct{ ID int64 } `json:"approver"`
		At       time.Time          `json:"at"`
	} `json:"approvals"`
	ApprovalsRequired int        `json:"approvals_required"`
	SubmittedAt       *time.Time `json:"submitted_at"`
	ClosedAt          *time.Time `json:"closed_at"`
	OwnerAgency       string     `json:"owner_agency"`
	RequestingAgency  string     `json:"requesting_agency"`
}

func newRequestBody(classification, owner string) map[string]any {
	return map[string]any{
		"title":            "Residents aged 65+ per block",
		"purpose":          "Vaccination outreach",
		"data_description": "Counts per block, 2025",
		"classification":   classification,
		"owner_agency":     owner,
	}
}

// mustCreate files a draft as MOH.requester asking HDB.
func (e *env) mustCreate(tb testing.TB, classification string) requestView {
	tb.Helper()
	r := e.do(tb, request{method: "POST", path: "/api/v1/requests", token: "MOH.requester", body: newRequestBody(classification, "HDB")})
	if r.Status != http.StatusCreated {
		tb.Fatalf("create: got %d %s, want 201", r.Status, r.Body)
	}
	var v requestView
	r.decode(tb, &v)
	return v
}

// mustAct applies an action and fails unless it answers 200.
func (e *env) mustAct(tb testing.TB, id int64, who, action, comment string) requestView {
	tb.Helper()
	r := e.act(tb, id, who, action, comment)
	if r.Status != http.StatusOK {
		tb.Fatalf("%s by %s on %d: got %d %s, want 200", action, who, id, r.Status, r.Body)
	}
	var v requestView
	r.decode(tb, &v)
	return v
}

func (e *env) act(tb testing.TB, id int64, who, action, comment string) resp {
	tb.Helper()
	body := map[string]any{"action": action}
	if comment != "" {
		body["comment"] = comment
	}
	return e.do(tb, request{method: "POST", path: fmt.Sprintf("/api/v1/requests/%d/transitions", id), token: who, body: body})
}

// mustGet reads a request as the admin.
func (e *env) mustGet(tb testing.TB, id int64) (requestView, []byte) {
	tb.Helper()
	r := e.do(tb, request{method: "GET", path: fmt.Sprintf("/api/v1/requests/%d", id), token: "admin"})
	if r.Status != http.StatusOK {
		tb.Fatalf("get %d: got %d %s", id, r.Status, r.Body)
	}
	var v requestView
	r.decode(tb, &v)
	return v, r.Body
}

// mustHistoryLen returns the number of history rows of a request.
func (e *env) mustHistoryLen(tb testing.TB, id int64) int {
	tb.Helper()
	r := e.do(tb, request{method: "GET", path: fmt.Sprintf("/api/v1/requests/%d/history", id), token: "admin"})
	if r.Status != http.StatusOK {
		tb.Fatalf("history %d: got %d %s", id, r.Status, r.Body)
	}
	var h struct{ Items []json.RawMessage }
	r.decode(tb, &h)
	return len(h.Items)
}

// mustReach drives a fresh request of the given classification into state.
func (e *env) mustReach(tb testing.TB, classification, state string) requestView {
	tb.Helper()
	v := e.mustCreate(tb, classification)
	steps := map[string][][3]string{
		"draft":                   nil,
		"submitted":               {{"MOH.requester", "submit", ""}},
		"clarification_requested": {{"MOH.requester", "submit", ""}, {"HDB.approver", "request_clarification", "which blocks?"}},
		"approved":                {{"MOH.requester", "submit", ""}, {"HDB.approver", "approve", ""}, {"HDB.approver2", "approve", ""}},
		"fulfilled":               {{"MOH.requester", "submit", ""}, {"HDB.approver", "approve", ""}, {"HDB.approver2", "approve", ""}, {"HDB.approver", "fulfil", ""}},
		"rejected":                {{"MOH.requester", "submit", ""}, {"HDB.approver", "reject", "no legal basis"}},
		"withdrawn":               {{"MOH.requester", "submit", ""}, {"MOH.requester", "withdraw", ""}},
	}[state]
	for _, s := range steps {
		if s[1] == "approve" && s[0] == "HDB.approver2" && v.State == "approved" {
			continue // single-approver classifications are approved after the first
		}
		v = e.mustAct(tb, v.ID, s[0], s[1], s[2])
	}
	if v.State != state {
		tb.Fatalf("mustReach: got state %s, want %s", v.State, state)
	}
	return v
}

// snapshot is what a refused call must leave untouched: the request as the
// admin reads it, byte for byte, and the length of its history.
type snapshot struct {
	body    []byte
	history int
}

func (e *env) mustSnapshot(tb testing.TB, id int64) snapshot {
	tb.Helper()
	_, body := e.mustGet(tb, id)
	return snapshot{body: body, history: e.mustHistoryLen(tb, id)}
}

// mustBeUnchanged fails unless request id reads exactly as in before.
func (e *env) mustBeUnchanged(tb testing.TB, id int64, before snapshot) {
	tb.Helper()
	after := e.mustSnapshot(tb, id)
	if !bytes.Equal(after.body, before.body) {
		tb.Errorf("request %d changed on a refused call: got %s, want %s", id, after.body, before.body)
	}
	if after.history != before.history {
		tb.Errorf("history of request %d on a refused call: got %d rows, want %d", id, after.history, before.history)
	}
}

// mustStatus fails unless r has status want and, for an error, code wantCode
// (checked only when not empty) in DESIGN.md's error body.
func mustStatus(tb testing.TB, r resp, want int, wantCode string) {
	tb.Helper()
	if r.Status != want {
		tb.Fatalf("got %d %s, want %d", r.Status, r.Body, want)
	}
	if want >= 400 {
		code, _ := r.errCode(tb)
		if wantCode != "" && code != wantCode {
			tb.Fatalf("error code: got %q, want %q (%s)", code, wantCode, r.Body)
		}
	}
}

// mustFieldError fails unless r is a 422 invalid error naming field.
func mustFieldError(tb testing.TB, r resp, field string) {
	tb.Helper()
	mustStatus(tb, r, http.StatusUnprocessableEntity, "invalid")
	if _, f := r.errCode(tb); f != field {
		tb.Fatalf("error field: got %q, want %q (%s)", f, field, r.Body)
	}
}

// page is one page of GET /requests.
type page struct {
	Items      []requestView `json:"items"`
	NextCursor *string       `json:"next_cursor"`
}

// mustList reads one page of requests as who, with the raw query string q.
func (e *env) mustList(tb testing.TB, who, q string) page {
	tb.Helper()
	path := "/api/v1/requests"
	if q != "" {
		path += "?" + q
	}
	r := e.do(tb, request{method: "GET", path: path, token: who})
	if r.Status != http.StatusOK {
		tb.Fatalf("list %q as %s: got %d %s, want 200", q, who, r.Status, r.Body)
	}
	var p page
	r.decode(tb, &p)
	return p
}

// mustListAll walks every page of requests visible to who.
func (e *env) mustListAll(tb testing.TB, who string) []requestView {
	tb.Helper()
	var all []requestView
	q := "limit=100"
	for i := 0; ; i++ {
		if i > 1000 {
			tb.Fatalf("list as %s: more than 1000 pages", who)
		}
		p := e.mustList(tb, who, q)
		all = append(all, p.Items...)
		if p.NextCursor == nil {
			return all
		}
		q = "limit=100&cursor=" + *p.NextCursor
	}
}

// listed reports whether id is among rs.
func listed(rs []requestView, id int64) bool {
	for _, r := range rs {
		if r.ID == id {
			return true
		}
	}
	return false
}

// requestPath is the path of request id, followed by suffix.
func requestPath(id int64, suffix string) string {
	return fmt.Sprintf("/api/v1/requests/%d%s", id, suffix)
}
