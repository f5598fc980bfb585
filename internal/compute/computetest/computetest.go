// Package computetest has hand-written fakes of what the compute service
// consumes: a conductor that moves instances through their states as the
// real conductor and compute agents do, an image service and a service
// directory. Tests of compute and computehttp use them.
package computetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// Lifecycle is what a conductor drives: compute.Service's lifecycle
// methods.
type Lifecycle interface {
	SaveInstance(ctx context.Context, uuid string, mutate func(*compute.Instance) error) (compute.Instance, error)
	DestroyInstance(ctx context.Context, uuid string) error
	AddFault(ctx context.Context, uuid string, f compute.Fault) error
	StartEvent(ctx context.Context, uuid, requestID, event, host string) error
	FinishEvent(ctx context.Context, uuid, requestID, event string, failure error) error
}

// Conductor is a fake compute.Conductor. Each cast completes before it
// returns: the instance reaches the state the real conductor would leave
// it in, with the events a compute agent records, so tests need not wait.
type Conductor struct {
	// Svc is the service whose instances the conductor drives; set it
	// once the service is built.
	Svc Lifecycle
	// Host and Node are where instances are built; OtherHost is where
	// moves go when the request names no host.
	Host, Node, Zone, OtherHost string
	// Console is the console log ConsoleOutput returns lines of.
	Console string

	mu sync.Mutex
	// failCast fails the named casts (method names) without doing them.
	failCast map[string]error
	// failBuild makes builds end in ERROR with this fault message.
	failBuild string
	// hold leaves casts recorded but not carried out (instances stay in
	// their task state), by method name.
	hold  map[string]bool
	calls []string
}

// NewConductor returns a conductor building on host "compute1" in zone
// "nova", moving servers to "compute2".
func NewConductor() *Conductor {
	return &Conductor{Host: "compute1", Node: "compute1", Zone: "nova", OtherHost: "compute2",
		Console: "boot line 1\nboot line 2\nlogin:", failCast: map[string]error{}, hold: map[string]bool{}}
}

// FailCast makes every cast of method fail with err (nil clears it).
func (c *Conductor) FailCast(method string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		delete(c.failCast, method)
		return
	}
	c.failCast[method] = err
}

// FailBuilds makes builds fail with a fault of message ("" clears it).
func (c *Conductor) FailBuilds(message string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failBuild = message
}

// Hold leaves the casts of method unfinished: the instance stays in the
// task state the API set.
func (c *Conductor) Hold(method string, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hold[method] = on
}

// Calls returns the casts received, as "Method uuid".
func (c *Conductor) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

// begin records a cast and says whether to carry it out.
func (c *Conductor) begin(method, uuid string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.failCast[method]; err != nil {
		return false, err
	}
	c.calls = append(c.calls, method+" "+uuid)
	return !c.hold[method], nil
}

// step carries out one operation as a compute agent: an event around a
// state change that expects the task state the API set.
func (c *Conductor) step(ctx context.Context, method string, inst compute.Instance, expect compute.TaskState, change func(*compute.Instance)) error {
	run, err := c.begin(method, inst.UUID)
	if err != nil || !run {
		return err
	}
	reqID := compute.RequestID(ctx)
	event := "compute_" + snake(method)
	host := inst.Host
	if host == "" {
		host = c.Host
	}
	if err := c.Svc.StartEvent(ctx, inst.UUID, reqID, event, host); err != nil && !errors.Is(err, compute.ErrNotFound) {
		return err
	}
	_, err = c.Svc.SaveInstance(ctx, inst.UUID, func(i *compute.Instance) error {
		if err := compute.ExpectTask(i, expect); err != nil {
			return err
		}
		change(i)
		return nil
	})
	if ferr := c.Svc.FinishEvent(ctx, inst.UUID, reqID, event, err); ferr != nil && !errors.Is(ferr, compute.ErrNotFound) {
		return ferr
	}
	return err
}

