// Package accounts owns agencies, users and their API tokens: creating them,
// who may do so, and turning a presented token into a user. Tokens are
// random secrets of which only a SHA-256 digest is stored. Password sign-in
// (signin.go) counts failures per email in the database, so that every
// replica sees them, locks an email out after too many, and records every
// sign-in and sign-out for the user's own list. A user's lifecycle
// (lifecycle.go) changes them in one transaction with its effects: a
// deactivation or a change of agency revokes their tokens, and any change
// of credentials, roles or agency ends their web sessions. Tokens may
// expire. Both are read from the database at every request, so that every
// replica applies a change at once.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/errs"
	"datashare/models"
	"datashare/workflow"
)

// BootstrapAgency is the agency of the administrator created at first start.
const BootstrapAgency = "GOVTECH"

// MinTokenLength is the shortest token accepted for the bootstrap admin.
const MinTokenLength = 32

var agencyCode = regexp.MustCompile(`^[A-Z0-9]{2,16}$`)

// Service manages agencies, users and tokens.
type Service struct {
	db   *models.DB
	now  func() time.Time
	log  *slog.Logger
	cost int // of the bcrypt hashes it makes
}

// NewService returns a Service over db; now is the clock.
func NewService(db *models.DB, now func() time.Time) *Service {
	return &Service{db: db, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }, log: slog.New(slog.DiscardHandler), cost: bcrypt.DefaultCost}
}

// WithLog has the service log every sign-in, failure, refusal and sign-out
// to l, and returns it.
func (s *Service) WithLog(l *slog.Logger) *Service {
	if l != nil {
		s.log = l
	}
	return s
}

// RolesOf parses a user's stored roles.
func RolesOf(u models.User) []workflow.Role {
	var out []workflow.Role
	for _, r := range strings.Split(u.Roles, ",") {
		if r != "" {
			out = append(out, workflow.Role(r))
		}
	}
	return out
}

// ActorOf is the user as the workflow rules see them.
func ActorOf(u models.User) workflow.Actor {
	return workflow.Actor{ID: u.ID, Agency: u.AgencyCode, Roles: RolesOf(u), Email: u.Email, Name: u.Name}
}

func requireAdmin(caller workflow.Actor) error {
	if !caller.Has(workflow.Admin) {
		return errs.E(errs.Forbidden, "only an admin may do this")
	}
	return nil
}

// CreateAgency adds an agency. Errors: forbidden unless admin, invalid code
// or name, conflict if the code exists.
func (s *Service) CreateAgency(ctx context.Context, caller workflow.Actor, code, name string) (models.Agency, error) {
	if err := requireAdmin(caller); err != nil {
		return models.Agency{}, err
	}
	a := models.Agency{Code: strings.TrimSpace(code), Name: strings.TrimSpace(name), CreatedAt: s.now()}
	if !agencyCode.MatchString(a.Code) {
		return models.Agency{}, errs.Field("code", "agency code must be 2 to 16 upper-case letters or digits, like MOH")
	}
	if a.Name == "" || len(a.Name) > 200 {
		return models.Agency{}, errs.Field("name", "agency name is required (at most 200 characters)")
	}
	if err := s.db.Conn(ctx).Create(&a).Error; err != nil {
		if models.IsUniqueViolation(err) {
			return models.Agency{}, errs.E(errs.Conflict, "agency %s already exists", a.Code)
		}
		return models.Agency{}, fmt.Errorf("create agency %s: %w", a.Code, err)
	}
	return a, nil
}

// EnsureAgency creates the agency if it does not exist.
func (s *Service) EnsureAgency(ctx context.Context, code, name string) error {
	err := s.db.Conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&models.Agency{Code: code, Name: name, CreatedAt: s.now()}).Error
	if err != nil {
		return fmt.Errorf("ensure agency %s: %w", code, err)
	}
	return nil
}

// ListAgencies returns every agency ordered by code.
func (s *Service) ListAgencies(ctx context.Context) ([]models.Agency, error) {
	var out []models.Agency
	err := s.db.Conn(ctx).Order("code").Find(&out).Error
	return out, err
}

// NewUser is the input to CreateUser.
type NewUser struct {
	Email    string
	Name     string
	Agency   string
	Roles    []string
	Password *string
}

// CreateUser adds a user. Errors: forbidden unless admin; invalid email,
// name, roles, unknown agency or a short password; conflict on a taken email.
func (s *Service) CreateUser(ctx context.Context, caller workflow.Actor, in NewUser) (models.User, error) {
	if err := requireAdmin(caller); err != nil {
		return models.User{}, err
	}
	return s.createUser(ctx, in)
}

