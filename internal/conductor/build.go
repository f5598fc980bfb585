package conductor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// Events the conductor records, as nova names them.
const (
	eventScheduleAndBuild = "conductor_schedule_and_build_instances"
	eventReschedule       = "conductor_build_instances"
)

// maxFaultMessage bounds a fault's message, as nova's instance_faults
// column does; the details keep everything.
const maxFaultMessage = 255

// BuildInstances places the instances of a create request and hands each
// to its host (nova's schedule_and_build_instances). Instances deleted or
// taken by a host meanwhile are left alone, so a duplicate delivery does
// nothing.
func (s *Server) BuildInstances(ctx context.Context, req rpc.BuildInstancesRequest) error {
	var insts []compute.Instance
	for _, uuid := range req.InstanceUUIDs {
		inst, err := s.inst.Instance(ctx, uuid)
		if errors.Is(err, compute.ErrNotFound) {
			s.log.InfoContext(ctx, "instance to build is gone", "instance_uuid", uuid)
			continue
		}
		if err != nil {
			return fmt.Errorf("read instance %s to build: %w", uuid, err)
		}
		if inst.Deleted || inst.VMState != compute.VMBuilding || inst.TaskState != compute.TaskScheduling || inst.Host != "" {
			s.log.InfoContext(ctx, "instance to build moved on; leaving it", "instance_uuid", uuid,
				"vm_state", inst.VMState, "task_state", inst.TaskState, "host", inst.Host, "deleted", inst.Deleted)
			continue
		}
		insts = append(insts, inst)
	}
	if len(insts) == 0 {
		return nil
	}
	for _, inst := range insts {
		s.startEvent(ctx, inst.UUID, eventScheduleAndBuild)
	}
	sels, err := s.sched.SelectDestinations(ctx, s.requestSpec(ctx, insts, req))
	if err != nil {
		fault := scheduleFault(err)
		s.log.WarnContext(ctx, "scheduling failed", "instances", len(insts), "error", err)
		for _, inst := range insts {
			s.failBuild(ctx, inst.UUID, fault)
			s.finishEvent(ctx, inst.UUID, eventScheduleAndBuild, errors.New(fault.Message))
		}
		return nil
	}
	chosen := make(map[string]rpc.Selection, len(sels))
	for _, sel := range sels {
		chosen[sel.InstanceUUID] = sel
	}
	image := req.Image
	for i := range insts {
		inst := &insts[i]
		sel, ok := chosen[inst.UUID]
		if !ok {
			fault := compute.Fault{Code: 500, Message: "The scheduler returned no host for this instance."}
			s.failBuild(ctx, inst.UUID, fault)
			s.finishEvent(ctx, inst.UUID, eventScheduleAndBuild, errors.New(fault.Message))
			continue
		}
		s.dispatch(ctx, rpc.BuildAndRunRequest{Instance: instanceSpec(inst, image), Host: sel.Host,
			Alternates: sel.Alternates, Attempt: 1, AdminPass: req.AdminPass, InjectedFiles: req.InjectedFiles})
		s.finishEvent(ctx, inst.UUID, eventScheduleAndBuild, nil)
	}
	return nil
}

// requestSpec is the scheduler's view of a create request: the first
// instance stands for all, as they share flavor, image and owner.
func (s *Server) requestSpec(ctx context.Context, insts []compute.Instance, req rpc.BuildInstancesRequest) rpc.RequestSpec {
	first := &insts[0]
	spec := rpc.RequestSpec{ProjectID: first.ProjectID, UserID: first.UserID, Flavor: wireFlavor(first.Flavor),
		Image: req.Image, BootFromVolume: bootFromVolume(first), AvailabilityZone: req.AvailabilityZone,
		ForcedHost: req.ForcedHost, ForcedNode: req.ForcedNode, RequestedHost: req.RequestedHost,
		RequestedNode: req.RequestedNode}
	for _, inst := range insts {
		spec.InstanceUUIDs = append(spec.InstanceUUIDs, inst.UUID)
	}
	spec.SameHost = s.hintHosts(ctx, req.SchedulerHints["same_host"])
	spec.DifferentHost = s.hintHosts(ctx, req.SchedulerHints["different_host"])
	return spec
}

// hintHosts resolves the instances a scheduler hint names to their hosts.
func (s *Server) hintHosts(ctx context.Context, uuids []string) []rpc.InstanceHost {
	var out []rpc.InstanceHost
	for _, u := range uuids {
		ih := rpc.InstanceHost{UUID: u}
		if inst, err := s.inst.Instance(ctx, u); err == nil && !inst.Deleted {
			ih.Host = inst.Host
		}
		out = append(out, ih)
	}
	return out
}

