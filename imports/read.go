package imports

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"datashare/errs"
)

// Source yields the records of an import one at a time: io.EOF after the
// last, a *BadRecord for a record it could not read but can read past, and
// any other error when it cannot go on.
type Source interface {
	Next() (Record, error)
}

// BadRecord is a record a Source could not read.
type BadRecord struct {
	ExternalRef string
	Message     string
}

func (b *BadRecord) Error() string { return fmt.Sprintf("record %s: %s", b.ExternalRef, b.Message) }

// MaxRecordBytes bounds one record of a streamed import, which is all a
// source holds in memory at once.
const MaxRecordBytes = 1 << 20

type batchSource struct {
	b Batch
	i int
}

func (s *batchSource) Next() (Record, error) {
	if s.i >= len(s.b.Requests) {
		return Record{}, io.EOF
	}
	s.i++
	return s.b.Requests[s.i-1], nil
}

// boundedReader fails a read that would take one record past
// MaxRecordBytes: mark is where the current record starts.
type boundedReader struct {
	r          io.Reader
	read, mark int64
}

var errRecordTooLarge = errs.Field("requests", "a record is larger than %d bytes (1 MiB), the most one record may hold", MaxRecordBytes)

func (b *boundedReader) Read(p []byte) (int, error) {
	room := b.mark + MaxRecordBytes + 4096 - b.read
	if room <= 0 {
		return 0, errRecordTooLarge
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	return n, err
}

// JSONSource reads {"requests": [...]} (and, when bare is true, the bare
// list of records, as spreadsheet exports often write it) one record at a
// time.
type JSONSource struct {
	in    *boundedReader
	dec   *json.Decoder
	bare  bool
	state int // 0 before the list, 1 in it, 2 after it
	n     int
	top   bool // the list is inside {"requests": ...}
}

// NewJSONSource returns a JSONSource reading r.
func NewJSONSource(r io.Reader, bare bool) *JSONSource {
	in := &boundedReader{r: r}
	dec := json.NewDecoder(in)
	dec.DisallowUnknownFields()
	return &JSONSource{in: in, dec: dec, bare: bare}
}

const shape = `send the requests as {"requests": [...]}`

func (s *JSONSource) start() error {
	tok, err := s.dec.Token()
	if err != nil {
		return jsonError(err, "")
	}
	switch tok {
	case json.Delim('['):
		if !s.bare {
			return errs.E(errs.Malformed, "%s, not a bare JSON list", shape)
		}
		return nil
	case json.Delim('{'):
	default:
		return errs.E(errs.Malformed, "%s", shape)
	}
	key, err := s.dec.Token()
	if err != nil {
		return jsonError(err, "")
	}
	if key != "requests" {
		return errs.E(errs.Malformed, "%s; the body has %v", shape, key)
	}
	if tok, err := s.dec.Token(); err != nil {
		return jsonError(err, "")
	} else if tok != json.Delim('[') {
		return &errs.Error{Code: errs.Malformed, Field: "requests", Message: "requests must be a list"}
	}
	s.top = true
	return nil
}

// Next returns the next record.
func (s *JSONSource) Next() (Record, error) {
	if s.state == 0 {
		if err := s.start(); err != nil {
			return Record{}, err
		}
		s.state = 1
	}
	if s.state == 2 {
		return Record{}, io.EOF
	}
	if !s.dec.More() {
		if err := s.end(); err != nil {
			return Record{}, err
		}
		s.state = 2
		return Record{}, io.EOF
	}
	s.n++
	s.in.mark = s.dec.InputOffset()
	var rec Record
	err := s.dec.Decode(&rec)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return rec, nil
	case errors.As(err, &typeErr), strings.HasPrefix(err.Error(), "json: unknown field "):
		// The decoder has read past the record: the next one can be read.
		return Record{}, &BadRecord{ExternalRef: rec.ExternalRef, Message: message(jsonError(err, fmt.Sprintf("record %d", s.n)))}
	}
	return Record{}, jsonError(err, fmt.Sprintf("record %d", s.n))
}

// end reads the close of the list and of the object around it, and
// refuses anything after them.
func (s *JSONSource) end() error {
	if _, err := s.dec.Token(); err != nil { // ]
		return jsonError(err, "")
	}
	if s.top {
		tok, err := s.dec.Token()
		if err != nil {
			return jsonError(err, "")
		}
		if tok != json.Delim('}') {
			return errs.E(errs.Malformed, "%s; the body has %v after the list", shape, tok)
		}
	}
	if _, err := s.dec.Token(); err != io.EOF {
		return errs.E(errs.Malformed, "the body goes on after the import")
	}
	return nil
}

