package sla

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"datashare/calendar"
	"datashare/errs"
	"datashare/models"
	"datashare/workflow"
)

// Ways a report can be grouped.
const (
	ByOwnerAgency      = "owner_agency"
	ByRequestingAgency = "requesting_agency"
	ByMonth            = "month"
)

// Query selects a report: a window of Singapore dates, From inclusive and
// To exclusive, an optional grouping and an optional agency (as owner or
// requester).
type Query struct {
	From, To calendar.Date
	GroupBy  string
	Agency   string
}

// Percentiles of elapsed working days; nil when nothing finished.
type Percentiles struct {
	Median *float64 `json:"median"`
	P90    *float64 `json:"p90"`
}

// Open counts requests open now.
type Open struct {
	Total    int `json:"total"`
	AtRisk   int `json:"at_risk"`
	Breached int `json:"breached"`
}

// Group is one row of a grouped report.
type Group struct {
	Key            string   `json:"key"`
	Met            int      `json:"met"`
	Missed         int      `json:"missed"`
	ComplianceRate *float64 `json:"compliance_rate"`
}

// Report is the compliance report of DESIGN.md.
type Report struct {
	From              string             `json:"from"`
	To                string             `json:"to"`
	Agency            *string            `json:"agency"`
	GroupBy           *string            `json:"group_by"`
	TargetWorkingDays float64            `json:"target_working_days"`
	Met               int                `json:"met"`
	Missed            int                `json:"missed"`
	ComplianceRate    *float64           `json:"compliance_rate"`
	Finished          int                `json:"finished"`
	Elapsed           Percentiles        `json:"elapsed_working_days"`
	TimeInState       map[string]float64 `json:"time_in_state_working_days"`
	Open              Open               `json:"open"`
	Groups            []Group            `json:"groups"`
	GeneratedAt       time.Time          `json:"generated_at"`
}

// Reporter computes compliance reports.
type Reporter struct {
	db     *models.DB
	keeper *Keeper
}

// NewReporter returns a Reporter over db.
func NewReporter(db *models.DB, k *Keeper) *Reporter { return &Reporter{db: db, keeper: k} }

// MaxWindowDays bounds a report's window.
const MaxWindowDays = 3700

// Rate is the compliance rate met / (met + missed), nil when both are 0;
// the project report counts its partial projects as missed in it.
func Rate(met, missed int) *float64 {
	if met+missed == 0 {
		return nil
	}
	r := float64(met) / float64(met+missed)
	return &r
}

// Authorize returns the agency scope of a report for actor: admins see all
// agencies or the one they ask for; managers only their own agency.
func Authorize(actor workflow.Actor, agency string) (string, error) {
	switch {
	case actor.Has(workflow.Admin):
		return agency, nil
	case actor.Has(workflow.Manager):
		if agency != "" && agency != actor.Agency {
			return "", errs.E(errs.Forbidden, "managers see reports of their own agency only (%s)", actor.Agency)
		}
		return actor.Agency, nil
	}
	return "", errs.E(errs.Forbidden, "only managers and admins see compliance reports")
}

// Validate checks q and fills defaults.
func (q *Query) Validate() error {
	if q.From == (calendar.Date{}) {
		return errs.Field("from", "from is required, as YYYY-MM-DD")
	}
	if q.To == (calendar.Date{}) {
		return errs.Field("to", "to is required, as YYYY-MM-DD")
	}
	f := time.Date(q.From.Year, q.From.Month, q.From.Day, 0, 0, 0, 0, time.UTC)
	t := time.Date(q.To.Year, q.To.Month, q.To.Day, 0, 0, 0, 0, time.UTC)
	if !t.After(f) {
		return errs.Field("to", "to must be after from (to is exclusive)")
	}
	if t.Sub(f) > MaxWindowDays*24*time.Hour {
		return errs.Field("to", "the window may span at most %d days", MaxWindowDays)
	}
	switch q.GroupBy {
	case "", ByOwnerAgency, ByRequestingAgency, ByMonth:
	default:
		return errs.Field("group_by", "group_by must be owner_agency, requesting_agency or month")
	}
	return nil
}

// Compute returns the report of q as of now. The caller has authorised the
// agency scope (see Authorize). It reads only stored columns, so it does
// not depend on whether the scheduled check has run, and only the report's
// indexes (see reportQuery).
func (r *Reporter) Compute(ctx context.Context, q Query, now time.Time) (*Report, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	rep := r.newReport(q, now.UTC())
	from, to := q.From.Start(r.keeper.Calendar().Location()), q.To.Start(r.keeper.Calendar().Location())
	rq := &reportQuery{db: r.db.Conn(ctx), dialect: r.db.Dialect, agency: q.Agency, now: now.UTC()}
	fin, err := r.outcomes(rq, rep, q, from, to)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	rep.Finished = fin.N
	rep.TimeInState = fin.timeInState()
	if rep.Elapsed, err = rq.percentiles(from, to, fin); err != nil {
		return nil, fmt.Errorf("report: elapsed working days: %w", err)
	}
	if rep.Open, err = rq.open(); err != nil {
		return nil, fmt.Errorf("report: open requests: %w", err)
	}
	return rep, nil
}

