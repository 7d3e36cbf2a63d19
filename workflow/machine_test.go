package workflow

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"datashare/errs"
)

// The expectations below are written out by hand from DESIGN.md's table of
// states and actions; they deliberately do not read the rules map, so that a
// change to the rules shows up here as a failing case.

const (
	moh = "MOH" // requesting agency
	hdb = "HDB" // owner agency
	xa  = "X"   // a third agency
)

type castMember struct {
	name  string
	actor Actor
	// sees: "always", "submitted" (once the request has been submitted) or
	// "never".
	sees string
	// may lists the actions this actor's role and agency allow on the request.
	may []Action
}

const requesterID = 1

var cast = []castMember{
	{"the request's own requester", Actor{ID: requesterID, Agency: moh, Roles: []Role{Requester}}, "always", []Action{Submit, Respond, Withdraw}},
	{"another requester of the requesting agency", Actor{ID: 2, Agency: moh, Roles: []Role{Requester}}, "always", []Action{Submit, Respond, Withdraw}},
	{"approver of the owner agency", Actor{ID: 3, Agency: hdb, Roles: []Role{Approver}}, "submitted", []Action{Approve, Reject, RequestClarification, Fulfil}},
	{"approver of the requesting agency", Actor{ID: 4, Agency: moh, Roles: []Role{Approver}}, "always", nil},
	{"manager of the owner agency", Actor{ID: 5, Agency: hdb, Roles: []Role{Manager}}, "submitted", nil},
	{"admin of a third agency", Actor{ID: 6, Agency: xa, Roles: []Role{Admin}}, "always", nil},
	{"requester of a third agency", Actor{ID: 7, Agency: xa, Roles: []Role{Requester}}, "never", nil},
	{"approver of a third agency", Actor{ID: 8, Agency: xa, Roles: []Role{Approver}}, "never", nil},
}

// allowedFrom is DESIGN.md's diagram: the states each action leaves.
var allowedFrom = map[Action][]State{
	Submit:               {Draft},
	Approve:              {Submitted},
	Reject:               {Submitted},
	RequestClarification: {Submitted},
	Respond:              {ClarificationRequested},
	Fulfil:               {Approved},
	Withdraw:             {Draft, Submitted, ClarificationRequested, Approved},
}

// target is where each action leads when allowed (approve: the last needed
// approval).
var target = map[Action]State{
	Submit:               Submitted,
	Approve:              Approved,
	Reject:               Rejected,
	RequestClarification: ClarificationRequested,
	Respond:              Submitted,
	Fulfil:               Fulfilled,
	Withdraw:             Withdrawn,
}

var needsComment = map[Action]bool{Reject: true, RequestClarification: true, Respond: true}

var allStates = []State{Draft, Submitted, ClarificationRequested, Approved, Fulfilled, Rejected, Withdrawn}
var allActions = []Action{Submit, Approve, Reject, RequestClarification, Respond, Fulfil, Withdraw}

func facts(state State, submitted bool) Facts {
	return Facts{State: state, RequestingAgency: moh, OwnerAgency: hdb, RequesterID: requesterID, Submitted: submitted, ApprovalsRequired: 1}
}

func (c castMember) canSee(submitted bool) bool {
	switch c.sees {
	case "always":
		return true
	case "submitted":
		return submitted
	}
	return false
}

// expectation is either an error code (and field) or an outcome.
type expectation struct {
	code  errs.Code
	field string
	out   Outcome
}

func (x expectation) String() string {
	if x.code != "" {
		if x.field != "" {
			return fmt.Sprintf("%s (field %s)", x.code, x.field)
		}
		return string(x.code)
	}
	return fmt.Sprintf("%+v", x.out)
}

func expect(c castMember, act Action, state State, submitted bool, comment string) expectation {
	if !c.canSee(submitted) {
		return expectation{code: errs.NotFound}
	}
	if !slices.Contains(c.may, act) {
		return expectation{code: errs.Forbidden}
	}
	if needsComment[act] && trimmedEmpty(comment) {
		return expectation{code: errs.Invalid, field: "comment"}
	}
	if !slices.Contains(allowedFrom[act], state) {
		return expectation{code: errs.Conflict}
	}
	to := target[act]
	return expectation{out: Outcome{
		To:          to,
		AddApproval: act == Approve,
		Submits:     act == Submit && !submitted,
		Closes:      to == Fulfilled || to == Rejected || to == Withdrawn,
	}}
}

