package spreadsheet_test

import (
	"bytes"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"datashare/sla"
	"datashare/spreadsheet"
)

func ptr[T any](v T) *T { return &v }

func mustOpen(tb testing.TB, rep *sla.Report) *excelize.File {
	tb.Helper()
	b, err := spreadsheet.SLAReport(rep)
	if err != nil {
		tb.Fatalf("SLAReport: %v", err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("open the workbook: %v", err)
	}
	tb.Cleanup(func() { f.Close() })
	if got := f.GetSheetList(); len(got) != 2 || got[0] != "Totals" || got[1] != "Groups" {
		tb.Fatalf("sheets: got %v, want [Totals Groups]", got)
	}
	return f
}

// cell is what a test expects of one cell: its raw value, and whether it
// is a number, and which number format it shows with ("" for none).
type cell struct {
	ref, value string
	number     bool
	format     string
}

func checkCells(t *testing.T, f *excelize.File, sheet string, want []cell) {
	t.Helper()
	for _, w := range want {
		got, err := f.GetCellValue(sheet, w.ref, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		if got != w.value && !sameNumber(got, w.value) {
			t.Errorf("%s!%s: got %q, want %q", sheet, w.ref, got, w.value)
		}
		typ, err := f.GetCellType(sheet, w.ref)
		if err != nil {
			t.Fatal(err)
		}
		// A number cell carries no type (or "n"); text is a shared or inline string.
		isNumber := (typ == excelize.CellTypeUnset || typ == excelize.CellTypeNumber) && got != ""
		if isNumber {
			if _, err := strconv.ParseFloat(got, 64); err != nil {
				isNumber = false
			}
		}
		if isNumber != w.number {
			t.Errorf("%s!%s: got number=%v (type %v), want %v", sheet, w.ref, isNumber, typ, w.number)
		}
		if f := numFormat(t, f, sheet, w.ref); f != w.format {
			t.Errorf("%s!%s format: got %q, want %q", sheet, w.ref, f, w.format)
		}
	}
}

// sameNumber compares to the 15 significant digits a workbook keeps.
func sameNumber(a, b string) bool {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	return errA == nil && errB == nil && math.Abs(x-y) < 1e-12
}

func numFormat(t *testing.T, f *excelize.File, sheet, ref string) string {
	t.Helper()
	id, err := f.GetCellStyle(sheet, ref)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	if st.CustomNumFmt != nil {
		return *st.CustomNumFmt
	}
	return ""
}

func bold(t *testing.T, f *excelize.File, sheet, ref string) bool {
	t.Helper()
	id, err := f.GetCellStyle(sheet, ref)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	return st.Font != nil && st.Font.Bold
}

func TestSLAReportWithGroups(t *testing.T) {
	rep := &sla.Report{
		From: "2025-01-01", To: "2025-04-01", Agency: ptr("MOH"), GroupBy: ptr(sla.ByOwnerAgency),
		TargetWorkingDays: 7, Met: 8, Missed: 1, ComplianceRate: ptr(8.0 / 9), Finished: 9,
		Elapsed:     sla.Percentiles{Median: ptr(3.5), P90: ptr(6.25)},
		TimeInState: map[string]float64{"submitted": 2.5, "clarification_requested": 0.75, "approved": 1},
		Open:        sla.Open{Total: 4, AtRisk: 2, Breached: 1},
		Groups: []sla.Group{
			{Key: "HDB", Met: 5, Missed: 1, ComplianceRate: ptr(5.0 / 6)},
			{Key: "MOH", Met: 3, Missed: 0, ComplianceRate: ptr(1.0)},
		},
		GeneratedAt: time.Date(2025, 4, 2, 1, 30, 0, 0, time.UTC),
	}
	f := mustOpen(t, rep)
	checkCells(t, f, "Totals", []cell{
		{"A1", "Measure", false, ""}, {"B1", "Value", false, ""},
		{"B2", "2025-01-01", false, ""},
		{"B3", "2025-04-01", false, ""},
		{"B4", "MOH", false, ""},
		{"B5", "7", true, "0.0"},
		{"A6", "Met", false, ""}, {"B6", "8", true, ""},
		{"A7", "Missed", false, ""}, {"B7", "1", true, ""},
		{"A8", "Compliance rate", false, ""}, {"B8", strconv.FormatFloat(8.0/9, 'f', -1, 64), true, "0.0%"},
		{"B9", "9", true, ""},
		{"B10", "3.5", true, "0.0"}, {"B11", "6.25", true, "0.0"},
		{"B12", "2.5", true, "0.0"}, {"B13", "0.75", true, "0.0"}, {"B14", "1", true, "0.0"},
		{"B15", "4", true, ""}, {"B16", "2", true, ""}, {"B17", "1", true, ""},
		{"B18", "2025-04-02T01:30:00Z", false, ""},
	})
	checkCells(t, f, "Groups", []cell{
		{"A1", "Owner agency", false, ""}, {"B1", "Met", false, ""}, {"C1", "Missed", false, ""}, {"D1", "Compliance rate", false, ""},
		{"A2", "HDB", false, ""}, {"B2", "5", true, ""}, {"C2", "1", true, ""}, {"D2", strconv.FormatFloat(5.0/6, 'f', -1, 64), true, "0.0%"},
		{"A3", "MOH", false, ""}, {"B3", "3", true, ""}, {"C3", "0", true, ""}, {"D3", "1", true, "0.0%"},
		{"A4", "Total", false, ""}, {"B4", "8", true, ""}, {"C4", "1", true, ""},
	})
	for _, c := range []struct{ sheet, ref string }{{"Totals", "A1"}, {"Totals", "B1"}, {"Groups", "A1"}, {"Groups", "D1"}} {
		if !bold(t, f, c.sheet, c.ref) {
			t.Errorf("%s!%s: got a plain header, want bold", c.sheet, c.ref)
		}
	}
	if bold(t, f, "Groups", "A2") {
		t.Errorf("Groups!A2: got bold, want a plain row")
	}
	shown, err := f.GetCellValue("Totals", "B8")
	if err != nil || shown != "88.9%" {
		t.Errorf("Totals!B8 as shown: got %q (%v), want 88.9%%", shown, err)
	}
}

func TestSLAReportWithNothingFinished(t *testing.T) {
	rep := &sla.Report{
		From: "2025-07-01", To: "2025-10-01", TargetWorkingDays: 7,
		TimeInState: map[string]float64{"submitted": 0, "clarification_requested": 0, "approved": 0},
		Open:        sla.Open{Total: 1},
		Groups:      []sla.Group{},
		GeneratedAt: time.Date(2025, 7, 2, 0, 0, 0, 0, time.UTC),
	}
	f := mustOpen(t, rep)
	checkCells(t, f, "Totals", []cell{
		{"B4", "All agencies", false, ""},
		{"B6", "0", true, ""}, {"B7", "0", true, ""},
		{"B8", "", false, "0.0%"}, // no rate: empty, not 0
		{"B9", "0", true, ""},
		{"B10", "", false, "0.0"}, {"B11", "", false, "0.0"},
		{"B15", "1", true, ""},
	})
	checkCells(t, f, "Groups", []cell{
		{"A1", "Group", false, ""},
		{"A2", "Total", false, ""}, {"B2", "0", true, ""}, {"C2", "0", true, ""}, {"D2", "", false, "0.0%"},
		{"A3", "", false, ""},
	})
}
