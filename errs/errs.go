// Package errs is the one error type of datashare. Domain code returns an
// *Error with a Code and a message meant for a person; the api package maps
// each Code to an HTTP status in one table. Nothing here knows about HTTP.
package errs

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an error. The values are stable: clients see them as the
// "code" of an error body.
type Code string

const (
	Malformed          Code = "malformed"           // the input could not be read at all
	Invalid            Code = "invalid"             // the input was read but a field is not acceptable
	Unauthenticated    Code = "unauthenticated"     // no or unknown credentials
	Forbidden          Code = "forbidden"           // known user, not allowed
	NotFound           Code = "not_found"           // absent, or not visible to this user
	Conflict           Code = "conflict"            // wrong state or duplicate
	PreconditionFailed Code = "precondition_failed" // If-Match did not match
	TooLarge           Code = "too_large"           // body over the limit
	UnsupportedMedia   Code = "unsupported_media_type"
	Unavailable        Code = "unavailable"       // the database cannot be reached or did not answer in time; try again later
	StorageFull        Code = "storage_full"      // the database has no room left for a write; reads still work
	TooManyRequests    Code = "too_many_requests" // too many attempts from this client or for this account; RetryAfter says when to try again
	Internal           Code = "internal"          // a bug; the message is generic
)

// OfStorage reports whether c blames the database rather than the
// request: the request may well succeed later, unchanged.
func (c Code) OfStorage() bool { return c == Unavailable || c == StorageFull }

// Error is an error with a Code, a message for a person and, for Invalid, the
// name of the offending field.
type Error struct {
	Code    Code
	Message string
	Field   string
	Err     error // the cause, if any; never shown to clients
	// RetryAfter, when set, is how long until the same call may succeed
	// (the end of a lockout, the refill of a rate limit).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := string(e.Code) + ": " + e.Message
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// E returns an *Error with a formatted message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Field returns an Invalid error naming field.
func Field(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the Code of the first *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool {
	return err != nil && CodeOf(err) == code
}

// Fields returns every Invalid error in err's tree, in order: a validation
// may report several fields at once with errors.Join.
func Fields(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		switch x := err.(type) {
		case nil:
		case *Error:
			if x.Code == Invalid {
				out = append(out, x)
			}
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	return out
}
