package agent

import (
	"context"
	"sync"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// syncPowerStates sends the hypervisor's power states of every instance
// with no operation running here to the conductor, which brings the
// database in line (nova's _sync_power_states), and carries out what it
// answers: powering off guests of stopped instances, destroying guests of
// deleted ones.
func (a *Agent) syncPowerStates(ctx context.Context) {
	list, err := a.driver.ListInstances(ctx)
	if err != nil {
		a.log.WarnContext(ctx, "list instances for the power state sync", "error", err)
		return
	}
	req := rpc.PowerSyncRequest{Host: a.cfg.Host}
	for _, in := range list {
		if !a.locks.busy(in.UUID) {
			req.Instances = append(req.Instances, rpc.InstancePower{UUID: in.UUID, PowerState: int(in.State)})
		}
	}
	a.sync(ctx, req)
}

// sync sends one sync request and carries out its answer.
func (a *Agent) sync(ctx context.Context, req rpc.PowerSyncRequest) {
	if len(req.Instances) == 0 {
		return
	}
	reply, err := a.cond.SyncPowerStates(ctx, req)
	if err != nil {
		a.log.WarnContext(ctx, "sync power states", "error", err)
		return
	}
	for _, ip := range req.Instances {
		a.setReportedPower(ip.UUID, ip.PowerState)
	}
	for _, act := range reply.Actions {
		a.syncAction(ctx, act)
	}
}

func (a *Agent) syncAction(ctx context.Context, act rpc.PowerSyncAction) {
	unlock := a.locks.lock(act.UUID)
	defer unlock()
	log := a.log.With("instance_uuid", act.UUID, "action", act.Action)
	switch act.Action {
	case rpc.SyncPowerOff:
		log.WarnContext(ctx, "instance is stopped but its guest runs; powering it off")
		if act.RequestID != "" {
			// The power off is the host's part of the conductor's stop
			// action: its event, as nova's stop_instance records.
			ctx = rpc.WithContext(ctx, rpc.Context{RequestID: act.RequestID})
		}
		a.event(ctx, act.UUID, "compute_stop_instance", false, nil)
		err := a.driver.PowerOff(ctx, act.UUID, 0)
		a.event(ctx, act.UUID, "compute_stop_instance", true, err)
		if err != nil {
			log.ErrorContext(ctx, "power off", "error", err)
			return
		}
		shutdown := int(virt.Shutdown)
		if _, err := a.update(ctx, rpc.InstanceUpdateRequest{InstanceUUID: act.UUID,
			ExpectedTaskStates: []string{taskNone}, PowerState: &shutdown}); err != nil && !movedOn(err) {
			log.WarnContext(ctx, "report power state", "error", err)
		}
	case rpc.SyncDestroy:
		log.WarnContext(ctx, "instance is deleted but its guest lingers; destroying it")
		if err := a.driver.Destroy(ctx, act.UUID, false); err != nil {
			log.ErrorContext(ctx, "destroy", "error", err)
			return
		}
		a.markDestroyed(act.UUID)
		if err := a.cond.Destroyed(ctx, rpc.InstanceDestroyedRequest{InstanceUUID: act.UUID, Host: a.cfg.Host}); err != nil {
			log.WarnContext(ctx, "report destroyed guest", "error", err)
		}
	default:
		log.ErrorContext(ctx, "unknown power sync action")
	}
}

// watchEvents syncs an instance whenever the driver reports its power
// changed. While an operation on the instance runs here the event waits
// for it to end, and is then checked against what the operation reported
// (nova skips such events and leaves them to its periodic sync, which
// here may be minutes away: a guest that crashed as its build finished
// would show ACTIVE until then).
func (a *Agent) watchEvents(ctx context.Context) {
	events := a.driver.Events()
	// A waiting event does not hold the agent's stop up: once ctx ends it
	// is dropped.
	deferred := map[string]bool{}
	var mu sync.Mutex
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if a.wasDestroyed(ev.UUID) {
				continue
			}
			if !a.locks.busy(ev.UUID) {
				a.powerChanged(ctx, ev.UUID)
				continue
			}
			mu.Lock()
			if deferred[ev.UUID] {
				mu.Unlock()
				continue
			}
			deferred[ev.UUID] = true
			mu.Unlock()
			go func() {
				a.locks.lock(ev.UUID)()
				mu.Lock()
				delete(deferred, ev.UUID)
				mu.Unlock()
				if ctx.Err() == nil && !a.wasDestroyed(ev.UUID) {
					a.powerChanged(ctx, ev.UUID)
				}
			}()
		}
	}
}

// powerChanged reports an instance's power state to the conductor when it
// differs from what this host reported last.
func (a *Agent) powerChanged(ctx context.Context, uuid string) {
	info, err := a.driver.GetInfo(ctx, uuid)
	if err != nil {
		return // gone since: a destroy reports itself
	}
	if p, ok := a.reportedPower(uuid); ok && p == int(info.State) {
		return // what this host reported last
	}
	a.sync(ctx, rpc.PowerSyncRequest{Host: a.cfg.Host,
		Instances: []rpc.InstancePower{{UUID: uuid, PowerState: int(info.State)}}})
}
