package spreadsheet

import (
	"fmt"

	"datashare/sla"
)

// File is a report as a download: its name, media type and bytes.
type File struct {
	Name, ContentType string
	Body              []byte
}

// Download returns rep as a file of format "csv" or "xlsx", named after its
// window (sla-2026-01-01-2026-04-01.csv), for the API and the pages alike.
func Download(rep *sla.Report, format string) (File, error) {
	name := "sla-" + rep.From + "-" + rep.To + "." + format
	switch format {
	case "csv":
		return File{Name: name, ContentType: "text/csv; charset=utf-8", Body: []byte(rep.CSV())}, nil
	case "xlsx":
		b, err := SLAReport(rep)
		return File{Name: name, ContentType: ContentType, Body: b}, err
	}
	return File{}, fmt.Errorf("spreadsheet: no format %q", format)
}
