package projects

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"datashare/calendar"
	"datashare/errs"
	"datashare/models"
	"datashare/sla"
)

// Ways a project report can be grouped.
const (
	ByLeadAgency = "lead_agency"
	ByMonth      = sla.ByMonth
)

// ReportQuery selects a project report: a window of Singapore dates, From
// inclusive and To exclusive, an optional grouping and an optional agency
// (the projects it leads or is a partner of).
type ReportQuery struct {
	From, To calendar.Date
	GroupBy  string
	Agency   string
}

// Validate checks q: the window by the request report's rule.
func (q ReportQuery) Validate() error {
	if err := (&sla.Query{From: q.From, To: q.To}).Validate(); err != nil {
		return err
	}
	switch q.GroupBy {
	case "", ByLeadAgency, ByMonth:
		return nil
	}
	return errs.Field("group_by", "group_by must be lead_agency or month")
}

// Group is one row of a grouped project report.
type Group struct {
	Key            string   `json:"key"`
	Met            int      `json:"met"`
	Missed         int      `json:"missed"`
	Partial        int      `json:"partial"`
	ComplianceRate *float64 `json:"compliance_rate"`
}

// Waited is an owner agency and the number of projects counted in the
// window whose last request to close was its own: the agency the project
// waited on at the end.
type Waited struct {
	Agency   string `json:"agency"`
	Projects int    `json:"projects"`
}

// Report is the project KPI: how many projects had all their data within
// the target, counted as a request's outcome is (see counts).
type Report struct {
	From              string          `json:"from"`
	To                string          `json:"to"`
	Agency            *string         `json:"agency"`
	GroupBy           *string         `json:"group_by"`
	TargetWorkingDays float64         `json:"target_working_days"`
	Met               int             `json:"met"`
	Missed            int             `json:"missed"`
	Partial           int             `json:"partial"`
	ComplianceRate    *float64        `json:"compliance_rate"`
	Finished          int             `json:"finished"`
	Elapsed           sla.Percentiles `json:"elapsed_working_days"`
	Open              sla.Open        `json:"open"`
	WaitingOn         []Waited        `json:"waiting_on"`
	Groups            []Group         `json:"groups"`
	GeneratedAt       time.Time       `json:"generated_at"`
}

// reportRow is what the report reads of a project.
type reportRow struct {
	Code       string
	LeadAgency string
	models.ProjectClock
}

// Report returns the project report of q at now. The caller has
// authorised the agency scope (sla.Authorize). It reads one row per
// project of the scope that closed or fell due in the window, or is open.
func (s *Service) Report(ctx context.Context, q ReportQuery, now time.Time) (*Report, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	loc := s.keeper.Calendar().Location()
	from, to := q.From.Start(loc), q.To.Start(loc)
	tx := s.db.Conn(ctx)
	var rows []reportRow
	sel := tx.Model(&models.Project{}).
		Select("code, lead_agency, sla_status, sla_closed_at, sla_due_at, sla_warn_at, sla_elapsed, sla_last_owner").
		Where("(sla_closed_at >= ? AND sla_closed_at < ?) OR (sla_due_at >= ? AND sla_due_at < ?) OR sla_status = ?", from, to, from, to, Open)
	if q.Agency != "" {
		sel = sel.Scopes(ofAgency(tx, q.Agency))
	}
	if err := sel.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("project report: %w", err)
	}
	rep := count(rows, q, from, to, now, loc)
	rep.TargetWorkingDays = s.keeper.Settings().Target
	return rep, nil
}

// ofAgency narrows a query on projects to those agency leads or is a
// partner of.
func ofAgency(tx *gorm.DB, agency string) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		return q.Where("(lead_agency = ? OR code IN (?))", agency,
			tx.Model(&models.ProjectPartner{}).Select("project_code").Where("agency = ?", agency))
	}
}

