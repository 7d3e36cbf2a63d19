package models

import (
	"time"
)

// Agency is a government agency, identified by a short upper-case code.
type Agency struct {
	Code      string `gorm:"primaryKey"`
	Name      string
	CreatedAt time.Time
}

// User is a person acting in the service. Roles is a comma-separated,
// sorted list so that it fits one column on every dialect.
type User struct {
	ID           int64 `gorm:"primaryKey"`
	Email        string
	Name         string
	AgencyCode   string
	Roles        string
	PasswordHash *string
	SessionEpoch int // see migration 0008: a change ends the user's web sessions
	CreatedAt    time.Time
	// DeactivatedAt is set while the user may neither sign in nor use a
	// token (migration 0013).
	DeactivatedAt *time.Time
}

// Active reports whether u may sign in and use tokens.
func (u User) Active() bool { return u.DeactivatedAt == nil }

// Token is a personal API token. Only the SHA-256 of the secret is stored.
type Token struct {
	ID        int64 `gorm:"primaryKey"`
	UserID    int64
	Name      string
	Hash      string
	CreatedAt time.Time
	ExpiresAt *time.Time // nil: never
}

func (Token) TableName() string { return "api_tokens" }

// SignInFailures counts the failed password sign-ins of one email, as
// migration 0012 describes.
type SignInFailures struct {
	Email       string `gorm:"primaryKey"`
	Failures    int
	WindowStart time.Time
	LockedUntil *time.Time
}

func (SignInFailures) TableName() string { return "sign_in_failures" }

// SignInEvent is one sign-in, failed or refused attempt, or sign-out.
// UserID is nil when no user has the email.
type SignInEvent struct {
	ID      int64 `gorm:"primaryKey"`
	UserID  *int64
	Email   string
	Address string
	Outcome string
	Reason  string // why it was refused, when that has several causes (migration 0014)
	At      time.Time
}

func (SignInEvent) TableName() string { return "sign_in_events" }

// Request is a request for another agency's data.
type Request struct {
	ID                int64 `gorm:"primaryKey"`
	Title             string
	Purpose           string
	DataDescription   string
	Classification    string
	LegalBasis        *string
	Project           *string // free text of earlier versions, kept readable
	ProjectCode       *string // the project it belongs to (migration 0017)
	RequestingAgency  string
	OwnerAgency       string
	RequesterID       int64
	Requester         User `gorm:"foreignKey:RequesterID"`
	State             string
	ApprovalsRequired int
	Version           int
	CreatedAt         time.Time
	UpdatedAt         time.Time
	SubmittedAt       *time.Time
	ClosedAt          *time.Time
	Approvals         []Approval `gorm:"foreignKey:RequestID"`
	ExternalRef       *string

	SLA SLAClock `gorm:"embedded"`
}

// Project is a cross-agency project run by its lead agency (migration
// 0017).
type Project struct {
	Code        string `gorm:"primaryKey"`
	Name        string
	LeadAgency  string
	Description string
	State       string // active or closed
	CreatedAt   time.Time
	CreatedBy   int64
	Clock       ProjectClock `gorm:"embedded"`
}

// ProjectClock is the persisted clock of a project (migration 0018);
// package projects recounts it from its requests' histories and reads it.
type ProjectClock struct {
	Status            string     `gorm:"column:sla_status"` // the outcome once closed, else not_started or open
	StartedAt         *time.Time `gorm:"column:sla_started_at"`
	ClosedAt          *time.Time `gorm:"column:sla_closed_at"`     // when every submitted request had closed
	StoppedAt         *time.Time `gorm:"column:sla_stopped_at"`    // the same, once one of them was fulfilled
	RunningSince      *time.Time `gorm:"column:sla_running_since"` // nil while paused or closed
	Elapsed           float64    `gorm:"column:sla_elapsed"`       // working days counted before RunningSince
	DueAt             *time.Time `gorm:"column:sla_due_at"`
	WarnAt            *time.Time `gorm:"column:sla_warn_at"`
	LastOwner         *string    `gorm:"column:sla_last_owner"` // the owner agency whose request closed last
	WaitingOn         string     `gorm:"column:sla_waiting_on"` // comma-separated owner agencies of open requests
	AtRiskFlaggedAt   *time.Time `gorm:"column:sla_at_risk_flagged_at"`
	BreachedFlaggedAt *time.Time `gorm:"column:sla_breached_flagged_at"`
	CountedAt         *time.Time `gorm:"column:sla_counted_at"`
}

// ProjectPartner is an agency the lead agency added to a project: its
// requests may join the project.
type ProjectPartner struct {
	ProjectCode string `gorm:"primaryKey"`
	Agency      string `gorm:"primaryKey"`
}

// SLAClock is the persisted SLA clock of a request; package sla keeps it
// current and reads it.
type SLAClock struct {
	Target            *float64   `gorm:"column:sla_target"`        // working days allowed, fixed at first submission
	Elapsed           float64    `gorm:"column:sla_elapsed"`       // working days counted before RunningSince
	RunningSince      *time.Time `gorm:"column:sla_running_since"` // nil while paused or stopped
	DueAt             *time.Time `gorm:"column:sla_due_at"`        // nil while paused before the due instant
	WarnAt            *time.Time `gorm:"column:sla_warn_at"`       // when the request turns at_risk
	AtRiskFlaggedAt   *time.Time `gorm:"column:sla_at_risk_flagged_at"`
	BreachedFlaggedAt *time.Time `gorm:"column:sla_breached_flagged_at"`
	StateSince        *time.Time `gorm:"column:state_since"`
	DaysSubmitted     float64    `gorm:"column:days_submitted"`
	DaysClarification float64    `gorm:"column:days_clarification_requested"`
	DaysApproved      float64    `gorm:"column:days_approved"`
}

