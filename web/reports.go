package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/labstack/echo/v4"

	"datashare/api"
	"datashare/calendar"
	"datashare/errs"
	"datashare/models"
	"datashare/sla"
	"datashare/statements"
	"datashare/workflow"
)

func (a *app) registerReportPages(r router) {
	r.page(http.MethodGet, "/reports", a.handleReports)
	r.page(http.MethodGet, "/reports/sla.csv", a.handleReportFile("csv"))
	r.page(http.MethodGet, "/reports/sla.xlsx", a.handleReportFile("xlsx"))
	r.page(http.MethodGet, "/reports/projects.csv", a.handleProjectReportFile("csv"))
	r.page(http.MethodGet, "/reports/projects.xlsx", a.handleProjectReportFile("xlsx"))
}

// openListLimit is how many at-risk (and breached) requests the page lists.
const openListLimit = 50

// reportForm is the window as the viewer entered it, and the query it
// stands for once read.
type reportForm struct {
	From, To, GroupBy, Agency string
	ProjectGroupBy            string // the grouping of the project report
	Query                     sla.Query
	Problems                  map[string]string // by field: what is wrong with it
}

// readReportForm reads the page's query string. Agency scope comes from
// sla.Authorize, as the API's does: a forbidden viewer gets the error, not
// the form. A missing window is the current quarter in the calendar's zone.
func (a *app) readReportForm(c echo.Context) (*reportForm, error) {
	agency, err := sla.Authorize(viewer(c).Actor, c.QueryParam("agency"))
	if err != nil {
		return nil, err
	}
	f := &reportForm{From: c.QueryParam("from"), To: c.QueryParam("to"), GroupBy: c.QueryParam("group_by"),
		ProjectGroupBy: c.QueryParam("project_group_by"), Agency: agency, Problems: map[string]string{}}
	if f.From == "" && f.To == "" {
		from, to := quarter(a.Now().In(a.Holidays.Location()))
		f.From, f.To = from.String(), to.String()
	}
	f.Query = sla.Query{GroupBy: f.GroupBy, Agency: agency}
	if !validGrouping(f.GroupBy) {
		f.Problems["group_by"] = "Choose how to group the report from the list"
	}
	if !validProjectGrouping(f.ProjectGroupBy) {
		f.Problems["project_group_by"] = "Choose how to group the project report from the list"
	}
	for _, p := range []struct {
		field, name, value string
		dst                *calendar.Date
	}{{"from", "From", f.From, &f.Query.From}, {"to", "To", f.To, &f.Query.To}} {
		switch d, err := calendar.ParseDate(p.value); {
		case p.value == "":
			f.Problems[p.field] = p.name + " is required, as YYYY-MM-DD (Singapore date)"
		case err != nil:
			f.Problems[p.field] = p.name + " must be a real date written YYYY-MM-DD, such as 2026-01-01"
		default:
			*p.dst = d
		}
	}
	return f, nil
}

// quarter is the calendar quarter of t: its first day and the first day of
// the next.
func quarter(t time.Time) (calendar.Date, calendar.Date) {
	first := time.Date(t.Year(), (t.Month()-1)/3*3+1, 1, 0, 0, 0, 0, t.Location())
	return calendar.DateOf(first, first.Location()), calendar.DateOf(first.AddDate(0, 3, 0), first.Location())
}

// compute returns the report of q grouped by group; a refused window
// becomes a problem of the form's field.
func (a *app) compute(ctx context.Context, f *reportForm, group string) (*sla.Report, error) {
	q := f.Query
	q.GroupBy = group
	rep, err := a.Reporter.Compute(ctx, q, a.Now())
	if field, msg, ok := fieldProblem(err); ok {
		f.Problems[field] = msg
		return nil, nil
	}
	return rep, err
}

// downloadQuery is the query string of the report as computed, so that a
// download is the same report as the page even when the window was the
// default.
func (f *reportForm) downloadQuery(rep *sla.Report) string {
	v := url.Values{"from": {rep.From}, "to": {rep.To}}
	if f.GroupBy != "" {
		v.Set("group_by", f.GroupBy)
	}
	if f.Agency != "" {
		v.Set("agency", f.Agency)
	}
	return v.Encode()
}

// report is the report a download answers: the page's, in the grouping
// asked for.
func (a *app) report(c echo.Context) (*sla.Report, error) {
	f, err := a.readReportForm(c)
	if err != nil {
		return nil, err
	}
	var rep *sla.Report
	if len(f.Problems) == 0 {
		if rep, err = a.compute(c.Request().Context(), f, f.GroupBy); err != nil {
			return nil, err
		}
	}
	if err := f.refused(); err != nil {
		return nil, err
	}
	return rep, nil
}

// refused is the form's first problem as the error a download answers,
// nil when there is none.
func (f *reportForm) refused() error {
	if ps := f.problems(); len(ps) > 0 {
		return errs.Field(ps[0].ID, "%s", ps[0].Message)
	}
	return nil
}

// reportFields are the form's fields in the order of the page.
var reportFields = []string{"from", "to", "group_by", "project_group_by"}

