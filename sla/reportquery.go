package sla

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"datashare/models"
	"datashare/workflow"
)

// The indexes of migration 0007, each shaped for the report's queries and
// partial on the condition they filter by.
const (
	indexFinished = "requests_finished"
	indexDue      = "requests_due"
	indexOpen     = "requests_open"
)

// reportQuery runs the report's statements for one agency scope (all
// agencies when empty) as of now. Every statement reads one index range and
// no table row; the conditions come from status.go.
type reportQuery struct {
	db      *gorm.DB
	dialect models.Dialect
	agency  string
	now     time.Time
	zone    string // on PostgreSQL, the zone whose months ByMonth groups by
}

// month names, on PostgreSQL, the month of the instant column in rq.zone,
// as YYYY-MM.
func (rq *reportQuery) month(column string) string {
	return "to_char(" + column + " AT TIME ZONE '" + rq.zone + "', 'YYYY-MM')"
}

// from names the table read through index. SQLite is held to it, so that a
// query the index cannot serve fails instead of scanning the table; the
// PostgreSQL planner chooses by its statistics (the plan test checks it).
func (rq *reportQuery) from(index string) string {
	if rq.dialect == models.SQLite {
		return "requests INDEXED BY " + index
	}
	return "requests"
}

// where joins the conditions of a statement with the agency scope.
type where struct {
	sql  []string
	args []any
}

func (w *where) add(sql string, args ...any) *where {
	w.sql = append(w.sql, "("+sql+")")
	w.args = append(w.args, args...)
	return w
}

func (w *where) cond(c condition, now time.Time) *where {
	sql, args := c.where(now)
	return w.add(sql, args...)
}

func (w *where) String() string { return strings.Join(w.sql, " AND ") }

func (rq *reportQuery) scoped(column string, f, t time.Time, c condition) *where {
	w := (&where{}).cond(c, rq.now).add(column+" >= ? AND "+column+" < ?", f, t)
	if rq.agency != "" {
		w.add("owner_agency = ? OR requesting_agency = ?", rq.agency, rq.agency)
	}
	return w
}

type keyCount struct {
	Key string
	N   int
}

func (rq *reportQuery) counts(sql string, args []any) (map[string]int, error) {
	var rows []keyCount
	if err := rq.db.Raw(sql, args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Key] += r.N
	}
	return out, nil
}

// missed counts the requests missed in [f, t) by due instant, keyed as met
// keys them. The index holds only requests late or still open, so a grouped
// count sorts no more than those.
func (rq *reportQuery) missed(f, t time.Time, by string) (map[string]int, error) {
	w := rq.scoped("sla_due_at", f, t, missedAtDue)
	key, group := "''", ""
	switch by {
	case ByMonth:
		key, group = rq.month("sla_due_at"), " GROUP BY 1"
	case ByOwnerAgency, ByRequestingAgency:
		key, group = by, " GROUP BY "+by
	}
	return rq.counts("SELECT "+key+" AS key, COUNT(*) AS n FROM "+rq.from(indexDue)+" WHERE "+w.String()+group, w.args)
}

// elapsedNanodays is an elapsed value in billionths of a working day:
// SQLite writes integers as text faster than it writes REALs.
const elapsedNanodays = "CAST(sla_elapsed * 1e9 AS INTEGER)"

// finishedRow is what a pass over the finished requests of a window gives
// for one key: how many finished, how many of them met their due instant,
// the working days spent in each open state, and the elapsed working days,
// comma-separated (SQLite) or as percentiles (PostgreSQL).
type finishedRow struct {
	Key           string
	N             int
	Met           int
	Submitted     float64
	Clarification float64
	Approved      float64
	Elapsed       *string
	Median, P90   *float64
}

