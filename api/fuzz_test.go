package api

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"datashare/calendar"
	"datashare/errs"
	"datashare/input"
	"datashare/sla"
	"datashare/workflow"
)

// mustClientError fails unless err is an *errs.Error whose status, from the
// one table, is a 4xx: nothing a client sends may be a server error.
func mustClientError(t *testing.T, err error) *errs.Error {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T): want an *errs.Error", err, err)
	}
	if st := Status(e.Code); st < 400 || st > 499 {
		t.Fatalf("error %v: status %d, want a 4xx", err, st)
	}
	if e.Message == "" {
		t.Fatalf("error %v: no message for a person", err)
	}
	return e
}

// fuzzBody has a field of each kind the handlers decode.
type fuzzBody struct {
	Title   string          `json:"title"`
	Project *string         `json:"project"`
	Roles   []string        `json:"roles"`
	Email   map[string]bool `json:"email"`
	Limit   int             `json:"limit"`
	At      *time.Time      `json:"at"`
}

type fuzzPatch struct {
	fuzzBody
	LegalBasis clearable `json:"legal_basis"`
}

// FuzzDecodeJSON: the body binder never panics, refuses with a client
// error, and what it accepts holds only valid text and survives a round
// trip through encoding/json unchanged.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"title":"Residents aged 65+","project":"P1","roles":["requester"],"email":{"submitted":true},"limit":3}`,
		`{"title":"a\u0000b"}`, "{\"title\":\"a\xffb\"}", `{"roles":["x","\u0000"]}`, `{"email":{"\u0000":true}}`,
		`{"legal_basis":null}`, `{"legal_basis":"PDPA s.17"}`, `{"legal_basis":"\u0000"}`, `{"at":"2025-01-06T10:00:00+08:00"}`,
		`{"title":1}`, `{"colour":"red"}`, `{} {}`, `[]`, ``, `{"title":"\ud800"}`, `{"title":"\\u0000"}`, "{\"title\":\"\x00\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v fuzzPatch
		if err := decodeJSON(body, &v); err != nil {
			mustClientError(t, err)
			return
		}
		if err := input.Fields(v.fuzzBody); err != nil {
			t.Fatalf("accepted %q holding bad text: %v", body, err)
		}
		if lb := v.LegalBasis.patch(); lb != nil && !input.Valid(*lb) {
			t.Fatalf("accepted %q holding bad text in legal_basis: %q", body, *lb)
		}
		again, err := json.Marshal(v.fuzzBody)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", v.fuzzBody, err)
		}
		var w fuzzBody
		if err := decodeJSON(again, &w); err != nil {
			t.Fatalf("decode %s, re-encoded from %q: %v", again, body, err)
		}
		if !reflect.DeepEqual(normal(v.fuzzBody), normal(w)) {
			t.Fatalf("round trip of %q: got %+v, want %+v", body, w, v.fuzzBody)
		}
	})
}

// normal makes two decodings of one body comparable: times by instant.
func normal(b fuzzBody) fuzzBody {
	if b.At != nil {
		at := b.At.UTC()
		b.At = &at
	}
	return b
}

// FuzzDecodeCursor: any cursor text is refused as an invalid cursor or read
// as a position that encodes back to itself.
func FuzzDecodeCursor(f *testing.F) {
	due := time.Date(2026, 1, 5, 2, 0, 0, 0, time.UTC)
	f.Add(encodeCursor(cursorNewest, workflow.Cursor{ID: 42}))
	f.Add(encodeCursor(cursorDue, workflow.Cursor{ID: 42}))
	f.Add(encodeCursor(cursorDue, workflow.Cursor{ID: 7, DueAt: &due}))
	for _, s := range []string{"", "not-a-cursor", "!!!", "AAAAAAAAAAA", "gAAAAAAAAAA", "bgAAAAAAAAAB", "ZAAAAAAAAAAB", "ZAAAAAAAAAABAg"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range []byte{cursorNewest, cursorDue} {
			c, err := decodeCursor(s, kind)
			if err != nil {
				if e := mustClientError(t, err); e.Code != errs.Invalid || e.Field != "cursor" {
					t.Fatalf("decode %q: got %v, want invalid naming cursor", s, err)
				}
				continue
			}
			if c.ID <= 0 {
				t.Fatalf("decode %q: id %d, want a positive id", s, c.ID)
			}
			back, err := decodeCursor(encodeCursor(kind, c), kind)
			if err != nil || !reflect.DeepEqual(back, c) {
				t.Fatalf("round trip of %q (%c): got %+v, %v, want %+v", s, kind, back, err, c)
			}
		}
	})
}

// FuzzEncodeCursor: every position a page can end on is given out as a
// cursor that reads back as that position, and only under its own sort.
func FuzzEncodeCursor(f *testing.F) {
	f.Add(int64(1), false, int64(0), false)
	f.Add(int64(42), true, int64(1767578400000000), true)
	f.Add(int64(1<<62), true, int64(-1), true)
	f.Fuzz(func(t *testing.T, id int64, byDue bool, dueMicros int64, hasDue bool) {
		if id <= 0 {
			return
		}
		kind, other := cursorNewest, cursorDue
		c := workflow.Cursor{ID: id}
		if byDue {
			kind, other = cursorDue, cursorNewest
			if hasDue {
				d := time.UnixMicro(dueMicros).UTC()
				c.DueAt = &d
			}
		}
		s := encodeCursor(kind, c)
		got, err := decodeCursor(s, kind)
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip of %+v: got %+v, %v", c, got, err)
		}
		if _, err := decodeCursor(s, other); err == nil {
			t.Fatalf("cursor %q of sort %c read under sort %c", s, kind, other)
		}
	})
}

// FuzzReportWindow: any from and to are refused with an invalid error
// naming one of them, or read as dates that write back as given; the
// window the report then validates is refused or ordered and bounded.
func FuzzReportWindow(f *testing.F) {
	for _, p := range [][2]string{
		{"2025-01-01", "2026-01-01"}, {"", "2026-01-01"}, {"2025-01-01", ""}, {"2025-02-29", "2025-03-01"},
		{"2024-02-29", "2024-03-01"}, {"0000-01-01", "0001-01-01"}, {"9999-12-31", "9999-12-31"},
		{"2025-1-01", "2025-01-02"}, {"+025-01-01", "2025-01-02"}, {"2026-01-01", "2025-01-01"}, {"2025-01-01\x00", "\xff"},
	} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, from, to string) {
		fd, td, err := parseWindow(from, to)
		if err != nil {
			if e := mustClientError(t, err); e.Code != errs.Invalid || (e.Field != "from" && e.Field != "to") {
				t.Fatalf("window %q %q: got %v, want invalid naming from or to", from, to, err)
			}
			return
		}
		if fd.String() != from || td.String() != to {
			t.Fatalf("window %q %q: read as %s %s", from, to, fd, td)
		}
		q := sla.Query{From: fd, To: td}
		if err := q.Validate(); err != nil {
			if e := mustClientError(t, err); e.Code != errs.Invalid {
				t.Fatalf("window %s %s: got %v, want invalid", fd, td, err)
			}
			return
		}
		days := civil(td).Sub(civil(fd)).Hours() / 24
		if days < 1 || days > sla.MaxWindowDays {
			t.Fatalf("window %s %s accepted: %v days, want 1 to %d", fd, td, days, sla.MaxWindowDays)
		}
	})
}

func civil(d calendar.Date) time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }
