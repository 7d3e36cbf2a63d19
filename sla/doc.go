// Package sla owns the 7-working-day clock of a request: how it starts,
// pauses, resumes and stops on transitions (Keeper), the status a request
// shows (Evaluate), the scheduled check that flags requests turning at risk
// or breached (Checker), and the compliance report (Reporter).
//
// The clock is kept in columns of the request (models.SLAClock) updated in
// the same transaction as each transition, so the check and the report are
// indexed queries, never replays of histories. The status rule, the
// compliance outcomes and the check's conditions are written once, in
// status.go, and read both as SQL and in Go.
package sla
