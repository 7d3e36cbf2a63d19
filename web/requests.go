package web

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"datashare/errs"
	"datashare/models"
	"datashare/sla"
	"datashare/workflow"
)

func (a *app) registerRequestPages(r router) {
	r.page(http.MethodGet, "/requests", a.handleRequestList)
	r.page(http.MethodGet, "/requests/new", a.handleRequestNew)
	r.page(http.MethodPost, "/requests/new", a.handleRequestCreate)
	r.page(http.MethodGet, "/requests/:id", a.handleRequestShow)
	r.page(http.MethodGet, "/requests/:id/edit", a.handleRequestEdit)
	r.page(http.MethodPost, "/requests/:id/edit", a.handleRequestUpdate)
	r.page(http.MethodPost, "/requests/:id/transitions", a.handleTransition)
	r.page(http.MethodGet, "/inbox", a.handleInbox)
}

// pageSize is how many requests a list page shows.
const pageSize = 25

// requestRow is one request of a list, with its SLA as of now.
type requestRow struct {
	R           *models.Request
	SLA         sla.View
	YouApproved bool
}

// requestTable is a list of requests as the "request-table" partial draws
// it.
type requestTable struct {
	Caption string
	Rows    []requestRow
	Inbox   bool // show the approvals and the viewer's own
}

// rows evaluates the SLA of each listed request in memory: a list page
// reads the database a fixed number of times, whatever its length.
func (a *app) rows(rs []models.Request, v *Viewer) []requestRow {
	now := a.Now()
	out := make([]requestRow, len(rs))
	for i := range rs {
		r := &rs[i]
		out[i] = requestRow{R: r, SLA: a.SLA.Evaluate(r, now)}
		for _, ap := range r.Approvals {
			if ap.ApproverID == v.ID {
				out[i].YouApproved = true
			}
		}
	}
	return out
}

// The cursor of a list rides in the query string: after is the id of the
// last request shown, and due (sorted by due date) its due instant in Unix
// microseconds, or "none" in the undated tail.
func cursorQuery(q url.Values, c *workflow.Cursor, byDue bool) url.Values {
	out := url.Values{}
	for k, v := range q {
		if k != "after" && k != "due" {
			out[k] = v
		}
	}
	if c == nil {
		return out
	}
	out.Set("after", strconv.FormatInt(c.ID, 10))
	if byDue {
		due := "none"
		if c.DueAt != nil {
			due = strconv.FormatInt(c.DueAt.UnixMicro(), 10)
		}
		out.Set("due", due)
	}
	return out
}

var errCursor = errs.Field("after", "This page of the list no longer makes sense. Start again from the first page.")

func parseCursor(q url.Values, byDue bool) (workflow.Cursor, error) {
	var c workflow.Cursor
	after, due := q.Get("after"), q.Get("due")
	if after == "" {
		if due != "" {
			return c, errCursor
		}
		return c, nil
	}
	id, err := strconv.ParseInt(after, 10, 64)
	if err != nil || id < 1 {
		return c, errCursor
	}
	c.ID = id
	switch {
	case !byDue && due == "", byDue && due == "none":
	case byDue && due != "":
		us, err := strconv.ParseInt(due, 10, 64)
		if err != nil {
			return c, errCursor
		}
		t := time.UnixMicro(us).UTC()
		c.DueAt = &t
	default:
		return c, errCursor
	}
	return c, nil
}

// pager is the links between the pages of a list.
type pager struct {
	First, Next string // empty when there is none
}

func newPager(path string, q url.Values, next *workflow.Cursor, byDue bool) pager {
	var p pager
	if q.Get("after") != "" {
		p.First = path + encodeQuery(cursorQuery(q, nil, byDue))
	}
	if next != nil {
		p.Next = path + encodeQuery(cursorQuery(q, next, byDue))
	}
	return p
}

func encodeQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// openStates are the states of a request still on its way.
var openStates = func() []string {
	var out []string
	for _, s := range workflow.States {
		if !s.Terminal() {
			out = append(out, string(s))
		}
	}
	return out
}()

// requestID reads the id of the address; anything else is a page that
// does not exist.
func requestID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, errs.E(errs.NotFound, "request not found")
	}
	return id, nil
}
