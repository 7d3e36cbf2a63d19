package statements

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"datashare/calendar"
	"datashare/errs"
	"datashare/sla"
)

// Month is a calendar month of the deployment's zone.
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth reads YYYY-MM. Errors: invalid (field month).
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != 7 {
		return Month{}, errs.Field("month", "month must be YYYY-MM, such as 2026-11")
	}
	return Month{t.Year(), t.Month()}, nil
}

// MonthOf is the month in which t falls in loc.
func MonthOf(t time.Time, loc *time.Location) Month {
	t = t.In(loc)
	return Month{t.Year(), t.Month()}
}

func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// First is the month's first day; Next the month after.
func (m Month) First() calendar.Date { return calendar.Date{Year: m.Year, Month: m.Month, Day: 1} }

func (m Month) Next() Month {
	if m.Month == time.December {
		return Month{m.Year + 1, time.January}
	}
	return Month{m.Year, m.Month + 1}
}

// WholeMonth is the month a report window covers exactly, from its first
// day to the first day of the next; ok is false for any other window.
func WholeMonth(from, to calendar.Date) (m Month, ok bool) {
	m = Month{from.Year, from.Month}
	return m, from == m.First() && to == m.Next().First()
}

func (m Month) Previous() Month {
	if m.Month == time.January {
		return Month{m.Year - 1, time.December}
	}
	return Month{m.Year, m.Month - 1}
}

// Figures are what a statement publishes: one agency scope's compliance
// report of one month, with the requests its counts are made of, and the
// requests open, at risk and breached at the month's end.
type Figures struct {
	Month              string             `json:"month"`
	From               string             `json:"from"`
	To                 string             `json:"to"`
	Agency             *string            `json:"agency"`
	TargetWorkingDays  float64            `json:"target_working_days"`
	Met                int                `json:"met"`
	Missed             int                `json:"missed"`
	ComplianceRate     *float64           `json:"compliance_rate"`
	Finished           int                `json:"finished"`
	Elapsed            sla.Percentiles    `json:"elapsed_working_days"`
	TimeInState        map[string]float64 `json:"time_in_state_working_days"`
	Open               sla.Open           `json:"open_at_end"`
	ByOwnerAgency      []sla.Group        `json:"by_owner_agency"`
	ByRequestingAgency []sla.Group        `json:"by_requesting_agency"`
	MetRequests        []int64            `json:"met_requests"`
	MissedRequests     []int64            `json:"missed_requests"`
}

// Report is the figures as a compliance report grouped by owner agency,
// for the report API's as_published answers and the spreadsheet.
func (f Figures) Report(generated time.Time) *sla.Report {
	by := sla.ByOwnerAgency
	return &sla.Report{
		From: f.From, To: f.To, Agency: f.Agency, GroupBy: &by, TargetWorkingDays: f.TargetWorkingDays,
		Met: f.Met, Missed: f.Missed, ComplianceRate: f.ComplianceRate, Finished: f.Finished,
		Elapsed: f.Elapsed, TimeInState: f.TimeInState, Open: f.Open, Groups: f.ByOwnerAgency, GeneratedAt: generated,
	}
}

// CanonicalVersion names the canonical form, the value of the first row
// (format) of every canonical text; a change of the form is a new version.
const CanonicalVersion = "datashare statement v1"

// Canonical is the text the statement's hash is taken over, and its CSV
// download: UTF-8, lines ending in LF, two columns (field, value) under a
// header, in this order: format (CanonicalVersion), the statement's own
// fields (month, agency, scope
// "all" for the whole of government, revision, generated_at in RFC 3339
// UTC, calendar_version), then every figure. Counts are integers, rates
// have four decimals, working days three, an absent value is empty;
// groups are field names group/<owner_agency|requesting_agency>/<code>/
// <met|missed|compliance_rate> in code order; request lists are ids in
// ascending order separated by spaces.
func Canonical(f Figures, revision int, generated time.Time, calendarVersion string) string {
	var b strings.Builder
	b.WriteString("field,value\nformat," + CanonicalVersion + "\n")
	line := func(k, v string) { b.WriteString(sla.CSVField(k) + "," + sla.CSVField(v) + "\n") }
	agency := "all"
	if f.Agency != nil {
		agency = *f.Agency
	}
	line("month", f.Month)
	line("from", f.From)
	line("to", f.To)
	line("agency", agency)
	line("revision", strconv.Itoa(revision))
	line("generated_at", generated.UTC().Format(time.RFC3339))
	line("calendar_version", calendarVersion)
	outcomes(f, line)
	return b.String()
}

// outcomes writes the figures, in canonical order: the part a revision
// compares, all that a later computation of the same month can change.
func outcomes(f Figures, line func(k, v string)) {
	line("target_working_days", days(f.TargetWorkingDays))
	line("met", strconv.Itoa(f.Met))
	line("missed", strconv.Itoa(f.Missed))
	line("compliance_rate", rate(f.ComplianceRate))
	line("finished", strconv.Itoa(f.Finished))
	line("elapsed_working_days/median", optDays(f.Elapsed.Median))
	line("elapsed_working_days/p90", optDays(f.Elapsed.P90))
	states := make([]string, 0, len(f.TimeInState))
	for s := range f.TimeInState {
		states = append(states, s)
	}
	slices.Sort(states)
	for _, s := range states {
		line("time_in_state_working_days/"+s, days(f.TimeInState[s]))
	}
	for _, g := range []struct {
		name   string
		groups []sla.Group
	}{{"owner_agency", f.ByOwnerAgency}, {"requesting_agency", f.ByRequestingAgency}} {
		sorted := slices.Clone(g.groups)
		slices.SortFunc(sorted, func(a, b sla.Group) int { return strings.Compare(a.Key, b.Key) })
		for _, x := range sorted {
			p := "group/" + g.name + "/" + x.Key + "/"
			line(p+"met", strconv.Itoa(x.Met))
			line(p+"missed", strconv.Itoa(x.Missed))
			line(p+"compliance_rate", rate(x.ComplianceRate))
		}
	}
	line("met_requests", ids(f.MetRequests))
	line("missed_requests", ids(f.MissedRequests))
	line("open_at_end/total", strconv.Itoa(f.Open.Total))
	line("open_at_end/at_risk", strconv.Itoa(f.Open.AtRisk))
	line("open_at_end/breached", strconv.Itoa(f.Open.Breached))
}

// Hash is the hex SHA-256 of a canonical text.
func Hash(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return hex.EncodeToString(sum[:])
}

func days(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

func optDays(v *float64) string {
	if v == nil {
		return ""
	}
	return days(*v)
}

func rate(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', 4, 64)
}

func ids(v []int64) string {
	s := make([]string, len(v))
	for i, id := range v {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, " ")
}