func trimmedEmpty(s string) bool {
	for _, r := range s {
		if r != ' ' && r != '\t' && r != '\n' {
			return false
		}
	}
	return true
}

func got(out Outcome, err error) expectation {
	if err == nil {
		return expectation{out: out}
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		return expectation{code: errs.Internal}
	}
	return expectation{code: e.Code, field: e.Field}
}

func TestDecideEveryActionStateActorAndComment(t *testing.T) {
	comments := []string{"", "  \n", "because"}
	n := 0
	for _, act := range allActions {
		for _, state := range allStates {
			for _, submitted := range []bool{false, true} {
				for _, c := range cast {
					for _, comment := range comments {
						n++
						name := fmt.Sprintf("%s/%s/submitted=%t/%s/comment=%q", act, state, submitted, c.name, comment)
						want := expect(c, act, state, submitted, comment)
						out, err := Decide(facts(state, submitted), c.actor, act, comment)
						if g := got(out, err); g != want {
							t.Errorf("%s: got %v, want %v", name, g, want)
						}
					}
				}
			}
		}
	}
	if want := 7 * 7 * 2 * 8 * 3; n != want {
		t.Fatalf("cases: got %d, want %d", n, want)
	}
}

func TestDecideUnknownActionIsInvalidAction(t *testing.T) {
	for _, act := range []Action{"", "create", "APPROVE", "delete"} {
		_, err := Decide(facts(Submitted, true), cast[2].actor, act, "x")
		if g := got(Outcome{}, err); g.code != errs.Invalid || g.field != "action" {
			t.Errorf("Decide(%q): got %v, want invalid (field action)", act, g)
		}
	}
}

func TestParseAction(t *testing.T) {
	for _, act := range allActions {
		a, err := ParseAction(string(act))
		if err != nil || a != act {
			t.Errorf("ParseAction(%q): got %q, %v, want %q, nil", act, a, err, act)
		}
	}
	for _, s := range []string{"", "create", "Submit", "approve ", "sla_at_risk"} {
		_, err := ParseAction(s)
		if g := got(Outcome{}, err); g.code != errs.Invalid || g.field != "action" {
			t.Errorf("ParseAction(%q): got %v, want invalid (field action)", s, g)
		}
	}
}

func TestCanSee(t *testing.T) {
	for _, c := range cast {
		for _, state := range allStates {
			for _, submitted := range []bool{false, true} {
				want := c.canSee(submitted)
				if g := CanSee(facts(state, submitted), c.actor); g != want {
					t.Errorf("%s, %s, submitted=%t: got %t, want %t", c.name, state, submitted, g, want)
				}
			}
		}
	}
}

func TestCanSeeOwnerAgencyOnlyOnceSubmitted(t *testing.T) {
	owner := Actor{ID: 9, Agency: hdb, Roles: []Role{Requester, Approver, Manager}}
	if CanSee(facts(Draft, false), owner) {
		t.Errorf("owner agency on a never-submitted draft: got visible, want hidden")
	}
	// A request withdrawn from draft was never submitted: it stays private.
	if CanSee(facts(Withdrawn, false), owner) {
		t.Errorf("owner agency on a withdrawn, never-submitted request: got visible, want hidden")
	}
	if !CanSee(facts(Withdrawn, true), owner) {
		t.Errorf("owner agency on a withdrawn, submitted request: got hidden, want visible")
	}
}

func TestCanEdit(t *testing.T) {
	for _, c := range cast {
		for _, state := range allStates {
			for _, submitted := range []bool{false, true} {
				var want expectation
				switch {
				case !c.canSee(submitted):
					want.code = errs.NotFound
				case c.actor.ID != requesterID:
					want.code = errs.Forbidden
				case state != Draft:
					want.code = errs.Conflict
				}
				if g := got(Outcome{}, CanEdit(facts(state, submitted), c.actor)); g != want {
					t.Errorf("%s, %s, submitted=%t: got %v, want %v", c.name, state, submitted, g, want)
				}
			}
		}
	}
}