// count is the project KPI's rule over the stored clocks, as a request's
// compliance is counted (DESIGN.md):
//
//   - met: closed as met, counted at the close;
//   - missed or partial: the due instant passed with the project not closed
//     by then, counted at the due instant whatever happened later, as
//     partial once it closed so;
//   - excluded projects are not counted;
//   - finished, the median and p90: projects closed in the window as met,
//     missed or partial, by their counted working days;
//   - waiting_on: of those, the owner agency whose request closed last;
//   - open: the projects open at now, at risk and breached among them.
func count(rows []reportRow, q ReportQuery, from, to, now time.Time, loc *time.Location) *Report {
	rep := &Report{From: q.From.String(), To: q.To.String(), GeneratedAt: now.UTC(), WaitingOn: []Waited{}, Groups: []Group{}}
	if q.Agency != "" {
		rep.Agency = &q.Agency
	}
	if q.GroupBy != "" {
		rep.GroupBy = &q.GroupBy
	}
	in := func(t *time.Time) bool { return t != nil && !t.Before(from) && t.Before(to) }
	groups := map[string]*Group{}
	group := func(r reportRow, at time.Time) *Group {
		key := ""
		switch q.GroupBy {
		case ByLeadAgency:
			key = r.LeadAgency
		case ByMonth:
			key = at.In(loc).Format("2006-01")
		default:
			return &Group{}
		}
		if groups[key] == nil {
			groups[key] = &Group{Key: key}
		}
		return groups[key]
	}
	if q.GroupBy == ByMonth {
		// Every month of the window has its row, as in the request report.
		for m := time.Date(q.From.Year, q.From.Month, 1, 0, 0, 0, 0, loc); m.Before(to); m = m.AddDate(0, 1, 0) {
			group(reportRow{}, m)
		}
	}
	var elapsed []float64
	waited := map[string]int{}
	for _, r := range rows {
		if r.Status == Open {
			rep.Open.Total++
			switch storedStatus(r.ProjectClock, now) {
			case sla.AtRisk:
				rep.Open.AtRisk++
			case sla.Breached:
				rep.Open.Breached++
			}
		}
		closedIn := in(r.ClosedAt) && r.Status != sla.Excluded
		if closedIn {
			elapsed = append(elapsed, r.Elapsed)
			if r.LastOwner != nil {
				waited[*r.LastOwner]++
			}
		}
		switch {
		case r.Status == sla.Met && closedIn:
			rep.Met++
			group(r, *r.ClosedAt).Met++
		case in(r.DueAt) && passed(r.DueAt, now) && (r.ClosedAt == nil || r.ClosedAt.After(*r.DueAt)):
			if r.Status == Partial {
				rep.Partial++
				group(r, *r.DueAt).Partial++
			} else {
				rep.Missed++
				group(r, *r.DueAt).Missed++
			}
		}
	}
	rep.ComplianceRate = rate(rep.Met, rep.Missed+rep.Partial)
	rep.Finished = len(elapsed)
	rep.Elapsed = sla.PercentilesOf(elapsed)
	for a, n := range waited {
		rep.WaitingOn = append(rep.WaitingOn, Waited{Agency: a, Projects: n})
	}
	slices.SortFunc(rep.WaitingOn, func(a, b Waited) int {
		return cmp.Or(cmp.Compare(b.Projects, a.Projects), strings.Compare(a.Agency, b.Agency))
	})
	for _, g := range groups {
		g.ComplianceRate = rate(g.Met, g.Missed+g.Partial)
		rep.Groups = append(rep.Groups, *g)
	}
	slices.SortFunc(rep.Groups, func(a, b Group) int { return strings.Compare(a.Key, b.Key) })
	return rep
}

func rate(met, late int) *float64 {
	if met+late == 0 {
		return nil
	}
	r := float64(met) / float64(met+late)
	return &r
}

// CSV renders the report as rows of group, met, missed, partial,
// compliance_rate, with a total row last, as the request report's CSV; the
// agencies waited on are in the JSON and the workbook.
func (rep *Report) CSV() string {
	var b strings.Builder
	b.WriteString("group,met,missed,partial,compliance_rate\n")
	row := func(key string, met, missed, partial int, r *float64) {
		rs := ""
		if r != nil {
			rs = fmt.Sprintf("%.4f", *r)
		}
		fmt.Fprintf(&b, "%s,%d,%d,%d,%s\n", sla.CSVField(key), met, missed, partial, rs)
	}
	for _, g := range rep.Groups {
		row(g.Key, g.Met, g.Missed, g.Partial, g.ComplianceRate)
	}
	row("total", rep.Met, rep.Missed, rep.Partial, rep.ComplianceRate)
	return b.String()
}
