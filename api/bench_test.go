package api_test

// Benchmarks of the HTTP API over real databases, and the yardstick they are
// held to: a bare echo + gorm handler that does only the same writes on the
// same kind of database, with no auth, no validation, no reads.
//
//	DATASHARE_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	  go test -run '^$' -bench 'Create|Approve|Lifecycle|Transition' -benchmem -benchtime 3s -count 3 ./api/
//
// The target: with auth, validation and history, create and approve reach at
// least 0.8 of the yardstick's ops/s at 16 concurrent clients.

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/accounts"
	"datashare/models"
	"datashare/models/modelstest"
)

var benchDialects = []models.Dialect{models.SQLite, models.Postgres}

// benchTarget is a running server and the database behind it, with a
// requester of MOH and an approver of HDB.
type benchTarget struct {
	client         *benchClient
	db             *models.DB
	requesterToken string // empty for the yardstick, which has no auth
	approverToken  string
	requesterID    int64
	approverID     int64
	// stamp moves the SLA clock of a request as the service does; nil for
	// the yardstick, which keeps no clock.
	stamp func(r *models.Request, from, to string, at time.Time)
}

// benchKinds are the servers compared side by side: the real API, and the
// yardstick.
var benchKinds = []struct {
	name string
	open func(b *testing.B, d models.Dialect) benchTarget
}{
	{"datashare", openDatashare},
	{"bare", openBare},
}

// openDatashare starts the real API (auth, validation, history, SLA clock,
// request logging to a discarding handler) over a fresh migrated database.
func openDatashare(b *testing.B, d models.Dialect) benchTarget {
	db := modelstest.MustOpen(b, d)
	e := newEnv(b, db)
	deps, _ := mustDeps(b, db, func() time.Time { return time.Now().UTC() }, slog.New(slog.DiscardHandler))
	keeper := deps.SLA
	return benchTarget{
		stamp:          keeper.Stamp,
		client:         newBenchClient(b, e.srv.URL),
		db:             db,
		requesterToken: e.tokens["MOH.requester"],
		approverToken:  e.tokens["HDB.approver"],
		requesterID:    e.users["MOH.requester"].ID,
		approverID:     e.users["HDB.approver"].ID,
	}
}

// bareServer is the yardstick: echo and gorm with nothing else. No auth (the
// actor is fixed), no validation, no reads; each handler decodes the body,
// writes the same rows as the service in one transaction, and answers JSON.
type bareServer struct {
	db          *models.DB
	requesterID int64
	approverID  int64
}

// openBare starts the yardstick over a fresh database opened like the
// service's own (models.Open, then Migrate: same pragmas, same pool).
func openBare(b *testing.B, d models.Dialect) benchTarget {
	db := modelstest.MustOpen(b, d)
	ctx := context.Background()
	acc := accounts.NewService(db, func() time.Time { return time.Now().UTC() })
	for _, a := range []string{"MOH", "HDB"} {
		if err := acc.EnsureAgency(ctx, a, a+" agency"); err != nil {
			b.Fatal(err)
		}
	}
	req, err := acc.CreateUserUnchecked(ctx, accounts.NewUser{Email: "moh.requester@gov.sg", Name: "MOH requester", Agency: "MOH", Roles: []string{"requester"}})
	if err != nil {
		b.Fatal(err)
	}
	appr, err := acc.CreateUserUnchecked(ctx, accounts.NewUser{Email: "hdb.approver@gov.sg", Name: "HDB approver", Agency: "HDB", Roles: []string{"approver"}})
	if err != nil {
		b.Fatal(err)
	}
	s := &bareServer{db: db, requesterID: req.ID, approverID: appr.ID}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST("/api/v1/requests", s.handleCreate)
	e.POST("/api/v1/requests/:request_id/transitions", s.handleApprove)
	srv := httptest.NewServer(e)
	b.Cleanup(srv.Close)
	return benchTarget{client: newBenchClient(b, srv.URL), db: db, requesterID: req.ID, approverID: appr.ID}
}

