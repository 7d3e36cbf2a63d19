package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/errs"
	"datashare/input"
	"datashare/models"
)

// Service applies the rules of this package to stored requests.
type Service struct {
	db       *models.DB
	policy   Policy
	now      func() time.Time
	keeper   Timekeeper
	notifier Notifier
	status   StatusScope
	projects Projects
}

// Projects says whether a request may join a project and keeps the
// project's clock. The rules live in package projects, which imports this
// one. CheckJoin runs in the transaction that writes the request and
// returns an invalid error naming project_code when the request may not
// join; Recount runs in the transaction of every transition of a request
// of a project, after its history row is written.
type Projects interface {
	CheckJoin(tx *gorm.DB, code, requestingAgency string) error
	Recount(tx *gorm.DB, code string) error
}

// WithProjects makes s accept a project_code checked by p; without it a
// project_code is refused.
func (s *Service) WithProjects(p Projects) *Service {
	s.projects = p
	return s
}

// checkProject refuses a project code r may not carry.
func (s *Service) checkProject(tx *gorm.DB, r *models.Request) error {
	if r.ProjectCode == nil {
		return nil
	}
	if s.projects == nil {
		return errs.Field("project_code", "projects are not available")
	}
	return s.projects.CheckJoin(tx, *r.ProjectCode, r.RequestingAgency)
}

// StatusScope narrows a query on requests to those whose SLA status at now
// is status, or reports false for an unknown status. The SLA rule lives in
// package sla (sla.StatusScope), which imports this one.
type StatusScope func(status string, now time.Time) (func(*gorm.DB) *gorm.DB, bool)

// WithStatusScope makes List filter by SLA status with f.
func (s *Service) WithStatusScope(f StatusScope) *Service {
	s.status = f
	return s
}

// Timekeeper keeps the SLA clock of a request current. Stamp is called in
// the transaction of every transition, before the request is saved, and
// may change only r.SLA.
type Timekeeper interface {
	Stamp(r *models.Request, from, to string, at time.Time)
}

// Notifier hears of every transition taken live (not of imported ones),
// inside the transaction that saves it, so that its messages are written if
// and only if the transition is.
type Notifier interface {
	Transition(ctx context.Context, e Event) error
}

// Event is a transition as the Notifier hears of it.
type Event struct {
	Request     *models.Request // as it is after the action
	Action      Action
	From        State
	To          State
	ActorID     int64
	ActorName   string
	ActorAgency string
	At          time.Time
	Comment     string
}

// WithNotifier makes s tell n of every live transition.
func (s *Service) WithNotifier(n Notifier) *Service {
	s.notifier = n
	return s
}

// WithTimekeeper makes s keep the SLA clock of every request with k.
func (s *Service) WithTimekeeper(k Timekeeper) *Service {
	s.keeper = k
	return s
}

