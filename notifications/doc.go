// Package notifications makes sure the right people hear of every step of
// a request, and that nothing is lost when a mail server or a webhook
// receiver is down.
//
// Every event writes its messages in the transaction of the change that
// caused it: in-app notifications directly, emails and webhook calls as rows
// of an outbox (Outbox). A Dispatcher claims outbox rows with a lease,
// delivers them at least once, retries failures with exponential backoff
// and jitter, and marks a delivery dead after its last attempt; a claim
// whose dispatcher died expires and is retried.
package notifications
