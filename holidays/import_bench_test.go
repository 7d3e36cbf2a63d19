package holidays_test

import (
	"context"
	"strings"
	"testing"

	"datashare/apptest"
	"datashare/holidays"
	"datashare/models"
	"datashare/models/modelstest"
)

// BenchmarkParseICS parses a legitimate file of 1 MiB (about 9,000 events
// of 31 days).
func BenchmarkParseICS(b *testing.B) {
	file := apptest.ClosuresICS(holidays.MaxICSBytes)
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if _, err := holidays.ParseICS(strings.NewReader(file), apptest.SGT); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseICSManyParameters is the refusal of a line of 40,000
// parameters, which the parser alone takes seconds over.
func BenchmarkParseICSManyParameters(b *testing.B) {
	file := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART" + strings.Repeat(";X=1", 40_000) + ";VALUE=DATE:20270104\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	for b.Loop() {
		if _, err := holidays.ParseICS(strings.NewReader(file), apptest.SGT); err == nil {
			b.Fatal("a line of 40,000 parameters was accepted")
		}
	}
}

// BenchmarkImportICS imports the 1 MiB file into a fresh SQLite database
// (the days of its events, some 300,000, over about 75,000 dates).
func BenchmarkImportICS(b *testing.B) {
	file := apptest.ClosuresICS(holidays.MaxICSBytes)
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		b.StopTimer()
		a := apptest.Wire(b, modelstest.MustOpen(b, models.SQLite), apptest.Options{})
		b.StartTimer()
		if _, err := a.Holidays.Import(context.Background(), apptest.Admin, strings.NewReader(file), "closure"); err != nil {
			b.Fatal(err)
		}
	}
}
