package workflow

import (
	"slices"
	"strings"

	"datashare/errs"
)

// State is where a request stands.
type State string

const (
	Draft                  State = "draft"
	Submitted              State = "submitted"
	ClarificationRequested State = "clarification_requested"
	Approved               State = "approved"
	Fulfilled              State = "fulfilled"
	Rejected               State = "rejected"
	Withdrawn              State = "withdrawn"
)

// States lists every state in lifecycle order.
var States = []State{Draft, Submitted, ClarificationRequested, Approved, Fulfilled, Rejected, Withdrawn}

// Terminal reports whether no action leaves s.
func (s State) Terminal() bool { return s == Fulfilled || s == Rejected || s == Withdrawn }

// Valid reports whether s is a known state.
func (s State) Valid() bool { return slices.Contains(States, s) }

// Action is what a user does to a request.
type Action string

const (
	Submit               Action = "submit"
	Approve              Action = "approve"
	Reject               Action = "reject"
	RequestClarification Action = "request_clarification"
	Respond              Action = "respond"
	Fulfil               Action = "fulfil"
	Withdraw             Action = "withdraw"

	// Create is recorded as the first history row of every request; it is
	// not an action a client can send to /transitions.
	Create Action = "create"

	// Reassign is recorded when an admin hands an open request over to
	// another requester (Service.Reassign); the state does not change.
	Reassign Action = "reassign"
)

// Actions lists the actions a client may take, in lifecycle order.
var Actions = []Action{Submit, Approve, Reject, RequestClarification, Respond, Fulfil, Withdraw}

// Role is a capability a user holds within their agency.
type Role string

const (
	Requester Role = "requester"
	Approver  Role = "approver"
	Manager   Role = "manager"
	Admin     Role = "admin"
)

// Roles lists every role.
var Roles = []Role{Requester, Approver, Manager, Admin}

// Actor is the user taking an action, as the rules need to see them.
type Actor struct {
	ID     int64
	Agency string
	Roles  []Role
	Email  string // for the answer and messages; the rules ignore it
	Name   string
}

// Has reports whether the actor holds role r.
func (a Actor) Has(r Role) bool { return slices.Contains(a.Roles, r) }

// Facts is what the rules need to know of a request.
type Facts struct {
	State             State
	RequestingAgency  string
	OwnerAgency       string
	RequesterID       int64
	Submitted         bool // has been submitted at least once
	ApprovalsRequired int
	Approvers         []int64 // who has approved, distinct
}

// Outcome is the effect of an allowed action.
type Outcome struct {
	To          State
	AddApproval bool // record the actor's approval
	Submits     bool // first submission: stamp submitted_at
	Closes      bool // entering a terminal state: stamp closed_at
}

// side says which agency's role an action needs.
type side int

const (
	requesting side = iota
	owner
)

type rule struct {
	from          []State
	role          Role
	side          side
	commentNeeded bool
	defaultTarget State
}

var rules = map[Action]rule{
	Submit:               {from: []State{Draft}, role: Requester, side: requesting, defaultTarget: Submitted},
	Approve:              {from: []State{Submitted}, role: Approver, side: owner, defaultTarget: Approved},
	Reject:               {from: []State{Submitted}, role: Approver, side: owner, commentNeeded: true, defaultTarget: Rejected},
	RequestClarification: {from: []State{Submitted}, role: Approver, side: owner, commentNeeded: true, defaultTarget: ClarificationRequested},
	Respond:              {from: []State{ClarificationRequested}, role: Requester, side: requesting, commentNeeded: true, defaultTarget: Submitted},
	Fulfil:               {from: []State{Approved}, role: Approver, side: owner, defaultTarget: Fulfilled},
	Withdraw:             {from: []State{Draft, Submitted, ClarificationRequested, Approved}, role: Requester, side: requesting, defaultTarget: Withdrawn},
}

