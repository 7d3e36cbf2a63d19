package web

import (
	"strings"

	"datashare/errs"
)

// fieldView is one form field as the "text-field" and "select-field"
// partials draw it.
type fieldView struct {
	ID, Name, Label, Hint, Value, Error, Type, Autocomplete string
	Required, Multiline                                     bool
	MaxLength                                               int
	Options                                                 []option
}

type option struct {
	Value, Label string
	Selected     bool
}

// Described is the ids of the hint and the error, for aria-describedby.
func (f fieldView) Described() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// problem is one entry of a form's error summary, linking to its field.
type problem struct {
	ID, Message string
}

// fieldProblem returns the first field named by an invalid error and its
// message for a person (markFields places them all); ok is false for any
// other error, which the caller returns.
func fieldProblem(err error) (field, msg string, ok bool) {
	fs := errs.Fields(err)
	if len(fs) == 0 {
		return "", "", false
	}
	return fs[0].Field, sentence(fs[0].Message), true
}

// sentence starts a service's message with a capital, as a page shows it.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
