// Package workflow owns the life of a data-sharing request: its states, the
// actions that move it, who may take each action, how approvals are counted,
// and the database transaction that applies a transition.
//
// The rules live in machine.go as pure functions (Decide, CanSee) of the
// request, the actor and the action, so they are tested exhaustively without
// a database. Service wraps them: it opens the transaction, locks and loads
// the request, calls Decide, and saves the outcome with its history row.
// An admin's hand-over of an open request to another requester (Reassign)
// is written the same way, as a history row that leaves the state as it is.
package workflow