// NewService returns a Service over db with the given approval policy and
// clock. Timestamps are taken from now, in UTC, to the microsecond (the
// precision both databases keep).
func NewService(db *models.DB, policy Policy, now func() time.Time) *Service {
	return &Service{db: db, policy: policy, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// Policy returns the approval policy in force.
func (s *Service) Policy() Policy { return s.policy }

// NewRequest is the input to Create.
type NewRequest struct {
	Title           string
	Purpose         string
	DataDescription string
	Classification  string
	OwnerAgency     string
	LegalBasis      *string
	Project         *string
	ProjectCode     *string // the project to join; nil or "" for none
}

// Patch changes fields of a draft; nil leaves a field as it is, and an empty
// LegalBasis or Project clears it.
type Patch struct {
	Title           *string
	Purpose         *string
	DataDescription *string
	Classification  *string
	OwnerAgency     *string
	LegalBasis      *string
	Project         *string
	ProjectCode     *string
}

func optional(p *string) *string {
	if p == nil {
		return nil
	}
	v := strings.TrimSpace(*p)
	if v == "" {
		return nil
	}
	return &v
}

// validate checks r's fields and reports every problem at once, so that a
// form can show each next to its field; errors.As finds the first.
func (s *Service) validate(r *models.Request) error {
	r.Title = strings.TrimSpace(r.Title)
	r.Purpose = strings.TrimSpace(r.Purpose)
	r.DataDescription = strings.TrimSpace(r.DataDescription)
	r.OwnerAgency = strings.TrimSpace(r.OwnerAgency)
	r.LegalBasis = optional(r.LegalBasis)
	r.Project = optional(r.Project)
	r.ProjectCode = optional(r.ProjectCode)
	checks := []error{
		input.Length("title", r.Title, true, 200),
		input.Length("purpose", r.Purpose, true, 5000),
		input.Length("data_description", r.DataDescription, true, 5000),
	}
	if r.LegalBasis != nil {
		checks = append(checks, input.Length("legal_basis", *r.LegalBasis, false, 1000))
	}
	if r.Project != nil {
		checks = append(checks, input.Length("project", *r.Project, false, 200))
	}
	if n, ok := s.policy.Approvals[r.Classification]; ok {
		r.ApprovalsRequired = n
	} else {
		checks = append(checks, errs.Field("classification", "unknown classification %q; one of %s",
			r.Classification, strings.Join(s.policy.Classifications(), ", ")))
	}
	switch r.OwnerAgency {
	case "":
		checks = append(checks, errs.Field("owner_agency", "owner_agency is required"))
	case r.RequestingAgency:
		checks = append(checks, errs.Field("owner_agency", "owner_agency must differ from your own agency %s", r.RequestingAgency))
	}
	// An unknown owner agency is caught by the foreign key when the row is
	// written (see ownerAgencyError), which saves a query per write.
	return errors.Join(checks...)
}

// ownerAgencyError turns the foreign-key violation of an unknown owner
// agency into the validation error a client should see.
func ownerAgencyError(err error, r *models.Request) error {
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return errs.Field("owner_agency", "unknown agency %q", r.OwnerAgency)
	}
	return err
}

// Create files a new draft for actor. Errors: forbidden unless the actor is a
// requester; invalid for a bad field, an unknown or own owner agency.
func (s *Service) Create(ctx context.Context, actor Actor, in NewRequest) (*models.Request, error) {
	return s.create(ctx, actor, in, time.Time{}, nil)
}

// CreateImported files a draft that was created at at, outside this
// service, under the same rules; externalRef identifies it in its source
// and must be unique (conflict otherwise).
func (s *Service) CreateImported(ctx context.Context, actor Actor, in NewRequest, at time.Time, externalRef string) (*models.Request, error) {
	if at.IsZero() || at.After(s.now()) {
		return nil, errs.Field("at", "the creation time is required and may not be in the future")
	}
	return s.create(ctx, actor, in, at.UTC().Truncate(time.Microsecond), &externalRef)
}

func (s *Service) create(ctx context.Context, actor Actor, in NewRequest, at time.Time, externalRef *string) (*models.Request, error) {
	if err := CanCreate(actor); err != nil {
		return nil, err
	}
	now := s.now()
	if !at.IsZero() {
		now = at
	}
	r := &models.Request{
		Title:            in.Title,
		Purpose:          in.Purpose,
		DataDescription:  in.DataDescription,
		Classification:   in.Classification,
		OwnerAgency:      in.OwnerAgency,
		LegalBasis:       in.LegalBasis,
		Project:          in.Project,
		ProjectCode:      in.ProjectCode,
		RequestingAgency: actor.Agency,
		RequesterID:      actor.ID,
		State:            string(Draft),
		Version:          1,
		CreatedAt:        now,
		UpdatedAt:        now,
		ExternalRef:      externalRef,
	}
	r.SLA.StateSince = &now
	if err := s.validate(r); err != nil {
		return nil, fmt.Errorf("create request: %w", err)
	}
	err := s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		if err := s.checkProject(tx, r); err != nil {
			return err
		}
		if err := tx.Omit(clause.Associations).Create(r).Error; err != nil {
			if models.IsUniqueViolation(err) && externalRef != nil {
				return errs.E(errs.Conflict, "a request with external_ref %q already exists", *externalRef)
			}
			return ownerAgencyError(err, r)
		}
		return models.AppendHistory(tx, []models.Transition{{RequestID: r.ID, Action: string(Create), ToState: string(Draft), ActorID: &actor.ID, At: now}})
	})
	if err != nil {
		return nil, fmt.Errorf("create request: %w", err)
	}
	r.Requester = models.User{ID: actor.ID, Email: actor.Email, Name: actor.Name, AgencyCode: actor.Agency}
	return r, nil
}

// load reads a request with its requester and approvals; lock takes a row
// lock on PostgreSQL (SQLite's IMMEDIATE transactions already serialise
// writers).
func (s *Service) load(tx *gorm.DB, id int64, lock bool) (*models.Request, error) {
	var r models.Request
	q := tx.Joins("Requester")
	if lock && s.db.Dialect == models.Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE", Table: clause.Table{Name: clause.CurrentTable}})
	}
	if err := q.Take(&r, "requests.id = ?", id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, errs.E(errs.NotFound, "request not found")
		}
		return nil, err
	}
	if err := tx.Joins("Approver").Where("approvals.request_id = ?", id).Order("approvals.at, approvals.approver_id").Find(&r.Approvals).Error; err != nil {
		return nil, fmt.Errorf("load approvals: %w", err)
	}
	return &r, nil
}

