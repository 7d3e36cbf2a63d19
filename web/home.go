package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"datashare/workflow"
)

// homeView has a section for each role of the viewer.
type homeView struct {
	Page
	Requests     *requestTable // requesters: their agency's open requests
	MoreRequests bool
	Inbox        *requestTable // approvers: the first of their inbox
	MoreInbox    bool
	Reports      bool // managers and admins
}

const homeRows = 10

func (a *app) handleHome(c echo.Context) error {
	v := viewer(c)
	ctx := c.Request().Context()
	view := &homeView{Reports: v.MayReport()}
	if v.Has(string(workflow.Requester)) {
		rs, next, err := a.Workflow.List(ctx, v.Actor, workflow.Filter{RequestingAgency: v.Agency, States: openStates, Limit: homeRows})
		if err != nil {
			return err
		}
		view.Requests = &requestTable{Caption: "Open requests of " + v.Agency + ", newest first", Rows: a.rows(rs, v)}
		view.MoreRequests = next != nil
	}
	if v.Has(string(workflow.Approver)) {
		rs, next, err := a.Workflow.List(ctx, v.Actor, a.inboxFilter(v, homeRows))
		if err != nil {
			return err
		}
		view.Inbox = &requestTable{Caption: "Waiting on " + v.Agency + ", soonest due first", Rows: a.rows(rs, v), Inbox: true}
		view.MoreInbox = next != nil
	}
	return a.render(c, http.StatusOK, "home", view)
}
