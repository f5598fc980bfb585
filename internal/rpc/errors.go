package rpc

import (
	"errors"
	"fmt"
)

// Error kinds every server may answer with. Services add their own kinds (for
// example the scheduler's NoValidHost) as sentinels made with NewKind.
const (
	// KindUnsupportedVersion: the server does not implement the requested version.
	KindUnsupportedVersion = "UnsupportedVersion"
	// KindNoSuchMethod: the server serves no such namespace or method.
	KindNoSuchMethod = "NoSuchMethod"
	// KindBadRequest: the payload could not be decoded into the method's request.
	KindBadRequest = "BadRequest"
	// KindInternal: the handler failed with an error of no declared kind.
	KindInternal = "InternalError"
)

// Sentinels for errors.Is on the kinds above.
var (
	ErrUnsupportedVersion = NewKind(KindUnsupportedVersion)
	ErrNoSuchMethod       = NewKind(KindNoSuchMethod)
	ErrBadRequest         = NewKind(KindBadRequest)
	ErrInternal           = NewKind(KindInternal)
)

// Error is a failure that travels in a reply: a kind a caller can test for and a
// message a person can act on. Two Errors match under errors.Is when their
// kinds are equal, so a received error matches the sentinel of its kind.
type Error struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	// Remote is set on errors decoded from a reply, so logs can tell a
	// server's failure from a local one.
	Remote bool `json:"-"`
}

// NewKind returns a sentinel of a kind, for errors.Is and for handlers to wrap.
func NewKind(kind string) *Error { return &Error{Kind: kind, Message: kind} }

// Errorf returns an Error of a kind with a formatted message.
func Errorf(kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Remote {
		return "remote " + e.Kind + ": " + e.Message
	}
	return e.Message
}

// Is matches another *Error of the same kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind
}

// AsError turns a handler's error into the Error its reply carries: an *Error
// anywhere in the chain keeps its kind with the full message; anything else is
// an InternalError.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return &Error{Kind: e.Kind, Message: err.Error()}
	}
	return &Error{Kind: KindInternal, Message: err.Error()}
}
