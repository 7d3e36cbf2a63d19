package spreadsheet

import (
	"fmt"
	"time"

	"github.com/xuri/excelize/v2"

	"datashare/projects"
)

// WaitingSheet is the sheet of the project report that lists the owner
// agencies waited on.
const WaitingSheet = "Waiting on"

// ProjectDownload returns the project report rep as a file of format "csv"
// or "xlsx", named after its window (projects-2026-01-01-2026-04-01.csv).
func ProjectDownload(rep *projects.Report, format string) (File, error) {
	name := "projects-" + rep.From + "-" + rep.To + "." + format
	switch format {
	case "csv":
		return File{Name: name, ContentType: "text/csv; charset=utf-8", Body: []byte(rep.CSV())}, nil
	case "xlsx":
		b, err := ProjectReport(rep)
		return File{Name: name, ContentType: ContentType, Body: b}, err
	}
	return File{}, fmt.Errorf("spreadsheet: no format %q", format)
}

// ProjectReport writes the project report rep as a workbook of three
// sheets: Totals, Groups (one row per group, then the total) and Waiting
// on. A missing figure is an empty cell, never 0.
func ProjectReport(rep *projects.Report) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	st, err := newStyles(f)
	if err != nil {
		return nil, fmt.Errorf("spreadsheet styles: %w", err)
	}
	if err := f.SetSheetName("Sheet1", TotalsSheet); err != nil {
		return nil, err
	}
	for _, s := range []string{GroupsSheet, WaitingSheet} {
		if _, err := f.NewSheet(s); err != nil {
			return nil, err
		}
	}
	w := &writer{f: f, st: st}
	w.projectTotals(rep)
	w.projectGroups(rep)
	w.header(WaitingSheet, "Owner agency", "Projects it was last to deliver to")
	for i, a := range rep.WaitingOn {
		w.set(WaitingSheet, 1, i+2, a.Agency, 0)
		w.set(WaitingSheet, 2, i+2, a.Projects, 0)
	}
	if w.err != nil {
		return nil, fmt.Errorf("write project report: %w", w.err)
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("write project report: %w", err)
	}
	return buf.Bytes(), nil
}

func (w *writer) projectTotals(rep *projects.Report) {
	agency := "All agencies"
	if rep.Agency != nil {
		agency = *rep.Agency
	}
	w.measures([]measure{
		{"From (Singapore date, inclusive)", rep.From, 0},
		{"To (Singapore date, exclusive)", rep.To, 0},
		{"Agency (lead or partner)", agency, 0},
		{"Target (working days)", rep.TargetWorkingDays, w.st.days},
		{"Met", rep.Met, 0},
		{"Missed", rep.Missed, 0},
		{"Partial", rep.Partial, 0},
		{"Compliance rate", rep.ComplianceRate, w.st.rate},
		{"Finished", rep.Finished, 0},
		{"Median (working days per project)", rep.Elapsed.Median, w.st.days},
		{"90th percentile (working days per project)", rep.Elapsed.P90, w.st.days},
		{"Open now", rep.Open.Total, 0},
		{"At risk now", rep.Open.AtRisk, 0},
		{"Breached now", rep.Open.Breached, 0},
		{"Generated at (UTC)", rep.GeneratedAt.UTC().Format(time.RFC3339), 0},
	})
}

func (w *writer) projectGroups(rep *projects.Report) {
	w.header(GroupsSheet, groupHeading(rep.GroupBy), "Met", "Missed", "Partial", "Compliance rate")
	row := func(n int, key string, met, missed, partial int, rate *float64) {
		w.set(GroupsSheet, 1, n, key, 0)
		w.set(GroupsSheet, 2, n, met, 0)
		w.set(GroupsSheet, 3, n, missed, 0)
		w.set(GroupsSheet, 4, n, partial, 0)
		w.set(GroupsSheet, 5, n, rate, w.st.rate)
	}
	for i, g := range rep.Groups {
		row(i+2, g.Key, g.Met, g.Missed, g.Partial, g.ComplianceRate)
	}
	row(len(rep.Groups)+2, "Total", rep.Met, rep.Missed, rep.Partial, rep.ComplianceRate)
	if w.err == nil {
		w.err = w.f.SetColWidth(GroupsSheet, "A", "A", 20)
	}
}