// Holiday is a day off: a public holiday or an agency-wide closure. Removed
// rows are kept so that a removed built-in holiday is not added back when
// the built-in list is loaded again.
type Holiday struct {
	Date      string `gorm:"primaryKey"` // YYYY-MM-DD
	Name      string
	Kind      string
	Source    string // builtin, admin or import
	Removed   bool
	UpdatedAt time.Time
}

// Approval records that one approver approved one request.
type Approval struct {
	RequestID  int64 `gorm:"primaryKey"`
	ApproverID int64 `gorm:"primaryKey"`
	Approver   User  `gorm:"foreignKey:ApproverID"`
	At         time.Time
}

// Transition is one row of a request's history. Rows are only ever inserted
// (AppendHistory): the schema refuses updates and deletes, and each row's
// Hash covers its content and PrevHash, the Hash of the request's row
// before it, so that a change made behind the schema's back shows.
type Transition struct {
	ID        int64 `gorm:"primaryKey"`
	RequestID int64
	Action    string
	FromState *string
	ToState   string
	ActorID   *int64
	Actor     *User `gorm:"foreignKey:ActorID"`
	At        time.Time
	Comment   string
	PrevHash  string
	Hash      string
}

// IdempotencyKey keeps the first answer given to a client's Idempotency-Key.
type IdempotencyKey struct {
	UserID      int64  `gorm:"primaryKey"`
	Key         string `gorm:"primaryKey"`
	Fingerprint string
	Status      int
	Body        []byte
	CreatedAt   time.Time
}

// Columns maps the clock to its columns, for updates.
func (c SLAClock) Columns() map[string]any {
	return map[string]any{
		"sla_target":                   c.Target,
		"sla_elapsed":                  c.Elapsed,
		"sla_running_since":            c.RunningSince,
		"sla_due_at":                   c.DueAt,
		"sla_warn_at":                  c.WarnAt,
		"sla_at_risk_flagged_at":       c.AtRiskFlaggedAt,
		"sla_breached_flagged_at":      c.BreachedFlaggedAt,
		"state_since":                  c.StateSince,
		"days_submitted":               c.DaysSubmitted,
		"days_clarification_requested": c.DaysClarification,
		"days_approved":                c.DaysApproved,
	}
}

// ChangedColumns maps the columns of c that differ from before to their
// new values, so that an update writes, and re-indexes, only those.
func (c SLAClock) ChangedColumns(before SLAClock) map[string]any {
	now, was := c.Columns(), before.Columns()
	for col, v := range now {
		if sameValue(v, was[col]) {
			delete(now, col)
		}
	}
	return now
}

func sameValue(a, b any) bool {
	switch a := a.(type) {
	case *time.Time:
		b := b.(*time.Time)
		return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
	case *float64:
		b := b.(*float64)
		return a == nil && b == nil || a != nil && b != nil && *a == *b
	default:
		return a == b
	}
}

// Event is something that happened to a request, as its transaction
// recorded it for notifications to fan out later. ApprovedBy lists, comma
// separated, the approvers who had approved at that moment.
type Event struct {
	ID                int64 `gorm:"primaryKey"`
	Event             string
	RequestID         int64
	ActorID           *int64
	ActorName         string
	Comment           string
	At                time.Time
	State             string
	ApprovalsRequired int
	ApprovedBy        string
	DueAt             *time.Time
	ClaimedUntil      *time.Time
	FannedOutAt       *time.Time
}

// Delivery is one outgoing email or webhook call in the outbox. An event's
// delivery holds no body: it is rendered from the event when sent.
type Delivery struct {
	ID            int64 `gorm:"primaryKey"`
	DeliveryID    string
	EventID       *int64 // nil for a digest, whose Payload is the mail
	Event         string
	RequestID     *int64
	Channel       string
	UserID        *int64
	WebhookID     *int64
	Recipient     string
	Payload       string
	State         string
	Attempts      int
	NextAttemptAt time.Time
	ClaimedUntil  *time.Time
	LastError     string
	CreatedAt     time.Time
	DeliveredAt   *time.Time
}

func (Delivery) TableName() string { return "outbox" }

// Webhook is an endpoint that receives events, signed with its secret.
type Webhook struct {
	ID        int64 `gorm:"primaryKey"`
	URL       string
	Events    string // comma-separated event names, or *
	Secret    string
	CreatedAt time.Time
	DeletedAt *time.Time
}

// Notification is an in-app message for one user.
type Notification struct {
	ID        int64 `gorm:"primaryKey"`
	UserID    int64
	EventID   *int64
	Event     string
	RequestID *int64
	Title     string
	Body      string
	CreatedAt time.Time
	ReadAt    *time.Time
}

// Preference turns one event on or off on one channel for one user; no row
// means on.
type Preference struct {
	UserID  int64  `gorm:"primaryKey"`
	Channel string `gorm:"primaryKey"`
	Event   string `gorm:"primaryKey"`
	Enabled bool
}

// Statement is a published compliance statement, as migration 0016
// describes: written once, corrected only by a later revision.
type Statement struct {
	ID              int64 `gorm:"primaryKey"`
	Month           string
	Agency          string // "" for the whole of government
	Revision        int
	SupersedesID    *int64
	Changes         string
	GeneratedAt     time.Time
	CalendarVersion string
	Figures         string
	Canonical       string
	Hash            string
}
