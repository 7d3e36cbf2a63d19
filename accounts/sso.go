package accounts

import (
	"context"
	"fmt"

	"datashare/errs"
	"datashare/models"
)

// SSOSignIn returns the user an identity provider vouched for by email,
// which the caller has verified (package sso): the existing user with that
// email, compared without case. No user is ever created. Errors: forbidden
// with ReasonUnknownEmail when no user has the email, ReasonDeactivated
// when theirs may not sign in; either is recorded as a refusal (see
// SSORefused). A success is recorded and logged with address; the count of
// failed password sign-ins is left alone, since no password was tried.
func (s *Service) SSOSignIn(ctx context.Context, email, address string) (models.User, error) {
	key := signInKey(email)
	u, err := s.UserByEmail(ctx, key)
	switch {
	case errs.Is(err, errs.NotFound):
		if err := s.SSORefused(ctx, key, address, ReasonUnknownEmail, ""); err != nil {
			return models.User{}, err
		}
		return models.User{}, &errs.Error{Code: errs.Forbidden, Field: ReasonUnknownEmail,
			Message: fmt.Sprintf("datashare has no account for %s", key)}
	case err != nil:
		return models.User{}, fmt.Errorf("single sign-on of %s: %w", key, err)
	}
	if !mayStartSession(u) {
		if err := s.SSORefused(ctx, key, address, ReasonDeactivated, ""); err != nil {
			return models.User{}, err
		}
		return models.User{}, &errs.Error{Code: errs.Forbidden, Field: ReasonDeactivated,
			Message: fmt.Sprintf("the datashare account of %s is deactivated", u.Email)}
	}
	id := u.ID
	ev := models.SignInEvent{UserID: &id, Email: u.Email, Address: address, Outcome: OutcomeSSOSignedIn, At: s.now()}
	if err := s.record(ctx, ev); err != nil {
		return models.User{}, err
	}
	return u, nil
}

// SSORefused records and logs that a single sign-on from address was
// refused for reason; email is the one the provider named, empty when the
// refusal came before any (a wrong state, an error from the provider). The
// event is the user's when a user has that email, so that it shows in
// their recent sign-ins. detail, which says more of the cause, is logged,
// not stored; it must hold no code or token.
func (s *Service) SSORefused(ctx context.Context, email, address, reason, detail string) error {
	key := signInKey(email)
	ev := models.SignInEvent{Email: key, Address: address, Outcome: OutcomeSSORefused, Reason: reason, At: s.now()}
	if key != "" {
		u, err := s.UserByEmail(ctx, key)
		switch {
		case err == nil:
			ev.UserID, ev.Email = &u.ID, u.Email
		case !errs.Is(err, errs.NotFound):
			return fmt.Errorf("record a refused single sign-on of %s: %w", key, err)
		}
	}
	var extra []any
	if detail != "" {
		extra = []any{"detail", detail}
	}
	return s.record(ctx, ev, extra...)
}
