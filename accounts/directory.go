package accounts

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"datashare/errs"
	"datashare/models"
	"datashare/workflow"
)

// RenameAgency changes the name of an agency; its code, which users and
// requests refer to, stays. Errors: forbidden unless admin; invalid name;
// not_found for an unknown code.
func (s *Service) RenameAgency(ctx context.Context, caller workflow.Actor, code, name string) (models.Agency, error) {
	if err := requireAdmin(caller); err != nil {
		return models.Agency{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return models.Agency{}, errs.Field("name", "agency name is required (at most 200 characters)")
	}
	res := s.db.Conn(ctx).Model(&models.Agency{}).Where("code = ?", code).Update("name", name)
	if res.Error != nil {
		return models.Agency{}, fmt.Errorf("rename agency %s: %w", code, res.Error)
	}
	if res.RowsAffected == 0 {
		return models.Agency{}, errs.E(errs.NotFound, "no agency %s", code)
	}
	var a models.Agency
	err := s.db.Conn(ctx).Take(&a, "code = ?", code).Error
	return a, err
}

// UserFilter narrows FindUsers; a zero field does not narrow.
type UserFilter struct {
	Search string // part of the name or email, any case
	Agency string // agency code
	Role   string
	Active string // "active", "deactivated", or "" for both
}

// FindUsers returns the users that match f, in the order of ListUsers;
// admins only. Errors: forbidden; invalid role or active.
func (s *Service) FindUsers(ctx context.Context, caller workflow.Actor, f UserFilter) ([]models.User, error) {
	if f.Role != "" && !slices.Contains(workflow.Roles, workflow.Role(f.Role)) {
		return nil, errs.Field("role", "unknown role %q; roles are requester, approver, manager and admin", f.Role)
	}
	if f.Active != "" && f.Active != "active" && f.Active != "deactivated" {
		return nil, errs.Field("active", "active must be active or deactivated")
	}
	us, err := s.ListUsers(ctx, caller)
	if err != nil {
		return nil, err
	}
	term := strings.ToLower(strings.TrimSpace(f.Search))
	out := us[:0]
	for _, u := range us {
		switch {
		case term != "" && !strings.Contains(strings.ToLower(u.Name), term) && !strings.Contains(u.Email, term):
		case f.Agency != "" && u.AgencyCode != f.Agency:
		case f.Role != "" && !slices.Contains(RolesOf(u), workflow.Role(f.Role)):
		case f.Active != "" && u.Active() != (f.Active == "active"):
		default:
			out = append(out, u)
		}
	}
	return out, nil
}