// handleCreate inserts the request and its create history row.
func (s *bareServer) handleCreate(c echo.Context) error {
	var in struct {
		Title           string  `json:"title"`
		Purpose         string  `json:"purpose"`
		DataDescription string  `json:"data_description"`
		Classification  string  `json:"classification"`
		OwnerAgency     string  `json:"owner_agency"`
		LegalBasis      *string `json:"legal_basis"`
		Project         *string `json:"project"`
	}
	if err := c.Bind(&in); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	r := models.Request{
		Title: in.Title, Purpose: in.Purpose, DataDescription: in.DataDescription,
		Classification: in.Classification, OwnerAgency: in.OwnerAgency,
		LegalBasis: in.LegalBasis, Project: in.Project,
		RequestingAgency: "MOH", RequesterID: s.requesterID,
		State: "draft", ApprovalsRequired: 1, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	err := s.db.Tx(c.Request().Context(), func(_ context.Context, tx *gorm.DB) error {
		if err := tx.Omit(clause.Associations).Create(&r).Error; err != nil {
			return err
		}
		return models.AppendHistory(tx, []models.Transition{{RequestID: r.ID, Action: "create", ToState: "draft", ActorID: &s.requesterID, At: now}})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, &r)
}

// handleApprove moves a submitted official-open request to approved:
// state and version, the approval row, the history row, and what an
// approval tells the requester: one in-app notification and one email row
// in the outbox (the writes the service makes in the same transaction).
func (s *bareServer) handleApprove(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("request_id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	var in struct {
		Action  string `json:"action"`
		Comment string `json:"comment"`
	}
	if err := c.Bind(&in); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	from := "submitted"
	err = s.db.Tx(c.Request().Context(), func(_ context.Context, tx *gorm.DB) error {
		res := tx.Model(&models.Request{}).Where("id = ? AND state = ?", id, from).
			Updates(map[string]any{"state": "approved", "version": gorm.Expr("version + 1"), "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return echo.NewHTTPError(http.StatusConflict, "not submitted")
		}
		if err := tx.Create(&models.Approval{RequestID: id, ApproverID: s.approverID, At: now}).Error; err != nil {
			return err
		}
		if err := models.AppendHistory(tx, []models.Transition{{RequestID: id, Action: "approve", FromState: &from, ToState: "approved", ActorID: &s.approverID, At: now, Comment: in.Comment}}); err != nil {
			return err
		}
		if err := tx.Create(&models.Notification{UserID: s.requesterID, Event: "request.approved", RequestID: &id,
			Title: "The request was approved", Body: "approved", CreatedAt: now}).Error; err != nil {
			return err
		}
		return tx.Create(&models.Delivery{DeliveryID: strconv.FormatInt(id, 10) + "-" + strconv.FormatInt(now.UnixNano(), 10),
			Event: "request.approved", RequestID: &id, Channel: "email", UserID: &s.requesterID, Recipient: "moh.requester@gov.sg",
			Payload: `{"subject":"approved"}`, State: "skipped", NextAttemptAt: now, CreatedAt: now}).Error
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"id": id, "state": "approved"})
}

var (
	benchCreateBody  = mustJSON(newRequestBody("official-open", "HDB"))
	benchApproveBody = mustJSON(map[string]string{"action": "approve"})
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// runClients runs op b.N times from benchClients concurrent clients, each
// call with the next index from 0, and reports ops/s and latency.
func runClients(b *testing.B, op func(i int64) error) {
	setBenchClients(b)
	b.ReportAllocs()
	lat := newLatencies(b.N)
	var fail failures
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			t0 := time.Now()
			if err := op(i); err != nil {
				fail.add(err)
			}
			lat.add(time.Since(t0))
		}
	})
	lat.report(b, start)
	fail.check(b)
}

// runSequential runs op b.N times one after the other and reports ops/s and
// latency.
func runSequential(b *testing.B, op func(i int64) error) {
	b.ReportAllocs()
	lat := newLatencies(b.N)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := op(int64(i)); err != nil {
			b.Fatal(err)
		}
		lat.add(time.Since(t0))
	}
	lat.report(b, start)
}

// BenchmarkCreate files drafts from 16 concurrent clients: the real API
// (token lookup, validation, request and history rows, the answer read
// back) against the yardstick (the two inserts).
func BenchmarkCreate(b *testing.B) {
	for _, k := range benchKinds {
		b.Run(k.name, func(b *testing.B) {
			for _, d := range benchDialects {
				b.Run(string(d), func(b *testing.B) {
					t := k.open(b, d)
					runClients(b, func(int64) error {
						return t.client.post("/api/v1/requests", t.requesterToken, benchCreateBody, http.StatusCreated, nil)
					})
					mustWrote(b, t.db, "requests", "state = ?", int64(b.N), "draft")
					mustWrote(b, t.db, "transitions", "action = ?", int64(b.N), "create")
				})
			}
		})
	}
}

