package spreadsheet

import (
	"fmt"
	"time"

	"github.com/xuri/excelize/v2"

	"datashare/projects"
	"datashare/sla"
	"datashare/workflow"
)

// Sheet names of the SLA report.
const (
	TotalsSheet = "Totals"
	GroupsSheet = "Groups"
)

// ContentType is the media type of an XLSX file.
const ContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// styles are the cell formats of a report.
type styles struct {
	header, rate, days int
}

func newStyles(f *excelize.File) (styles, error) {
	var s styles
	var err error
	if s.header, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return s, err
	}
	rate := "0.0%"
	if s.rate, err = f.NewStyle(&excelize.Style{CustomNumFmt: &rate}); err != nil {
		return s, err
	}
	days := "0.0"
	if s.days, err = f.NewStyle(&excelize.Style{CustomNumFmt: &days}); err != nil {
		return s, err
	}
	return s, nil
}

// SLAReport writes rep as a workbook of two sheets: Totals (one measure a
// row) and Groups (one row per group of rep, then the total). A missing
// figure (no rate, no percentile when nothing finished) is an empty cell,
// never 0.
func SLAReport(rep *sla.Report) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	st, err := newStyles(f)
	if err != nil {
		return nil, fmt.Errorf("spreadsheet styles: %w", err)
	}
	if err := f.SetSheetName("Sheet1", TotalsSheet); err != nil {
		return nil, err
	}
	if _, err := f.NewSheet(GroupsSheet); err != nil {
		return nil, err
	}
	w := &writer{f: f, st: st}
	w.totals(rep)
	w.groups(rep)
	if w.err != nil {
		return nil, fmt.Errorf("write SLA report: %w", w.err)
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("write SLA report: %w", err)
	}
	return buf.Bytes(), nil
}

// writer keeps the first error, so that a sheet is written as a list of
// cells rather than a ladder of checks.
type writer struct {
	f   *excelize.File
	st  styles
	err error
}

func (w *writer) set(sheet string, col, row int, v any, style int) {
	if w.err != nil {
		return
	}
	cell, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		w.err = err
		return
	}
	if x, ok := v.(*float64); ok {
		v = nil // an empty cell, which keeps its format
		if x != nil {
			v = *x
		}
	}
	if v != nil {
		if w.err = w.f.SetCellValue(sheet, cell, v); w.err != nil {
			return
		}
	}
	if style != 0 {
		w.err = w.f.SetCellStyle(sheet, cell, cell, style)
	}
}

func (w *writer) header(sheet string, names ...string) {
	for i, n := range names {
		w.set(sheet, i+1, 1, n, w.st.header)
	}
}

func (w *writer) totals(rep *sla.Report) {
	agency := "All agencies"
	if rep.Agency != nil {
		agency = *rep.Agency
	}
	w.measures([]measure{
		{"From (Singapore date, inclusive)", rep.From, 0},
		{"To (Singapore date, exclusive)", rep.To, 0},
		{"Agency", agency, 0},
		{"Target (working days)", rep.TargetWorkingDays, w.st.days},
		{"Met", rep.Met, 0},
		{"Missed", rep.Missed, 0},
		{"Compliance rate", rep.ComplianceRate, w.st.rate},
		{"Finished", rep.Finished, 0},
		{"Median (working days)", rep.Elapsed.Median, w.st.days},
		{"90th percentile (working days)", rep.Elapsed.P90, w.st.days},
		{"Mean time submitted (working days)", rep.TimeInState[string(workflow.Submitted)], w.st.days},
		{"Mean time in clarification (working days)", rep.TimeInState[string(workflow.ClarificationRequested)], w.st.days},
		{"Mean time approved (working days)", rep.TimeInState[string(workflow.Approved)], w.st.days},
		{"Open now", rep.Open.Total, 0},
		{"At risk now", rep.Open.AtRisk, 0},
		{"Breached now", rep.Open.Breached, 0},
		{"Generated at (UTC)", rep.GeneratedAt.UTC().Format(time.RFC3339), 0},
	})
}

// measure is one row of a Totals sheet.
type measure struct {
	label string
	value any
	style int
}

// measures writes a Totals sheet: one measure a row.
func (w *writer) measures(rows []measure) {
	w.header(TotalsSheet, "Measure", "Value")
	for i, r := range rows {
		w.set(TotalsSheet, 1, i+2, r.label, 0)
		w.set(TotalsSheet, 2, i+2, r.value, r.style)
	}
	if w.err == nil {
		w.err = w.f.SetColWidth(TotalsSheet, "A", "A", 42)
	}
	if w.err == nil {
		w.err = w.f.SetColWidth(TotalsSheet, "B", "B", 24)
	}
}

var groupHeadings = map[string]string{
	sla.ByOwnerAgency:      "Owner agency",
	sla.ByRequestingAgency: "Requesting agency",
	sla.ByMonth:            "Month",
	projects.ByLeadAgency:  "Lead agency",
}

// groupHeading is the heading of a Groups sheet's first column.
func groupHeading(by *string) string {
	if by != nil && groupHeadings[*by] != "" {
		return groupHeadings[*by]
	}
	return "Group"
}

func (w *writer) groups(rep *sla.Report) {
	w.header(GroupsSheet, groupHeading(rep.GroupBy), "Met", "Missed", "Compliance rate")
	row := func(n int, key string, met, missed int, rate *float64) {
		w.set(GroupsSheet, 1, n, key, 0)
		w.set(GroupsSheet, 2, n, met, 0)
		w.set(GroupsSheet, 3, n, missed, 0)
		w.set(GroupsSheet, 4, n, rate, w.st.rate)
	}
	for i, g := range rep.Groups {
		row(i+2, g.Key, g.Met, g.Missed, g.ComplianceRate)
	}
	row(len(rep.Groups)+2, "Total", rep.Met, rep.Missed, rep.ComplianceRate)
	if w.err == nil {
		w.err = w.f.SetColWidth(GroupsSheet, "A", "A", 20)
	}
}