// jsonError says what is wrong with the JSON in words for a person; where
// names the record, if any.
func jsonError(err error, where string) error {
	var e *errs.Error
	if errors.As(err, &e) {
		return e
	}
	prefix := ""
	if where != "" {
		prefix = where + ": "
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var timeErr *time.ParseError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return &errs.Error{Code: errs.Malformed, Field: typeErr.Field, Message: fmt.Sprintf("%s%s must be a JSON %s", prefix, typeErr.Field, typeErr.Value)}
	case errors.As(err, &syntaxErr):
		return errs.E(errs.Malformed, "%sthe body is not valid JSON (at byte %d)", prefix, syntaxErr.Offset)
	case errors.As(err, &timeErr):
		return errs.E(errs.Malformed, "%sat must be RFC 3339 like 2025-01-06T10:00:00+08:00", prefix)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &errs.Error{Code: errs.Malformed, Field: name, Message: fmt.Sprintf("%sunknown field %q", prefix, name)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errs.E(errs.Malformed, "%sthe body ends before the import does", prefix)
	}
	return errs.E(errs.Malformed, "%sthe body could not be read: %v", prefix, err)
}

var csvColumns = []string{"external_ref", "title", "purpose", "data_description", "classification",
	"requesting_agency", "owner_agency", "requester_email", "action", "at", "actor_email", "comment"}

// CSVSource reads the CSV form of a batch one record at a time: one row
// per event with the columns of csvColumns; rows of one request share its
// external_ref and follow each other.
type CSVSource struct {
	in          *boundedReader
	cr          *csv.Reader
	col         map[string]int
	line        int
	width       int      // fields of the header
	pending     []string // the first row of the next record
	pendingLine int
	done        bool
}

// NewCSVSource returns a CSVSource reading r.
func NewCSVSource(r io.Reader) *CSVSource {
	in := &boundedReader{r: r}
	cr := csv.NewReader(bufio.NewReader(in))
	cr.FieldsPerRecord = -1 // a short row refuses its record, not the file
	return &CSVSource{in: in, cr: cr}
}

func (s *CSVSource) header() error {
	head, err := s.cr.Read()
	if err == io.EOF {
		return errs.E(errs.Malformed, "the CSV file is empty; its first line names the columns %s", strings.Join(csvColumns, ","))
	}
	if err != nil {
		return errs.E(errs.Malformed, "CSV header: %v", err)
	}
	s.line = 1
	s.width = len(head)
	s.col = map[string]int{}
	for i, h := range head {
		s.col[strings.TrimSpace(strings.ToLower(h))] = i
	}
	for _, c := range csvColumns {
		if _, ok := s.col[c]; !ok {
			return errs.E(errs.Malformed, "CSV header lacks column %q (want %s)", c, strings.Join(csvColumns, ","))
		}
	}
	return nil
}

func (s *CSVSource) row() ([]string, error) {
	s.in.mark = s.cr.InputOffset()
	row, err := s.cr.Read()
	if err == io.EOF {
		s.done = true
		return nil, io.EOF
	}
	s.line++
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, errs.E(errs.Malformed, "CSV line %d: %v", s.line, err)
	}
	return row, nil
}

// Next returns the next record.
func (s *CSVSource) Next() (Record, error) {
	if s.col == nil {
		if err := s.header(); err != nil {
			return Record{}, err
		}
	}
	row, line := s.pending, s.pendingLine
	s.pending = nil
	for row == nil {
		if s.done {
			return Record{}, io.EOF
		}
		var err error
		if row, err = s.row(); err != nil {
			return Record{}, err
		}
		line = s.line
	}
	get := func(row []string, c string) string {
		if i := s.col[c]; i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	ref := get(row, "external_ref")
	rec := Record{
		ExternalRef: ref, Title: get(row, "title"), Purpose: get(row, "purpose"), DataDescription: get(row, "data_description"),
		Classification: get(row, "classification"), RequestingAgency: get(row, "requesting_agency"), OwnerAgency: get(row, "owner_agency"),
		RequesterEmail: get(row, "requester_email"),
	}
	var bad *BadRecord
	for {
		if bad == nil && len(row) != s.width {
			bad = &BadRecord{ExternalRef: ref, Message: fmt.Sprintf("CSV line %d has %d fields, want %d as the header", line, len(row), s.width)}
		}
		if bad == nil {
			at, err := time.Parse(time.RFC3339, get(row, "at"))
			if err != nil {
				bad = &BadRecord{ExternalRef: ref, Message: fmt.Sprintf("CSV line %d: at must be RFC 3339 like 2025-01-06T10:00:00+08:00, got %q", line, get(row, "at"))}
			}
			rec.Events = append(rec.Events, Event{Action: get(row, "action"), At: at, ActorEmail: get(row, "actor_email"), Comment: get(row, "comment")})
		}
		next, err := s.row()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Record{}, err
		}
		if get(next, "external_ref") != ref {
			s.pending, s.pendingLine = next, s.line
			break
		}
		row, line = next, s.line
	}
	if bad != nil {
		return Record{}, bad
	}
	return rec, nil
}

// ReadFile reads a whole batch from JSON ({"requests":[…]}, or the bare
// list of records) or, for a name ending in .csv, CSV.
func ReadFile(r io.Reader, name string) (Batch, error) {
	var src Source = NewJSONSource(r, true)
	if strings.HasSuffix(strings.ToLower(name), ".csv") {
		src = NewCSVSource(r)
	}
	return collect(src, name)
}

// ReadCSV reads the CSV form of a whole batch.
func ReadCSV(r io.Reader) (Batch, error) { return collect(NewCSVSource(r), "CSV") }

func collect(src Source, name string) (Batch, error) {
	var b Batch
	for {
		rec, err := src.Next()
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, fmt.Errorf("read %s: %w", name, err)
		}
		b.Requests = append(b.Requests, rec)
	}
}
