// Package imports brings requests that were handled before the service
// existed (years of them, kept in spreadsheets) into it, so that the
// compliance trend starts where the records do. Each request's events are
// replayed through the same state machine and permission rules as live
// actions, with the times they happened.
package imports

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gorm.io/gorm"

	"datashare/accounts"
	"datashare/errs"
	"datashare/input"
	"datashare/models"
	"datashare/workflow"
)

// Event is one past action on a request.
type Event struct {
	Action     string    `json:"action"`
	At         time.Time `json:"at"`
	ActorEmail string    `json:"actor_email"`
	Comment    string    `json:"comment"`
}

// Record is one past request with its events, oldest first. An optional
// first event "create" gives the creation time; otherwise the request is
// taken to have been created at its first event.
type Record struct {
	ExternalRef      string  `json:"external_ref"`
	Title            string  `json:"title"`
	Purpose          string  `json:"purpose"`
	DataDescription  string  `json:"data_description"`
	Classification   string  `json:"classification"`
	RequestingAgency string  `json:"requesting_agency"`
	OwnerAgency      string  `json:"owner_agency"`
	RequesterEmail   string  `json:"requester_email"`
	LegalBasis       *string `json:"legal_basis,omitempty"`
	Project          *string `json:"project,omitempty"`
	Events           []Event `json:"events"`
}

// Batch is the body of an import.
type Batch struct {
	Requests []Record `json:"requests"`
}

// RecordError says why one record was not imported.
type RecordError struct {
	ExternalRef string `json:"external_ref"`
	Message     string `json:"message"`
}

// Result counts an import.
type Result struct {
	Imported int           `json:"imported"`
	Skipped  int           `json:"skipped"`
	Errors   []RecordError `json:"errors"`
}

// MaxRecords bounds one import call.
const MaxRecords = 10000

// Importer replays records through the workflow.
type Importer struct {
	db  *models.DB
	acc *accounts.Service
	wf  *workflow.Service
}

// New returns an Importer.
func New(db *models.DB, acc *accounts.Service, wf *workflow.Service) *Importer {
	return &Importer{db: db, acc: acc, wf: wf}
}

// Import imports each record in a transaction of its own: a record is
// imported whole or not at all, and one bad record does not stop the
// others. A record whose external_ref is already present is skipped, so an
// import can be run again. Errors: forbidden unless admin; invalid when the
// batch is empty or too large.
func (im *Importer) Import(ctx context.Context, actor workflow.Actor, b Batch) (Result, error) {
	res := Result{Errors: []RecordError{}}
	if !actor.Has(workflow.Admin) {
		return res, errs.E(errs.Forbidden, "only an admin may import requests")
	}
	if len(b.Requests) == 0 {
		return res, errs.Field("requests", "there are no requests to import")
	}
	if len(b.Requests) > MaxRecords {
		return res, errs.Field("requests", "import at most %d requests per call", MaxRecords)
	}
	seen := map[string]bool{}
	for _, rec := range b.Requests {
		ref := strings.TrimSpace(rec.ExternalRef)
		if seen[ref] && ref != "" {
			res.Errors = append(res.Errors, RecordError{ExternalRef: ref, Message: "external_ref appears more than once in this import"})
			continue
		}
		seen[ref] = true
		skipped, err := im.one(ctx, rec)
		switch {
		case err != nil:
			msg := err.Error()
			var e *errs.Error
			if errors.As(err, &e) {
				msg = e.Message
				if e.Field != "" && !strings.Contains(msg, e.Field) {
					msg = e.Field + ": " + msg
				}
			} else if errs.CodeOf(err) == errs.Internal {
				return res, err
			}
			res.Errors = append(res.Errors, RecordError{ExternalRef: ref, Message: msg})
		case skipped:
			res.Skipped++
		default:
			res.Imported++
		}
	}
	return res, nil
}

