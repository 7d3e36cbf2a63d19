// Package sla owns the 7-working-day clock of a request: how it starts,
// pauses, resumes and stops on transitions (Keeper), the status a request
// shows (Evaluate), the scheduled check that flags requests turning at risk
// or breached (Checker), and the compliance report (Reporter).
//
// The clock is kept in columns of the request (models.SLAClock) updated in
// the same transaction as each transition, so the check and the report are
// indexed queries, never replays of histories.
package sla
