// Package e2e holds end-to-end tests: the nimbus binary built and run as
// several processes on a shared MariaDB and RabbitMQ, driven over HTTP as
// an operator's tools drive a cloud. Each test says why it skips when a
// server it needs is not given.
package e2e