// BenchmarkApprove approves distinct submitted official-open requests from
// 16 concurrent clients; each approval moves its request to approved.
func BenchmarkApprove(b *testing.B) {
	for _, k := range benchKinds {
		b.Run(k.name, func(b *testing.B) {
			for _, d := range benchDialects {
				b.Run(string(d), func(b *testing.B) {
					t := k.open(b, d)
					ids := mustSeedSubmitted(b, t.db, t.requesterID, b.N, t.stamp)
					runClients(b, func(i int64) error {
						return t.client.post(transitionPath(ids[i]), t.approverToken, benchApproveBody, http.StatusOK, nil)
					})
					mustWrote(b, t.db, "requests", "state = ?", int64(b.N), "approved")
					mustWrote(b, t.db, "approvals", "approver_id = ?", int64(b.N), t.approverID)
					mustWrote(b, t.db, "transitions", "action = ?", int64(b.N), "approve")
				})
			}
		})
	}
}

// BenchmarkTransition is one approval alone through the API, one client.
func BenchmarkTransition(b *testing.B) {
	for _, d := range benchDialects {
		b.Run(string(d), func(b *testing.B) {
			t := openDatashare(b, d)
			ids := mustSeedSubmitted(b, t.db, t.requesterID, b.N, t.stamp)
			runSequential(b, func(i int64) error {
				return t.client.post(transitionPath(ids[i]), t.approverToken, benchApproveBody, http.StatusOK, nil)
			})
			mustWrote(b, t.db, "requests", "state = ?", int64(b.N), "approved")
		})
	}
}

// BenchmarkLifecycle takes an official-open request from creation to
// fulfilment through the API, one client: create, submit, approve, fulfil
// (four requests per op).
func BenchmarkLifecycle(b *testing.B) {
	for _, d := range benchDialects {
		b.Run(string(d), func(b *testing.B) {
			t := openDatashare(b, d)
			submit := mustJSON(map[string]string{"action": "submit"})
			fulfil := mustJSON(map[string]string{"action": "fulfil"})
			runSequential(b, func(int64) error {
				var v struct {
					ID int64 `json:"id"`
				}
				if err := t.client.post("/api/v1/requests", t.requesterToken, benchCreateBody, http.StatusCreated, &v); err != nil {
					return err
				}
				path := transitionPath(v.ID)
				if err := t.client.post(path, t.requesterToken, submit, http.StatusOK, nil); err != nil {
					return err
				}
				if err := t.client.post(path, t.approverToken, benchApproveBody, http.StatusOK, nil); err != nil {
					return err
				}
				return t.client.post(path, t.approverToken, fulfil, http.StatusOK, nil)
			})
			mustWrote(b, t.db, "requests", "state = ?", int64(b.N), "fulfilled")
			mustWrote(b, t.db, "transitions", "1 = 1", 4*int64(b.N))
		})
	}
}

// BenchmarkList reads the first page of 50 of the list, newest first and
// soonest due first, as the requesting agency's requester and as the owner
// agency's approver, from 16 concurrent clients over 20,000 submitted
// requests. (The load benchmark, go run ./loadbench, compares the list with
// a bare server from another process.)
func BenchmarkList(b *testing.B) {
	for _, d := range benchDialects {
		b.Run(string(d), func(b *testing.B) {
			t := openDatashare(b, d)
			mustSeedSubmitted(b, t.db, t.requesterID, 20000, t.stamp)
			for _, c := range []struct{ name, token, query string }{
				{"requester", t.requesterToken, ""},
				{"approver", t.approverToken, ""},
				{"approver_by_due", t.approverToken, "&sort=due_at"},
			} {
				b.Run(c.name, func(b *testing.B) {
					runClients(b, func(int64) error {
						return t.client.get("/api/v1/requests?limit=50"+c.query, c.token, http.StatusOK)
					})
				})
			}
		})
	}
}