func (r *Reporter) newReport(q Query, now time.Time) *Report {
	rep := &Report{
		From: q.From.String(), To: q.To.String(), TargetWorkingDays: r.keeper.Settings().Target,
		TimeInState: map[string]float64{}, Groups: []Group{}, GeneratedAt: now,
	}
	if q.Agency != "" {
		rep.Agency = &q.Agency
	}
	if q.GroupBy != "" {
		rep.GroupBy = &q.GroupBy
	}
	return rep
}

// outcomes fills in the met and missed counts of rep, in total and by the
// grouping of q, and returns the totals of the requests finished in the
// window.
func (r *Reporter) outcomes(rq *reportQuery, rep *Report, q Query, from, to time.Time) (finishedRow, error) {
	if q.GroupBy == ByMonth {
		return r.outcomesByMonth(rq, rep, q, from, to)
	}
	rows, err := rq.finished(from, to, q.GroupBy, true)
	if err != nil {
		return finishedRow{}, err
	}
	missed, err := rq.missed(from, to, q.GroupBy)
	if err != nil {
		return finishedRow{}, err
	}
	met := map[string]int{}
	for _, row := range rows {
		met[row.Key] += row.Met
	}
	keys := map[string]bool{}
	for k, n := range met {
		keys[k] = n > 0
		rep.Met += n
	}
	for k, n := range missed {
		keys[k] = keys[k] || n > 0
		rep.Missed += n
	}
	if q.GroupBy != "" {
		for k, counted := range keys {
			if counted {
				rep.Groups = append(rep.Groups, Group{Key: k, Met: met[k], Missed: missed[k], ComplianceRate: Rate(met[k], missed[k])})
			}
		}
		sort.Slice(rep.Groups, func(i, j int) bool { return rep.Groups[i].Key < rep.Groups[j].Key })
	}
	rep.ComplianceRate = Rate(rep.Met, rep.Missed)
	return finishedTotals(rows), nil
}

// outcomesByMonth counts month by month, each month of the zone a range of
// the report's indexes; PostgreSQL, which can name the month of an instant
// in the zone and group without sorting, counts all months in one pass.
func (r *Reporter) outcomesByMonth(rq *reportQuery, rep *Report, q Query, from, to time.Time) (finishedRow, error) {
	loc := r.keeper.Calendar().Location()
	if rq.dialect == models.Postgres && zoneName.MatchString(loc.String()) {
		return r.outcomesByMonthAtOnce(rq, rep, q, from, to, loc)
	}
	var all []finishedRow
	for m := time.Date(q.From.Year, q.From.Month, 1, 0, 0, 0, 0, loc); m.Before(to); m = m.AddDate(0, 1, 0) {
		f, t := latest(m.UTC(), from), m.AddDate(0, 1, 0).UTC()
		if t.After(to) {
			t = to
		}
		rows, err := rq.finished(f, t, "", false)
		if err != nil {
			return finishedRow{}, fmt.Errorf("by month: %w", err)
		}
		missed, err := rq.missed(f, t, "")
		if err != nil {
			return finishedRow{}, fmt.Errorf("by month: %w", err)
		}
		rep.addMonth(m, finishedTotals(rows).Met, missed[""])
		all = append(all, rows...)
	}
	rep.ComplianceRate = Rate(rep.Met, rep.Missed)
	return finishedTotals(all), nil
}

// zoneName matches the zone names safe to write into SQL.
var zoneName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_/+-]*$`)

func (r *Reporter) outcomesByMonthAtOnce(rq *reportQuery, rep *Report, q Query, from, to time.Time, loc *time.Location) (finishedRow, error) {
	rq.zone = loc.String()
	rows, err := rq.finished(from, to, ByMonth, false)
	if err != nil {
		return finishedRow{}, fmt.Errorf("by month: %w", err)
	}
	missed, err := rq.missed(from, to, ByMonth)
	if err != nil {
		return finishedRow{}, fmt.Errorf("by month: %w", err)
	}
	met := map[string]int{}
	for _, row := range rows {
		met[row.Key] += row.Met
	}
	for m := time.Date(q.From.Year, q.From.Month, 1, 0, 0, 0, 0, loc); m.Before(to); m = m.AddDate(0, 1, 0) {
		rep.addMonth(m, met[m.Format("2006-01")], missed[m.Format("2006-01")])
	}
	rep.ComplianceRate = Rate(rep.Met, rep.Missed)
	return finishedTotals(rows), nil
}

func (rep *Report) addMonth(m time.Time, met, missed int) {
	rep.Groups = append(rep.Groups, Group{Key: m.Format("2006-01"), Met: met, Missed: missed, ComplianceRate: Rate(met, missed)})
	rep.Met += met
	rep.Missed += missed
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// CSV renders the report as rows of key, met, missed, compliance_rate, with
// a total row last.
func (rep *Report) CSV() string {
	var b strings.Builder
	b.WriteString("group,met,missed,compliance_rate\n")
	row := func(key string, met, missed int, r *float64) {
		rs := ""
		if r != nil {
			rs = fmt.Sprintf("%.4f", *r)
		}
		fmt.Fprintf(&b, "%s,%d,%d,%s\n", CSVField(key), met, missed, rs)
	}
	for _, g := range rep.Groups {
		row(g.Key, g.Met, g.Missed, g.ComplianceRate)
	}
	row("total", rep.Met, rep.Missed, rep.ComplianceRate)
	return b.String()
}

// CSVField quotes a CSV field that holds a comma, a quote or a line break.
func CSVField(s string) string {
	if strings.ContainsAny(s, ",\"\n\r") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
