package imports_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"datashare/errs"
	"datashare/imports"
)

// drain reads src to its end and checks what each call answers: records, a
// BadRecord with a reason, or an errs.Error that ends the reading; every
// call reads on, so that a body of n bytes ends within n+2 calls.
func drain(t *testing.T, src imports.Source, n int) {
	t.Helper()
	for calls := 0; ; calls++ {
		if calls > n+2 {
			t.Fatalf("still reading after %d calls over %d bytes", calls, n)
		}
		_, err := src.Next()
		var bad *imports.BadRecord
		var e *errs.Error
		switch {
		case err == nil:
		case errors.As(err, &bad):
			if bad.Message == "" {
				t.Fatal("a refused record without a reason")
			}
		case err == io.EOF:
			return
		case errors.As(err, &e):
			if e.Message == "" || (e.Code != errs.Malformed && e.Code != errs.Invalid) {
				t.Fatalf("got %#v, want a malformed or invalid error with a message", e)
			}
			return
		default:
			t.Fatalf("got %T %v, want an errs.Error", err, err)
		}
	}
}

func FuzzJSONSource(f *testing.F) {
	f.Add(jsonBatch, false)
	f.Add(`[{"external_ref":"A","events":[{"action":"submit","at":"2025-01-06T13:15:00+08:00"}]}]`, true)
	f.Add(`{"requests":[{"external_ref":"A","title":5},{"external_ref":"B","colour":1}]}`, false)
	f.Add(`{"requests":[{"events":[{"at":"yesterday"}]}]} []`, false)
	f.Add(`{"requests":{}}`, false)
	f.Fuzz(func(t *testing.T, body string, bare bool) {
		drain(t, imports.NewJSONSource(strings.NewReader(body), bare), len(body))
	})
}

func FuzzCSVSource(f *testing.F) {
	f.Add(csvBatch)
	f.Add(strings.Replace(csvBatch, "2025-01-06T09:00:00+08:00", "yesterday", 1))
	f.Add(strings.SplitN(csvBatch, "\n", 2)[0] + "\nIMP-9,x\n\"unterminated\n")
	f.Add("external_ref,title\nX,Y\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		drain(t, imports.NewCSVSource(strings.NewReader(body)), len(body))
	})
}