func TestApprovalCounting(t *testing.T) {
	a1 := Actor{ID: 31, Agency: hdb, Roles: []Role{Approver}}
	a2 := Actor{ID: 32, Agency: hdb, Roles: []Role{Approver}}
	a3 := Actor{ID: 33, Agency: hdb, Roles: []Role{Approver}}
	restricted := func(approvers ...int64) Facts {
		f := facts(Submitted, true)
		f.ApprovalsRequired = 2
		f.Approvers = approvers
		return f
	}
	tests := []struct {
		name  string
		f     Facts
		actor Actor
		want  expectation
	}{
		{"first of two approvals stays submitted", restricted(), a1, expectation{out: Outcome{To: Submitted, AddApproval: true}}},
		{"second distinct approval approves", restricted(a1.ID), a2, expectation{out: Outcome{To: Approved, AddApproval: true}}},
		{"same approver twice is a conflict", restricted(a1.ID), a1, expectation{code: errs.Conflict}},
		{"same approver after two approvals is a conflict on state", restricted(a1.ID, a2.ID), a1, expectation{code: errs.Conflict}},
		{"third approver needed by three", func() Facts { f := restricted(a1.ID, a2.ID); f.ApprovalsRequired = 3; return f }(), a3, expectation{out: Outcome{To: Approved, AddApproval: true}}},
		{"one of three keeps submitted", func() Facts { f := restricted(a1.ID); f.ApprovalsRequired = 3; return f }(), a2, expectation{out: Outcome{To: Submitted, AddApproval: true}}},
		{"single-approval classification approves at once", facts(Submitted, true), a1, expectation{out: Outcome{To: Approved, AddApproval: true}}},
		{"single approval already given by the same approver is a conflict", func() Facts { f := facts(Submitted, true); f.Approvers = []int64{a1.ID}; return f }(), a1, expectation{code: errs.Conflict}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if g := got(Decide(tt.f, tt.actor, Approve, "")); g != tt.want {
				t.Errorf("got %v, want %v", g, tt.want)
			}
		})
	}
}

func TestRequesterCanNeverApprove(t *testing.T) {
	// Even an approver of the owner agency cannot approve a request they
	// filed themselves (say they moved agency after filing it).
	self := Actor{ID: requesterID, Agency: hdb, Roles: []Role{Requester, Approver}}
	f := facts(Submitted, true)
	f.ApprovalsRequired = 2
	if g := got(Decide(f, self, Approve, "")); g.code != errs.Forbidden {
		t.Errorf("requester approving own request: got %v, want forbidden", g)
	}
	admin := Actor{ID: requesterID, Agency: hdb, Roles: []Role{Admin, Approver}}
	if g := got(Decide(facts(Submitted, true), admin, Approve, "")); g.code != errs.Forbidden {
		t.Errorf("requester who is also an admin approving own request: got %v, want forbidden", g)
	}
}

func TestMissingCommentIsInvalidComment(t *testing.T) {
	tests := []struct {
		act   Action
		state State
		actor Actor
	}{
		{Reject, Submitted, cast[2].actor},
		{RequestClarification, Submitted, cast[2].actor},
		{Respond, ClarificationRequested, cast[0].actor},
	}
	for _, tt := range tests {
		for _, comment := range []string{"", " ", "\t\n"} {
			_, err := Decide(facts(tt.state, true), tt.actor, tt.act, comment)
			if g := got(Outcome{}, err); g.code != errs.Invalid || g.field != "comment" {
				t.Errorf("%s with comment %q: got %v, want invalid (field comment)", tt.act, comment, g)
			}
		}
		if _, err := Decide(facts(tt.state, true), tt.actor, tt.act, "see attached"); err != nil {
			t.Errorf("%s with a comment: got %v, want nil", tt.act, err)
		}
	}
	for _, act := range []Action{Submit, Withdraw} {
		if _, err := Decide(facts(Draft, false), cast[0].actor, act, ""); err != nil {
			t.Errorf("%s without a comment: got %v, want nil (comment optional)", act, err)
		}
	}
	f := facts(Approved, true)
	if _, err := Decide(f, cast[2].actor, Fulfil, ""); err != nil {
		t.Errorf("fulfil without a comment: got %v, want nil (comment optional)", err)
	}
}

