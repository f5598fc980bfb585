package virt

import (
	"fmt"
	"time"
)

// PowerState is an instance's power state, numbered as nova's power_state
// (the API's OS-EXT-STS:power_state shows the number).
type PowerState int

// Power states; 2 and 5 are unused, as in nova.
const (
	NoState   PowerState = 0
	Running   PowerState = 1
	Paused    PowerState = 3
	Shutdown  PowerState = 4
	Crashed   PowerState = 6
	Suspended PowerState = 7
)

// String is nova's name of the state (InstancePowerState).
func (s PowerState) String() string {
	switch s {
	case NoState:
		return "pending"
	case Running:
		return "running"
	case Paused:
		return "paused"
	case Shutdown:
		return "shutdown"
	case Crashed:
		return "crashed"
	case Suspended:
		return "suspended"
	}
	return fmt.Sprintf("power state %d", int(s))
}

// Transition is a lifecycle event's kind, numbered as nova's
// EVENT_LIFECYCLE_*.
type Transition int

// Lifecycle transitions.
const (
	EventStarted            Transition = 0
	EventStopped            Transition = 1
	EventPaused             Transition = 2
	EventResumed            Transition = 3
	EventSuspended          Transition = 4
	EventPostcopyStarted    Transition = 5
	EventMigrationCompleted Transition = 6
)

// String is nova's name of the transition.
func (t Transition) String() string {
	switch t {
	case EventStarted:
		return "Started"
	case EventStopped:
		return "Stopped"
	case EventPaused:
		return "Paused"
	case EventResumed:
		return "Resumed"
	case EventSuspended:
		return "Suspended"
	case EventPostcopyStarted:
		return "Postcopy started"
	case EventMigrationCompleted:
		return "Migration completed"
	}
	return fmt.Sprintf("transition %d", int(t))
}

// PowerState is the state an instance is in after the transition.
func (t Transition) PowerState() PowerState {
	switch t {
	case EventStarted, EventResumed:
		return Running
	case EventStopped:
		return Shutdown
	case EventPaused, EventPostcopyStarted, EventMigrationCompleted:
		return Paused
	case EventSuspended:
		return Suspended
	}
	return NoState
}

// LifecycleEvent is a change of an instance's power state the hypervisor
// reports, whoever caused it.
type LifecycleEvent struct {
	UUID       string
	Transition Transition
	Time       time.Time
}
