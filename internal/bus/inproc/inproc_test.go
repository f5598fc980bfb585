package inproc_test

import (
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/bus/bustest"
	"github.com/nimbus-cloud/nimbus/internal/bus/inproc"
)

func TestSuite(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bustest.Env {
		b := inproc.NewBroker(inproc.Options{})
		return bustest.Env{
			Topic:   "svc",
			Connect: func(t *testing.T) bus.Transport { return b.Connect() },
			DeadLetters: func(t *testing.T) []string {
				var ids []string
				for _, m := range b.DeadLetters() {
					ids = append(ids, m.ID)
				}
				return ids
			},
		}
	})
}