func (s *Service) createUser(ctx context.Context, in NewUser) (models.User, error) {
	addr, err := mail.ParseAddress(strings.TrimSpace(in.Email))
	if err != nil || addr.Name != "" || addr.Address != strings.TrimSpace(in.Email) {
		return models.User{}, errs.Field("email", "email must be a plain address like name@agency.gov.sg")
	}
	name, err := checkName(in.Name)
	if err != nil {
		return models.User{}, err
	}
	roles, err := checkRoles(in.Roles)
	if err != nil {
		return models.User{}, err
	}
	u := models.User{
		Email:      strings.ToLower(addr.Address),
		Name:       name,
		AgencyCode: strings.TrimSpace(in.Agency),
		Roles:      strings.Join(roles, ","),
		CreatedAt:  s.now(),
	}
	if in.Password != nil {
		h, err := s.hashPassword("password", *in.Password, u.Email)
		if err != nil {
			return models.User{}, err
		}
		u.PasswordHash = &h
	}
	err = s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.Agency{}).Where("code = ?", u.AgencyCode).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return errs.Field("agency", "unknown agency %q", u.AgencyCode)
		}
		if err := tx.Create(&u).Error; err != nil {
			if models.IsUniqueViolation(err) {
				return errs.E(errs.Conflict, "a user with email %s already exists", u.Email)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return models.User{}, fmt.Errorf("create user %s: %w", u.Email, err)
	}
	return u, nil
}

// ListUsers returns every user; admins only.
func (s *Service) ListUsers(ctx context.Context, caller workflow.Actor) ([]models.User, error) {
	if err := requireAdmin(caller); err != nil {
		return nil, err
	}
	var out []models.User
	err := s.db.Conn(ctx).Order("id").Find(&out).Error
	return out, err
}

// UserByEmail returns the user with that email, or not_found.
func (s *Service) UserByEmail(ctx context.Context, email string) (models.User, error) {
	var u models.User
	err := s.db.Conn(ctx).Where("email = ?", strings.ToLower(strings.TrimSpace(email))).First(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return u, errs.E(errs.NotFound, "no user with email %s", email)
	}
	return u, err
}

func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "dst_" + base64.RawURLEncoding.EncodeToString(b), nil
}

// IssueToken creates a token for user userID and returns it with its secret,
// which is never shown again. expiresAt, when not nil, is when the token
// stops working; it must be in the future. Errors: not_found for an
// unknown user, forbidden unless the caller is that user or an admin,
// conflict for a deactivated user, invalid name or expires_at.
func (s *Service) IssueToken(ctx context.Context, caller workflow.Actor, userID int64, name string, expiresAt *time.Time) (models.Token, string, error) {
	if caller.ID != userID && !caller.Has(workflow.Admin) {
		return models.Token{}, "", errs.E(errs.Forbidden, "you may create tokens only for yourself")
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return models.Token{}, "", errs.Field("name", "token name is required (at most 100 characters)")
	}
	if expiresAt != nil {
		e := expiresAt.UTC().Truncate(time.Microsecond)
		if !e.After(s.now()) {
			return models.Token{}, "", errs.Field("expires_at", "the expiry must be in the future")
		}
		expiresAt = &e
	}
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return models.Token{}, "", err
	}
	if !u.Active() {
		return models.Token{}, "", errs.E(errs.Conflict, "%s is deactivated; reactivate them before issuing a token", u.Email)
	}
	secret, err := newSecret()
	if err != nil {
		return models.Token{}, "", fmt.Errorf("issue token: %w", err)
	}
	t, err := s.storeToken(ctx, models.Token{UserID: userID, Name: name, ExpiresAt: expiresAt}, secret)
	return t, secret, err
}

func (s *Service) storeToken(ctx context.Context, t models.Token, secret string) (models.Token, error) {
	t.Hash, t.CreatedAt = hashToken(secret), s.now()
	if err := s.db.Conn(ctx).Create(&t).Error; err != nil {
		if models.IsUniqueViolation(err) {
			return models.Token{}, errs.E(errs.Conflict, "that token is already in use")
		}
		return models.Token{}, fmt.Errorf("store token: %w", err)
	}
	return t, nil
}

// Tokens lists the tokens of user userID (never their secrets), oldest
// first. Errors: forbidden unless the caller is that user or an admin;
// not_found for an unknown user.
func (s *Service) Tokens(ctx context.Context, caller workflow.Actor, userID int64) ([]models.Token, error) {
	if caller.ID != userID && !caller.Has(workflow.Admin) {
		return nil, errs.E(errs.Forbidden, "you may list only your own tokens")
	}
	var n int64
	if err := s.db.Conn(ctx).Model(&models.User{}).Where("id = ?", userID).Count(&n).Error; err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errs.E(errs.NotFound, "user %d not found", userID)
	}
	var out []models.Token
	err := s.db.Conn(ctx).Where("user_id = ?", userID).Order("id").Find(&out).Error
	return out, err
}

