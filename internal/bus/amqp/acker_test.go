package amqp

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/bus"
)

// frames records what an acker sent, and checks it as RabbitMQ would: every
// tag settled once, a multiple-ack's own tag still outstanding.
type frames struct {
	t           *testing.T
	mu          sync.Mutex
	outstanding map[uint64]bool
	sent        []string
}

func (f *frames) settle(tag uint64, what string) {
	if !f.outstanding[tag] {
		f.t.Errorf("%s of tag %d, which is not outstanding (RabbitMQ closes the channel)", what, tag)
	}
	delete(f.outstanding, tag)
}

func (f *frames) Ack(tag uint64, multiple bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, fmt.Sprintf("ack %d multiple=%v", tag, multiple))
	f.settle(tag, "ack")
	if multiple {
		for t := range f.outstanding {
			if t < tag {
				delete(f.outstanding, t)
			}
		}
	}
	return nil
}

func (f *frames) Nack(tag uint64, multiple, requeue bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, fmt.Sprintf("nack %d requeue=%v", tag, requeue))
	f.settle(tag, "nack")
	return nil
}

func (f *frames) left() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var l []uint64
	for t := range f.outstanding {
		l = append(l, t)
	}
	slices.Sort(l)
	return l
}

func TestAcker(t *testing.T) {
	t.Parallel()
	type step struct {
		tag uint64
		o   bus.Outcome
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"in order", []step{{1, bus.Ack}, {2, bus.Ack}, {3, bus.Ack}}},
		{"out of order", []step{{2, bus.Ack}, {3, bus.Ack}, {1, bus.Ack}, {4, bus.Ack}}},
		{"refusals between", []step{{1, bus.Ack}, {2, bus.DeadLetter}, {3, bus.Ack}, {5, bus.Requeue}, {4, bus.Ack}}},
		{"slow first", []step{{2, bus.Ack}, {3, bus.Ack}, {4, bus.Ack}, {5, bus.Ack}, {1, bus.Ack}}},
		{"refusal last", []step{{1, bus.Ack}, {2, bus.Ack}, {3, bus.Requeue}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &frames{t: t, outstanding: map[uint64]bool{}}
			for _, s := range tc.steps {
				f.outstanding[s.tag] = true
			}
			a := newAcker(f)
			defer a.close()
			for _, s := range tc.steps {
				a.settle(s.tag, s.o)
			}
			// The goroutine's multiple-ack covers the rest; wait for it.
			for deadline := time.Now().Add(10 * time.Second); len(f.left()) > 0 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			if l := f.left(); len(l) > 0 {
				t.Errorf("tags %v never settled; frames %v", l, f.sent)
			}
		})
	}
}
