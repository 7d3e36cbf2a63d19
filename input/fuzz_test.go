package input

import (
	"encoding/json"
	"errors"
	"testing"

	"datashare/errs"
)

// FuzzJSON: the check never panics; it refuses with malformed or invalid,
// and a document it lets through decodes to valid text only.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{
		`{"title":"ok","events":[{"comment":"fine"}]}`, `{"title":"a\u0000b"}`, "{\"title\":\"a\xffb\"}",
		`{"a\u0000":1}`, `["\u0000"]`, `"\u0000"`, `{"x":{"y":[1,"\u0000"]}}`, `{"t":"\\u0000"}`, `{"t":"\ud800"}`, `{`, `nul`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := JSON(body)
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) || (e.Code != errs.Malformed && e.Code != errs.Invalid) {
				t.Fatalf("JSON(%q): got %v, want malformed or invalid", body, err)
			}
			return
		}
		var v any
		if json.Unmarshal(body, &v) != nil {
			return
		}
		if err := Fields(v); err != nil {
			t.Fatalf("JSON(%q) let through bad text: %v", body, err)
		}
	})
}