// ParseAction returns the client action named s.
func ParseAction(s string) (Action, error) {
	a := Action(s)
	if _, ok := rules[a]; !ok {
		names := make([]string, len(Actions))
		for i, a := range Actions {
			names[i] = string(a)
		}
		return "", errs.Field("action", "unknown action %q; one of %s", s, strings.Join(names, ", "))
	}
	return a, nil
}

// CanSee reports whether actor may see the request at all. The requesting
// agency sees its requests from the first draft; the owner agency only once
// one has been submitted; admins see everything.
func CanSee(f Facts, a Actor) bool {
	switch {
	case a.Has(Admin):
		return true
	case a.Agency == f.RequestingAgency:
		return true
	case a.Agency == f.OwnerAgency:
		return f.Submitted
	}
	return false
}

// Decide applies the rules of DESIGN.md to one action. The checks run in the
// order a person would want them explained: a request they cannot see is
// not_found; an action their role or agency never allows is forbidden; a
// missing comment is invalid; an action the current state does not allow, or
// a second approval by the same person, is a conflict.
func Decide(f Facts, a Actor, act Action, comment string) (Outcome, error) {
	r, ok := rules[act]
	if !ok {
		return Outcome{}, errs.Field("action", "unknown action %q", act)
	}
	if !CanSee(f, a) {
		return Outcome{}, errs.E(errs.NotFound, "request not found")
	}
	agency := f.RequestingAgency
	if r.side == owner {
		agency = f.OwnerAgency
	}
	if a.Agency != agency || !a.Has(r.role) {
		article := "a"
		if r.role == Approver || r.role == Admin {
			article = "an"
		}
		return Outcome{}, errs.E(errs.Forbidden, "only %s %s of %s may %s this request", article, r.role, agency, act)
	}
	if act == Approve && a.ID == f.RequesterID {
		return Outcome{}, errs.E(errs.Forbidden, "the requester cannot approve their own request")
	}
	if r.commentNeeded && strings.TrimSpace(comment) == "" {
		return Outcome{}, errs.Field("comment", "a comment is required to %s", act)
	}
	if !slices.Contains(r.from, f.State) {
		return Outcome{}, errs.E(errs.Conflict, "cannot %s a request that is %s", act, f.State)
	}
	out := Outcome{To: r.defaultTarget}
	switch act {
	case Approve:
		if slices.Contains(f.Approvers, a.ID) {
			return Outcome{}, errs.E(errs.Conflict, "you have already approved this request")
		}
		out.AddApproval = true
		if len(f.Approvers)+1 < f.ApprovalsRequired {
			out.To = Submitted
		}
	case Submit:
		out.Submits = !f.Submitted
	}
	out.Closes = out.To.Terminal()
	return out, nil
}

// CanCreate reports why actor may not file a request, or nil.
func CanCreate(a Actor) error {
	if !a.Has(Requester) {
		return errs.E(errs.Forbidden, "only a requester may file a request")
	}
	return nil
}

// CanEdit reports why actor may not edit the request's fields, or nil.
// Fields are editable only in draft, and only by the request's requester.
func CanEdit(f Facts, a Actor) error {
	if !CanSee(f, a) {
		return errs.E(errs.NotFound, "request not found")
	}
	if a.ID != f.RequesterID {
		return errs.E(errs.Forbidden, "only the requester may edit this request")
	}
	if f.State != Draft {
		return errs.E(errs.Conflict, "a request can be edited only in draft; this one is %s", f.State)
	}
	return nil
}

// Choice is an action a user may take now.
type Choice struct {
	Action        Action
	CommentNeeded bool
}

// Allowed lists, in lifecycle order, the actions Decide would accept from
// actor on a request with these facts, given a comment where one is needed.
// Pages show exactly these buttons, so a button is never refused.
func Allowed(f Facts, a Actor) []Choice {
	var out []Choice
	for _, act := range Actions {
		comment := ""
		if rules[act].commentNeeded {
			comment = "comment"
		}
		if _, err := Decide(f, a, act, comment); err == nil {
			out = append(out, Choice{Action: act, CommentNeeded: rules[act].commentNeeded})
		}
	}
	return out
}
