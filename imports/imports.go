// Package imports brings requests that were handled before the service
// existed (years of them, kept in spreadsheets) into it, so that the
// compliance trend starts where the records do. Each request's events are
// replayed through the same state machine and permission rules as live
// actions, with the times they happened.
package imports

import (
	"context"
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
	if len(b.Requests) > MaxRecords && actor.Has(workflow.Admin) {
		return Result{Errors: []RecordError{}}, errs.Field("requests", "import at most %d requests per call", MaxRecords)
	}
	return im.ImportFrom(ctx, actor, &batchSource{b: b})
}

// ImportFrom imports the records of src as Import does, one at a time as
// src reads them, so that an import holds one record in memory. Records
// past MaxRecords and records src could not read are refused in the
// result, with the reason. Errors: forbidden unless admin; invalid when src
// holds no record; src's error when it fails before its first record.
func (im *Importer) ImportFrom(ctx context.Context, actor workflow.Actor, src Source) (Result, error) {
	res := Result{Errors: []RecordError{}}
	if !actor.Has(workflow.Admin) {
		return res, errs.E(errs.Forbidden, "only an admin may import requests")
	}
	seen := map[string]bool{}
	for n := 0; ; n++ {
		rec, err := src.Next()
		var bad *BadRecord
		switch {
		case err == io.EOF:
			if n == 0 {
				return res, errs.Field("requests", "there are no requests to import")
			}
			return res, nil
		case errors.As(err, &bad):
			res.Errors = append(res.Errors, RecordError{ExternalRef: bad.ExternalRef, Message: bad.Message})
			continue
		case err != nil && n == 0:
			return res, err
		case err != nil:
			res.Errors = append(res.Errors, RecordError{Message: message(err) + "; the records after it were not read"})
			return res, nil
		}
		ref := strings.TrimSpace(rec.ExternalRef)
		if n >= MaxRecords {
			res.Errors = append(res.Errors, RecordError{ExternalRef: ref, Message: fmt.Sprintf("past the %d requests one import may hold; import it in another call", MaxRecords)})
			continue
		}
		if seen[ref] && ref != "" {
			res.Errors = append(res.Errors, RecordError{ExternalRef: ref, Message: "external_ref appears more than once in this import"})
			continue
		}
		seen[ref] = true
		skipped, err := im.one(ctx, rec)
		switch {
		case err != nil:
			if errs.CodeOf(err) == errs.Internal {
				return res, err
			}
			res.Errors = append(res.Errors, RecordError{ExternalRef: ref, Message: message(err)})
		case skipped:
			res.Skipped++
		default:
			res.Imported++
		}
	}
}

// message is what a person reads of why a record was refused: the error's
// message, with its field when the message does not name it.
func message(err error) string {
	var e *errs.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if e.Field != "" && !strings.Contains(e.Message, e.Field) {
		return e.Field + ": " + e.Message
	}
	return e.Message
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
