package projects

import (
	"context"
	"fmt"

	"datashare/errs"
	"datashare/models"
	"datashare/workflow"
)

// CanCreate reports why actor may not create a project of their own
// agency, or nil: the rule Create applies (a requester or manager of the
// lead agency, or an admin), so that a page offers New project only to
// those whom Create accepts.
func CanCreate(a workflow.Actor) error {
	return mayManage(a, a.Agency)
}

// CanChange reports why actor may not change p now, or nil: the rule
// Update applies (forbidden unless actor may manage a project of its lead
// agency; conflict once it is closed), so that a page shows its edit
// forms only to those whom Update accepts.
func CanChange(a workflow.Actor, p *models.Project) error {
	if err := mayManage(a, p.LeadAgency); err != nil {
		return err
	}
	if p.State == Closed {
		return errs.E(errs.Conflict, "project %s is closed and cannot be changed", p.Code)
	}
	return nil
}

// Joinable returns the projects a request of actor's agency may join now,
// by code: the active projects that agency leads or is a partner of. It is
// the set CheckJoin accepts, read for a picker; CheckJoin still decides
// when the request is written.
func (s *Service) Joinable(ctx context.Context, actor workflow.Actor) ([]models.Project, error) {
	out := []models.Project{}
	if actor.Agency == "" {
		return out, nil
	}
	tx := s.db.Conn(ctx)
	err := tx.Where("state = ? AND (lead_agency = ? OR code IN (?))", Active, actor.Agency,
		tx.Model(&models.ProjectPartner{}).Select("project_code").Where("agency = ?", actor.Agency)).
		Order("code").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list joinable projects: %w", err)
	}
	return out, nil
}
