package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func TestDedupeRunsOnce(t *testing.T) {
	t.Parallel()
	d := NewDedupe(10)
	var runs atomic.Int32
	release, running := make(chan struct{}), make(chan struct{})
	var once sync.Once
	fn := func() (any, error) {
		runs.Add(1)
		once.Do(func() { close(running) })
		<-release
		return "result", nil
	}
	var wg sync.WaitGroup
	results := make(chan any, 5)
	wg.Go(func() {
		r, _, dup := d.Do(context.Background(), "m1", fn)
		if dup {
			t.Error("first copy reported as a duplicate")
		}
		results <- r
	})
	// The first copy runs before the others arrive.
	<-running
	// Copies arriving while the first runs wait for it and share its result.
	for range 4 {
		wg.Go(func() {
			r, err, _ := d.Do(context.Background(), "m1", fn)
			if err != nil {
				t.Error(err)
			}
			results <- r
		})
	}
	close(release)
	wg.Wait()
	close(results)
	for r := range results {
		if r != "result" {
			t.Errorf("a copy got %v", r)
		}
	}
	if runs.Load() != 1 {
		t.Errorf("ran %d times", runs.Load())
	}
	// A copy arriving later gets the remembered result, error included.
	_, _, _ = d.Do(context.Background(), "m2", func() (any, error) { return nil, errors.New("no host") })
	_, err, dup := d.Do(context.Background(), "m2", fn)
	if !dup || err == nil || err.Error() != "no host" {
		t.Errorf("late copy: err %v dup %v", err, dup)
	}
	if d.Duplicates() < 5 {
		t.Errorf("Duplicates() = %d, want at least 5", d.Duplicates())
	}
}

func TestDedupeForgetsAbandonedRuns(t *testing.T) {
	t.Parallel()
	d := NewDedupe(10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err, _ := d.Do(ctx, "m1", func() (any, error) { return nil, ctx.Err() })
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	ran := false
	_, _, dup := d.Do(context.Background(), "m1", func() (any, error) { ran = true; return nil, nil })
	if !ran || dup {
		t.Error("the redelivery of an abandoned run did not run")
	}
}

func TestDedupeCapacity(t *testing.T) {
	t.Parallel()
	d := NewDedupe(3)
	runs := 0
	fn := func() (any, error) { runs++; return nil, nil }
	for i := range 5 {
		d.Do(context.Background(), fmt.Sprint(i), fn)
	}
	d.Do(context.Background(), "4", fn) // remembered
	d.Do(context.Background(), "0", fn) // forgotten: runs again
	if runs != 6 {
		t.Errorf("runs = %d, want 6", runs)
	}
}
