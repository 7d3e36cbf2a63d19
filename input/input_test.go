package input

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"datashare/errs"
)

func TestJSONNamesTheStringThatBreaksTheRule(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		code       errs.Code // "" for none
		field      string
	}{
		{"plain text passes", `{"title":"Résidents 65+","roles":["a"],"n":1,"ok":true,"x":null}`, "", ""},
		{"an escaped backslash before u0000 is no NUL", `{"t":"\\u0000"}`, "", ""},
		{"NUL in a value", `{"title":"a\u0000b"}`, errs.Invalid, "title"},
		{"NUL in a nested list", `{"events":[{"comment":"ok"},{"comment":"\u0000"}]}`, errs.Invalid, "events[1].comment"},
		{"NUL in a key", `{"email":{"sub\u0000mitted":true}}`, errs.Invalid, "email"},
		{"NUL in a top-level string", `"\u0000"`, errs.Invalid, "body"},
		{"bytes that are not UTF-8", "{\"title\":\"a\xffb\"}", errs.Malformed, ""},
		{"a raw NUL byte", "{\"title\":\"a\x00b\"}", errs.Malformed, ""},
		{"a string that does not parse is the decoder's to refuse, without hanging", "[\"\\u0000\x17]", "", ""},
		{"an unterminated list does not hang", "[1,\x17", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := JSON([]byte(tc.body))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if got := errs.CodeOf(err); got != tc.code {
				t.Fatalf("got %v, want code %s", err, tc.code)
			}
			if e := errs.Fields(err); tc.field != "" && (len(e) != 1 || e[0].Field != tc.field) {
				t.Fatalf("got %v, want field %s", err, tc.field)
			}
		})
	}
}

func TestFieldsNamesByJSONName(t *testing.T) {
	type ev struct {
		Comment string `json:"comment"`
	}
	type rec struct {
		Title  string  `json:"title"`
		Note   *string `json:"note,omitempty"`
		Events []ev    `json:"events"`
		Raw    []byte  `json:"raw"`
		Skip   string  `json:"-"`
	}
	bad := "a\x00"
	for _, tc := range []struct {
		name  string
		v     rec
		field string
	}{
		{"all valid", rec{Title: "t", Events: []ev{{"c"}}, Raw: []byte{0xff}, Skip: "\xff"}, ""},
		{"title", rec{Title: "\xff"}, "title"},
		{"pointer", rec{Note: &bad}, "note"},
		{"nested", rec{Events: []ev{{"c"}, {bad}}}, "events[1].comment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Fields(tc.v)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if e := errs.Fields(err); len(e) != 1 || e[0].Field != tc.field {
				t.Fatalf("got %v, want invalid naming %s", err, tc.field)
			}
		})
	}
}

func TestReaderHoldsAStreamToTheRule(t *testing.T) {
	cases := []struct {
		name, body string
		bad        bool
	}{
		{"ascii", `{"a":"b"}`, false},
		{"characters of 2, 3 and 4 bytes", "{\"a\":\"é中😀\"}", false},
		{"an invalid byte", "{\"a\":\"\xff\"}", true},
		{"a NUL byte", "{\"a\":\"\x00\"}", true},
		{"a character cut at the end", "{\"a\":\"\xe4\xb8", true},
	}
	for _, c := range cases {
		// One byte at a time, so that every character is cut by a read.
		for name, r := range map[string]io.Reader{
			"whole":       Reader(strings.NewReader(c.body)),
			"byte a time": Reader(iotest.OneByteReader(strings.NewReader(c.body))),
		} {
			got, err := io.ReadAll(r)
			if c.bad {
				if !errs.Is(err, errs.Malformed) {
					t.Errorf("%s, %s: got %q, %v; want a malformed error", c.name, name, got, err)
				}
				continue
			}
			if err != nil || string(got) != c.body {
				t.Errorf("%s, %s: got %q, %v; want %q", c.name, name, got, err, c.body)
			}
		}
	}
}

// A deep document is walked in time linear in its size: the path of a
// string is written out only when it is refused.
func TestJSONOfADeepDocument(t *testing.T) {
	const depth = 200000
	body := strings.Repeat("[", depth) + `"\u0000"` + strings.Repeat("]", depth)
	done := make(chan error, 1)
	go func() { done <- JSON([]byte(body)) }()
	select {
	case err := <-done:
		if !errs.Is(err, errs.Invalid) {
			t.Fatalf("got %v, want invalid", err)
		}
		if want := strings.Repeat("[0]", depth); !strings.Contains(err.Error(), want[:30]) {
			t.Errorf("got %.80s…, want the path [0][0]…", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("JSON of a document 200,000 deep did not return within 20 s")
	}
}

func TestLength(t *testing.T) {
	for _, c := range []struct {
		s        string
		required bool
		max      int
		want     string // the error's message, "" for none
	}{
		{"", false, 5, ""},
		{"", true, 5, "name is required"},
		{"  \t", true, 5, "name is required"},
		{"héllo", true, 5, ""}, // characters, not bytes
		{"héllo!", true, 5, "name must be at most 5 characters"},
	} {
		err := Length("name", c.s, c.required, c.max)
		got := ""
		if err != nil {
			got = errs.Fields(err)[0].Message
		}
		if got != c.want {
			t.Errorf("Length(%q, required %v, max %d): got %q, want %q", c.s, c.required, c.max, got, c.want)
		}
	}
}