// RevokeToken deletes a token so that it stops working at once. Errors:
// not_found for an unknown token or one the caller may not see; admins may
// revoke any token, users their own.
func (s *Service) RevokeToken(ctx context.Context, caller workflow.Actor, tokenID int64) error {
	q := s.db.Conn(ctx).Where("id = ?", tokenID)
	if !caller.Has(workflow.Admin) {
		q = q.Where("user_id = ?", caller.ID)
	}
	res := q.Delete(&models.Token{})
	if res.Error != nil {
		return fmt.Errorf("revoke token %d: %w", tokenID, res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "token %d not found", tokenID)
	}
	return nil
}

// Authenticate returns the owner of the token secret, or unauthenticated,
// with a message that says why when the token expired or its owner was
// deactivated. Both are read from the database at every call, so that a
// change takes effect at once on every replica.
func (s *Service) Authenticate(ctx context.Context, secret string) (models.User, error) {
	if secret == "" {
		return models.User{}, errs.E(errs.Unauthenticated, "missing API token")
	}
	var got struct {
		models.User    `gorm:"embedded"`
		TokenExpiresAt *time.Time
	}
	err := s.db.Conn(ctx).Table("users").
		Select("users.*, api_tokens.expires_at AS token_expires_at").
		Joins("JOIN api_tokens ON api_tokens.user_id = users.id").
		Where("api_tokens.hash = ?", hashToken(secret)).
		Take(&got).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.User{}, errs.E(errs.Unauthenticated, "unknown or revoked API token (deactivating a user or changing their agency revokes their tokens)")
	}
	if err != nil {
		return models.User{}, fmt.Errorf("authenticate: %w", err)
	}
	if e := got.TokenExpiresAt; e != nil && !s.now().Before(*e) {
		return models.User{}, errs.E(errs.Unauthenticated, "this API token expired at %s; create a new one", e.UTC().Format(time.RFC3339))
	}
	if !got.User.Active() {
		return models.User{}, ErrDeactivated
	}
	return got.User, nil
}

// Bootstrap creates the first administrator when none exists, in agency
// GOVTECH (created if missing), with token as its API token. It does nothing
// when an admin already exists and reports whether it created one.
func (s *Service) Bootstrap(ctx context.Context, email, token string) (bool, error) {
	if len(token) < MinTokenLength {
		return false, fmt.Errorf("bootstrap admin: the token must be at least %d characters", MinTokenLength)
	}
	created := false
	err := s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		if s.db.Dialect == models.Postgres {
			// Replicas starting together take turns.
			if err := tx.Exec("SELECT pg_advisory_xact_lock(7261003)").Error; err != nil {
				return err
			}
		}
		var n int64
		if err := tx.Model(&models.User{}).
			Where("roles = ? OR roles LIKE ? OR roles LIKE ? OR roles LIKE ?", "admin", "admin,%", "%,admin", "%,admin,%").
			Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if err := s.EnsureAgency(ctx, BootstrapAgency, "Government Technology Agency"); err != nil {
			return err
		}
		u, err := s.createUser(ctx, NewUser{Email: email, Name: "Administrator", Agency: BootstrapAgency, Roles: []string{string(workflow.Admin)}})
		if err != nil {
			return err
		}
		if _, err := s.storeToken(ctx, models.Token{UserID: u.ID, Name: "bootstrap"}, token); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		// Replicas starting together race to create the admin; the one
		// that loses finds it created.
		if errs.Is(err, errs.Conflict) {
			return false, nil
		}
		return false, fmt.Errorf("bootstrap admin: %w", err)
	}
	return created, nil
}

// DemoTokenName is the name of the tokens IssueDemoToken creates.
const DemoTokenName = "demo"

// IssueDemoToken creates a fresh token for an existing user without the
// caller checks, and revokes the user's earlier tokens of that name in the
// same transaction: the demo prints its tokens at every start, and those of
// an earlier start, perhaps still in a terminal's scroll-back or a file,
// must stop working.
func (s *Service) IssueDemoToken(ctx context.Context, userID int64) (string, error) {
	secret, err := newSecret()
	if err != nil {
		return "", err
	}
	err = s.db.Tx(ctx, func(ctx context.Context, _ *gorm.DB) error {
		if _, err := s.RevokeTokensNamed(ctx, userID, DemoTokenName); err != nil {
			return err
		}
		_, err := s.storeToken(ctx, models.Token{UserID: userID, Name: DemoTokenName}, secret)
		return err
	})
	return secret, err
}

