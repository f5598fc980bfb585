package identity

import (
	"errors"
	"fmt"
)

// Error is a failure with a message meant for the API client. Kind is one of the
// sentinel errors, which decides the status code.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the sentinel kind.
func (e *Error) Unwrap() error { return e.Kind }

// invalid returns an ErrValidation error with a client-facing message.
func invalid(format string, args ...any) error {
	return &Error{Kind: ErrValidation, Message: fmt.Sprintf(format, args...)}
}

// conflict returns an ErrConflict error with a client-facing message.
func conflict(format string, args ...any) error {
	return &Error{Kind: ErrConflict, Message: fmt.Sprintf(format, args...)}
}

// forbidden returns an ErrForbidden error with a client-facing message.
func forbidden(format string, args ...any) error {
	return &Error{Kind: ErrForbidden, Message: fmt.Sprintf(format, args...)}
}

// unauthorized returns an ErrUnauthorized error with a client-facing message.
func unauthorized(format string, args ...any) error {
	return &Error{Kind: ErrUnauthorized, Message: fmt.Sprintf(format, args...)}
}

// notFound is keystone's "Could not find user: <id>." for entity kind and id.
func notFound(kind, id string) error {
	return &Error{Kind: ErrNotFound, Message: fmt.Sprintf("Could not find %s: %s.", kind, id)}
}

// lookup converts a store's bare not-found into keystone's message for kind and
// id, and passes every other error through.
func lookup(err error, kind, id string) error {
	var e *Error
	if errors.Is(err, ErrNotFound) && !errors.As(err, &e) {
		return notFound(kind, id)
	}
	return err
}

// duplicate converts a store's bare conflict into keystone's message.
func duplicate(err error, format string, args ...any) error {
	var e *Error
	if errors.Is(err, ErrConflict) && !errors.As(err, &e) {
		return &Error{Kind: ErrConflict, Message: "Conflict occurred attempting to store " + fmt.Sprintf(format, args...)}
	}
	return err
}

func errorsIsUnauthorized(err error) bool { return errors.Is(err, ErrUnauthorized) }
