package rpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Format is the envelope format this package writes and reads. A change to the
// envelope itself (not to a method's payload) bumps it.
const Format = 1

// DefaultMaxMessageSize is the largest encoded message accepted when no limit is
// configured: 16 MiB, RabbitMQ 4's own default.
const DefaultMaxMessageSize = 16 << 20

// Kind is how a message is delivered.
type Kind string

// The kinds of message.
const (
	// Call: to one server of a topic (or topic.host), which replies.
	Call Kind = "call"
	// Cast: to one server of a topic (or topic.host), no reply; durable.
	Cast Kind = "cast"
	// Fanout: to every server of a topic, no reply, best effort.
	Fanout Kind = "fanout"
)

// Envelope is one request on the wire.
type Envelope struct {
	Format    int     `json:"nimbus.rpc"`
	Kind      Kind    `json:"kind"`
	Namespace string  `json:"namespace,omitempty"`
	Method    string  `json:"method"`
	Version   Version `json:"version"`
	// MessageID is unique per message and stays the same when a transport sends
	// the message again, so receivers can recognise a duplicate.
	MessageID string    `json:"message_id"`
	SentAt    time.Time `json:"sent_at"`
	Context   Context   `json:"context"`
	// ReplyTo is the caller's reply address (calls only).
	ReplyTo string `json:"reply_to,omitempty"`
	// TimeoutMS is how long the caller waits for the reply (calls only); the
	// server stops trying to deliver its reply after that long.
	TimeoutMS int64           `json:"timeout_ms,omitempty"`
	Payload   json.RawMessage `json:"payload"`
}

// Reply answers a call: its result or its error.
type Reply struct {
	Format int `json:"nimbus.rpc"`
	// MessageID is the id of the call answered.
	MessageID string          `json:"message_id"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *Error          `json:"error,omitempty"`
}

// ErrTooLarge: a message is larger than the configured maximum.
var ErrTooLarge = errors.New("message too large")

// ErrMalformed: bytes that are not a valid envelope or reply.
var ErrMalformed = errors.New("malformed message")

// Name is "namespace.method", or the method alone without a namespace.
func (e *Envelope) Name() string { return qualify(e.Namespace, e.Method) }

func qualify(namespace, method string) string {
	if namespace == "" {
		return method
	}
	return namespace + "." + method
}

// Encode returns the wire form of e, refusing more than max bytes (0: no limit).
func (e *Envelope) Encode(max int) ([]byte, error) {
	e.Format = Format
	if err := e.validate(); err != nil {
		return nil, err
	}
	return encode(e, max)
}

// Encode returns the wire form of r, refusing more than max bytes (0: no limit).
func (r *Reply) Encode(max int) ([]byte, error) {
	r.Format = Format
	return encode(r, max)
}

func encode(v any, max int) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	if max > 0 && len(b) > max {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(b), max)
	}
	return b, nil
}

// DecodeEnvelope reads a request, refusing more than max bytes (0: no limit)
// and anything that is not a complete envelope of this format.
func DecodeEnvelope(b []byte, max int) (*Envelope, error) {
	var e Envelope
	if err := decode(b, max, &e); err != nil {
		return nil, err
	}
	if e.Format != Format {
		return nil, fmt.Errorf("%w: envelope format %d, this server reads %d", ErrMalformed, e.Format, Format)
	}
	if err := e.validate(); err != nil {
		return &e, err
	}
	return &e, nil
}

// DecodeReply reads a reply, refusing more than max bytes (0: no limit).
func DecodeReply(b []byte, max int) (*Reply, error) {
	var r Reply
	if err := decode(b, max, &r); err != nil {
		return nil, err
	}
	if r.Format != Format {
		return nil, fmt.Errorf("%w: reply format %d, this process reads %d", ErrMalformed, r.Format, Format)
	}
	if r.MessageID == "" {
		return nil, fmt.Errorf("%w: reply without message_id", ErrMalformed)
	}
	if r.Error != nil {
		r.Error.Remote = true
	}
	return &r, nil
}

func decode(b []byte, max int, v any) error {
	if max > 0 && len(b) > max {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(b), max)
	}
	// Unmarshal refuses trailing data too ("invalid character after top-level value").
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// validate checks the fields every envelope needs.
func (e *Envelope) validate() error {
	missing := func(f string) error { return fmt.Errorf("%w: %s is missing", ErrMalformed, f) }
	switch {
	case e.Kind != Call && e.Kind != Cast && e.Kind != Fanout:
		return fmt.Errorf("%w: kind %q is not call, cast or fanout", ErrMalformed, e.Kind)
	case e.Method == "":
		return missing("method")
	case e.MessageID == "":
		return missing("message_id")
	case e.Kind == Call && e.ReplyTo == "":
		return missing("reply_to of a call")
	case e.TimeoutMS < 0:
		return fmt.Errorf("%w: timeout_ms %d is negative", ErrMalformed, e.TimeoutMS)
	}
	return nil
}