// FactsOf is what the rules need to know of r.
func FactsOf(r *models.Request) Facts {
	f := Facts{
		State:             State(r.State),
		RequestingAgency:  r.RequestingAgency,
		OwnerAgency:       r.OwnerAgency,
		RequesterID:       r.RequesterID,
		Submitted:         r.SubmittedAt != nil,
		ApprovalsRequired: r.ApprovalsRequired,
	}
	for _, a := range r.Approvals {
		f.Approvers = append(f.Approvers, a.ApproverID)
	}
	return f
}

// Get returns request id as actor may see it, or not_found.
func (s *Service) Get(ctx context.Context, actor Actor, id int64) (*models.Request, error) {
	r, err := s.load(s.db.Conn(ctx), id, false)
	if err != nil {
		return nil, err
	}
	if !CanSee(FactsOf(r), actor) {
		return nil, errs.E(errs.NotFound, "request not found")
	}
	return r, nil
}

// lockForChange locks and loads a request that actor means to change:
// not_found unless actor may see it, precondition_failed unless ifMatch (when
// not 0) is its version.
func (s *Service) lockForChange(tx *gorm.DB, actor Actor, id int64, ifMatch int) (*models.Request, Facts, error) {
	r, err := s.load(tx, id, true)
	if err != nil {
		return nil, Facts{}, err
	}
	f := FactsOf(r)
	if !CanSee(f, actor) {
		return nil, Facts{}, errs.E(errs.NotFound, "request not found")
	}
	if err := checkVersion(r, ifMatch); err != nil {
		return nil, Facts{}, err
	}
	return r, f, nil
}

func checkVersion(r *models.Request, ifMatch int) error {
	if ifMatch != 0 && ifMatch != r.Version {
		return errs.E(errs.PreconditionFailed, "the request has changed: it is at version %d, not %d", r.Version, ifMatch)
	}
	return nil
}

// Update edits a draft. ifMatch, when not 0, is the version the client last
// saw. Errors: not_found, forbidden (not the requester), conflict (not a
// draft), precondition_failed, invalid.
func (s *Service) Update(ctx context.Context, actor Actor, id int64, p Patch, ifMatch int) (*models.Request, error) {
	var out *models.Request
	err := s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		r, f, err := s.lockForChange(tx, actor, id, ifMatch)
		if err != nil {
			return err
		}
		if err := CanEdit(f, actor); err != nil {
			return err
		}
		if p == (Patch{}) {
			out = r
			return nil
		}
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&r.Title, p.Title)
		set(&r.Purpose, p.Purpose)
		set(&r.DataDescription, p.DataDescription)
		set(&r.Classification, p.Classification)
		set(&r.OwnerAgency, p.OwnerAgency)
		if p.LegalBasis != nil {
			r.LegalBasis = p.LegalBasis
		}
		if p.Project != nil {
			r.Project = p.Project
		}
		if p.ProjectCode != nil {
			r.ProjectCode = p.ProjectCode
		}
		if err := s.validate(r); err != nil {
			return err
		}
		if p.ProjectCode != nil {
			if err := s.checkProject(tx, r); err != nil {
				return err
			}
		}
		now := s.now()
		res := tx.Model(&models.Request{}).Where("id = ? AND version = ?", r.ID, r.Version).Updates(map[string]any{
			"title": r.Title, "purpose": r.Purpose, "data_description": r.DataDescription,
			"classification": r.Classification, "owner_agency": r.OwnerAgency,
			"legal_basis": r.LegalBasis, "project": r.Project, "project_code": r.ProjectCode,
			"approvals_required": r.ApprovalsRequired,
			"version":            r.Version + 1, "updated_at": now,
		})
		if res.Error != nil {
			return ownerAgencyError(res.Error, r)
		}
		if res.RowsAffected != 1 {
			return errs.E(errs.Conflict, "the request changed while it was being edited; try again")
		}
		r.Version, r.UpdatedAt = r.Version+1, now
		out = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update request %d: %w", id, err)
	}
	return out, nil
}

// Apply takes action on request id for actor, in one transaction: the row is
// locked, the rules decide, and the new state, version, approval and history
// row are written together or not at all. ifMatch, when not 0, must equal the
// current version. Errors: not_found, precondition_failed, forbidden,
// invalid (missing comment), conflict (wrong state, second approval).
func (s *Service) Apply(ctx context.Context, actor Actor, id int64, act Action, comment string, ifMatch int) (*models.Request, error) {
	return s.apply(ctx, actor, id, act, comment, ifMatch, time.Time{})
}