func (im *Importer) one(ctx context.Context, rec Record) (skipped bool, err error) {
	if err := input.Fields(rec); err != nil {
		return false, err
	}
	ref := strings.TrimSpace(rec.ExternalRef)
	if ref == "" || len(ref) > 200 {
		return false, errs.Field("external_ref", "external_ref is required (at most 200 characters)")
	}
	if len(rec.Events) == 0 {
		return false, errs.Field("events", "a request needs at least one event")
	}
	for i, ev := range rec.Events {
		if ev.At.IsZero() {
			return false, errs.Field("events", "event %d has no time", i+1)
		}
		if i > 0 && !ev.At.After(rec.Events[i-1].At) {
			return false, errs.Field("events", "event %d (%s) is not later than the one before", i+1, ev.At.UTC().Format(time.RFC3339))
		}
	}
	err = im.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.Request{}).Where("external_ref = ?", ref).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			skipped = true
			return nil
		}
		requester, err := im.acc.UserByEmail(ctx, rec.RequesterEmail)
		if err != nil {
			return errs.Field("requester_email", "no user with email %q", rec.RequesterEmail)
		}
		if requester.AgencyCode != rec.RequestingAgency {
			return errs.Field("requesting_agency", "the requester %s belongs to %s, not %s", requester.Email, requester.AgencyCode, rec.RequestingAgency)
		}
		events := rec.Events
		created := events[0].At
		if events[0].Action == string(workflow.Create) {
			if events[0].ActorEmail != "" && !strings.EqualFold(events[0].ActorEmail, requester.Email) {
				return errs.Field("events", "the create event must be the requester's")
			}
			events = events[1:]
		}
		r, err := im.wf.CreateImported(ctx, accounts.ActorOf(requester), workflow.NewRequest{
			Title: rec.Title, Purpose: rec.Purpose, DataDescription: rec.DataDescription,
			Classification: rec.Classification, OwnerAgency: rec.OwnerAgency,
			LegalBasis: rec.LegalBasis, Project: rec.Project,
		}, created, ref)
		if err != nil {
			return err
		}
		for i, ev := range events {
			act, err := workflow.ParseAction(ev.Action)
			if err != nil {
				return errs.Field("events", "event %q: unknown action", ev.Action)
			}
			u, err := im.acc.UserByEmail(ctx, ev.ActorEmail)
			if err != nil {
				return errs.Field("events", "event %d: no user with email %q", i+1, ev.ActorEmail)
			}
			if _, err := im.wf.Replay(ctx, accounts.ActorOf(u), r.ID, act, ev.Comment, ev.At); err != nil {
				var e *errs.Error
				if errors.As(err, &e) {
					return &errs.Error{Code: e.Code, Field: e.Field, Message: fmt.Sprintf("event %d (%s by %s): %s", i+1, ev.Action, u.Email, e.Message)}
				}
				return err
			}
		}
		return nil
	})
	return skipped, err
}

// ReadFile reads a batch from JSON ({"requests":[…]}, or the bare list of
// records, as spreadsheet exports often write it) or CSV: one row per
// event with the columns of csvColumns; rows of one request share its
// external_ref and follow each other.
func ReadFile(r io.Reader, name string) (Batch, error) {
	if strings.HasSuffix(strings.ToLower(name), ".csv") {
		return ReadCSV(r)
	}
	var b Batch
	body, err := io.ReadAll(r)
	if err != nil {
		return b, fmt.Errorf("read %s: %w", name, err)
	}
	var dst any = &b
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' {
		dst = &b.Requests
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return b, fmt.Errorf("read %s: want {\"requests\": [...]} or a list of requests: %w", name, err)
	}
	return b, nil
}

var csvColumns = []string{"external_ref", "title", "purpose", "data_description", "classification",
	"requesting_agency", "owner_agency", "requester_email", "action", "at", "actor_email", "comment"}

// ReadCSV reads the CSV form of a batch.
func ReadCSV(r io.Reader) (Batch, error) {
	var b Batch
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return b, fmt.Errorf("read CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.ToLower(h))] = i
	}
	for _, c := range csvColumns {
		if _, ok := col[c]; !ok {
			return b, fmt.Errorf("CSV header lacks column %q (want %s)", c, strings.Join(csvColumns, ","))
		}
	}
	line := 1
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return b, nil
		}
		line++
		if err != nil {
			return b, fmt.Errorf("CSV line %d: %w", line, err)
		}
		get := func(c string) string { return strings.TrimSpace(row[col[c]]) }
		at, err := time.Parse(time.RFC3339, get("at"))
		if err != nil {
			return b, fmt.Errorf("CSV line %d: at must be RFC 3339 like 2025-01-06T10:00:00+08:00: %w", line, err)
		}
		ev := Event{Action: get("action"), At: at, ActorEmail: get("actor_email"), Comment: get("comment")}
		ref := get("external_ref")
		if n := len(b.Requests); n > 0 && b.Requests[n-1].ExternalRef == ref {
			b.Requests[n-1].Events = append(b.Requests[n-1].Events, ev)
			continue
		}
		b.Requests = append(b.Requests, Record{
			ExternalRef: ref, Title: get("title"), Purpose: get("purpose"), DataDescription: get("data_description"),
			Classification: get("classification"), RequestingAgency: get("requesting_agency"), OwnerAgency: get("owner_agency"),
			RequesterEmail: get("requester_email"), Events: []Event{ev},
		})
	}
}
