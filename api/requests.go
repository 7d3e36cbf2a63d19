package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"datashare/errs"
	"datashare/idempotency"
	"datashare/models"
	"datashare/workflow"
)

type personJSON struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

func toPerson(u models.User) personJSON { return personJSON{ID: u.ID, Email: u.Email, Name: u.Name} }

type approvalJSON struct {
	Approver personJSON `json:"approver"`
	At       time.Time  `json:"at"`
}

type requestJSON struct {
	ID                int64          `json:"id"`
	Title             string         `json:"title"`
	Purpose           string         `json:"purpose"`
	DataDescription   string         `json:"data_description"`
	Classification    string         `json:"classification"`
	LegalBasis        *string        `json:"legal_basis"`
	Project           *string        `json:"project"`
	ProjectCode       *string        `json:"project_code"`
	ExternalRef       *string        `json:"external_ref"`
	RequestingAgency  string         `json:"requesting_agency"`
	OwnerAgency       string         `json:"owner_agency"`
	Requester         personJSON     `json:"requester"`
	State             string         `json:"state"`
	ApprovalsRequired int            `json:"approvals_required"`
	Approvals         []approvalJSON `json:"approvals"`
	Version           int            `json:"version"`
	CreatedAt         time.Time      `json:"created_at"`
	UpdatedAt         time.Time      `json:"updated_at"`
	SubmittedAt       *time.Time     `json:"submitted_at"`
	ClosedAt          *time.Time     `json:"closed_at"`
	SLA               slaJSON        `json:"sla"`
}

