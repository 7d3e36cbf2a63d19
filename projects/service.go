package projects

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/errs"
	"datashare/input"
	"datashare/models"
	"datashare/sla"
	"datashare/workflow"
)

// States of a project.
const (
	Active = "active"
	Closed = "closed"
)

var codePattern = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{1,39}$`)

// Service creates, reads, lists and changes projects, and is the one home
// of who may see and change them and which requests may join them.
type Service struct {
	db     *models.DB
	keeper *sla.Keeper
	now    func() time.Time
	notify Notifier // of the check's flags (check.go); nil tells nobody
}

// NewService returns a Service over db whose clocks count on the calendar
// and targets of keeper.
func NewService(db *models.DB, keeper *sla.Keeper, now func() time.Time) *Service {
	return &Service{db: db, keeper: keeper, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// Project is a project with its partners, its requests and its clock.
type Project struct {
	models.Project
	Partners []string // sorted
	// Requests are the project's requests listed to the reader (see
	// listed), by id.
	Requests []models.Request
	Clock    Clock
}

// NewProject is the input to Create.
type NewProject struct {
	Code        string
	Name        string
	LeadAgency  string // empty: the creator's agency
	Description string
	Partners    []string
}

// Patch changes a project; nil leaves a field as it is.
type Patch struct {
	Name           *string
	Description    *string
	AddPartners    []string
	RemovePartners []string
	State          *string // closed closes the project
}

func (p Patch) empty() bool {
	return p.Name == nil && p.Description == nil && len(p.AddPartners) == 0 && len(p.RemovePartners) == 0 && p.State == nil
}

// mayManage reports why actor may not create or change a project led by
// lead, or nil: a requester or manager of the lead agency, or an admin.
func mayManage(a workflow.Actor, lead string) error {
	if a.Has(workflow.Admin) {
		return nil
	}
	if a.Agency != lead || !(a.Has(workflow.Requester) || a.Has(workflow.Manager)) {
		return errs.E(errs.Forbidden, "only a requester or manager of the lead agency %s, or an admin, may do this", lead)
	}
	return nil
}

// Create makes a project. Errors: forbidden unless actor may manage a
// project of the lead agency; invalid for a bad code, name, description,
// lead agency or partner; conflict when the code is taken.
func (s *Service) Create(ctx context.Context, actor workflow.Actor, in NewProject) (*Project, error) {
	p := models.Project{
		Code: strings.TrimSpace(in.Code), Name: strings.TrimSpace(in.Name),
		LeadAgency: strings.TrimSpace(in.LeadAgency), Description: strings.TrimSpace(in.Description),
		State: Active, CreatedAt: s.now(), CreatedBy: actor.ID, Clock: models.ProjectClock{Status: sla.NotStarted},
	}
	if p.LeadAgency == "" {
		p.LeadAgency = actor.Agency
	}
	if err := mayManage(actor, p.LeadAgency); err != nil {
		return nil, err
	}
	checks := []error{input.Length("name", p.Name, true, 200), input.Length("description", p.Description, false, 5000)}
	if !codePattern.MatchString(p.Code) {
		checks = append(checks, errs.Field("code", "code must be 2 to 40 upper-case letters, digits or hyphens, starting with a letter or digit, like ELDERCARE-2026"))
	}
	partners, err := cleanPartners(in.Partners, p.LeadAgency, "partners")
	checks = append(checks, err)
	if err := errors.Join(checks...); err != nil {
		return nil, fmt.Errorf("create project: %w", err)
	}
	err = s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		if err := mustAgencies(tx, "lead_agency", []string{p.LeadAgency}); err != nil {
			return err
		}
		if err := mustAgencies(tx, "partners", partners); err != nil {
			return err
		}
		if err := tx.Create(&p).Error; err != nil {
			if models.IsUniqueViolation(err) {
				return errs.E(errs.Conflict, "a project with code %s already exists", p.Code)
			}
			return err
		}
		return addPartners(tx, p.Code, partners)
	})
	if err != nil {
		return nil, fmt.Errorf("create project: %w", err)
	}
	clock := clockOf(p.Clock, s.keeper.Calendar(), s.keeper.Settings(), p.CreatedAt)
	return &Project{Project: p, Partners: partners, Requests: []models.Request{}, Clock: clock}, nil
}

// cleanPartners trims, sorts and deduplicates agency codes, refusing the
// lead agency itself.
func cleanPartners(in []string, lead, field string) ([]string, error) {
	out := []string{}
	for _, a := range in {
		a = strings.TrimSpace(a)
		if a == "" {
			return nil, errs.Field(field, "a partner agency code is empty")
		}
		if a == lead {
			return nil, errs.Field(field, "the lead agency %s cannot be its own partner", lead)
		}
		out = append(out, a)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func mustAgencies(tx *gorm.DB, field string, codes []string) error {
	if len(codes) == 0 {
		return nil
	}
	var found []string
	if err := tx.Model(&models.Agency{}).Where("code IN ?", codes).Pluck("code", &found).Error; err != nil {
		return fmt.Errorf("find agencies: %w", err)
	}
	for _, c := range codes {
		if !slices.Contains(found, c) {
			return errs.Field(field, "unknown agency %q", c)
		}
	}
	return nil
}

func addPartners(tx *gorm.DB, code string, agencies []string) error {
	for _, a := range agencies {
		err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&models.ProjectPartner{ProjectCode: code, Agency: a}).Error
		if err != nil {
			return fmt.Errorf("add partner %s: %w", a, err)
		}
	}
	return nil
}

// CanSee reports whether actor may see a project led by lead with these
// partners, of whose submitted requests owners names the owner agencies:
// admins, the lead and partner agencies, and an owner agency through its
// own requests (once submitted, as for the requests themselves).
func CanSee(a workflow.Actor, lead string, partners, owners []string) bool {
	return a.Has(workflow.Admin) || a.Agency == lead || slices.Contains(partners, a.Agency) || slices.Contains(owners, a.Agency)
}

// load reads a project and its partners as actor may see it, or not_found.
func (s *Service) load(tx *gorm.DB, actor workflow.Actor, code string, lock bool) (*Project, error) {
	var p models.Project
	q := tx
	if lock && s.db.Dialect == models.Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	if err := q.Take(&p, "code = ?", code).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, errs.E(errs.NotFound, "project not found")
		}
		return nil, fmt.Errorf("load project %s: %w", code, err)
	}
	out := &Project{Project: p, Partners: []string{}}
	if err := tx.Model(&models.ProjectPartner{}).Where("project_code = ?", code).Order("agency").Pluck("agency", &out.Partners).Error; err != nil {
		return nil, fmt.Errorf("load partners of %s: %w", code, err)
	}
	var owners []string
	if !CanSee(actor, p.LeadAgency, out.Partners, nil) {
		err := tx.Model(&models.Request{}).Where("project_code = ? AND owner_agency = ? AND submitted_at IS NOT NULL", code, actor.Agency).
			Limit(1).Pluck("owner_agency", &owners).Error
		if err != nil {
			return nil, fmt.Errorf("find requests of %s: %w", code, err)
		}
	}
	if !CanSee(actor, p.LeadAgency, out.Partners, owners) {
		return nil, errs.E(errs.NotFound, "project not found")
	}
	return out, nil
}

// Get returns project code with the requests actor may see and its clock
// at now, or not_found.
func (s *Service) Get(ctx context.Context, actor workflow.Actor, code string) (*Project, error) {
	tx := s.db.Conn(ctx)
	p, err := s.load(tx, actor, code, false)
	if err != nil {
		return nil, err
	}
	if err := s.fill(tx, actor, []*Project{p}); err != nil {
		return nil, err
	}
	return p, nil
}

// List returns the projects actor may see, by code, each with its clock
// as stored (see Recount) and without its requests.
func (s *Service) List(ctx context.Context, actor workflow.Actor) ([]*Project, error) {
	tx := s.db.Conn(ctx)
	q := tx.Model(&models.Project{}).Order("code")
	if !actor.Has(workflow.Admin) {
		q = q.Where("lead_agency = ? OR code IN (?) OR code IN (?)", actor.Agency,
			tx.Model(&models.ProjectPartner{}).Select("project_code").Where("agency = ?", actor.Agency),
			tx.Model(&models.Request{}).Select("project_code").
				Where("project_code IS NOT NULL AND owner_agency = ? AND submitted_at IS NOT NULL", actor.Agency))
	}
	var rows []models.Project
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	out := make([]*Project, len(rows))
	codes := make([]string, len(rows))
	for i, r := range rows {
		out[i] = &Project{Project: r, Partners: []string{}}
		codes[i] = r.Code
	}
	if len(rows) == 0 {
		return out, nil
	}
	var partners []models.ProjectPartner
	if err := tx.Where("project_code IN ?", codes).Order("agency").Find(&partners).Error; err != nil {
		return nil, fmt.Errorf("list partners: %w", err)
	}
	for _, pp := range partners {
		i, _ := slices.BinarySearch(codes, pp.ProjectCode)
		out[i].Partners = append(out[i].Partners, pp.Agency)
	}
	now, cal, set := s.now(), s.keeper.Calendar(), s.keeper.Settings()
	for _, p := range out {
		p.Clock = clockOf(p.Project.Clock, cal, set, now)
	}
	return out, nil
}

// fill reads the requests of ps and their histories and computes each
// clock at now; a project keeps only the requests actor may see.
func (s *Service) fill(tx *gorm.DB, actor workflow.Actor, ps []*Project) error {
	codes := make([]string, len(ps))
	byCode := map[string]*Project{}
	for i, p := range ps {
		codes[i] = p.Code
		byCode[p.Code] = p
		p.Requests = []models.Request{}
	}
	var rs []models.Request
	if err := tx.Where("project_code IN ?", codes).Order("id").Find(&rs).Error; err != nil {
		return fmt.Errorf("load requests of projects: %w", err)
	}
	for _, r := range rs {
		if p := byCode[*r.ProjectCode]; listed(actor, p, &r) {
			p.Requests = append(p.Requests, r)
		}
	}
	hs, err := historiesOf(tx, rs)
	if err != nil {
		return err
	}
	now, cal, set := s.now(), s.keeper.Calendar(), s.keeper.Settings()
	for _, p := range ps {
		p.Clock = Compute(hs[p.Code], cal, set, now)
	}
	return nil
}

// listed reports whether p's answer to actor lists request r: the lead and
// partner agencies (and admins) see every submitted request of the project,
// as they plan with it, other agencies the requests they may see anyway;
// a draft stays private to its requesting agency.
func listed(actor workflow.Actor, p *Project, r *models.Request) bool {
	if workflow.CanSee(workflow.FactsOf(r), actor) {
		return true
	}
	return r.SubmittedAt != nil && CanSee(actor, p.LeadAgency, p.Partners, nil)
}

// Update changes project code. Errors: not_found; forbidden unless actor may
// manage it; conflict when it is closed; invalid for a bad field, an
// unknown state or partner.
func (s *Service) Update(ctx context.Context, actor workflow.Actor, code string, in Patch) (*Project, error) {
	var out *Project
	err := s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		p, err := s.load(tx, actor, code, true)
		if err != nil {
			return err
		}
		if err := CanChange(actor, &p.Project); err != nil {
			return err
		}
		if err := s.change(tx, p, in); err != nil {
			return err
		}
		out = p
		return s.fill(tx, actor, []*Project{p})
	})
	if err != nil {
		return nil, fmt.Errorf("update project %s: %w", code, err)
	}
	return out, nil
}

func (s *Service) change(tx *gorm.DB, p *Project, in Patch) error {
	if in.empty() {
		return nil
	}
	set := map[string]any{}
	var checks []error
	if in.Name != nil {
		p.Name = strings.TrimSpace(*in.Name)
		checks = append(checks, input.Length("name", p.Name, true, 200))
		set["name"] = p.Name
	}
	if in.Description != nil {
		p.Description = strings.TrimSpace(*in.Description)
		checks = append(checks, input.Length("description", p.Description, false, 5000))
		set["description"] = p.Description
	}
	if in.State != nil {
		switch *in.State {
		case Active, Closed:
			p.State = *in.State
			set["state"] = p.State
		default:
			checks = append(checks, errs.Field("state", "state must be active or closed"))
		}
	}
	add, err := cleanPartners(in.AddPartners, p.LeadAgency, "add_partners")
	checks = append(checks, err)
	remove, err := cleanPartners(in.RemovePartners, p.LeadAgency, "remove_partners")
	checks = append(checks, err)
	for _, a := range remove {
		if !slices.Contains(p.Partners, a) {
			checks = append(checks, errs.Field("remove_partners", "agency %q is not a partner of project %s", a, p.Code))
			break
		}
	}
	for _, a := range add {
		if slices.Contains(remove, a) {
			checks = append(checks, errs.Field("remove_partners", "agency %s is both added and removed", a))
		}
	}
	if err := errors.Join(checks...); err != nil {
		return err
	}
	if err := mustAgencies(tx, "add_partners", add); err != nil {
		return err
	}
	if len(set) > 0 {
		if err := tx.Model(&models.Project{}).Where("code = ?", p.Code).Updates(set).Error; err != nil {
			return fmt.Errorf("save project: %w", err)
		}
	}
	if err := addPartners(tx, p.Code, add); err != nil {
		return err
	}
	if len(remove) > 0 {
		if err := tx.Where("project_code = ? AND agency IN ?", p.Code, remove).Delete(&models.ProjectPartner{}).Error; err != nil {
			return fmt.Errorf("remove partners: %w", err)
		}
	}
	p.Partners = slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(append(p.Partners, add...)))),
		func(a string) bool { return slices.Contains(remove, a) })
	return nil
}

// CheckJoin refuses, as an invalid project_code, a request of
// requestingAgency joining project code: unknown, closed, or led by another
// agency that has not added requestingAgency as a partner. It runs in the
// transaction that writes the request, and on PostgreSQL holds the
// project's row so that a close cannot slip in between.
func (s *Service) CheckJoin(tx *gorm.DB, code, requestingAgency string) error {
	var p models.Project
	q := tx
	if s.db.Dialect == models.Postgres {
		q = q.Clauses(clause.Locking{Strength: "SHARE"})
	}
	if err := q.Take(&p, "code = ?", code).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return errs.Field("project_code", "unknown project %q", code)
		}
		return fmt.Errorf("find project %s: %w", code, err)
	}
	if p.State == Closed {
		return errs.Field("project_code", "project %s is closed and takes no more requests", code)
	}
	if p.LeadAgency == requestingAgency {
		return nil
	}
	var n int64
	if err := tx.Model(&models.ProjectPartner{}).Where("project_code = ? AND agency = ?", code, requestingAgency).Count(&n).Error; err != nil {
		return fmt.Errorf("find partner of %s: %w", code, err)
	}
	if n == 0 {
		return errs.Field("project_code", "project %s is led by %s, which has not added %s as a partner", code, p.LeadAgency, requestingAgency)
	}
	return nil
}