// scheduleFault is the fault of instances the scheduler could not place:
// its own message for NoValidHost (which names each filter's rejections),
// else what went wrong asking it.
func scheduleFault(err error) compute.Fault {
	var re *rpc.Error
	if errors.As(err, &re) && re.Kind == rpc.KindNoValidHost {
		return compute.Fault{Code: 500, Message: truncate(re.Message, maxFaultMessage), Details: re.Message}
	}
	return compute.Fault{Code: 500, Message: truncate("Failed to schedule the instance: "+err.Error(), maxFaultMessage),
		Details: err.Error()}
}

// dispatch records the chosen host on the instance and casts the build to
// it. An instance deleted meanwhile gives its claim back; a host that
// cannot be reached counts as a failed build there.
func (s *Server) dispatch(ctx context.Context, req rpc.BuildAndRunRequest) {
	uuid, host := req.Instance.UUID, req.Host.Host
	zone := s.reg.ComputeZone(host)
	_, err := s.inst.SaveInstance(ctx, uuid, func(i *compute.Instance) error {
		if err := compute.ExpectTask(i, compute.TaskScheduling); err != nil {
			return err
		}
		i.Host, i.Node = host, req.Host.Node
		if zone != "" {
			i.AvailabilityZone = zone
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, compute.ErrNotFound) || errors.Is(err, compute.ErrUnexpectedTaskState) {
			s.log.InfoContext(ctx, "instance deleted while it was scheduled; releasing its claim",
				"instance_uuid", uuid, "host", host)
			s.release(ctx, uuid)
			return
		}
		s.log.ErrorContext(ctx, "record the chosen host", "instance_uuid", uuid, "host", host, "error", err)
		s.release(ctx, uuid)
		s.failBuild(ctx, uuid, compute.Fault{Code: 500, Message: "Failed to record the host chosen for the instance.",
			Details: err.Error()})
		return
	}
	s.log.DebugContext(ctx, "casting build", "instance_uuid", uuid, "host", host, "attempt", req.Attempt)
	if err := s.computes.BuildAndRun(ctx, host, req); err != nil {
		s.log.WarnContext(ctx, "host unreachable for a build", "instance_uuid", uuid, "host", host, "error", err)
		req.Failures = append(req.Failures, rpc.HostFailure{Host: host,
			Reason: "its compute service could not be reached: " + err.Error()})
		if err := s.RescheduleInstance(ctx, req); err != nil {
			s.log.ErrorContext(ctx, "reschedule", "instance_uuid", uuid, "error", err)
		}
	}
}

// release gives an instance's claim back; a failure is logged, since the
// caller cannot do better.
func (s *Server) release(ctx context.Context, uuid string) {
	if err := s.placement.DeleteAllocations(ctx, uuid); err != nil {
		s.log.ErrorContext(ctx, "release allocations", "instance_uuid", uuid, "error", err)
	}
}

// RescheduleInstance takes back a build that failed on req.Host (the last
// of req.Failures says why): it releases the claim there and claims and
// casts to the next alternate that placement accepts, or puts the instance
// in ERROR when none is left or the failure is not one another host could
// fix.
func (s *Server) RescheduleInstance(ctx context.Context, req rpc.BuildAndRunRequest) error {
	uuid, failed := req.Instance.UUID, req.Host.Host
	if len(req.Failures) == 0 {
		req.Failures = []rpc.HostFailure{{Host: failed, Reason: "the build failed"}}
	}
	if err := s.placement.DeleteAllocations(ctx, uuid); err != nil {
		s.log.ErrorContext(ctx, "release the allocation of a failed build", "instance_uuid", uuid, "host", failed,
			"error", err)
		s.failBuild(ctx, uuid, compute.Fault{Code: 500, Message: truncate("Build of instance "+uuid+
			" failed and its resources could not be released for a retry: "+err.Error(), maxFaultMessage),
			Details: buildFailures(req.Failures)})
		return nil
	}
	_, err := s.inst.SaveInstance(ctx, uuid, func(i *compute.Instance) error {
		if i.Host != failed {
			return fmt.Errorf("instance %s is on %q, not %q: %w", uuid, i.Host, failed, compute.ErrUnexpectedTaskState)
		}
		if err := compute.ExpectTask(i, compute.TaskScheduling, compute.TaskBlockDeviceMapping,
			compute.TaskNetworking, compute.TaskSpawning); err != nil {
			return err
		}
		i.Host, i.Node = "", ""
		i.VMState, i.TaskState = compute.VMBuilding, compute.TaskScheduling
		return nil
	})
	if errors.Is(err, compute.ErrNotFound) || errors.Is(err, compute.ErrUnexpectedTaskState) {
		// Deleted, or being deleted: the delete finishes the job.
		s.log.InfoContext(ctx, "failed build of an instance that moved on; not rescheduling", "instance_uuid", uuid,
			"error", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reschedule instance %s: %w", uuid, err)
	}
	last := req.Failures[len(req.Failures)-1]
	if !last.Abort {
		s.startEvent(ctx, uuid, eventReschedule)
		for i, alt := range req.Alternates {
			ok, err := s.placement.Claim(ctx, uuid, req.Instance.ProjectID, req.Instance.UserID, alt.Allocation)
			if err != nil || !ok {
				reason := "its resources were taken meanwhile"
				if err != nil {
					reason = "its resources could not be claimed: " + err.Error()
				}
				req.Failures = append(req.Failures, rpc.HostFailure{Host: alt.Host, Reason: reason})
				continue
			}
			next := req
			next.Host, next.Alternates, next.Attempt = alt, req.Alternates[i+1:], req.Attempt+1
			s.log.InfoContext(ctx, "rescheduling build", "instance_uuid", uuid, "from", failed, "to", alt.Host,
				"attempt", next.Attempt, "reason", last.Reason)
			s.finishEvent(ctx, uuid, eventReschedule, nil)
			s.dispatch(ctx, next)
			return nil
		}
		s.finishEvent(ctx, uuid, eventReschedule, errors.New("no alternate host left"))
	}
	s.failBuild(ctx, uuid, buildFault(uuid, req, last.Abort))
	return nil
}

// buildFault is the fault of a build that no host completed: nova's
// MaxRetriesExceeded after retries, else the one failure's reason.
func buildFault(uuid string, req rpc.BuildAndRunRequest, abort bool) compute.Fault {
	details := buildFailures(req.Failures)
	if abort || (req.Attempt <= 1 && len(req.Failures) == 1) {
		f := req.Failures[len(req.Failures)-1]
		msg := fmt.Sprintf("Build of instance %s aborted on %s: %s", uuid, f.Host, f.Reason)
		if !abort {
			msg = fmt.Sprintf("Build of instance %s failed on %s: %s", uuid, f.Host, f.Reason)
		}
		return compute.Fault{Code: 500, Message: truncate(msg, maxFaultMessage), Details: details}
	}
	hosts := make([]string, len(req.Failures))
	for i, f := range req.Failures {
		hosts[i] = f.Host
	}
	msg := fmt.Sprintf("Exceeded maximum number of retries. Exhausted all hosts available for retrying build "+
		"failures for instance %s. Tried %s; the last failed: %s", uuid, strings.Join(hosts, ", "),
		req.Failures[len(req.Failures)-1].Reason)
	return compute.Fault{Code: 500, Message: truncate(msg, maxFaultMessage), Details: details}
}

// buildFailures lists the hosts tried and why each failed.
func buildFailures(fs []rpc.HostFailure) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Host + ": " + f.Reason
	}
	return strings.Join(parts, "; ")
}