// finished makes one pass over the requests finished in [f, t), keyed by
// the agency column by (owner_agency or requesting_agency), or by "" when by
// is empty. It walks the pairs of owner and requesting agencies in key
// order and reads each pair's range of requests_finished, so that nothing
// is sorted and only the window is read. withPercentiles asks PostgreSQL
// for the percentiles of an ungrouped pass.
func (rq *reportQuery) finished(f, t time.Time, by string, withPercentiles bool) ([]finishedRow, error) {
	w := (&where{}).cond(isFinished, rq.now).add("closed_at >= ? AND closed_at < ?", f, t)
	met, _ := closedByDue.where(rq.now)
	sel := "COUNT(*) AS n, COALESCE(SUM(CASE WHEN " + met + ` THEN 1 ELSE 0 END), 0) AS met,
		COALESCE(SUM(days_submitted), 0) AS submitted, COALESCE(SUM(days_clarification_requested), 0) AS clarification,
		COALESCE(SUM(days_approved), 0) AS approved`
	switch {
	case rq.dialect == models.SQLite:
		sel += ", group_concat(" + elapsedNanodays + ") AS elapsed"
	case withPercentiles && by == "":
		sel += `, percentile_cont(0.5) WITHIN GROUP (ORDER BY sla_elapsed) AS median,
			percentile_cont(0.9) WITHIN GROUP (ORDER BY sla_elapsed) AS p90`
	}
	// The outer agency is the one grouped by.
	key, agencies, group := "''", "agencies o CROSS JOIN agencies q", ""
	switch by {
	case ByOwnerAgency:
		key, group = "o.code", " GROUP BY o.code"
	case ByRequestingAgency:
		key, agencies, group = "q.code", "agencies q CROSS JOIN agencies o", " GROUP BY q.code"
	case ByMonth:
		key, group = rq.month("closed_at"), " GROUP BY 1"
	}
	from, args := rq.pairWalk(agencies, indexFinished,
		"closed_at, sla_due_at, sla_elapsed, days_submitted, days_clarification_requested, days_approved", w)
	var rows []finishedRow
	err := rq.db.Raw("SELECT "+key+" AS key, "+sel+" FROM "+from+group, args...).Scan(&rows).Error
	return rows, err
}

// pairWalk returns the FROM and WHERE clauses of a statement that reads,
// for each pair of owner (o) and requesting (q) agency in the order of
// agencies, the pair's range of index under w, giving columns; the agency
// scope, if any, narrows the pairs read.
func (rq *reportQuery) pairWalk(agencies, index, columns string, w *where) (string, []any) {
	pair := "owner_agency = o.code AND requesting_agency = q.code AND " + w.String()
	args := append([]any(nil), w.args...)
	var sql, and string
	if rq.dialect == models.Postgres {
		// A LATERAL subquery that cannot be flattened (OFFSET 0) holds the
		// planner to one range per pair. Left to choose, it hash-joins a
		// scan of requests, as it takes agencies for a table of hundreds
		// of rows: one too small for autovacuum ever to analyse.
		sql, and = agencies+" CROSS JOIN LATERAL (SELECT "+columns+" FROM requests WHERE "+pair+" OFFSET 0) r", " WHERE "
	} else {
		sql, and = agencies+" CROSS JOIN "+rq.from(index)+" WHERE "+pair, " AND "
	}
	if rq.agency != "" {
		sql += and + "(o.code = ? OR q.code = ?)"
		args = append(args, rq.agency, rq.agency)
	}
	return sql, args
}

// finishedTotals sums finished rows.
func finishedTotals(rows []finishedRow) finishedRow {
	var t finishedRow
	var elapsed []string
	for _, r := range rows {
		t.N += r.N
		t.Met += r.Met
		t.Submitted += r.Submitted
		t.Clarification += r.Clarification
		t.Approved += r.Approved
		if r.Elapsed != nil && *r.Elapsed != "" {
			elapsed = append(elapsed, *r.Elapsed)
		}
		t.Median, t.P90 = r.Median, r.P90
	}
	joined := strings.Join(elapsed, ",")
	t.Elapsed = &joined
	return t
}

// timeInState averages the working days spent in each open state.
func (f finishedRow) timeInState() map[string]float64 {
	out := map[string]float64{}
	for state, sum := range map[workflow.State]float64{
		workflow.Submitted: f.Submitted, workflow.ClarificationRequested: f.Clarification, workflow.Approved: f.Approved,
	} {
		out[string(state)] = 0
		if f.N > 0 {
			out[string(state)] = round3(sum / float64(f.N))
		}
	}
	return out
}

// percentiles returns the median and 90th percentile of elapsed working
// days of fin, the requests finished in [from, to), with linear
// interpolation between the closest ranks (the median of 2 and 4 is 3).
func (rq *reportQuery) percentiles(from, to time.Time, fin finishedRow) (Percentiles, error) {
	if fin.N == 0 {
		return Percentiles{}, nil
	}
	if rq.dialect == models.Postgres {
		if fin.Median == nil || fin.P90 == nil {
			rows, err := rq.finished(from, to, "", true)
			if err != nil || len(rows) != 1 || rows[0].Median == nil || rows[0].P90 == nil {
				return Percentiles{}, fmt.Errorf("no percentiles over %d requests: %v", fin.N, err)
			}
			fin.Median, fin.P90 = rows[0].Median, rows[0].P90
		}
		return Percentiles{Median: ptrF(round3(*fin.Median)), P90: ptrF(round3(*fin.P90))}, nil
	}
	values, err := parseElapsed(fin.Elapsed, fin.N)
	if err != nil {
		return Percentiles{}, err
	}
	med, p90 := quantile(values, 0.5), quantile(values, 0.9)
	if nearBoundary(med) || nearBoundary(p90) {
		// Values read to a billionth of a day move a figure rounded to three
		// decimals only when it lies within a hair of a rounding boundary;
		// then read the exact values.
		exact, err := rq.exactElapsed(from, to)
		if err != nil {
			return Percentiles{}, err
		}
		// A request finishing in between changes the window by one; the
		// later reading stands.
		if len(exact) > 0 {
			med, p90 = quantile(exact, 0.5), quantile(exact, 0.9)
		}
	}
	return Percentiles{Median: ptrF(round3(med)), P90: ptrF(round3(p90))}, nil
}

