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

// The project rule's outcomes over the stored clock, as a request's
// compliance is counted (DESIGN.md); each takes the window's from and to:
//
//   - met: closed as met, counted at the close;
//   - late (missed, or partial once it closed so): the due instant passed
//     (it takes now too) with the project not closed by then, counted at
//     the due instant whatever happened later; excluded projects never
//     count;
//   - finished, the median and p90, and waiting_on: projects closed in
//     the window as met, missed or partial, by their counted working days
//     and the owner agency whose request closed last.
const (
	metIn      = "sla_status = 'met' AND sla_closed_at >= ? AND sla_closed_at < ?"
	lateIn     = "sla_due_at >= ? AND sla_due_at < ? AND sla_due_at <= ? AND (sla_closed_at IS NULL OR sla_closed_at > sla_due_at)"
	finishedIn = "sla_status IN ('met', 'missed', 'partial') AND sla_closed_at >= ? AND sla_closed_at < ?"
	// countedAt is the instant a counted project counts at.
	countedAt = "CASE WHEN sla_status = 'met' THEN sla_closed_at ELSE sla_due_at END"
)

// Report returns the project report of q at now. The caller has
// authorised the agency scope (sla.Authorize). Four statements over the
// projects of the scope; no history is read.
func (s *Service) Report(ctx context.Context, q ReportQuery, now time.Time) (*Report, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	now = now.UTC() // SQLite compares instants as text, all in UTC
	loc := s.keeper.Calendar().Location()
	from, to := q.From.Start(loc), q.To.Start(loc)
	rep := &Report{From: q.From.String(), To: q.To.String(), TargetWorkingDays: s.keeper.Settings().Target,
		GeneratedAt: now.UTC(), WaitingOn: []Waited{}, Groups: []Group{}}
	scope, scopeArgs := "", []any{}
	if q.Agency != "" {
		rep.Agency = &q.Agency
		scope = " AND (lead_agency = ? OR code IN (SELECT project_code FROM project_partners WHERE agency = ?))"
		scopeArgs = []any{q.Agency, q.Agency}
	}
	if q.GroupBy != "" {
		rep.GroupBy = &q.GroupBy
	}
	tx := s.db.Conn(ctx)
	rs := &reportStatements{tx: tx, scope: scope, scopeArgs: scopeArgs}

	key, keyArgs := "''", []any{}
	switch q.GroupBy {
	case ByLeadAgency:
		key = "lead_agency"
	case ByMonth:
		key, keyArgs = monthOf(countedAt, q, to, loc)
	}
	byKey := map[string]*Group{}
	if q.GroupBy == ByMonth {
		// Every month of the window has its row, as in the request report.
		for m := firstOfMonth(q.From, loc); m.Before(to); m = m.AddDate(0, 1, 0) {
			k := m.In(loc).Format("2006-01")
			byKey[k] = &Group{Key: k}
		}
	}
	args := append(keyArgs, from, to, from, to, from, to, from, to, now)
	err := rs.each("SELECT "+key+", "+
		"SUM(CASE WHEN "+metIn+" THEN 1 ELSE 0 END), "+
		"SUM(CASE WHEN sla_status = 'partial' THEN 0 ELSE 1 END) - SUM(CASE WHEN "+metIn+" THEN 1 ELSE 0 END), "+
		"SUM(CASE WHEN sla_status = 'partial' THEN 1 ELSE 0 END) "+
		"FROM projects WHERE (("+metIn+") OR ("+lateIn+"))"+scope+" GROUP BY 1",
		args, func(r scanner) error {
			var g Group
			if err := r.Scan(&g.Key, &g.Met, &g.Missed, &g.Partial); err != nil {
				return err
			}
			rep.Met, rep.Missed, rep.Partial = rep.Met+g.Met, rep.Missed+g.Missed, rep.Partial+g.Partial
			if q.GroupBy != "" {
				byKey[g.Key] = &g
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	for _, g := range byKey {
		g.ComplianceRate = sla.Rate(g.Met, g.Missed+g.Partial)
		rep.Groups = append(rep.Groups, *g)
	}
	slices.SortFunc(rep.Groups, func(a, b Group) int { return strings.Compare(a.Key, b.Key) })
	rep.ComplianceRate = sla.Rate(rep.Met, rep.Missed+rep.Partial)

	var elapsed []float64
	err = rs.each("SELECT sla_elapsed FROM projects WHERE "+finishedIn+scope, []any{from, to}, func(r scanner) error {
		var v float64
		err := r.Scan(&v)
		elapsed = append(elapsed, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	rep.Finished, rep.Elapsed = len(elapsed), sla.PercentilesOf(elapsed)

	err = rs.each("SELECT sla_last_owner, COUNT(*) FROM projects WHERE "+finishedIn+" AND sla_last_owner IS NOT NULL"+scope+
		" GROUP BY sla_last_owner", []any{from, to}, func(r scanner) error {
		var w Waited
		err := r.Scan(&w.Agency, &w.Projects)
		rep.WaitingOn = append(rep.WaitingOn, w)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(rep.WaitingOn, func(a, b Waited) int {
		return cmp.Or(cmp.Compare(b.Projects, a.Projects), strings.Compare(a.Agency, b.Agency))
	})

	err = rs.each("SELECT COUNT(*), "+
		"COALESCE(SUM(CASE WHEN "+pastDue+" THEN 1 ELSE 0 END), 0), "+
		"COALESCE(SUM(CASE WHEN "+pastWarn+" AND NOT ("+pastDue+") THEN 1 ELSE 0 END), 0) "+
		"FROM projects WHERE sla_status = '"+Open+"'"+scope, []any{now, now, now}, func(r scanner) error {
		return r.Scan(&rep.Open.Total, &rep.Open.Breached, &rep.Open.AtRisk)
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

type scanner interface{ Scan(dest ...any) error }

// reportStatements runs the report's statements over one agency scope.
type reportStatements struct {
	tx        *gorm.DB
	scope     string
	scopeArgs []any
}

// each runs sql with args, then the scope's arguments, calling row for
// every row.
func (rs *reportStatements) each(sql string, args []any, row func(scanner) error) error {
	rows, err := rs.tx.Raw(sql, append(args, rs.scopeArgs...)...).Rows()
	if err != nil {
		return fmt.Errorf("project report: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return fmt.Errorf("project report: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("project report: %w", err)
	}
	return nil
}

// monthOf is a SQL expression naming, as YYYY-MM in loc, the month of the
// instant expression at, for the months of q's window (to is its end),
// with the month boundaries as arguments: one expression on either
// database, whatever the zone.
func monthOf(at string, q ReportQuery, to time.Time, loc *time.Location) (string, []any) {
	var b strings.Builder
	var args []any
	b.WriteString("CASE")
	for m := firstOfMonth(q.From, loc); m.Before(to); {
		next := m.AddDate(0, 1, 0)
		b.WriteString(" WHEN " + at + " < ? THEN '" + m.In(loc).Format("2006-01") + "'")
		args = append(args, next.UTC())
		m = next
	}
	b.WriteString(" END")
	return b.String(), args
}

func firstOfMonth(d calendar.Date, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, 1, 0, 0, 0, 0, loc)
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
