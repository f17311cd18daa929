package extract

import (
	"errors"
	"fmt"
	"strings"
)

// Errors that stop a run before anything is published. A *SourceError wraps
// one of them.
var (
	ErrMissingSource   = errors.New("no file matches the source's path")
	ErrEmptyFile       = errors.New("the file has no rows")
	ErrUnreadable      = errors.New("the file cannot be read")
	ErrMissingColumn   = errors.New("a configured column is not in the file")
	ErrDuplicateColumn = errors.New("a configured column appears more than once in the header")
	ErrNoRowLoaded     = errors.New("no row of a required source could be loaded")
)

// SourceError says which source, file, line and field a fatal problem is
// about. It never carries a patient's value.
type SourceError struct {
	Source string
	File   string
	Line   int    // 0 when the error is about the whole file
	Field  string // canonical field, when the error is about one
	Column string
	Err    error
	Detail string
}

func (e *SourceError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "load %s", e.Source)
	if e.File != "" {
		fmt.Fprintf(&b, ": %s", e.File)
	}
	b.WriteString(": ")
	b.WriteString(e.Problem())
	return b.String()
}

// Problem is the error without its source and file: where in the file, and
// what is wrong (carematch check prints it beside the source and file).
func (e *SourceError) Problem() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %s", e.Field)
		if e.Column != "" {
			fmt.Fprintf(&b, " (column %q)", e.Column)
		}
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%v", e.Err)
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	}
	return b.String()
}

func (e *SourceError) Unwrap() error { return e.Err }
