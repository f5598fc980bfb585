package placementsql_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// TestConcurrentClaimsNeverOverAllocate has many writers claim, move and
// release allocations on two small providers at once. Whatever the
// interleaving, each provider's usage never exceeds its capacity, equals the
// sum of the claims that succeeded and are still held, and every refusal is
// a 409 (no capacity, or a consumer changed by someone else) rather than an
// error.
func TestConcurrentClaimsNeverOverAllocate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		const (
			writers   = 16
			perWriter = 12
			capacity  = 20 // VCPU on each provider
		)
		a := e.provider("a", "", map[string]int64{"VCPU": capacity, "MEMORY_MB": 4096})
		b := e.provider("b", "", map[string]int64{"VCPU": capacity})
		var (
			held    sync.Map // consumer -> map[provider]vcpu
			granted atomic.Int64
			refused atomic.Int64
			wg      sync.WaitGroup
			errMu   sync.Mutex
			errs    []error
		)
		for w := range writers {
			wg.Go(func() {
				for i := range perWriter {
					consumer := uuid(1000*w + i)
					amount := int64(1 + (w+i)%3)
					target := a.UUID
					if (w+i)%2 == 1 {
						target = b.UUID
					}
					allocs := map[string]map[string]int64{target: {"VCPU": amount}}
					err := e.claim(consumer, nil, allocs)
					if err == nil {
						granted.Add(1)
						held.Store(consumer, map[string]int64{target: amount})
					} else if !errors.Is(err, placement.ErrConflict) {
						errMu.Lock()
						errs = append(errs, err)
						errMu.Unlock()
						continue
					} else {
						refused.Add(1)
						continue
					}
					switch i % 3 {
					case 1: // release every third claim
						if err := e.svc.DeleteConsumerAllocations(e.ctx, consumer); err != nil {
							errMu.Lock()
							errs = append(errs, fmt.Errorf("release %s: %w", consumer, err))
							errMu.Unlock()
						}
						held.Delete(consumer)
					case 2: // move every other one to both providers, with its generation
						move := map[string]map[string]int64{a.UUID: {"VCPU": 1}, b.UUID: {"VCPU": 1}}
						err := e.claim(consumer, gen(1), move)
						switch {
						case err == nil:
							held.Store(consumer, map[string]int64{a.UUID: 1, b.UUID: 1})
						case errors.Is(err, placement.ErrConflict):
							refused.Add(1)
						default:
							errMu.Lock()
							errs = append(errs, fmt.Errorf("move %s: %w", consumer, err))
							errMu.Unlock()
						}
					}
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			t.Errorf("unexpected error: %v", err)
		}
		want := map[string]int64{}
		held.Range(func(_, v any) bool {
			for rp, n := range v.(map[string]int64) {
				want[rp] += n
			}
			return true
		})
		for _, p := range []placement.Provider{a, b} {
			got := e.usage(p.UUID, "VCPU")
			if got > capacity {
				t.Errorf("provider %s: usage %d over capacity %d", p.Name, got, capacity)
			}
			if got != want[p.UUID] {
				t.Errorf("provider %s: usage %d, but the claims held add up to %d", p.Name, got, want[p.UUID])
			}
		}
		if granted.Load() == 0 || refused.Load() == 0 {
			t.Errorf("granted %d, refused %d: the test did not contend", granted.Load(), refused.Load())
		}
		e.checkUsedColumn()
		t.Logf("granted %d, refused %d, held VCPU a=%d b=%d", granted.Load(), refused.Load(), want[a.UUID], want[b.UUID])
		dbtest.Must(t, nil)
	})
}
