// Package metrics exposes the service to Prometheus: a registry with the
// process's own figures, the HTTP figures that the api package records into
// it, and the domain's (requests by state, SLA, history, notifications),
// read from the services at scrape time and kept for a while: the figures
// read from indexes for seconds, those that read whole tables for minutes,
// refreshed in the background.
//
// The domain figures are those of the database, the same on every replica
// of one deployment; the last SLA check is this process's own.
package metrics
