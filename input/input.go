// Package input holds the one rule every text from outside obeys before the
// service uses it: valid UTF-8 without NUL. PostgreSQL stores neither an
// invalid byte sequence nor NUL in a text column (it fails the statement),
// and SQLite would keep what no client can read back as text, so the rule
// is checked at every edge (request bodies, query parameters, path
// segments, headers, form fields, imported records) and both databases see
// the same text.
package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"datashare/errs"
)

// Valid reports whether s is valid UTF-8 without NUL.
func Valid(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// Text returns an Invalid error naming field unless s is Valid.
func Text(field, s string) error {
	if Valid(s) {
		return nil
	}
	return errs.Field(field, "%s holds a character that cannot be stored: send UTF-8 text without NUL", field)
}

// Length returns an Invalid error naming field when s is blank though
// required, or longer than max characters: the one length rule of the
// services' text fields.
func Length(field, s string, required bool, max int) error {
	if required && strings.TrimSpace(s) == "" {
		return errs.Field(field, "%s is required", field)
	}
	if utf8.RuneCountInString(s) > max {
		return errs.Field(field, "%s must be at most %d characters", field, max)
	}
	return nil
}

// JSON checks every string of a JSON document, keys and values alike, at
// any depth. Errors: malformed when body is not UTF-8 (a JSON text must
// be, and a decoder would silently replace the bytes); invalid naming the
// path of the first string holding NUL (written \u0000), like
// events[2].comment. A document that does not parse is left to the
// decoder to describe: JSON returns nil for it.
func JSON(body []byte) error {
	if err := UTF8(body); err != nil {
		return err
	}
	if !bytes.Contains(body, []byte(`\u0000`)) {
		return nil // the only way left for a decoded string to hold NUL
	}
	err := walkJSON(json.NewDecoder(bytes.NewReader(body)), &jsonPath{})
	if errors.Is(err, errNotJSON) {
		return nil
	}
	return err
}

// UTF8 returns a malformed error unless body is valid UTF-8 without a NUL
// byte.
func UTF8(body []byte) error {
	if !utf8.Valid(body) {
		return errs.E(errs.Malformed, "the body is not valid UTF-8 (at byte %d)", invalidAt(body))
	}
	if i := bytes.IndexByte(body, 0); i >= 0 {
		return errs.E(errs.Malformed, "the body holds a NUL byte (at byte %d)", i)
	}
	return nil
}

func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// errNotJSON stops a walk at the first token that does not parse: the
// decoder that reads the document says why.
var errNotJSON = errors.New("not JSON")

// walkJSON checks the value starting at the decoder's next token; path
// names it. It returns errNotJSON when the document stops parsing, so that
// no loop waits on a decoder that cannot move on.
func walkJSON(dec *json.Decoder, path *jsonPath) error {
	tok, err := dec.Token()
	if err != nil {
		return errNotJSON
	}
	switch t := tok.(type) {
	case string:
		if !Valid(t) {
			return Text(nameOr(path.String()), t)
		}
	case json.Delim:
		switch t {
		case '{':
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return errNotJSON
				}
				key, _ := kt.(string)
				if !Valid(key) {
					return Text(nameOr(path.String()), key)
				}
				path.push(key, -1)
				err = walkJSON(dec, path)
				path.pop()
				if err != nil {
					return err
				}
			}
		case '[':
			for i := 0; dec.More(); i++ {
				path.push("", i)
				err := walkJSON(dec, path)
				path.pop()
				if err != nil {
					return err
				}
			}
		}
		if _, err := dec.Token(); err != nil {
			return errNotJSON
		}
	}
	return nil
}

// jsonPath is where a walk is in a document, written out only for an
// error: building it at every level would cost the square of the depth.
type jsonPath struct {
	steps []jsonStep
}

type jsonStep struct {
	key   string
	index int // -1 for a key
}

func (p *jsonPath) push(key string, index int) { p.steps = append(p.steps, jsonStep{key, index}) }
func (p *jsonPath) pop()                       { p.steps = p.steps[:len(p.steps)-1] }

// String is the path as events[2].comment.
func (p *jsonPath) String() string {
	var b strings.Builder
	for _, s := range p.steps {
		if s.index >= 0 {
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return b.String()
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func nameOr(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// Fields checks every string reachable from v through exported fields,
// pointers, slices and maps, naming each by its JSON name (events[2].comment).
// Errors: invalid naming the first string that is not Valid.
func Fields(v any) error {
	return walkValue(reflect.ValueOf(v), "")
}

func walkValue(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.String:
		return Text(nameOr(path), v.String())
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walkValue(v.Elem(), path)
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // bytes, not text
		}
		for i := 0; i < v.Len(); i++ {
			if err := walkValue(v.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if err := walkValue(it.Key(), nameOr(path)); err != nil {
				return err
			}
			if err := walkValue(it.Value(), path); err != nil {
				return err
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if f.Anonymous && f.Tag.Get("json") == "" {
				name = ""
			}
			p := join(path, name)
			if name == "" {
				p = path
			}
			if err := walkValue(v.Field(i), p); err != nil {
				return err
			}
		}
	}
	return nil
}

// Reader returns r held to UTF8's rule as it is read, for a body decoded
// as a stream rather than read whole: the first byte that breaks it ends
// the reading with the same malformed error.
func Reader(r io.Reader) io.Reader { return &utf8Reader{r: r} }

type utf8Reader struct {
	r    io.Reader
	tail []byte // the first bytes of a character the last read cut
	off  int    // bytes passed on so far
}

func (u *utf8Reader) Read(p []byte) (int, error) {
	if len(u.tail) >= len(p) {
		// Too small a buffer to pass on a held character with its end.
		return 0, io.ErrShortBuffer
	}
	k := copy(p, u.tail)
	n, err := u.r.Read(p[k:])
	n += k
	// Pass on every whole character; hold back one that the read cut.
	i := 0
	for i < n {
		if p[i] == 0 {
			return 0, errs.E(errs.Malformed, "the body holds a NUL byte (at byte %d)", u.off+i)
		}
		if p[i] < utf8.RuneSelf {
			i++
			continue
		}
		if !utf8.FullRune(p[i:n]) && err == nil {
			break
		}
		c, size := utf8.DecodeRune(p[i:n])
		if c == utf8.RuneError && size == 1 {
			return 0, errs.E(errs.Malformed, "the body is not valid UTF-8 (at byte %d)", u.off+i)
		}
		i += size
	}
	u.tail = append(u.tail[:0], p[i:n]...)
	u.off += i
	if i == 0 && err == nil && n > 0 {
		// Only the start of a character so far: read on for its end.
		return u.Read(p)
	}
	return i, err
}