// failBuild puts an instance that will not be built in ERROR with a fault.
// The fault is recorded first, so that whoever sees ERROR sees why.
func (s *Server) failBuild(ctx context.Context, uuid string, fault compute.Fault) {
	if err := s.inst.AddFault(ctx, uuid, fault); err != nil {
		s.log.ErrorContext(ctx, "record build fault", "instance_uuid", uuid, "error", err)
	}
	_, err := s.inst.SaveInstance(ctx, uuid, func(i *compute.Instance) error {
		if i.TaskState == compute.TaskDeleting {
			return compute.ErrUnexpectedTaskState
		}
		i.VMState, i.TaskState = compute.VMError, compute.TaskNone
		return nil
	})
	if err != nil {
		s.log.InfoContext(ctx, "failed build not recorded; the instance moved on", "instance_uuid", uuid, "error", err)
		return
	}
	s.log.WarnContext(ctx, "build failed", "instance_uuid", uuid, "fault", fault.Message)
}

// CleanupDeletedInstance releases the claim of an instance the API deleted
// before any host took it.
func (s *Server) CleanupDeletedInstance(ctx context.Context, uuid string) error {
	if err := s.placement.DeleteAllocations(ctx, uuid); err != nil {
		return fmt.Errorf("release allocations of deleted instance %s: %w", uuid, err)
	}
	return nil
}

// truncate cuts s to n bytes at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
