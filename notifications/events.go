package notifications

import (
	"slices"

	"datashare/workflow"
)

// Event names, as webhooks and preferences see them.
const (
	RequestSubmitted              = "request.submitted"
	RequestApproved               = "request.approved"
	RequestClarificationRequested = "request.clarification_requested"
	RequestResponded              = "request.responded"
	RequestRejected               = "request.rejected"
	RequestFulfilled              = "request.fulfilled"
	RequestWithdrawn              = "request.withdrawn"
	SLAAtRisk                     = "sla.at_risk"
	SLABreached                   = "sla.breached"
	DailyDigest                   = "digest.daily"
	StatementPublished            = "statement.published"
	ProjectAtRisk                 = "project.at_risk"
	ProjectBreached               = "project.breached"
)

// Events lists every event a user or webhook can hear of.
var Events = []string{
	RequestSubmitted, RequestApproved, RequestClarificationRequested, RequestResponded,
	RequestRejected, RequestFulfilled, RequestWithdrawn, SLAAtRisk, SLABreached, DailyDigest, StatementPublished,
	ProjectAtRisk, ProjectBreached,
}

// KnownEvent reports whether e is an event name.
func KnownEvent(e string) bool { return slices.Contains(Events, e) }

// Channels on which a user hears of events.
const (
	Email   = "email"
	InApp   = "in_app"
	Webhook = "webhook"
)

// UserChannels are the channels a user has preferences for.
var UserChannels = []string{Email, InApp}

var eventOfAction = map[workflow.Action]string{
	workflow.Submit:               RequestSubmitted,
	workflow.Approve:              RequestApproved,
	workflow.RequestClarification: RequestClarificationRequested,
	workflow.Respond:              RequestResponded,
	workflow.Reject:               RequestRejected,
	workflow.Fulfil:               RequestFulfilled,
	workflow.Withdraw:             RequestWithdrawn,
}

// Delivery states in the outbox.
const (
	StatePending   = "pending"
	StateSending   = "sending"
	StateDelivered = "delivered"
	StateDead      = "dead"
	StateSkipped   = "skipped" // email without an SMTP server configured
)

// audience says who hears of an event, per the table of the design.
type audience struct {
	ownerApprovers   bool // every approver of the owner agency
	pendingApprovers bool // owner approvers who have not approved yet, while more approvals are needed
	actedApprovers   bool // approvers who took an action on the request
	ownerManagers    bool
	requester        bool
}

var audiences = map[string]audience{
	RequestSubmitted:              {ownerApprovers: true},
	RequestApproved:               {requester: true, pendingApprovers: true},
	RequestClarificationRequested: {requester: true},
	RequestResponded:              {ownerApprovers: true},
	RequestRejected:               {requester: true, actedApprovers: true},
	RequestFulfilled:              {requester: true, actedApprovers: true},
	RequestWithdrawn:              {requester: true, actedApprovers: true},
	SLAAtRisk:                     {ownerApprovers: true, requester: true},
	SLABreached:                   {ownerApprovers: true, ownerManagers: true, requester: true},
}