// problems lists what is wrong with the form in the order of its fields;
// a field the form does not have (none today) is listed last, linked to
// the first field.
func (f *reportForm) problems() []problem {
	var out []problem
	for _, id := range reportFields {
		if msg, ok := f.Problems[id]; ok {
			out = append(out, problem{ID: id, Message: msg})
		}
	}
	for id, msg := range f.Problems {
		if !slices.Contains(reportFields, id) {
			out = append(out, problem{ID: "from", Message: msg})
		}
	}
	return out
}

// handleReportFile answers the report as a file to download.
func (a *app) handleReportFile(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		rep, err := a.report(c)
		if err != nil {
			return err
		}
		return api.Attachment(c, rep, format)
	}
}

// openList is the first requests of one SLA status, soonest due first.
type openList struct {
	ID, Caption, Empty, Status string
	Requests                   []models.Request
	More                       bool // more than the page lists
	Total                      int  // as the report counts them
}

// openRequests lists the viewer's open requests of status. An admin who
// picked an agency sees that agency's requests as owner or requester, the
// report's scope; anyone else sees what the list shows them, which for a
// manager is that same scope.
func (a *app) openRequests(ctx context.Context, actor workflow.Actor, agency, status string, total int) (openList, error) {
	base := workflow.Filter{SLAStatus: status, Now: a.Now(), SortByDue: true, Limit: openListLimit}
	filters := []workflow.Filter{base}
	if actor.Has(workflow.Admin) && agency != "" {
		owner, requesting := base, base
		owner.OwnerAgency, requesting.RequestingAgency = agency, agency
		filters = []workflow.Filter{owner, requesting}
	}
	l := openList{Total: total, Status: status, ID: "open-" + status}
	for _, f := range filters {
		rs, next, err := a.Workflow.List(ctx, actor, f)
		if err != nil {
			return openList{}, err
		}
		l.Requests = append(l.Requests, rs...)
		l.More = l.More || next != nil
	}
	sort.SliceStable(l.Requests, func(i, j int) bool { return dueBefore(l.Requests[i], l.Requests[j]) })
	if len(l.Requests) > openListLimit {
		l.Requests, l.More = l.Requests[:openListLimit], true
	}
	return l, nil
}

func dueBefore(x, y models.Request) bool {
	dx, dy := x.SLA.DueAt, y.SLA.DueAt
	switch {
	case dx == nil || dy == nil:
		return dx != nil && dy == nil
	case !dx.Equal(*dy):
		return dx.Before(*dy)
	}
	return x.ID < y.ID
}

// reportsView is the reports page: the form, and unless it was refused,
// the report.
type reportsView struct {
	Page
	From, To, GroupBy, Agency fieldView
	ProjectGroupBy            fieldView
	AgencyChoice              bool // admins may pick an agency
	Errors                    []problem
	Report                    *sla.Report // nil when the form was refused
	Window, Scope             string
	Median, P90               string
	TimeInState               []stateDays
	Trend, Agencies           chart
	Requesting                *chart // grouped by requesting agency: its table
	AtRisk, Breached          openList
	CSV, XLSX                 string // the downloads of the same report
	// Published is the statement of the month the window covers, once
	// one was published: the figure as reported.
	Published *statements.Statement
	Projects  *projectSection // nil when the form was refused
}

type stateDays struct {
	State string
	Days  float64
}

func (a *app) handleReports(c echo.Context) error {
	f, err := a.readReportForm(c)
	if err != nil {
		return err
	}
	v := &reportsView{Page: Page{Nav: "reports"}}
	if len(f.Problems) == 0 {
		if err := a.fillReport(c, v, f); err != nil {
			return err
		}
	}
	if err := a.fillReportForm(c, v, f); err != nil {
		return err
	}
	if len(f.Problems) > 0 {
		v.Report, v.Projects = nil, nil
		return a.render(c, http.StatusUnprocessableEntity, "reports", v)
	}
	return a.render(c, http.StatusOK, "reports", v)
}

// groupings are the reports the page needs: the one asked for, by month
// (the trend) and by owner agency (the agencies chart). The totals do not
// depend on the grouping, so without one the month report gives them.
func groupings(asked string) []string {
	var gs []string
	if asked != "" {
		gs = append(gs, asked)
	}
	for _, g := range []string{sla.ByMonth, sla.ByOwnerAgency} {
		if g != asked {
			gs = append(gs, g)
		}
	}
	return gs
}

func (a *app) fillReport(c echo.Context, v *reportsView, f *reportForm) error {
	ctx := c.Request().Context()
	reps := map[string]*sla.Report{}
	for _, g := range groupings(f.GroupBy) {
		rep, err := a.compute(ctx, f, g)
		if err != nil || rep == nil {
			return err
		}
		reps[g] = rep
	}
	rep := v.show(f, reps)
	actor := viewer(c).Actor
	var err error
	if v.Published, err = a.published(c, f); err != nil {
		return err
	}
	if v.AtRisk, err = a.openRequests(ctx, actor, f.Agency, sla.AtRisk, rep.Open.AtRisk); err != nil {
		return err
	}
	if v.Breached, err = a.openRequests(ctx, actor, f.Agency, sla.Breached, rep.Open.Breached); err != nil {
		return err
	}
	v.Breached.Caption, v.Breached.Empty = "Open requests past their due time", "No open request is past its due time."
	v.AtRisk.Caption, v.AtRisk.Empty = "Open requests at risk of missing the target", "No open request is at risk."
	return a.fillProjectReport(ctx, v, f)
}

