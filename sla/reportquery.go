package sla

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"datashare/models"
	"datashare/workflow"
)

// The indexes of migration 0007, each shaped for one of the report's
// queries and partial on the condition that query filters by.
const (
	indexFinished           = "requests_finished"
	indexFinishedOwner      = "requests_finished_owner"
	indexFinishedRequesting = "requests_finished_requesting"
	indexDue                = "requests_due"
	indexOpen               = "requests_open"
)

// reportQuery runs the report's statements for one agency scope (all
// agencies when empty) as of now. Every statement reads one index range and
// no table row; the conditions come from status.go.
type reportQuery struct {
	db      *gorm.DB
	dialect models.Dialect
	agency  string
	now     time.Time
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

// met counts the requests met in [f, t) by closing instant, keyed by the
// agency column by (owner_agency or requesting_agency) or by "" when by is
// empty. A grouped count walks the agencies in key order and reads each
// one's range of its index, so that nothing is sorted.
func (rq *reportQuery) met(f, t time.Time, by string) (map[string]int, error) {
	w := rq.scoped("closed_at", f, t, metInTime)
	if by == "" {
		return rq.counts("SELECT '' AS key, COUNT(*) AS n FROM "+rq.from(indexFinished)+" WHERE "+w.String(), w.args)
	}
	index := indexFinishedOwner
	if by == ByRequestingAgency {
		index = indexFinishedRequesting
	}
	sql := "SELECT a.code AS key, COUNT(*) AS n FROM agencies a CROSS JOIN " + rq.from(index) +
		" WHERE " + by + " = a.code AND " + w.String() + " GROUP BY a.code"
	return rq.counts(sql, w.args)
}

// missed counts the requests missed in [f, t) by due instant, keyed as met
// keys them. The index holds only requests late or still open, so a grouped
// count sorts no more than those.
func (rq *reportQuery) missed(f, t time.Time, by string) (map[string]int, error) {
	w := rq.scoped("sla_due_at", f, t, missedAtDue)
	key, group := "''", ""
	if by != "" {
		key, group = by, " GROUP BY "+by
	}
	return rq.counts("SELECT "+key+" AS key, COUNT(*) AS n FROM "+rq.from(indexDue)+" WHERE "+w.String()+group, w.args)
}

// finishedTotals are the figures of the requests that finished (fulfilled
// or rejected) in a window.
type finishedTotals struct {
	N             int
	Submitted     float64
	Clarification float64
	Approved      float64
	Buckets       *string  // SQLite: the elapsed bucket of each request, comma-separated
	Median, P90   *float64 // PostgreSQL: computed by the database
}

// bucketExpr puts an elapsed value in its bucket of 0.01 working days.
const bucketExpr = "CAST(sla_elapsed * 100 AS INTEGER)"

// finished sums the time in state of the requests finished in [from, to).
// On PostgreSQL the same pass gives the percentiles; on SQLite it gives the
// histogram of elapsed days from which percentiles finds them.
func (rq *reportQuery) finished(from, to time.Time) (finishedTotals, error) {
	w := rq.scoped("closed_at", from, to, isFinished)
	sel := `COUNT(*) AS n, COALESCE(SUM(days_submitted), 0) AS submitted,
		COALESCE(SUM(days_clarification_requested), 0) AS clarification, COALESCE(SUM(days_approved), 0) AS approved, `
	if rq.dialect == models.Postgres {
		sel += `percentile_cont(0.5) WITHIN GROUP (ORDER BY sla_elapsed) AS median,
			percentile_cont(0.9) WITHIN GROUP (ORDER BY sla_elapsed) AS p90`
	} else {
		sel += "group_concat(" + bucketExpr + ") AS buckets"
	}
	var out finishedTotals
	err := rq.db.Raw("SELECT "+sel+" FROM "+rq.from(indexFinished)+" WHERE "+w.String(), w.args...).Scan(&out).Error
	return out, err
}

// timeInState averages the working days spent in each open state.
func (f finishedTotals) timeInState() map[string]float64 {
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
// days of the requests finished in [from, to), with linear interpolation
// between the closest ranks (the median of 2 and 4 is 3). On SQLite, the
// histogram of fin locates the buckets holding the ranks, and only their
// values are read.
func (rq *reportQuery) percentiles(from, to time.Time, fin finishedTotals) (Percentiles, error) {
	if fin.N == 0 {
		return Percentiles{}, nil
	}
	if rq.dialect == models.Postgres {
		if fin.Median == nil || fin.P90 == nil {
			return Percentiles{}, fmt.Errorf("no percentiles over %d requests", fin.N)
		}
		return Percentiles{Median: ptrF(round3(*fin.Median)), P90: ptrF(round3(*fin.P90))}, nil
	}
	h, err := parseHistogram(fin.Buckets, fin.N)
	if err != nil {
		return Percentiles{}, err
	}
	ranks := []int{}
	for _, q := range []float64{0.5, 0.9} {
		lo := int(math.Floor(q * float64(fin.N-1)))
		ranks = append(ranks, lo, min(lo+1, fin.N-1))
	}
	values, err := rq.bucketValues(from, to, h.bucketsOf(ranks))
	if err != nil {
		return Percentiles{}, err
	}
	at := func(q float64) (*float64, error) {
		pos := q * float64(fin.N-1)
		lo := int(math.Floor(pos))
		v, err := h.value(values, lo)
		if err != nil {
			return nil, err
		}
		if frac := pos - float64(lo); frac > 0 && lo+1 < fin.N {
			w, err := h.value(values, lo+1)
			if err != nil {
				return nil, err
			}
			v += (w - v) * frac
		}
		return ptrF(round3(v)), nil
	}
	med, err := at(0.5)
	if err != nil {
		return Percentiles{}, err
	}
	p90, err := at(0.9)
	return Percentiles{Median: med, P90: p90}, err
}

func ptrF(v float64) *float64 { return &v }

// histogram counts elapsed values per bucket, buckets ascending.
type histogram struct {
	buckets []int64
	starts  []int // rank of the first value of each bucket
}

func parseHistogram(s *string, n int) (histogram, error) {
	if s == nil {
		return histogram{}, fmt.Errorf("no histogram over %d requests", n)
	}
	counts := map[int64]int{}
	for f := range strings.SplitSeq(*s, ",") {
		b, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return histogram{}, fmt.Errorf("histogram: %w", err)
		}
		counts[b]++
	}
	var h histogram
	for b := range counts {
		h.buckets = append(h.buckets, b)
	}
	slices.Sort(h.buckets)
	seen := 0
	for _, b := range h.buckets {
		h.starts = append(h.starts, seen)
		seen += counts[b]
	}
	if seen != n {
		return histogram{}, fmt.Errorf("histogram holds %d values of %d", seen, n)
	}
	return h, nil
}

// bucketOf returns the index of the bucket holding rank k.
func (h histogram) bucketOf(k int) int {
	return sort.Search(len(h.starts), func(i int) bool { return h.starts[i] > k }) - 1
}

func (h histogram) bucketsOf(ranks []int) []int64 {
	var out []int64
	for _, k := range ranks {
		if b := h.buckets[h.bucketOf(k)]; !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}

// value returns the value of rank k from the sorted values of its bucket.
func (h histogram) value(values map[int64][]float64, k int) (float64, error) {
	i := h.bucketOf(k)
	vs := values[h.buckets[i]]
	if j := k - h.starts[i]; j < len(vs) {
		return vs[j], nil
	}
	return 0, fmt.Errorf("rank %d: bucket %d changed while reading", k, h.buckets[i])
}

// bucketValues reads the elapsed values of the given buckets, each sorted.
func (rq *reportQuery) bucketValues(from, to time.Time, buckets []int64) (map[int64][]float64, error) {
	w := rq.scoped("closed_at", from, to, isFinished).add(bucketExpr+" IN ?", buckets)
	var rows []struct {
		B int64
		V float64
	}
	err := rq.db.Raw("SELECT "+bucketExpr+" AS b, sla_elapsed AS v FROM "+rq.from(indexFinished)+" WHERE "+w.String(), w.args...).
		Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := map[int64][]float64{}
	for _, r := range rows {
		out[r.B] = append(out[r.B], r.V)
	}
	for _, vs := range out {
		slices.Sort(vs)
	}
	return out, nil
}

// open counts the requests open now, and those at risk or breached.
func (rq *reportQuery) open() (Open, error) {
	w := (&where{}).cond(isOpen, rq.now)
	if rq.agency != "" {
		w.add("owner_agency = ? OR requesting_agency = ?", rq.agency, rq.agency)
	}
	late, lateArgs := overdue.where(rq.now)
	risky, riskyArgs := warned.where(rq.now)
	sql := "SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN " + late + " THEN 1 ELSE 0 END), 0) AS breached, " +
		"COALESCE(SUM(CASE WHEN " + risky + " THEN 1 ELSE 0 END), 0) AS at_risk FROM " + rq.from(indexOpen) + " WHERE " + w.String()
	var out Open
	err := rq.db.Raw(sql, append(append(lateArgs, riskyArgs...), w.args...)...).Scan(&out).Error
	return out, err
}
