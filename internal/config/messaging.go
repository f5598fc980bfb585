package config

// Messaging is the [oslo_messaging_rabbit] section: how the RabbitMQ transport
// behaves when [DEFAULT] transport_url names a broker.
type Messaging struct {
	AMQPDurableQueues bool `ini:"amqp_durable_queues" default:"true" help:"Declare exchanges and queues durable, so they and their messages outlive a broker restart."`
}