// Replay applies an action that happened in the past, at at, under the same
// rules; historical imports use it. at must be later than the request's
// last history row and not in the future.
func (s *Service) Replay(ctx context.Context, actor Actor, id int64, act Action, comment string, at time.Time) (*models.Request, error) {
	if at.IsZero() {
		return nil, errs.Field("at", "the time of the action is required")
	}
	return s.apply(ctx, actor, id, act, comment, 0, at.UTC().Truncate(time.Microsecond))
}

func (s *Service) apply(ctx context.Context, actor Actor, id int64, act Action, comment string, ifMatch int, at time.Time) (*models.Request, error) {
	comment = strings.TrimSpace(comment)
	if utf8.RuneCountInString(comment) > 5000 {
		return nil, errs.Field("comment", "comment must be at most 5000 characters")
	}
	var out *models.Request
	err := s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		r, f, err := s.lockForChange(tx, actor, id, ifMatch)
		if err != nil {
			return err
		}
		o, err := Decide(f, actor, act, comment)
		if err != nil {
			return err
		}
		now := s.now()
		if !at.IsZero() {
			if at.After(now) {
				return errs.Field("at", "%s is in the future", at.Format(time.RFC3339))
			}
			var last models.Transition
			if err := tx.Where("request_id = ?", r.ID).Order("id DESC").Take(&last).Error; err != nil {
				return fmt.Errorf("read last transition: %w", err)
			}
			if at.Before(last.At) {
				return errs.Field("at", "%s is earlier than the previous event (%s)", at.Format(time.RFC3339), last.At.UTC().Format(time.RFC3339))
			}
			now = at
		}
		before := r.SLA
		if s.keeper != nil {
			s.keeper.Stamp(r, r.State, string(o.To), now)
		}
		changes := r.SLA.ChangedColumns(before)
		changes["state"], changes["version"], changes["updated_at"] = string(o.To), r.Version+1, now
		if o.Submits {
			changes["submitted_at"] = now
		}
		if o.Closes {
			changes["closed_at"] = now
		}
		res := tx.Model(&models.Request{}).Where("id = ? AND version = ?", r.ID, r.Version).Updates(changes)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			// Only reachable if a writer bypassed the row lock.
			return errs.E(errs.Conflict, "the request changed while the action was applied; try again")
		}
		if o.AddApproval {
			if err := tx.Omit(clause.Associations).Create(&models.Approval{RequestID: r.ID, ApproverID: actor.ID, At: now}).Error; err != nil {
				if models.IsUniqueViolation(err) {
					return errs.E(errs.Conflict, "you have already approved this request")
				}
				return err
			}
		}
		from := r.State
		t := models.Transition{RequestID: r.ID, Action: string(act), FromState: &from, ToState: string(o.To), ActorID: &actor.ID, At: now, Comment: comment}
		if err := models.AppendHistory(tx, []models.Transition{t}); err != nil {
			return err
		}
		if r.ProjectCode != nil && s.projects != nil {
			if err := s.projects.Recount(tx, *r.ProjectCode); err != nil {
				return err
			}
		}
		// The answer is the row as written, without reading it back.
		r.State, r.Version, r.UpdatedAt = string(o.To), r.Version+1, now
		if o.Submits {
			r.SubmittedAt = &now
		}
		if o.Closes {
			r.ClosedAt = &now
		}
		if o.AddApproval {
			r.Approvals = append(r.Approvals, models.Approval{RequestID: r.ID, ApproverID: actor.ID, At: now,
				Approver: models.User{ID: actor.ID, Email: actor.Email, Name: actor.Name, AgencyCode: actor.Agency}})
		}
		out = r
		if s.notifier != nil && at.IsZero() {
			return s.notifier.Transition(ctx, Event{Request: out, Action: act, From: State(from), To: o.To,
				ActorID: actor.ID, ActorName: actor.Name, ActorAgency: actor.Agency, At: now, Comment: comment})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s request %d: %w", act, id, err)
	}
	return out, nil
}

// History returns the transitions of request id, oldest first.
func (s *Service) History(ctx context.Context, actor Actor, id int64) ([]models.Transition, error) {
	if _, err := s.Get(ctx, actor, id); err != nil {
		return nil, err
	}
	var out []models.Transition
	err := s.db.Conn(ctx).Preload("Actor").Where("request_id = ?", id).Order("id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("history of request %d: %w", id, err)
	}
	return out, nil
}
