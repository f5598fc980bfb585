package virt

import (
	"errors"
	"fmt"
	"testing"
)

func TestPowerStatesAreNovas(t *testing.T) {
	t.Parallel()
	// Numbers and names as nova's power_state and InstancePowerState.
	want := map[PowerState]string{0: "pending", 1: "running", 3: "paused", 4: "shutdown", 6: "crashed", 7: "suspended", 2: "power state 2"}
	for s, name := range want {
		if s.String() != name {
			t.Errorf("%d.String() = %q, want %q", int(s), s.String(), name)
		}
	}
	if NoState != 0 || Running != 1 || Paused != 3 || Shutdown != 4 || Crashed != 6 || Suspended != 7 {
		t.Error("power state numbers differ from nova's")
	}
}

func TestTransitionsMapToPowerStates(t *testing.T) {
	t.Parallel()
	// As nova's compute manager reads lifecycle events.
	want := map[Transition]PowerState{
		EventStarted: Running, EventStopped: Shutdown, EventPaused: Paused, EventResumed: Running,
		EventSuspended: Suspended, EventPostcopyStarted: Paused, EventMigrationCompleted: Paused, Transition(9): NoState,
	}
	for tr, ps := range want {
		if tr.PowerState() != ps {
			t.Errorf("%s.PowerState() = %s, want %s", tr, tr.PowerState(), ps)
		}
	}
	if EventMigrationCompleted.String() != "Migration completed" || Transition(9).String() != "transition 9" {
		t.Error("transition names differ from nova's")
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("agent: %w", &StateError{UUID: "u1", Op: "pause", State: Shutdown, Allowed: []PowerState{Running}})
	if !errors.Is(err, ErrInvalidState) || errors.Is(err, ErrInstanceNotFound) {
		t.Errorf("%v does not match as a state error", err)
	}
	if err.Error() != "agent: cannot pause instance u1 while it is shutdown (needs running)" {
		t.Errorf("message %q", err.Error())
	}
	if nf := NotFound("u2"); !errors.Is(nf, ErrInstanceNotFound) || nf.Error() != "instance not found: u2" {
		t.Errorf("NotFound = %v", nf)
	}
	if !(ImageRef{}).IsZero() || (ImageRef{ID: "i"}).IsZero() {
		t.Error("ImageRef.IsZero is wrong")
	}
}
