package placement

import (
	"errors"
	"fmt"
)

// Sentinel kinds of failure; only the HTTP layer maps them to status codes.
var (
	// ErrNotFound: the named resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request clashes with the current state (a duplicate, a
	// stale generation, inventory in use, no capacity).
	ErrConflict = errors.New("conflict")
	// ErrBadRequest: the request is malformed or names something that does not exist.
	ErrBadRequest = errors.New("bad request")
	// ErrForbidden: policy does not allow the caller the action.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthorized: there is no authenticated caller.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrStale is returned by stores when a compare-and-set on a generation
	// finds another value: someone else changed the row since it was read.
	ErrStale = errors.New("stale generation")
)

// Error codes of placement's error bodies (microversion 1.23 and later), as
// placement/errors.py names them.
const (
	CodeDefault               = "placement.undefined_code"
	CodeInventoryInUse        = "placement.inventory.inuse"
	CodeConcurrentUpdate      = "placement.concurrent_update"
	CodeDuplicateName         = "placement.duplicate_name"
	CodeProviderInUse         = "placement.resource_provider.inuse"
	CodeProviderCannotDelete  = "placement.resource_provider.cannot_delete_parent"
	CodeProviderNotFound      = "placement.resource_provider.not_found"
	CodeQueryDuplicateKey     = "placement.query.duplicate_key"
	CodeQueryBadValue         = "placement.query.bad_value"
	CodeQueryMissingValue     = "placement.query.missing_value"
	concurrentUpdateRetryHint = "Please retry your update"
)

// Error is a failure with a message meant for the API client. Kind decides
// the status code, Code the error code placement reports (CodeDefault when "").
type Error struct {
	Kind    error
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the sentinel kind.
func (e *Error) Unwrap() error { return e.Kind }

// errorf returns an *Error of kind with a formatted message and no code.
func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// codedf returns an *Error of kind with a placement error code.
func codedf(kind error, code, format string, args ...any) error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// BadQuery returns the 400 of a malformed query parameter, with a code when
// placement gives one. Request parsing in the HTTP layer uses it so that the
// service and the handlers report query errors the same way.
func BadQuery(code, format string, args ...any) error {
	return codedf(ErrBadRequest, code, format, args...)
}

// concurrentUpdate is placement's ConcurrentUpdateDetected as a 409.
func concurrentUpdate(prefix string) error {
	return codedf(ErrConflict, CodeConcurrentUpdate,
		"%sAnother thread concurrently updated the data. %s", prefix, concurrentUpdateRetryHint)
}

// isStale reports whether err is a failed generation compare-and-set.
func isStale(err error) bool { return errors.Is(err, ErrStale) }