type slaJSON struct {
	Status               string     `json:"status"`
	TargetWorkingDays    float64    `json:"target_working_days"`
	ElapsedWorkingDays   float64    `json:"elapsed_working_days"`
	RemainingWorkingDays float64    `json:"remaining_working_days"`
	DueAt                *time.Time `json:"due_at"`
	Paused               bool       `json:"paused"`
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (s *server) toRequest(r *models.Request) requestJSON {
	out := requestJSON{
		ID: r.ID, Title: r.Title, Purpose: r.Purpose, DataDescription: r.DataDescription,
		Classification: r.Classification, LegalBasis: r.LegalBasis, Project: r.Project, ProjectCode: r.ProjectCode,
		ExternalRef:      r.ExternalRef,
		RequestingAgency: r.RequestingAgency, OwnerAgency: r.OwnerAgency,
		Requester: toPerson(r.Requester), State: r.State, ApprovalsRequired: r.ApprovalsRequired,
		Approvals: []approvalJSON{}, Version: r.Version,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		SubmittedAt: utc(r.SubmittedAt), ClosedAt: utc(r.ClosedAt),
	}
	for _, a := range r.Approvals {
		out.Approvals = append(out.Approvals, approvalJSON{Approver: toPerson(a.Approver), At: a.At.UTC()})
	}
	v := s.SLA.Evaluate(r, s.Now())
	out.SLA = slaJSON{Status: v.Status, TargetWorkingDays: v.Target, ElapsedWorkingDays: round3(v.Elapsed),
		RemainingWorkingDays: round3(v.Remaining), DueAt: utc(v.DueAt), Paused: v.Paused}
	return out
}

type transitionJSON struct {
	Action    string      `json:"action"`
	FromState *string     `json:"from_state"`
	ToState   string      `json:"to_state"`
	Actor     *personJSON `json:"actor"`
	At        time.Time   `json:"at"`
	Comment   string      `json:"comment"`
}

func registerRequestRoutes(g authedGroup, s *server) {
	g.POST("/requests", s.handleRequestCreate)
	g.GET("/requests", s.handleRequestList)
	g.GET("/requests/:request_id", s.handleRequestGet)
	g.PATCH("/requests/:request_id", s.handleRequestUpdate)
	g.POST("/requests/:request_id/transitions", s.handleTransitionCreate)
	g.GET("/requests/:request_id/history", s.handleHistory)
	g.POST("/requests/:request_id/reassign", s.handleReassign)
}

// idempotent runs fn under the caller's Idempotency-Key, if any, and writes
// its answer (or the stored first answer) to the client.
func (s *server) idempotent(c echo.Context, body []byte, fn func(ctx context.Context) (int, *models.Request, error)) error {
	p := caller(c)
	sum := sha256.Sum256(append([]byte(c.Request().Method+" "+c.Request().URL.Path+"\n"), body...))
	var head struct {
		ID      int64 `json:"id"`
		Version int   `json:"version"`
	}
	ans, err := s.Idempotency.Once(c.Request().Context(), p.user.ID, c.Request().Header.Get("Idempotency-Key"), hex.EncodeToString(sum[:]),
		func(ctx context.Context) (int, []byte, error) {
			st, r, err := fn(ctx)
			if err != nil {
				return 0, nil, err
			}
			head.ID, head.Version = r.ID, r.Version
			b, err := json.Marshal(s.toRequest(r))
			return st, b, err
		})
	switch {
	case errors.Is(err, idempotency.ErrKeyTooLong):
		return errs.Field("Idempotency-Key", "Idempotency-Key must be at most %d characters", idempotency.MaxKeyLen)
	case errors.Is(err, idempotency.ErrKeyReused):
		return errs.Field("Idempotency-Key", "this Idempotency-Key was already used for a different request")
	case err != nil:
		return err
	}
	// A replay carries the ETag and Location of the first answer, read from
	// its stored body.
	if ans.Replayed {
		if err := json.Unmarshal(ans.Body, &head); err != nil {
			return fmt.Errorf("read stored answer: %w", err)
		}
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	h := c.Response().Header()
	h.Set("ETag", etag(head.Version))
	if ans.Code == http.StatusCreated {
		h.Set(echo.HeaderLocation, "/api/v1/requests/"+strconv.FormatInt(head.ID, 10))
	}
	return c.JSONBlob(ans.Code, ans.Body)
}

func (s *server) handleRequestCreate(c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var in struct {
		Title           string  `json:"title"`
		Purpose         string  `json:"purpose"`
		DataDescription string  `json:"data_description"`
		Classification  string  `json:"classification"`
		OwnerAgency     string  `json:"owner_agency"`
		LegalBasis      *string `json:"legal_basis"`
		Project         *string `json:"project"`
		ProjectCode     *string `json:"project_code"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return err
	}
	actor := caller(c).actor
	return s.idempotent(c, body, func(ctx context.Context) (int, *models.Request, error) {
		r, err := s.Workflow.Create(ctx, actor, workflow.NewRequest{
			Title: in.Title, Purpose: in.Purpose, DataDescription: in.DataDescription,
			Classification: in.Classification, OwnerAgency: in.OwnerAgency,
			LegalBasis: in.LegalBasis, Project: in.Project, ProjectCode: in.ProjectCode,
		})
		return http.StatusCreated, r, err
	})
}

func (s *server) handleRequestGet(c echo.Context) error {
	id, err := pathID(c, "request_id")
	if err != nil {
		return err
	}
	r, err := s.Workflow.Get(c.Request().Context(), caller(c).actor, id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", etag(r.Version))
	return c.JSON(http.StatusOK, s.toRequest(r))
}

func (s *server) handleRequestUpdate(c echo.Context) error {
	id, err := pathID(c, "request_id")
	if err != nil {
		return err
	}
	version, err := ifMatch(c)
	if err != nil {
		return err
	}
	var in struct {
		Title           *string   `json:"title"`
		Purpose         *string   `json:"purpose"`
		DataDescription *string   `json:"data_description"`
		Classification  *string   `json:"classification"`
		OwnerAgency     *string   `json:"owner_agency"`
		LegalBasis      clearable `json:"legal_basis"`
		Project         clearable `json:"project"`
		ProjectCode     clearable `json:"project_code"`
	}
	if err := c.Bind(&in); err != nil {
		return err
	}
	r, err := s.Workflow.Update(c.Request().Context(), caller(c).actor, id, workflow.Patch{
		Title: in.Title, Purpose: in.Purpose, DataDescription: in.DataDescription,
		Classification: in.Classification, OwnerAgency: in.OwnerAgency,
		LegalBasis: in.LegalBasis.patch(), Project: in.Project.patch(),
		ProjectCode: in.ProjectCode.patch(),
	}, version)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", etag(r.Version))
	return c.JSON(http.StatusOK, s.toRequest(r))
}

// clearable is an optional field of a PATCH body: absent leaves it as it
// is, null or "" clears it, a string sets it.
type clearable struct {
	set   bool
	value *string
}

func (f *clearable) UnmarshalJSON(b []byte) error {
	f.set = true
	if string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, &f.value)
}

// patch is the field as workflow.Patch takes it: nil to leave, "" to clear.
func (f clearable) patch() *string {
	if !f.set {
		return nil
	}
	if f.value == nil {
		empty := ""
		return &empty
	}
	return f.value
}

// readChange reads what a change of one request sends: the request's id,
// the If-Match version (0 when absent) and the JSON body, decoded into in
// and returned as read, for the Idempotency-Key fingerprint.
func readChange(c echo.Context, in any) (int64, int, []byte, error) {
	id, err := pathID(c, "request_id")
	if err != nil {
		return 0, 0, nil, err
	}
	version, err := ifMatch(c)
	if err != nil {
		return 0, 0, nil, err
	}
	body, err := readBody(c)
	if err != nil {
		return 0, 0, nil, err
	}
	if err := decodeJSON(body, in); err != nil {
		return 0, 0, nil, err
	}
	return id, version, body, nil
}

func (s *server) handleTransitionCreate(c echo.Context) error {
	var in struct {
		Action  string `json:"action"`
		Comment string `json:"comment"`
	}
	id, version, body, err := readChange(c, &in)
	if err != nil {
		return err
	}
	act, err := workflow.ParseAction(in.Action)
	if err != nil {
		return err
	}
	actor := caller(c).actor
	return s.idempotent(c, body, func(ctx context.Context) (int, *models.Request, error) {
		r, err := s.Workflow.Apply(ctx, actor, id, act, in.Comment, version)
		return http.StatusOK, r, err
	})
}

func (s *server) handleReassign(c echo.Context) error {
	var in struct {
		Requester int64  `json:"requester"`
		Comment   string `json:"comment"`
	}
	id, version, body, err := readChange(c, &in)
	if err != nil {
		return err
	}
	if in.Requester <= 0 {
		return errs.Field("requester", "requester is required: the id of the user to hand the request over to")
	}
	actor := caller(c).actor
	return s.idempotent(c, body, func(ctx context.Context) (int, *models.Request, error) {
		r, err := s.Workflow.Reassign(ctx, actor, id, in.Requester, in.Comment, version)
		return http.StatusOK, r, err
	})
}

func (s *server) handleHistory(c echo.Context) error {
	id, err := pathID(c, "request_id")
	if err != nil {
		return err
	}
	ts, err := s.Workflow.History(c.Request().Context(), caller(c).actor, id)
	if err != nil {
		return err
	}
	out := list[transitionJSON]{Items: []transitionJSON{}}
	for _, t := range ts {
		tj := transitionJSON{Action: t.Action, FromState: t.FromState, ToState: t.ToState, At: t.At.UTC(), Comment: t.Comment}
		if t.Actor != nil {
			p := toPerson(*t.Actor)
			tj.Actor = &p
		}
		out.Items = append(out.Items, tj)
	}
	return c.JSON(http.StatusOK, out)
}

type pageJSON struct {
	Items      []requestJSON `json:"items"`
	NextCursor *string       `json:"next_cursor"`
}

// A cursor is opaque to clients: a byte naming the sort it belongs to and
// the position of the last request of the page (its id and, sorted by due
// date, its due instant or none).
const (
	cursorNewest byte = 'n'
	cursorDue    byte = 'd'
)

func encodeCursor(kind byte, c workflow.Cursor) string {
	b := []byte{kind}
	b = binary.BigEndian.AppendUint64(b, uint64(c.ID))
	if kind == cursorDue {
		if c.DueAt == nil {
			b = append(b, 0)
		} else {
			b = append(b, 1)
			b = binary.BigEndian.AppendUint64(b, uint64(c.DueAt.UnixMicro()))
		}
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, kind byte) (workflow.Cursor, error) {
	bad := errs.Field("cursor", "cursor is not one this service gave out for this sort order")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 9 || b[0] != kind {
		return workflow.Cursor{}, bad
	}
	c := workflow.Cursor{ID: int64(binary.BigEndian.Uint64(b[1:9]))}
	rest := b[9:]
	switch {
	case kind == cursorNewest && len(rest) == 0:
	case kind == cursorDue && len(rest) == 1 && rest[0] == 0:
	case kind == cursorDue && len(rest) == 9 && rest[0] == 1:
		due := time.UnixMicro(int64(binary.BigEndian.Uint64(rest[1:]))).UTC()
		c.DueAt = &due
	default:
		return workflow.Cursor{}, bad
	}
	if c.ID <= 0 {
		return workflow.Cursor{}, errs.Field("cursor", "cursor is not one this service gave out")
	}
	return c, nil
}

func (s *server) handleRequestList(c echo.Context) error {
	f := workflow.Filter{
		State:            c.QueryParam("state"),
		OwnerAgency:      c.QueryParam("owner_agency"),
		RequestingAgency: c.QueryParam("requesting_agency"),
		SLAStatus:        c.QueryParam("sla_status"),
		Now:              s.Now(),
	}
	switch c.QueryParam("sort") {
	case "", "newest":
	case "due_at":
		f.SortByDue = true
	default:
		return errs.Field("sort", "sort must be newest or due_at")
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errs.Field("limit", "limit must be a whole number between 1 and %d", workflow.MaxPageSize)
		}
		f.Limit = n
		if n == 0 {
			f.Limit = -1 // an explicit 0 is out of range, not "the default"
		}
	}
	kind := cursorNewest
	if f.SortByDue {
		kind = cursorDue
	}
	if v := c.QueryParam("cursor"); v != "" {
		cur, err := decodeCursor(v, kind)
		if err != nil {
			return err
		}
		f.After = cur
	}
	rs, next, err := s.Workflow.List(c.Request().Context(), caller(c).actor, f)
	if err != nil {
		return err
	}
	out := pageJSON{Items: make([]requestJSON, 0, len(rs))}
	for i := range rs {
		out.Items = append(out.Items, s.toRequest(&rs[i]))
	}
	if next != nil {
		cur := encodeCursor(kind, *next)
		out.NextCursor = &cur
	}
	return c.JSON(http.StatusOK, out)
}
