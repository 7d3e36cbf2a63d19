// Package notifications makes sure the right people hear of every step of
// a request, and that nothing is lost when a mail server or a webhook
// receiver is down.
//
// A transition or an SLA flag writes one event row (Outbox) in the
// transaction of the change, holding the facts its audience and messages
// depend on as they were then. After commit a Dispatcher, on every replica,
// claims events with a lease and fans each out to in-app notifications and
// outbox rows, unique per event, recipient and channel, so that a fan-out
// redone after an interruption writes nothing twice. It then claims outbox
// rows with a lease, renders each from its event, delivers it at least
// once, retries failures with exponential backoff and jitter, and marks a
// delivery dead after its last attempt; a claim whose dispatcher died
// expires and is retried. A published statement and a project flagged by
// the SLA check are told to few people, known at once: their messages are
// written whole, pre-rendered, in the transaction that publishes or flags,
// each with a delivery id of its own, and delivered the same way.
//
// Each receiver (the SMTP server, each webhook host and port) is served
// apart, a few deliveries at a time, and a row is claimed only when its
// receiver has room, so that one slow receiver delays nobody else's
// messages and no claim waits out its lease in memory. Webhooks reach
// public addresses and the internal ranges the operator allows (Guard),
// judged at the moment of connecting; they follow no redirect, and a
// failure is recorded as its kind, not the network's words.
package notifications