func ptrF(v float64) *float64 { return &v }

// PercentilesOf returns the median and 90th percentile of values, rounded
// as a report shows them, by the rule of the request report; none of an
// empty list. It reorders values.
func PercentilesOf(values []float64) Percentiles {
	if len(values) == 0 {
		return Percentiles{}
	}
	return Percentiles{Median: ptrF(round3(quantile(values, 0.5))), P90: ptrF(round3(quantile(values, 0.9)))}
}

// quantile returns the q-quantile of values, reordering them.
func quantile(values []float64, q float64) float64 {
	pos := q * float64(len(values)-1)
	lo := int(math.Floor(pos))
	v := rank(values, lo)
	if frac := pos - float64(lo); frac > 0 && lo+1 < len(values) {
		v += (slices.Min(values[lo+1:]) - v) * frac
	}
	return v
}

// rank returns the k-th smallest of values (from 0), reordering them so
// that none before k is greater and none after it smaller; it takes linear
// time where sorting would not.
func rank(values []float64, k int) float64 {
	lo, hi := 0, len(values)-1
	for lo < hi {
		p := values[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for values[i] < p {
				i++
			}
			for values[j] > p {
				j--
			}
			if i <= j {
				values[i], values[j] = values[j], values[i]
				i, j = i+1, j-1
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return values[k]
		}
	}
	return values[k]
}

// nearBoundary reports whether v is so close to a boundary of rounding to
// three decimals that a value read to a billionth could round the other
// way.
func nearBoundary(v float64) bool {
	x := v * 1000
	return math.Abs(x-math.Floor(x)-0.5) < 1e-5
}

func parseElapsed(s *string, n int) ([]float64, error) {
	if s == nil {
		return nil, fmt.Errorf("no elapsed values of %d", n)
	}
	values := make([]float64, 0, n)
	for f := range strings.SplitSeq(*s, ",") {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("elapsed values: %w", err)
		}
		values = append(values, float64(v)/1e9)
	}
	if len(values) != n {
		return nil, fmt.Errorf("%d elapsed values of %d", len(values), n)
	}
	return values, nil
}

// exactElapsed reads the elapsed values of the requests finished in
// [from, to).
func (rq *reportQuery) exactElapsed(from, to time.Time) ([]float64, error) {
	w := (&where{}).cond(isFinished, rq.now).add("closed_at >= ? AND closed_at < ?", from, to)
	if rq.agency != "" {
		w.add("owner_agency = ? OR requesting_agency = ?", rq.agency, rq.agency)
	}
	var values []float64
	if err := rq.db.Raw("SELECT sla_elapsed FROM requests WHERE "+w.String(), w.args...).Scan(&values).Error; err != nil {
		return nil, err
	}
	return values, nil
}

// open counts the requests open now, and those at risk or breached. For an
// agency it reads the agency's pairs of owner and requesting agencies, as
// finished does, so that the index alone answers.
func (rq *reportQuery) open() (Open, error) {
	w := (&where{}).cond(isOpen, rq.now)
	from, args := rq.from(indexOpen)+" WHERE "+w.String(), w.args
	if rq.agency != "" {
		from, args = rq.pairWalk("agencies o CROSS JOIN agencies q", indexOpen, "sla_due_at, sla_warn_at", w)
	}
	late, lateArgs := overdue.where(rq.now)
	risky, riskyArgs := warned.where(rq.now)
	sql := "SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN " + late + " THEN 1 ELSE 0 END), 0) AS breached, " +
		"COALESCE(SUM(CASE WHEN " + risky + " THEN 1 ELSE 0 END), 0) AS at_risk FROM " + from
	var out Open
	err := rq.db.Raw(sql, append(append(lateArgs, riskyArgs...), args...)...).Scan(&out).Error
	return out, err
}
