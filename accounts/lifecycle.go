package accounts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/errs"
	"datashare/models"
	"datashare/workflow"
)

// ErrDeactivated answers a deactivated user's sign-in (once the password
// matched) and their tokens.
var ErrDeactivated = errs.E(errs.Unauthenticated, "this account is deactivated; ask your agency's datashare admin")

// UserPatch is the input to UpdateUser; a nil field is left as it is.
type UserPatch struct {
	Name     *string
	Roles    []string // nil leaves the roles; an empty list is refused
	Agency   *string
	Active   *bool
	Password *string
}

// UpdateUser changes user id as an admin asks. In the same transaction it
// ends the user's web sessions (by moving their session epoch on) when they
// are deactivated or their agency, roles or password change, and deletes
// their API tokens when they are deactivated or change agency; every
// replica sees the change at the user's next request. Roles changed alone
// keep the tokens, which carry no roles of their own.
//
// So that a deployment always keeps an admin who can act, an admin may not
// deactivate themselves, remove their own admin role, or change their own
// agency (which would revoke the token they are using): another admin must.
//
// Errors: forbidden unless admin; not_found for an unknown user; invalid,
// naming every field at fault (name, roles, agency for an unknown agency or
// one's own, active for oneself, password).
func (s *Service) UpdateUser(ctx context.Context, caller workflow.Actor, id int64, p UserPatch) (models.User, error) {
	if err := requireAdmin(caller); err != nil {
		return models.User{}, err
	}
	var checks []error
	if caller.ID == id {
		if p.Active != nil && !*p.Active {
			checks = append(checks, errs.Field("active", "you cannot deactivate yourself; ask another admin"))
		}
		if p.Roles != nil && !slices.Contains(p.Roles, string(workflow.Admin)) {
			checks = append(checks, errs.Field("roles", "you cannot remove your own admin role; ask another admin"))
		}
		if p.Agency != nil && strings.TrimSpace(*p.Agency) != caller.Agency {
			checks = append(checks, errs.Field("agency", "you cannot change your own agency, which would revoke your tokens; ask another admin"))
		}
	}
	return s.updateUser(ctx, id, p, checks)
}

// updateUser applies p to user id, after adding the problems of p's fields
// to checks; any problem refuses the whole patch.
func (s *Service) updateUser(ctx context.Context, id int64, p UserPatch, checks []error) (models.User, error) {
	set := map[string]any{}
	var name string
	if p.Name != nil {
		n, err := checkName(*p.Name)
		checks = append(checks, err)
		name = n
	}
	var roles []string
	if p.Roles != nil {
		r, err := checkRoles(p.Roles)
		checks = append(checks, err)
		roles = r
	}
	// The password is hashed before the transaction, which then holds
	// no lock for bcrypt's time; the email it is checked against never
	// changes.
	before, err := s.UserByID(ctx, id)
	if err != nil {
		return models.User{}, err
	}
	var hash string
	if p.Password != nil {
		h, err := s.hashPassword("password", *p.Password, before.Email)
		checks = append(checks, err)
		hash = h
	}
	var out models.User
	var revoked int64
	err = s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		q := tx
		if s.db.Dialect == models.Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var u models.User
		if err := q.Take(&u, "id = ?", id).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return errs.E(errs.NotFound, "user %d not found", id)
			}
			return err
		}
		endSessions, revoke := false, false
		if hash != "" {
			set["password_hash"], endSessions = hash, true
		}
		if p.Agency != nil && strings.TrimSpace(*p.Agency) != u.AgencyCode {
			code := strings.TrimSpace(*p.Agency)
			var n int64
			if err := tx.Model(&models.Agency{}).Where("code = ?", code).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				checks = append(checks, errs.Field("agency", "unknown agency %q", code))
			}
			set["agency_code"], endSessions, revoke = code, true, true
		}
		if err := errors.Join(checks...); err != nil {
			return err
		}
		if p.Name != nil && name != u.Name {
			set["name"] = name
		}
		if joined := strings.Join(roles, ","); p.Roles != nil && joined != u.Roles {
			set["roles"], endSessions = joined, true
		}
		if p.Active != nil && *p.Active != u.Active() {
			if *p.Active {
				set["deactivated_at"] = nil
			} else {
				set["deactivated_at"], endSessions, revoke = s.now(), true, true
			}
		}
		if endSessions {
			set["session_epoch"] = gorm.Expr("session_epoch + 1")
		}
		if len(set) > 0 {
			if err := tx.Model(&models.User{}).Where("id = ?", id).Updates(set).Error; err != nil {
				return err
			}
		}
		if revoke {
			res := tx.Where("user_id = ?", id).Delete(&models.Token{})
			if res.Error != nil {
				return res.Error
			}
			revoked = res.RowsAffected
		}
		return tx.Take(&out, "id = ?", id).Error
	})
	if err != nil {
		return models.User{}, fmt.Errorf("update user %d: %w", id, err)
	}
	if len(set) > 0 {
		var changed []string
		for k := range set {
			if k != "session_epoch" {
				changed = append(changed, k)
			}
		}
		slices.Sort(changed)
		s.log.Info("user updated", "user_id", out.ID, "email", out.Email, "changed", changed,
			"sessions_ended", set["session_epoch"] != nil, "tokens_revoked", revoked, "active", out.Active())
	}
	return out, nil
}

// SetPasswordByEmail gives the user with that email a new password and
// ends their web sessions, without the caller checks: for the operator's
// command line. Errors: not_found, invalid password.
func (s *Service) SetPasswordByEmail(ctx context.Context, email, password string) (models.User, error) {
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return models.User{}, err
	}
	return s.updateUser(ctx, u.ID, UserPatch{Password: &password}, nil)
}

// DeactivateByEmail deactivates the user with that email as UpdateUser
// does (sessions ended, tokens revoked), without the caller checks: for
// the operator's command line, who may need it when no admin can act.
// Errors: not_found.
func (s *Service) DeactivateByEmail(ctx context.Context, email string) (models.User, error) {
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return models.User{}, err
	}
	off := false
	return s.updateUser(ctx, u.ID, UserPatch{Active: &off}, nil)
}
