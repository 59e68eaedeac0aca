// Package decodeerr is the error every decoder returns: one of the
// package's sentinel errors (truncated, malformed, ...) and what was being
// read when decoding failed. errors.Is matches the sentinel; a decoder that
// must not allocate on a failing parse makes its errors once, as package
// variables.
package decodeerr

// Error is a decoding failure.
type Error struct {
	Kind error  // the package's sentinel
	What string // the field or message being read
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.What }
func (e *Error) Unwrap() error { return e.Kind }

// New returns an *Error.
func New(kind error, what string) error { return &Error{kind, what} }
