package imports_test

import (
	"context"
	"strings"
	"testing"

	"datashare/apptest"
	"datashare/imports"
	"datashare/models"
	"datashare/models/modelstest"
)

// TestImportRefusesEachRecordWithBadText: a record with a string that is
// not UTF-8 or holds NUL, in any field, is refused with its reason naming
// the field, and the records around it are imported.
func TestImportRefusesEachRecordWithBadText(t *testing.T) {
	fields := []struct {
		field string
		spoil func(r *imports.Record, s string)
	}{
		{"title", func(r *imports.Record, s string) { r.Title += s }},
		{"purpose", func(r *imports.Record, s string) { r.Purpose += s }},
		{"data_description", func(r *imports.Record, s string) { r.DataDescription += s }},
		{"classification", func(r *imports.Record, s string) { r.Classification += s }},
		{"requesting_agency", func(r *imports.Record, s string) { r.RequestingAgency += s }},
		{"owner_agency", func(r *imports.Record, s string) { r.OwnerAgency += s }},
		{"requester_email", func(r *imports.Record, s string) { r.RequesterEmail += s }},
		{"legal_basis", func(r *imports.Record, s string) { r.LegalBasis = &s }},
		{"project", func(r *imports.Record, s string) { r.Project = &s }},
		{"events[0].action", func(r *imports.Record, s string) { r.Events[0].Action += s }},
		{"events[1].actor_email", func(r *imports.Record, s string) { r.Events[1].ActorEmail += s }},
		{"events[1].comment", func(r *imports.Record, s string) { r.Events[1].Comment += s }},
	}
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		d := newDeps(t, db)
		b := imports.Batch{Requests: []imports.Record{good1}}
		want := map[string]string{} // external_ref → field named
		for _, f := range fields {
			for name, s := range map[string]string{"nul": "\x00", "invalid_utf8": "\xff"} {
				r := good3
				r.Events = append([]imports.Event(nil), good3.Events...)
				r.ExternalRef = "BAD-" + f.field + "-" + name
				f.spoil(&r, s)
				b.Requests = append(b.Requests, r)
				want[r.ExternalRef] = f.field
			}
		}
		b.Requests = append(b.Requests, good2)
		res, err := d.im.Import(context.Background(), apptest.Admin, b)
		if err != nil {
			t.Fatalf("import: %v, want a result per record", err)
		}
		if res.Imported != 2 || res.Skipped != 0 {
			t.Errorf("imported, skipped: got %d, %d, want 2, 0", res.Imported, res.Skipped)
		}
		if len(res.Errors) != len(want) {
			t.Errorf("errors: got %d %+v, want %d", len(res.Errors), res.Errors, len(want))
		}
		for _, e := range res.Errors {
			field, ok := want[e.ExternalRef]
			if !ok {
				t.Errorf("error for %q: %s, want none", e.ExternalRef, e.Message)
				continue
			}
			if !strings.HasPrefix(e.Message, field+" ") {
				t.Errorf("%s: got %q, want a reason naming %s", e.ExternalRef, e.Message, field)
			}
		}
		if n := count(t, db, &models.Request{}); n != 2 {
			t.Errorf("requests stored: got %d, want 2", n)
		}
	})
}

// TestReadCSVKeepsBadTextForTheRecordCheck: the CSV reader hands a field's
// bytes on as they are, so the import refuses that record alone.
func TestReadCSVKeepsBadTextForTheRecordCheck(t *testing.T) {
	head := "external_ref,title,purpose,data_description,classification,requesting_agency,owner_agency,requester_email,action,at,actor_email,comment\n"
	csv := head +
		"IMP-3,T\xff,P,D,official-open,HDB,MOM,req@hdb.gov.sg,submit,2025-03-01T11:00:00+08:00,req@hdb.gov.sg,\n" +
		"IMP-4,T,P,D,official-open,HDB,MOM,req@hdb.gov.sg,submit,2025-03-01T11:00:00+08:00,req@hdb.gov.sg,a\x00b\n" +
		"IMP-5,T,P,D,official-open,HDB,MOM,req@hdb.gov.sg,submit,2025-03-01T11:00:00+08:00,req@hdb.gov.sg,\n"
	b, err := imports.ReadCSV(strings.NewReader(csv))
	if err != nil {
		t.Fatalf("read CSV: %v", err)
	}
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		d := newDeps(t, db)
		res, err := d.im.Import(context.Background(), apptest.Admin, b)
		if err != nil {
			t.Fatalf("import: %v", err)
		}
		if res.Imported != 1 || len(res.Errors) != 2 || res.Errors[0].ExternalRef != "IMP-3" || res.Errors[1].ExternalRef != "IMP-4" {
			t.Fatalf("got %+v, want IMP-5 imported, IMP-3 and IMP-4 refused", res)
		}
		for i, field := range []string{"title", "events[0].comment"} {
			if !strings.HasPrefix(res.Errors[i].Message, field+" ") {
				t.Errorf("%s: got %q, want a reason naming %s", res.Errors[i].ExternalRef, res.Errors[i].Message, field)
			}
		}
	})
}