func TestRespondKeepsApprovals(t *testing.T) {
	f := facts(ClarificationRequested, true)
	f.ApprovalsRequired = 2
	f.Approvers = []int64{31}
	out, err := Decide(f, cast[0].actor, Respond, "answered")
	if err != nil || out.To != Submitted || out.AddApproval || out.Closes {
		t.Fatalf("respond: got %+v, %v, want to submitted with nothing else", out, err)
	}
	// The approval given before the clarification still counts.
	f.State = Submitted
	out, err = Decide(f, Actor{ID: 32, Agency: hdb, Roles: []Role{Approver}}, Approve, "")
	if err != nil || out.To != Approved {
		t.Fatalf("approve after respond: got %+v, %v, want approved", out, err)
	}
}

func TestResubmitDoesNotStampSubmittedAgain(t *testing.T) {
	out, err := Decide(facts(Draft, true), cast[0].actor, Submit, "")
	if err != nil || out.Submits {
		t.Fatalf("submit of a draft already submitted once: got %+v, %v, want Submits false", out, err)
	}
	out, err = Decide(facts(Draft, false), cast[0].actor, Submit, "")
	if err != nil || !out.Submits {
		t.Fatalf("first submit: got %+v, %v, want Submits true", out, err)
	}
}

func TestTerminalStates(t *testing.T) {
	for _, s := range allStates {
		want := s == Fulfilled || s == Rejected || s == Withdrawn
		if s.Terminal() != want {
			t.Errorf("%s.Terminal(): got %t, want %t", s, s.Terminal(), want)
		}
		if !s.Valid() {
			t.Errorf("%s.Valid(): got false, want true", s)
		}
	}
	if State("archived").Valid() {
		t.Errorf(`State("archived").Valid(): got true, want false`)
	}
}

// Allowed must agree with Decide on every action, state and actor of the
// cast: an action is listed exactly when Decide accepts it with a comment.
func TestAllowedAgreesWithDecide(t *testing.T) {
	requester := Actor{ID: 1, Agency: "MSF", Roles: []Role{Requester}}
	approver := Actor{ID: 2, Agency: "MOH", Roles: []Role{Approver}}
	other := Actor{ID: 3, Agency: "HDB", Roles: []Role{Requester, Approver}}
	for _, st := range States {
		for _, approvers := range [][]int64{nil, {2}, {4}} {
			f := Facts{State: st, RequestingAgency: "MSF", OwnerAgency: "MOH", RequesterID: 1,
				Submitted: st != Draft, ApprovalsRequired: 2, Approvers: approvers}
			for _, a := range []Actor{requester, approver, other} {
				got := map[Action]bool{}
				for _, c := range Allowed(f, a) {
					got[c.Action] = true
					if c.CommentNeeded != rules[c.Action].commentNeeded {
						t.Errorf("%s: CommentNeeded %v, want %v", c.Action, c.CommentNeeded, rules[c.Action].commentNeeded)
					}
				}
				for _, act := range Actions {
					_, err := Decide(f, a, act, "a comment")
					if want := err == nil; got[act] != want {
						t.Errorf("state %s approvers %v actor %d %s: listed %v, Decide accepts %v", st, approvers, a.ID, act, got[act], want)
					}
				}
			}
		}
	}
	f := Facts{State: Submitted, RequestingAgency: "MSF", OwnerAgency: "MOH", RequesterID: 1, Submitted: true, ApprovalsRequired: 1}
	got := Allowed(f, approver)
	want := []Choice{{Approve, false}, {Reject, true}, {RequestClarification, true}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("approver on a submitted request: got %v, want %v", got, want)
	}
}
