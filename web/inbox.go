package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"datashare/errs"
	"datashare/workflow"
)

type inboxView struct {
	Page
	Table    requestTable
	Pager    pager
	Problems []problem
}

// inboxFilter is what waits on an approver's agency: requests to decide
// on, and approved ones to mark as shared, soonest due first.
func (a *app) inboxFilter(v *Viewer, limit int) workflow.Filter {
	return workflow.Filter{OwnerAgency: v.Agency, States: []string{string(workflow.Submitted), string(workflow.Approved)},
		SortByDue: true, Limit: limit, Now: a.Now()}
}

var errNotApprover = errs.E(errs.Forbidden, "The inbox lists requests waiting on an approver's agency; you are not an approver.")

func (a *app) handleInbox(c echo.Context) error {
	v := viewer(c)
	if !v.Has(string(workflow.Approver)) {
		return errNotApprover
	}
	view := &inboxView{Page: Page{Nav: "inbox"}}
	view.Table = requestTable{Caption: "Requests waiting on " + v.Agency + ", soonest due first", Inbox: true}
	q := c.QueryParams()
	f := a.inboxFilter(v, pageSize)
	var err error
	if f.After, err = parseCursor(q, true); err != nil {
		view.Problems = []problem{{ID: "pager", Message: errs.Fields(err)[0].Message}}
		view.Pager.First = "/inbox"
		return a.render(c, http.StatusUnprocessableEntity, "inbox", view)
	}
	rs, next, err := a.Workflow.List(c.Request().Context(), v.Actor, f)
	if err != nil {
		return err
	}
	view.Table.Rows = a.rows(rs, v)
	view.Pager = newPager("/inbox", q, next, true)
	return a.render(c, http.StatusOK, "inbox", view)
}
