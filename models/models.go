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
	CreatedAt    time.Time
}

// Token is a personal API token. Only the SHA-256 of the secret is stored.
type Token struct {
	ID        int64 `gorm:"primaryKey"`
	UserID    int64
	Name      string
	Hash      string
	CreatedAt time.Time
}

func (Token) TableName() string { return "api_tokens" }

// Request is a request for another agency's data.
type Request struct {
	ID                int64 `gorm:"primaryKey"`
	Title             string
	Purpose           string
	DataDescription   string
	Classification    string
	LegalBasis        *string
	Project           *string
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
}

// Approval records that one approver approved one request.
type Approval struct {
	RequestID  int64 `gorm:"primaryKey"`
	ApproverID int64 `gorm:"primaryKey"`
	Approver   User  `gorm:"foreignKey:ApproverID"`
	At         time.Time
}

// Transition is one row of a request's history. Rows are only ever inserted:
// the schema refuses updates and deletes.
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