// show puts the reports of each grouping on the page and returns the one
// whose totals it shows.
func (v *reportsView) show(f *reportForm, reps map[string]*sla.Report) *sla.Report {
	rep := reps[f.GroupBy]
	if rep == nil {
		rep = reps[sla.ByMonth]
	}
	v.Report = rep
	q := f.downloadQuery(rep)
	v.CSV, v.XLSX = "/reports/sla.csv?"+q, "/reports/sla.xlsx?"+q
	v.Window = "From " + longDate(f.Query.From) + " up to, not including, " + longDate(f.Query.To) + " (Singapore dates)"
	v.Scope = "All agencies"
	if f.Agency != "" {
		v.Scope = f.Agency + ", as owner or requesting agency"
	}
	v.Median, v.P90 = optionalDays(rep.Elapsed.Median), optionalDays(rep.Elapsed.P90)
	for _, s := range []workflow.State{workflow.Submitted, workflow.ClarificationRequested, workflow.Approved} {
		v.TimeInState = append(v.TimeInState, stateDays{State: string(s), Days: rep.TimeInState[string(s)]})
	}
	v.Trend = newChart("trend", "Compliance rate by month", "Month", reps[sla.ByMonth].Groups, monthLabel)
	v.Agencies = newChart("agencies", "Compliance rate by owner agency", "Owner agency", reps[sla.ByOwnerAgency].Groups, nil)
	if r := reps[sla.ByRequestingAgency]; r != nil {
		t := newChart("requesting", "Compliance rate by requesting agency", "Requesting agency", r.Groups, nil)
		v.Requesting = &t
	}
	return rep
}

var groupOptions = []option{
	{Value: "", Label: "None"},
	{Value: sla.ByOwnerAgency, Label: "Owner agency"},
	{Value: sla.ByRequestingAgency, Label: "Requesting agency"},
	{Value: sla.ByMonth, Label: "Month"},
}

func validGrouping(g string) bool {
	for _, o := range groupOptions {
		if o.Value == g {
			return true
		}
	}
	return false
}

func (a *app) fillReportForm(c echo.Context, v *reportsView, f *reportForm) error {
	v.From = fieldView{ID: "from", Name: "from", Label: "From", Type: "date", Value: f.From, Required: true,
		Hint: "The first day counted, as YYYY-MM-DD (Singapore date).", Error: f.Problems["from"]}
	v.To = fieldView{ID: "to", Name: "to", Label: "To", Type: "date", Value: f.To, Required: true,
		Hint:  "The day after the last day counted, as YYYY-MM-DD (Singapore date): To is exclusive, so a quarter starting 2026-01-01 ends at 2026-04-01.",
		Error: f.Problems["to"]}
	// Not required: a required select may not have an empty first choice.
	v.GroupBy = fieldView{ID: "group_by", Name: "group_by", Label: "Group by", Error: f.Problems["group_by"]}
	for _, o := range groupOptions {
		o.Selected = o.Value == f.GroupBy
		v.GroupBy.Options = append(v.GroupBy.Options, o)
	}
	v.ProjectGroupBy = fieldView{ID: "project_group_by", Name: "project_group_by", Label: "Group projects by",
		Hint: "For the cross-agency project figures.", Error: f.Problems["project_group_by"]}
	for _, o := range projectGroupOptions {
		o.Selected = o.Value == f.ProjectGroupBy
		v.ProjectGroupBy.Options = append(v.ProjectGroupBy.Options, o)
	}
	v.Errors = f.problems()
	if v.AgencyChoice = viewer(c).Actor.Has(workflow.Admin); !v.AgencyChoice {
		return nil
	}
	agencies, err := a.Accounts.ListAgencies(c.Request().Context())
	if err != nil {
		return err
	}
	v.Agency = fieldView{ID: "agency", Name: "agency", Label: "Agency",
		Options: []option{{Value: "", Label: "All agencies", Selected: f.Agency == ""}}}
	for _, ag := range agencies {
		v.Agency.Options = append(v.Agency.Options, option{Value: ag.Code, Label: ag.Code + " – " + ag.Name, Selected: ag.Code == f.Agency})
	}
	return nil
}

func longDate(d calendar.Date) string {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Format("Mon 2 Jan 2006")
}

func optionalDays(v *float64) string {
	if v == nil {
		return "—"
	}
	return days(*v)
}

// published returns the latest statement of the month f's window covers
// exactly, if one was published; nil for any other window.
func (a *app) published(c echo.Context, f *reportForm) (*statements.Statement, error) {
	m, ok := statements.WholeMonth(f.Query.From, f.Query.To)
	if !ok {
		return nil, nil
	}
	st, err := a.Statements.Published(c.Request().Context(), viewer(c).Actor, m, f.Agency)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &st, nil
}
