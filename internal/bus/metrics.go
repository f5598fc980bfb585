package bus

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts messages sent, handled and failed, and times calls. It is a
// prometheus.Collector: register it where the process serves /metrics.
type Metrics struct {
	sent     *prometheus.CounterVec
	handled  *prometheus.CounterVec
	failed   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	handling *prometheus.HistogramVec
}

// Reasons a message failed, the reason label of nimbus_bus_messages_failed_total.
const (
	reasonNoRoute            = "no_route"
	reasonTimeout            = "timeout"
	reasonSendError          = "send_error"
	reasonTooLarge           = "too_large"
	reasonUndecodable        = "undecodable"
	reasonUnsupportedVersion = "unsupported_version"
	reasonNoSuchMethod       = "no_such_method"
	reasonReplyUndeliverable = "reply_undeliverable"
	reasonRemoteError        = "remote_error"
	reasonCancelled          = "cancelled"
)

// NewMetrics returns unregistered bus metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nimbus_bus_messages_sent_total",
			Help: "Bus messages sent and accepted by the transport, by kind (call, cast, fanout) and topic.",
		}, []string{"kind", "topic"}),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nimbus_bus_messages_handled_total",
			Help: "Bus messages a handler ran for, by kind, topic, method and outcome (ok, error).",
		}, []string{"kind", "topic", "method", "outcome"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nimbus_bus_messages_failed_total",
			Help: "Bus messages that could not be sent, answered or handled, by kind, topic and reason.",
		}, []string{"kind", "topic", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nimbus_bus_call_duration_seconds",
			Help:    "Bus call round trips that got a reply, by topic and method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"topic", "method"}),
		handling: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nimbus_bus_handler_duration_seconds",
			Help:    "Time handlers took, by kind, topic and method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"kind", "topic", "method"}),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.sent.Describe(ch)
	m.handled.Describe(ch)
	m.failed.Describe(ch)
	m.latency.Describe(ch)
	m.handling.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.sent.Collect(ch)
	m.handled.Collect(ch)
	m.failed.Collect(ch)
	m.latency.Collect(ch)
	m.handling.Collect(ch)
}

func (m *Metrics) sentOne(kind, topic string) { m.sent.WithLabelValues(kind, topic).Inc() }

func (m *Metrics) failedOne(kind, topic, reason string) {
	m.failed.WithLabelValues(kind, topic, reason).Inc()
}

func (m *Metrics) handledOne(kind, topic, method string, err error, d time.Duration) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.handled.WithLabelValues(kind, topic, method, outcome).Inc()
	m.handling.WithLabelValues(kind, topic, method).Observe(d.Seconds())
}

func (m *Metrics) callDone(topic, method string, d time.Duration) {
	m.latency.WithLabelValues(topic, method).Observe(d.Seconds())
}
