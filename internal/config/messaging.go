package config

// Messaging is the [oslo_messaging_rabbit] section: how the bus behaves when
// [DEFAULT] transport_url names a RabbitMQ broker, with oslo.messaging's
// option names. Defaults differ from upstream's where Nimbus's guarantees need
// it (durable queues, a bounded prefetch) and say so.
type Messaging struct {
	AMQPDurableQueues bool `ini:"amqp_durable_queues" default:"true" help:"Declare exchanges and queues durable, so they and their messages outlive a broker restart."`
	AMQPAutoDelete    bool `ini:"amqp_auto_delete" default:"false" help:"Delete a topic's queues when their last server disconnects; messages waiting for a stopped server are then lost."`
	// Upstream's default is 0 (unlimited); a bound keeps one busy server from
	// taking messages that an idle one could handle.
	RabbitQoSPrefetchCount int `ini:"rabbit_qos_prefetch_count" default:"64" min:"0" help:"Messages a server holds unacknowledged at once, per queue; 0: no limit."`
	RabbitRetryInterval    int `ini:"rabbit_retry_interval" default:"1" min:"1" help:"Seconds before the first reconnection attempt to RabbitMQ."`
	RabbitRetryBackoff     int `ini:"rabbit_retry_backoff" default:"2" min:"0" help:"Seconds added to the wait after each failed reconnection attempt."`
	RabbitIntervalMax      int `ini:"rabbit_interval_max" default:"30" min:"1" help:"Longest wait, in seconds, between reconnection attempts."`
	HeartbeatTimeout       int `ini:"heartbeat_timeout_threshold" default:"60" min:"0" help:"Seconds after which a silent connection to RabbitMQ is considered dead; 0: the broker's setting."`
	// Not an oslo.messaging option: RabbitMQ's own limit is max_message_size
	// in rabbitmq.conf (16 MiB by default since RabbitMQ 4.0).
	MaxMessageSize int `ini:"max_message_size" default:"16777216" min:"1024" max:"536870912" help:"Largest message, in bytes, the bus sends or accepts (either transport); larger ones are refused and dead-lettered."`
}