// snake turns "StartInstance" into "start_instance".
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// BuildInstances builds each instance on Host, or fails it as configured.
func (c *Conductor) BuildInstances(ctx context.Context, req compute.BuildRequest) error {
	c.mu.Lock()
	fail := c.failBuild
	c.mu.Unlock()
	for _, inst := range req.Instances {
		host := c.Host
		if req.ForcedHost != "" {
			host = req.ForcedHost
		} else if req.RequestedHost != "" {
			host = req.RequestedHost
		}
		zone := c.Zone
		if req.AvailabilityZone != "" {
			zone = req.AvailabilityZone
		}
		err := c.step(ctx, "BuildInstances", inst, compute.TaskScheduling, func(i *compute.Instance) {
			if fail != "" {
				i.VMState, i.TaskState = compute.VMError, compute.TaskNone
				return
			}
			i.Host, i.Node, i.AvailabilityZone = host, host, zone
			i.VMState, i.TaskState, i.PowerState = compute.VMActive, compute.TaskNone, compute.PowerRunning
			i.LaunchedAt = i.UpdatedAt
		})
		if err != nil {
			return err
		}
		if fail != "" {
			if err := c.Svc.AddFault(ctx, inst.UUID, compute.Fault{Code: 500, Message: fail,
				Details: "Traceback: " + fail}); err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteInstance tears an instance down; a local delete has nothing left
// to do.
func (c *Conductor) DeleteInstance(ctx context.Context, inst compute.Instance, local bool) error {
	run, err := c.begin("DeleteInstance", inst.UUID)
	if err != nil || !run || local {
		return err
	}
	return c.Svc.DestroyInstance(ctx, inst.UUID)
}

func (c *Conductor) power(ctx context.Context, method string, inst compute.Instance, expect compute.TaskState,
	vm compute.VMState, power compute.PowerState) error {
	return c.step(ctx, method, inst, expect, func(i *compute.Instance) {
		i.VMState, i.TaskState, i.PowerState = vm, compute.TaskNone, power
	})
}

func (c *Conductor) StartInstance(ctx context.Context, inst compute.Instance) error {
	return c.power(ctx, "StartInstance", inst, compute.TaskPoweringOn, compute.VMActive, compute.PowerRunning)
}

func (c *Conductor) StopInstance(ctx context.Context, inst compute.Instance) error {
	return c.power(ctx, "StopInstance", inst, compute.TaskPoweringOff, compute.VMStopped, compute.PowerShutdown)
}

func (c *Conductor) RebootInstance(ctx context.Context, inst compute.Instance, hard bool) error {
	expect := compute.TaskRebooting
	if hard {
		expect = compute.TaskRebootingHard
	}
	return c.power(ctx, "RebootInstance", inst, expect, compute.VMActive, compute.PowerRunning)
}

func (c *Conductor) PauseInstance(ctx context.Context, inst compute.Instance) error {
	return c.power(ctx, "PauseInstance", inst, compute.TaskPausing, compute.VMPaused, compute.PowerPaused)
}

func (c *Conductor) UnpauseInstance(ctx context.Context, inst compute.Instance) error {
	return c.power(ctx, "UnpauseInstance", inst, compute.TaskUnpausing, compute.VMActive, compute.PowerRunning)
}

func (c *Conductor) SuspendInstance(ctx context.Context, inst compute.Instance) error {
	return c.power(ctx, "SuspendInstance", inst, compute.TaskSuspending, compute.VMSuspended, compute.PowerSuspended)
}

func (c *Conductor) ResumeInstance(ctx context.Context, inst compute.Instance) error {
	return c.power(ctx, "ResumeInstance", inst, compute.TaskResuming, compute.VMActive, compute.PowerRunning)
}

func (c *Conductor) RebuildInstance(ctx context.Context, req compute.RebuildRequest) error {
	return c.step(ctx, "RebuildInstance", req.Instance, compute.TaskRebuilding, func(i *compute.Instance) {
		if i.VMState != compute.VMStopped {
			i.VMState, i.PowerState = compute.VMActive, compute.PowerRunning
		}
		i.TaskState, i.LaunchedAt = compute.TaskNone, i.UpdatedAt
	})
}

// target is the host a move goes to.
func (c *Conductor) target(inst compute.Instance, host string) string {
	if host != "" {
		return host
	}
	if inst.Host == c.OtherHost {
		return c.Host
	}
	return c.OtherHost
}

func (c *Conductor) ResizeInstance(ctx context.Context, req compute.ResizeRequest) error {
	host := c.target(req.Instance, req.Host)
	return c.step(ctx, "ResizeInstance", req.Instance, compute.TaskResizePrep, func(i *compute.Instance) {
		old, next := i.Flavor, req.Flavor
		i.OldFlavor, i.NewFlavor, i.Flavor = &old, &next, next
		i.Host, i.Node = host, host
		i.VMState, i.TaskState = compute.VMResized, compute.TaskNone
	})
}

func (c *Conductor) ConfirmResize(ctx context.Context, inst compute.Instance) error {
	return c.step(ctx, "ConfirmResize", inst, compute.TaskResizeConfirming, func(i *compute.Instance) {
		i.OldFlavor, i.NewFlavor = nil, nil
		i.VMState, i.TaskState = finishedMove(i), compute.TaskNone
	})
}

func (c *Conductor) RevertResize(ctx context.Context, inst compute.Instance) error {
	back := c.target(inst, "")
	return c.step(ctx, "RevertResize", inst, compute.TaskResizeReverting, func(i *compute.Instance) {
		if i.OldFlavor != nil {
			i.Flavor = *i.OldFlavor
		}
		i.OldFlavor, i.NewFlavor = nil, nil
		i.Host, i.Node = back, back
		i.VMState, i.TaskState = finishedMove(i), compute.TaskNone
	})
}

// finishedMove is the vm_state after a resize ends: stopped if the guest
// was off.
func finishedMove(i *compute.Instance) compute.VMState {
	if i.PowerState == compute.PowerShutdown {
		return compute.VMStopped
	}
	return compute.VMActive
}

func (c *Conductor) SnapshotInstance(ctx context.Context, inst compute.Instance, imageID string) error {
	return c.step(ctx, "SnapshotInstance", inst, compute.TaskImageSnapshotPending, func(i *compute.Instance) {
		i.TaskState = compute.TaskNone
	})
}

func (c *Conductor) ShelveInstance(ctx context.Context, inst compute.Instance, imageID string) error {
	return c.step(ctx, "ShelveInstance", inst, compute.TaskShelving, func(i *compute.Instance) {
		i.VMState, i.TaskState, i.PowerState = compute.VMShelved, compute.TaskNone, compute.PowerShutdown
		if i.SystemMetadata == nil {
			i.SystemMetadata = map[string]string{}
		}
		i.SystemMetadata[compute.SysShelvedImageID] = imageID
	})
}

func (c *Conductor) ShelveOffloadInstance(ctx context.Context, inst compute.Instance) error {
	return c.step(ctx, "ShelveOffloadInstance", inst, compute.TaskShelvingOffloading, func(i *compute.Instance) {
		i.VMState, i.TaskState, i.PowerState = compute.VMShelvedOffloaded, compute.TaskNone, compute.PowerShutdown
		i.Host, i.Node = "", ""
	})
}

func (c *Conductor) UnshelveInstance(ctx context.Context, req compute.UnshelveRequest) error {
	host := req.Host
	if host == "" {
		host = req.Instance.Host
	}
	if host == "" {
		host = c.Host
	}
	return c.step(ctx, "UnshelveInstance", req.Instance, compute.TaskUnshelving, func(i *compute.Instance) {
		i.Host, i.Node = host, host
		i.VMState, i.TaskState, i.PowerState = compute.VMActive, compute.TaskNone, compute.PowerRunning
	})
}

func (c *Conductor) LiveMigrateInstance(ctx context.Context, req compute.LiveMigrateRequest) error {
	host := c.target(req.Instance, req.Host)
	return c.step(ctx, "LiveMigrateInstance", req.Instance, compute.TaskMigrating, func(i *compute.Instance) {
		i.Host, i.Node, i.TaskState = host, host, compute.TaskNone
	})
}

func (c *Conductor) EvacuateInstance(ctx context.Context, req compute.EvacuateRequest) error {
	host := c.target(req.Instance, req.Host)
	return c.step(ctx, "EvacuateInstance", req.Instance, compute.TaskRebuilding, func(i *compute.Instance) {
		i.Host, i.Node, i.TaskState = host, host, compute.TaskNone
		if req.TargetStopped {
			i.VMState, i.PowerState = compute.VMStopped, compute.PowerShutdown
		} else {
			i.VMState, i.PowerState = compute.VMActive, compute.PowerRunning
		}
	})
}

// ConsoleOutput returns the last length lines of Console.
func (c *Conductor) ConsoleOutput(ctx context.Context, inst compute.Instance, length int) (string, error) {
	if _, err := c.begin("ConsoleOutput", inst.UUID); err != nil {
		return "", err
	}
	lines := strings.Split(c.Console, "\n")
	if length >= 0 && length < len(lines) {
		lines = lines[len(lines)-length:]
	}
	return strings.Join(lines, "\n"), nil
}

// RemoteConsole returns a console URL naming the instance.
func (c *Conductor) RemoteConsole(ctx context.Context, inst compute.Instance, protocol, kind string) (string, error) {
	if _, err := c.begin("RemoteConsole", inst.UUID); err != nil {
		return "", err
	}
	if protocol != "vnc" && protocol != "serial" {
		return "", &compute.Error{Kind: compute.ErrInvalid, Message: fmt.Sprintf("Unavailable console type %s.", kind)}
	}
	return fmt.Sprintf("http://console.test:6080/vnc_auto.html?path=%%3Ftoken%%3D%s", inst.UUID), nil
}

var _ compute.Conductor = (*Conductor)(nil)

// Images is a fake compute.ImageService: images by id, and snapshots added
// as queued images.
type Images struct {
	mu     sync.Mutex
	images map[string]compute.Image
	// NewID names snapshots.
	NewID func() string
}

// NewImages returns an image service holding images.
func NewImages(images ...compute.Image) *Images {
	m := &Images{images: map[string]compute.Image{}}
	for _, i := range images {
		m.images[i.ID] = i
	}
	n := 0
	m.NewID = func() string { n++; return fmt.Sprintf("00000000-0000-0000-0000-%012d", n) }
	return m
}

// Add stores an image.
func (m *Images) Add(i compute.Image) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.images[i.ID] = i
}

func (m *Images) Image(_ context.Context, id string) (compute.Image, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := m.images[id]
	if !ok {
		return compute.Image{}, fmt.Errorf("image %s: %w", id, compute.ErrNotFound)
	}
	return i, nil
}

func (m *Images) CreateSnapshot(_ context.Context, name string, props map[string]string) (compute.Image, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := compute.Image{ID: m.NewID(), Name: name, Status: "queued", Properties: props}
	m.images[i.ID] = i
	return i, nil
}

func (m *Images) ImageURL(id string) string { return "http://image.test:9292/images/" + id }

func (m *Images) DeleteImage(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.images[id]; !ok {
		return fmt.Errorf("image %s: %w", id, compute.ErrNotFound)
	}
	delete(m.images, id)
	return nil
}

var _ compute.ImageService = (*Images)(nil)

// Services is a fake compute.ServiceDirectory.
type Services []compute.ServiceRecord

func (s Services) Services(context.Context) ([]compute.ServiceRecord, error) { return s, nil }

func (c *Conductor) RescueInstance(ctx context.Context, inst compute.Instance, image compute.Image, adminPass string) error {
	return c.power(ctx, "RescueInstance", inst, compute.TaskRescuing, compute.VMRescued, compute.PowerRunning)
}

func (c *Conductor) UnrescueInstance(ctx context.Context, inst compute.Instance) error {
	return c.power(ctx, "UnrescueInstance", inst, compute.TaskUnrescuing, compute.VMActive, compute.PowerRunning)
}

func (c *Conductor) BackupInstance(ctx context.Context, inst compute.Instance, imageID, backupType string, rotation int) error {
	return c.step(ctx, "BackupInstance", inst, compute.TaskImageBackup, func(i *compute.Instance) {
		i.TaskState = compute.TaskNone
	})
}

// Diagnostics answers figures of a running guest of one CPU and disk.
func (c *Conductor) Diagnostics(ctx context.Context, inst compute.Instance) (compute.Diagnostics, error) {
	if _, err := c.begin("Diagnostics", inst.UUID); err != nil {
		return compute.Diagnostics{}, err
	}
	return compute.Diagnostics{State: "running", Driver: "libvirt", Hypervisor: "kvm", HypervisorOS: "ubuntu",
		Uptime: 60, CPUs: []compute.CPUDiagnostics{{ID: 0, Time: 1000, Utilisation: 10}},
		Disks:       []compute.DiskDiagnostics{{Name: "vda", ReadBytes: 512, ReadRequests: 1}},
		MemoryMaxKB: int64(inst.Flavor.MemoryMB) * 1024, MemoryUsedKB: int64(inst.Flavor.MemoryMB) * 512}, nil
}
