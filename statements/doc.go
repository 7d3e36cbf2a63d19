// Package statements publishes the monthly compliance statement: each
// closed month's compliance report, for the whole of government and for
// each agency, written once with a SHA-256 over a canonical text of its
// figures, and never changed. When a month's figures would now come out
// differently (history imported later, a calendar correction), a revision
// is published that names the statement it supersedes and what changed;
// both stay readable.
//
// The canonical text (Canonical) is also the statement's CSV download, so
// that anyone can check a downloaded statement with sha256sum.
package statements
