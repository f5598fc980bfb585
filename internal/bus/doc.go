// Package bus carries versioned RPC messages between Nimbus services, as
// oslo.messaging does between OpenStack's: call (request and reply, bounded by
// ctx or [DEFAULT] rpc_response_timeout), cast (one-way, durable) and fanout
// (to every server of a topic, best effort). A server listens on its topic,
// whose messages it shares with the other servers of the topic, and on
// topic.host, which is its own (compute.<host>); several servers of one topic
// share the work.
//
// The Bus is transport-neutral: it builds rpc envelopes, checks versions,
// enforces the message size limit, answers calls, dead-letters what it cannot
// handle and counts everything in Prometheus metrics. A Transport moves the
// bytes: bus/inproc within one process, bus/amqp through RabbitMQ.
//
// # Delivery: at least once
//
// A message that Cast returned nil for is delivered at least once, not exactly
// once. A sender that loses its connection before the broker confirmed a
// message publishes it again (the broker may have taken the first copy); a
// server that stops, crashes or loses its connection before acknowledging a
// message has it delivered again, marked Redelivered, to whichever server of
// the queue takes it next. Both copies carry the same message id.
//
// Handlers must therefore be idempotent. Dedupe is the first line: as
// endpoint middleware it runs a handler once per message id in a process and
// answers a repeated call with the first answer. It cannot see a duplicate
// handled by another process, so handlers whose effect must happen once also
// check their own state (the conductor checks an instance's task state, the
// compute agent whether the guest exists, placement's consumer generation
// refuses a second claim).
//
// Calls need no such care from their callers: a reply arrives at most once
// (a late or second reply finds nobody waiting and is dropped), and a call
// whose caller gave up expires in its queue rather than running late.
//
// # Refusals
//
// A message larger than Options.MaxMessageSize, one that does not decode as an
// envelope, and a cast whose version the server does not implement are
// dead-lettered (not requeued) and logged with their queue and message id; the
// server goes on serving. A call is answered instead: UnsupportedVersion names
// the requested and the implemented version, NoSuchMethod the method. A cast
// whose handler fails is logged and acknowledged: requeueing would only fail
// again, so a cast handler records its own failures (an instance fault).
package bus
