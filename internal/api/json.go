package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// DefaultMaxBody is upstream's oslo_middleware max_request_body_size (112 KiB).
const DefaultMaxBody = 114688

// Error is a client-facing failure: the status code and a message naming what is
// wrong. Services return it from decoding and validation; their renderer shapes it.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with a formatted message.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// BadRequest returns a 400 *Error.
func BadRequest(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, format, args...)
}

// DecodeJSON reads a JSON request body of at most limit bytes into v. It answers
// 400 for a missing or malformed body or a value of the wrong type, naming the
// field, and 413 for a body over the limit.
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) *Error {
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "json") {
		return Errorf(http.StatusUnsupportedMediaType, "Content type %s is not supported; use application/json.", ct)
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil || !errors.Is(err, io.EOF) {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return jsonError(err)
			}
			return BadRequest("Malformed request body: unexpected data after the JSON document.")
		}
	}
	return nil
}

func jsonError(err error) *Error {
	var (
		tooBig  *http.MaxBytesError
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return Errorf(http.StatusRequestEntityTooLarge, "Request body is larger than the limit of %d bytes.", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return BadRequest("Malformed request body: the body is empty; a JSON document is required.")
	case errors.As(err, &syntax):
		return BadRequest("Malformed request body: invalid JSON at offset %d.", syntax.Offset)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "the request body"
		}
		return BadRequest("Invalid input for field '%s': expected %s, got JSON %s.", field, typeErr.Type, typeErr.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("Malformed request body: the JSON document is truncated.")
	}
	return BadRequest("Malformed request body: %v.", err)
}

// WriteJSON writes v as a JSON response with the status code.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
