package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"datashare/errs"
	"datashare/sla"
	"datashare/workflow"
)

type requestListView struct {
	Page
	Filters   []fieldView // state, SLA status, owner, requesting agency
	Search    fieldView
	Problems  []problem
	Table     requestTable
	Pager     pager
	CanCreate bool
	Filtered  bool
	ClearLink string
}

// listFilters are the filter fields of /requests by the name each error of
// List gives.
func (a *app) listFilters(c echo.Context, agencies []option) ([]fieldView, fieldView) {
	q := c.QueryParams()
	states := []option{{Value: "", Label: "Any state"}}
	for _, s := range workflow.States {
		states = append(states, option{Value: string(s), Label: stateLabel(string(s))})
	}
	statuses := []option{{Value: "", Label: "Any SLA status"}}
	for _, s := range sla.Statuses {
		statuses = append(statuses, option{Value: s, Label: statusLabel(s)})
	}
	agency := func(any string) []option { return append([]option{{Value: "", Label: any}}, agencies...) }
	fs := []fieldView{
		{ID: "state", Name: "state", Label: "State", Options: states},
		{ID: "sla", Name: "sla", Label: "SLA status", Options: statuses},
		{ID: "owner", Name: "owner", Label: "Owner agency", Options: agency("Any owner")},
		{ID: "requesting", Name: "requesting", Label: "Requesting agency", Options: agency("Any requester")},
	}
	for i := range fs {
		fs[i].Value = q.Get(fs[i].Name)
		fs[i].Options = selected(fs[i].Options, fs[i].Value)
	}
	search := fieldView{ID: "q", Name: "q", Label: "Search", Type: "search", Hint: "Words in the title or purpose",
		Value: q.Get("q"), MaxLength: workflow.MaxSearch}
	return fs, search
}

// selected copies opts with the one of value v selected.
func selected(opts []option, v string) []option {
	out := make([]option, len(opts))
	for i, o := range opts {
		o.Selected = o.Value == v
		out[i] = o
	}
	return out
}

func (a *app) agencyOptions(c echo.Context, except string) ([]option, error) {
	as, err := a.Accounts.ListAgencies(c.Request().Context())
	if err != nil {
		return nil, err
	}
	var out []option
	for _, ag := range as {
		if ag.Code != except {
			out = append(out, option{Value: ag.Code, Label: ag.Code + " — " + ag.Name})
		}
	}
	return out, nil
}

func (a *app) handleRequestList(c echo.Context) error {
	v := viewer(c)
	agencies, err := a.agencyOptions(c, "")
	if err != nil {
		return err
	}
	view := &requestListView{Page: Page{Nav: "requests"}, CanCreate: v.MayFile(), ClearLink: "/requests"}
	view.Filters, view.Search = a.listFilters(c, agencies)
	q := c.QueryParams()
	f := workflow.Filter{
		State: q.Get("state"), SLAStatus: q.Get("sla"), OwnerAgency: q.Get("owner"), RequestingAgency: q.Get("requesting"),
		Search: q.Get("q"), Now: a.Now(), Limit: pageSize,
	}
	view.Filtered = f.State != "" || f.SLAStatus != "" || f.OwnerAgency != "" || f.RequestingAgency != "" || f.Search != ""
	view.Table.Caption = "Requests you can see"
	f.After, err = parseCursor(q, false)
	if err == nil {
		rs, next, lerr := a.Workflow.List(c.Request().Context(), v.Actor, f)
		err = lerr
		view.Table.Rows = a.rows(rs, v)
		view.Pager = newPager("/requests", q, next, false)
	}
	if err != nil {
		fields := map[string]*fieldView{"state": &view.Filters[0], "sla_status": &view.Filters[1],
			"owner_agency": &view.Filters[2], "requesting_agency": &view.Filters[3], "search": &view.Search}
		ps, ok := markFields(err, fields, "pager")
		if !ok {
			return err
		}
		if errs.Fields(err)[0].Field == "after" {
			view.Pager.First = "/requests" + encodeQuery(cursorQuery(q, nil, false))
		}
		view.Problems = ps
		return a.render(c, http.StatusUnprocessableEntity, "requests", view)
	}
	return a.render(c, http.StatusOK, "requests", view)
}
