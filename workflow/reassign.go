package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"datashare/errs"
	"datashare/models"
)

// MaxOpenRequestsOf bounds the answer of OpenRequestsOf: a person has a
// few open requests, and a page that lists them must stay a page.
const MaxOpenRequestsOf = 500

// OpenRequestsOf returns the requests not yet in a final state that user
// requesterID filed (or was handed), oldest first, at most
// MaxOpenRequestsOf; an admin uses it to withdraw or hand over the open
// requests of a requester who left. Errors: forbidden unless admin.
func (s *Service) OpenRequestsOf(ctx context.Context, actor Actor, requesterID int64) ([]models.Request, error) {
	if !actor.Has(Admin) {
		return nil, errs.E(errs.Forbidden, "only an admin may list another user's open requests")
	}
	var out []models.Request
	err := s.db.Conn(ctx).Joins("Requester").
		Preload("Approvals", func(db *gorm.DB) *gorm.DB {
			return db.Joins("Approver").Order("approvals.at, approvals.approver_id")
		}).
		Where("requests.requester_id = ? AND requests.closed_at IS NULL", requesterID).
		Order("requests.id").Limit(MaxOpenRequestsOf).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("open requests of user %d: %w", requesterID, err)
	}
	return out, nil
}

// Reassign hands open request id over to user toID, who must be an active
// requester of the request's requesting agency, and records it in the
// history as a reassign row (the state unchanged) with the admin as actor
// and a comment naming both requesters, followed by comment if any. No
// notification is sent. ifMatch, when not 0, must be the current version.
// Errors: forbidden unless admin; not_found; precondition_failed;
// conflict when the request is closed; invalid (field requester) for an
// unknown, deactivated or other agency's user, one who is not a requester,
// or the current requester; invalid comment over 5000 characters.
func (s *Service) Reassign(ctx context.Context, actor Actor, id, toID int64, comment string, ifMatch int) (*models.Request, error) {
	if !actor.Has(Admin) {
		return nil, errs.E(errs.Forbidden, "only an admin may hand a request over")
	}
	comment = strings.TrimSpace(comment)
	if utf8.RuneCountInString(comment) > 5000 {
		return nil, errs.Field("comment", "comment must be at most 5000 characters")
	}
	var out *models.Request
	err := s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		r, _, err := s.lockForChange(tx, actor, id, ifMatch)
		if err != nil {
			return err
		}
		if State(r.State).Terminal() {
			return errs.E(errs.Conflict, "request %d is %s: only an open request can be handed over", r.ID, r.State)
		}
		var to models.User
		if err := tx.Take(&to, "id = ?", toID).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return errs.Field("requester", "no user %d", toID)
			}
			return err
		}
		switch {
		case to.ID == r.RequesterID:
			return errs.Field("requester", "%s is already the requester", to.Email)
		case !to.Active():
			return errs.Field("requester", "%s is deactivated", to.Email)
		case to.AgencyCode != r.RequestingAgency:
			return errs.Field("requester", "%s is of agency %s, not the requesting agency %s", to.Email, to.AgencyCode, r.RequestingAgency)
		case !slices.Contains(strings.Split(to.Roles, ","), string(Requester)):
			return errs.Field("requester", "%s is not a requester", to.Email)
		}
		now := s.now()
		res := tx.Model(&models.Request{}).Where("id = ? AND version = ?", r.ID, r.Version).
			Updates(map[string]any{"requester_id": to.ID, "version": r.Version + 1, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return errs.E(errs.Conflict, "the request changed while it was handed over; try again")
		}
		text := fmt.Sprintf("Handed over from %s <%s> to %s <%s>", r.Requester.Name, r.Requester.Email, to.Name, to.Email)
		if comment != "" {
			text += ": " + comment
		}
		state := r.State
		t := models.Transition{RequestID: r.ID, Action: string(Reassign), FromState: &state, ToState: state, ActorID: &actor.ID, At: now, Comment: text}
		if err := models.AppendHistory(tx, []models.Transition{t}); err != nil {
			return err
		}
		out, err = s.load(tx, r.ID, false)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reassign request %d: %w", id, err)
	}
	return out, nil
}
