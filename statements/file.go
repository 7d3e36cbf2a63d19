package statements

import (
	"fmt"

	"datashare/spreadsheet"
)

// File is st as a download of format csv or xlsx, for the API, the pages
// and the mail alike: as CSV its canonical text, whose SHA-256 is its
// hash; as XLSX its figures as a report workbook.
func (st Statement) File(format string) (spreadsheet.File, error) {
	scope := "all"
	if st.Agency != nil {
		scope = *st.Agency
	}
	name := fmt.Sprintf("statement-%s-%s-r%d.%s", st.Month, scope, st.Revision, format)
	switch format {
	case "csv":
		return spreadsheet.File{Name: name, ContentType: "text/csv; charset=utf-8", Body: []byte(st.Canonical)}, nil
	case "xlsx":
		b, err := spreadsheet.SLAReport(st.Figures.Report(st.GeneratedAt))
		return spreadsheet.File{Name: name, ContentType: spreadsheet.ContentType, Body: b}, err
	}
	return spreadsheet.File{}, fmt.Errorf("statements: no format %q", format)
}
