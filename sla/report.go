package sla

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

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

func rate(met, missed int) *float64 {
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

func (r *Reporter) start(d calendar.Date) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, r.keeper.Calendar().Location()).UTC()
}

// Compute returns the report of q as of now. The caller has authorised the
// agency scope (see Authorize). It reads only stored columns, so it does
// not depend on whether the scheduled check has run.
func (r *Reporter) Compute(ctx context.Context, q Query, now time.Time) (*Report, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	now = now.UTC()
	from, to := r.start(q.From), r.start(q.To)
	db := r.db.Conn(ctx)
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
	scope := func(tx *gorm.DB) *gorm.DB {
		if q.Agency != "" {
			return tx.Where("(owner_agency = ? OR requesting_agency = ?)", q.Agency, q.Agency)
		}
		return tx
	}

	type count struct {
		Key string
		N   int
	}
	counts := func(f, t time.Time, key string) (map[string]int, map[string]int, error) {
		sel := "'' AS key, COUNT(*) AS n"
		if key != "" {
			sel = key + " AS key, COUNT(*) AS n"
		}
		var met, missed []count
		mq := scope(db.Model(&models.Request{})).
			Where("closed_at >= ? AND closed_at < ? AND state IN ? AND closed_at <= sla_due_at", f, t, []string{stateFulfilled, stateRejected})
		xq := scope(db.Model(&models.Request{})).
			Where("sla_due_at >= ? AND sla_due_at < ? AND sla_due_at <= ? AND (closed_at IS NULL OR closed_at > sla_due_at)", f, t, now)
		if key != "" {
			mq, xq = mq.Group(key), xq.Group(key)
		}
		if err := mq.Select(sel).Scan(&met).Error; err != nil {
			return nil, nil, err
		}
		if err := xq.Select(sel).Scan(&missed).Error; err != nil {
			return nil, nil, err
		}
		a, b := map[string]int{}, map[string]int{}
		for _, c := range met {
			a[c.Key] += c.N
		}
		for _, c := range missed {
			b[c.Key] += c.N
		}
		return a, b, nil
	}

	switch q.GroupBy {
	case ByMonth:
		loc := r.keeper.Calendar().Location()
		for m := time.Date(q.From.Year, q.From.Month, 1, 0, 0, 0, 0, loc); m.Before(to); m = m.AddDate(0, 1, 0) {
			f, t := latest(m.UTC(), from), m.AddDate(0, 1, 0).UTC()
			if t.After(to) {
				t = to
			}
			met, missed, err := counts(f, t, "")
			if err != nil {
				return nil, fmt.Errorf("report by month: %w", err)
			}
			g := Group{Key: m.Format("2006-01"), Met: met[""], Missed: missed[""]}
			g.ComplianceRate = rate(g.Met, g.Missed)
			rep.Groups = append(rep.Groups, g)
			rep.Met += g.Met
			rep.Missed += g.Missed
		}
	default:
		met, missed, err := counts(from, to, q.GroupBy)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		keys := map[string]bool{}
		for k, n := range met {
			keys[k] = true
			rep.Met += n
		}
		for k, n := range missed {
			keys[k] = true
			rep.Missed += n
		}
		if q.GroupBy != "" {
			for k := range keys {
				g := Group{Key: k, Met: met[k], Missed: missed[k]}
				g.ComplianceRate = rate(g.Met, g.Missed)
				rep.Groups = append(rep.Groups, g)
			}
			sort.Slice(rep.Groups, func(i, j int) bool { return rep.Groups[i].Key < rep.Groups[j].Key })
		}
	}
	rep.ComplianceRate = rate(rep.Met, rep.Missed)

	finished := func() *gorm.DB {
		return scope(db.Model(&models.Request{})).
			Where("closed_at >= ? AND closed_at < ? AND state IN ?", from, to, []string{stateFulfilled, stateRejected})
	}
	var agg struct {
		N             int
		Submitted     *float64
		Clarification *float64
		Approved      *float64
	}
	if err := finished().Select("COUNT(*) AS n, AVG(days_submitted) AS submitted, AVG(days_clarification_requested) AS clarification, AVG(days_approved) AS approved").
		Scan(&agg).Error; err != nil {
		return nil, fmt.Errorf("report: time in state: %w", err)
	}
	rep.Finished = agg.N
	for name, v := range map[string]*float64{stateSubmitted: agg.Submitted, stateClarification: agg.Clarification, stateApproved: agg.Approved} {
		if v != nil {
			rep.TimeInState[name] = round3(*v)
		} else {
			rep.TimeInState[name] = 0
		}
	}
	if agg.N > 0 {
		p := newPercentiler(r.db.Dialect, finished, agg.N)
		med, err := p.at(0.5)
		if err != nil {
			return nil, fmt.Errorf("report: median: %w", err)
		}
		p90, err := p.at(0.9)
		if err != nil {
			return nil, fmt.Errorf("report: p90: %w", err)
		}
		rep.Elapsed = Percentiles{Median: &med, P90: &p90}
	}

	var open struct{ Total, AtRisk, Breached int }
	if err := scope(db.Model(&models.Request{})).Where("state IN ?", OpenStates).
		Select(`COUNT(*) AS total,
			COALESCE(SUM(CASE WHEN sla_due_at IS NOT NULL AND sla_due_at <= ? THEN 1 ELSE 0 END), 0) AS breached,
			COALESCE(SUM(CASE WHEN sla_warn_at IS NOT NULL AND sla_warn_at <= ? AND (sla_due_at IS NULL OR sla_due_at > ?) THEN 1 ELSE 0 END), 0) AS at_risk`, now, now, now).
		Scan(&open).Error; err != nil {
		return nil, fmt.Errorf("report: open: %w", err)
	}
	rep.Open = Open(open)
	return rep, nil
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// percentiler finds order statistics of sla_elapsed without sorting the
// whole window: a histogram at 0.01-day resolution locates the bucket that
// holds a rank, and only that bucket's values are read and sorted.
type percentiler struct {
	dialect models.Dialect
	rows    func() *gorm.DB
	n       int
	buckets []bucket
}

type bucket struct {
	B int64
	N int
}

func newPercentiler(d models.Dialect, rows func() *gorm.DB, n int) *percentiler {
	return &percentiler{dialect: d, rows: rows, n: n}
}

func (p *percentiler) bucketExpr() string {
	if p.dialect == models.Postgres {
		return "CAST(FLOOR(sla_elapsed * 100) AS BIGINT)"
	}
	return "CAST(sla_elapsed * 100 AS INTEGER)"
}

// ranks returns the k-th smallest value (0-based) and the one after it
// (equal to the first when k is the last rank).
func (p *percentiler) ranks(k int) (float64, float64, error) {
	if p.buckets == nil {
		expr := p.bucketExpr()
		if err := p.rows().Select(expr + " AS b, COUNT(*) AS n").Group(expr).Order("b").Scan(&p.buckets).Error; err != nil {
			return 0, 0, err
		}
	}
	seen := 0
	for i, b := range p.buckets {
		if k >= seen+b.N {
			seen += b.N
			continue
		}
		var vals []float64
		err := p.rows().Where(p.bucketExpr()+" = ?", b.B).Order("sla_elapsed").
			Offset(k-seen).Limit(2).Pluck("sla_elapsed", &vals).Error
		if err != nil {
			return 0, 0, err
		}
		if len(vals) == 0 {
			return 0, 0, fmt.Errorf("rank %d: bucket %d changed while reading", k, b.B)
		}
		if len(vals) == 2 {
			return vals[0], vals[1], nil
		}
		if i+1 == len(p.buckets) {
			return vals[0], vals[0], nil
		}
		// k is the last of its bucket: the next value opens the next one.
		var next []float64
		err = p.rows().Where(p.bucketExpr()+" = ?", p.buckets[i+1].B).Order("sla_elapsed").
			Limit(1).Pluck("sla_elapsed", &next).Error
		if err != nil || len(next) == 0 {
			return 0, 0, fmt.Errorf("rank %d: next bucket: %v", k+1, err)
		}
		return vals[0], next[0], nil
	}
	return 0, 0, fmt.Errorf("rank %d of %d: out of range", k, p.n)
}

// at returns the q-quantile with linear interpolation between the closest
// ranks (the usual definition: the median of 2 and 4 is 3).
func (p *percentiler) at(q float64) (float64, error) {
	pos := q * float64(p.n-1)
	lo := int(math.Floor(pos))
	v, w, err := p.ranks(lo)
	if err != nil {
		return 0, err
	}
	if frac := pos - float64(lo); frac > 0 && lo+1 < p.n {
		v += (w - v) * frac
	}
	return round3(v), nil
}

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
		fmt.Fprintf(&b, "%s,%d,%d,%s\n", csvField(key), met, missed, rs)
	}
	for _, g := range rep.Groups {
		row(g.Key, g.Met, g.Missed, g.ComplianceRate)
	}
	row("total", rep.Met, rep.Missed, rep.ComplianceRate)
	return b.String()
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
