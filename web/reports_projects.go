package web

import (
	"context"
	"net/url"

	"github.com/labstack/echo/v4"

	"datashare/api"
	"datashare/projects"
	"datashare/spreadsheet"
)

// projectSection is the project report of the page's window and scope:
// projects count as requests do, each once, when its outcome is known.
type projectSection struct {
	Report       *projects.Report
	Scope        string
	Median, P90  string
	GroupHeading string // the groups' key column; empty when not grouped
	GroupNoun    string // the same within a sentence
	Groups       []projectGroupRow
	CSV, XLSX    string // the downloads of the same report
	// Empty: nothing was counted in the window and nothing is open.
	Empty bool
}

type projectGroupRow struct {
	Key                  string
	Met, Missed, Partial int
	Rate                 string
}

var projectGroupOptions = []option{
	{Value: "", Label: "None"},
	{Value: projects.ByLeadAgency, Label: "Lead agency"},
	{Value: projects.ByMonth, Label: "Month"},
}

func validProjectGrouping(g string) bool {
	for _, o := range projectGroupOptions {
		if o.Value == g {
			return true
		}
	}
	return false
}

// projectReport is the project report of the form's window and scope (as
// sla.Authorize gave it) in the project grouping asked for; a refused
// query becomes a problem of the form's field.
func (a *app) projectReport(ctx context.Context, f *reportForm) (*projects.Report, error) {
	q := projects.ReportQuery{From: f.Query.From, To: f.Query.To, GroupBy: f.ProjectGroupBy, Agency: f.Agency}
	rep, err := a.Projects.Report(ctx, q, a.Now())
	if field, msg, ok := fieldProblem(err); ok {
		if field == "group_by" {
			field = "project_group_by"
		}
		f.Problems[field] = msg
		return nil, nil
	}
	return rep, err
}

func (a *app) fillProjectReport(ctx context.Context, v *reportsView, f *reportForm) error {
	rep, err := a.projectReport(ctx, f)
	if err != nil || rep == nil {
		return err
	}
	p := &projectSection{Report: rep, Scope: "Projects of every agency",
		Median: optionalDays(rep.Elapsed.Median), P90: optionalDays(rep.Elapsed.P90),
		Empty: rep.Met+rep.Missed+rep.Partial == 0 && rep.Finished == 0 && rep.Open.Total == 0}
	if f.Agency != "" {
		p.Scope = "Projects " + f.Agency + " leads or is a partner of"
	}
	q := url.Values{"from": {rep.From}, "to": {rep.To}}
	if f.ProjectGroupBy != "" {
		q.Set("project_group_by", f.ProjectGroupBy)
	}
	if f.Agency != "" {
		q.Set("agency", f.Agency)
	}
	p.CSV, p.XLSX = "/reports/projects.csv?"+q.Encode(), "/reports/projects.xlsx?"+q.Encode()
	label := func(k string) string { return k }
	switch f.ProjectGroupBy {
	case projects.ByLeadAgency:
		p.GroupHeading, p.GroupNoun = "Lead agency", "lead agency"
	case projects.ByMonth:
		p.GroupHeading, p.GroupNoun, label = "Month", "month", monthLabel
	}
	for _, g := range rep.Groups {
		p.Groups = append(p.Groups, projectGroupRow{Key: label(g.Key), Met: g.Met, Missed: g.Missed, Partial: g.Partial, Rate: pct(g.ComplianceRate)})
	}
	v.Projects = p
	return nil
}

// handleProjectReportFile answers the page's project report as a file to
// download.
func (a *app) handleProjectReportFile(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		f, err := a.readReportForm(c)
		if err != nil {
			return err
		}
		var rep *projects.Report
		if len(f.Problems) == 0 {
			if rep, err = a.projectReport(c.Request().Context(), f); err != nil {
				return err
			}
		}
		if err := f.refused(); err != nil {
			return err
		}
		file, err := spreadsheet.ProjectDownload(rep, format)
		if err != nil {
			return err
		}
		return api.Download(c, file)
	}
}
