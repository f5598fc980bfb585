// Package rpc holds the messages Nimbus services send each other over the bus:
// the envelope every message travels in, its version numbers, the caller's
// context it carries, the errors a reply can hold, and the typed method
// contracts (namespace, name, version, request and response types) that the
// conductor, scheduler and compute agents implement.
//
// Versions follow oslo.messaging's target versions: an interface is major.minor;
// a server implementing 1.4 serves requests for 1.0 through 1.4, and refuses 1.5
// (a newer minor it does not know) and 2.x (another major) with an error naming
// both versions. A sender marks each message with the version its method needs,
// so adding an optional argument is a minor bump and changing a method's meaning
// is a major one.
//
// The package is pure data: it knows no transport, so both the in-process bus
// and RabbitMQ carry the same bytes.
package rpc