// RevokeTokensNamed deletes every token of user userID named name, without
// the caller checks (for seeding), and returns how many it deleted.
func (s *Service) RevokeTokensNamed(ctx context.Context, userID int64, name string) (int64, error) {
	res := s.db.Conn(ctx).Where("user_id = ? AND name = ?", userID, name).Delete(&models.Token{})
	if res.Error != nil {
		return 0, fmt.Errorf("revoke tokens named %q of user %d: %w", name, userID, res.Error)
	}
	return res.RowsAffected, nil
}

// CreateUserUnchecked adds a user without the admin check; for seeding.
func (s *Service) CreateUserUnchecked(ctx context.Context, in NewUser) (models.User, error) {
	return s.createUser(ctx, in)
}

// UserByID returns user id, or not_found.
func (s *Service) UserByID(ctx context.Context, id int64) (models.User, error) {
	var u models.User
	err := s.db.Conn(ctx).Take(&u, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return u, errs.E(errs.NotFound, "user %d not found", id)
	}
	if err != nil {
		return u, fmt.Errorf("user %d: %w", id, err)
	}
	return u, nil
}

// checkPassword counts characters for the minimum, and bytes for the
// maximum because bcrypt reads no more than 72 bytes. The email, the first
// guess of anyone who knows it, is refused as a password ("" checks none).
func checkPassword(field, p, email string) error {
	if utf8.RuneCountInString(p) < 12 || len(p) > 72 {
		return errs.Field(field, "the password must be 12 to 72 characters (at most 72 bytes)")
	}
	if email != "" && strings.EqualFold(strings.TrimSpace(p), email) {
		return errs.Field(field, "the password must not be the email address")
	}
	return nil
}

// WithPasswordCost has s hash passwords at bcrypt cost c instead of
// bcrypt.DefaultCost. Tests lower it: at the default every sign-in of a
// test costs tens of milliseconds, ten times that under the race detector.
func (s *Service) WithPasswordCost(c int) *Service {
	s.cost = c
	return s
}

// hashPassword checks p as checkPassword does and returns its bcrypt hash.
func (s *Service) hashPassword(field, p, email string) (string, error) {
	if err := checkPassword(field, p, email); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(p), s.cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return "", errs.Field("name", "name is required (at most 200 characters)")
	}
	return name, nil
}

// checkRoles returns roles sorted, without duplicates.
func checkRoles(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, errs.Field("roles", "at least one role is required: requester, approver, manager or admin")
	}
	var roles []string
	for _, r := range in {
		if !slices.Contains(workflow.Roles, workflow.Role(r)) {
			return nil, errs.Field("roles", "unknown role %q; roles are requester, approver, manager and admin", r)
		}
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	sort.Strings(roles)
	return roles, nil
}

// ChangePassword sets a new password for the caller after checking the
// current one, and moves the caller's session epoch on, which ends every web
// session signed in before (the caller's own is renewed by the web layer).
// Errors: invalid current_password when it is wrong, invalid new_password
// when it is too short or long. Returns the user as written.
func (s *Service) ChangePassword(ctx context.Context, caller workflow.Actor, current, next string) (models.User, error) {
	u, err := s.UserByID(ctx, caller.ID)
	if err != nil {
		return models.User{}, err
	}
	if u.PasswordHash == nil || bcrypt.CompareHashAndPassword([]byte(*u.PasswordHash), []byte(current)) != nil {
		return models.User{}, errs.Field("current_password", "the current password is not correct")
	}
	if err := checkPassword("new_password", next, u.Email); err != nil {
		return models.User{}, err
	}
	if err := s.setPassword(ctx, []int64{u.ID}, next); err != nil {
		return models.User{}, err
	}
	return s.UserByID(ctx, u.ID)
}

// SetPasswordsUnchecked gives users one password without the caller
// checks, hashed once; the demo seeder uses it so that every demo user
// signs in with the password it prints.
func (s *Service) SetPasswordsUnchecked(ctx context.Context, userIDs []int64, password string) error {
	if err := checkPassword("password", password, ""); err != nil {
		return err
	}
	return s.setPassword(ctx, userIDs, password)
}

// setPassword also moves the users' session epoch on, which ends their web
// sessions on every replica.
func (s *Service) setPassword(ctx context.Context, userIDs []int64, password string) error {
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	err = s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		return tx.Model(&models.User{}).Where("id IN ?", userIDs).
			Updates(map[string]any{"password_hash": string(h), "session_epoch": gorm.Expr("session_epoch + 1")}).Error
	})
	if err != nil {
		return fmt.Errorf("set password of users %v: %w", userIDs, err)
	}
	return nil
}
