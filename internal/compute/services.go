package compute

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// BinaryCompute is the binary of compute services, the only ones an
// operator may enable, disable or force down (as nova allows).
const BinaryCompute = "nova-compute"

// ServiceState is one service of the service group as os-services and
// os-hypervisors show it.
type ServiceState struct {
	// ID is the integer id of microversions before 2.53, UUID the id after.
	ID             int
	UUID           string
	Host           string
	Binary         string
	Zone           string
	Disabled       bool
	DisabledReason string
	ForcedDown     bool
	// Up is the service group's liveness verdict (false when forced down).
	Up        bool
	UpdatedAt time.Time
	// Node is a compute service's hypervisor as its agent last reported it.
	Node *HypervisorNode
}

// HypervisorNode is a compute host's node (nova's ComputeNode).
type HypervisorNode struct {
	// UUID is the node's id from 2.53, also its resource provider's.
	UUID              string
	Hostname          string
	Type              string
	Version           int64
	HostIP            string
	VCPUs, VCPUsUsed  int
	MemoryMB, MemUsed int64
	LocalGB, DiskUsed int64
	// CPUInfo is the host CPU as nova's cpu_info JSON object.
	CPUInfo map[string]any
	// BootedAt is when the host came up; zero when not known.
	BootedAt time.Time
}

// ServiceAdmin is the service group as operators manage it, supplied where
// the cloud runs a conductor; each setter answers ErrNotFound for an
// unknown host and binary.
type ServiceAdmin interface {
	ServiceStates(ctx context.Context) ([]ServiceState, error)
	SetServiceDisabled(ctx context.Context, host, binary string, disabled bool, reason string) error
	SetServiceForcedDown(ctx context.Context, host, binary string, down bool) error
	RemoveService(ctx context.Context, host, binary string) error
}

// ServiceUpdate is a change of a service; nil fields stay as they are.
type ServiceUpdate struct {
	// Status is "enabled" or "disabled".
	Status         *string
	DisabledReason *string
	ForcedDown     *bool
}

// Policy rules of os-services and os-hypervisors.
const (
	RuleServicesList       = "os_compute_api:os-services:list"
	RuleServicesUpdate     = "os_compute_api:os-services:update"
	RuleServicesDelete     = "os_compute_api:os-services:delete"
	RuleHypervisorsList    = "os_compute_api:os-hypervisors:list"
	RuleHypervisorsDetail  = "os_compute_api:os-hypervisors:list-detail"
	RuleHypervisorsShow    = "os_compute_api:os-hypervisors:show"
	RuleHypervisorsStats   = "os_compute_api:os-hypervisors:statistics"
	RuleHypervisorsSearch  = "os_compute_api:os-hypervisors:search"
	RuleHypervisorsServers = "os_compute_api:os-hypervisors:servers"
	RuleHypervisorsUptime  = "os_compute_api:os-hypervisors:uptime"
)

// serviceAdminUnavailable is the cause of a failure on a cloud without a
// service group (routes are not served there, so only a caller of the
// package meets it).
const serviceAdminUnavailable = "services are not managed by this cloud"

// admin returns the service group, which exists where a conductor runs.
func (s *Service) admin() (ServiceAdmin, bool) {
	return s.group, s.group != nil
}

// ManagesServices tells whether the service group can be shown and
// managed: os-services and os-hypervisors are served only then.
func (s *Service) ManagesServices() bool {
	_, ok := s.admin()
	return ok
}

// states lists the service group without the API services, as nova's
// os-services does.
func (s *Service) states(ctx context.Context) ([]ServiceState, error) {
	a, ok := s.admin()
	if !ok {
		return nil, errors.New(serviceAdminUnavailable)
	}
	all, err := a.ServiceStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	all = slices.DeleteFunc(all, func(st ServiceState) bool { return slices.Contains(apiBinaries, st.Binary) })
	// A compute host is in the zone its aggregates set, as in the zone
	// list and the scheduler.
	byHost, err := AggregatesByHost(ctx, s.store)
	if err != nil {
		return nil, err
	}
	for i, st := range all {
		if st.Binary == BinaryCompute {
			all[i].Zone = HostZone(byHost[st.Host], st.Zone)
		}
	}
	return all, nil
}

// ListServices lists the services, those of host and binary when set
// (os-services:list).
func (s *Service) ListServices(ctx context.Context, host, binary string) ([]ServiceState, error) {
	if err := s.authorize(ctx, RuleServicesList, map[string]any{}); err != nil {
		return nil, err
	}
	all, err := s.states(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(st ServiceState) bool {
		return (host != "" && st.Host != host) || (binary != "" && st.Binary != binary)
	}), nil
}

// UpdateServiceByHost applies the actions of microversions before 2.53
// (enable, disable, disable-log-reason, force-down) to the service of host
// and binary.
func (s *Service) UpdateServiceByHost(ctx context.Context, host, binary string, u ServiceUpdate) error {
	if err := s.authorize(ctx, RuleServicesUpdate, map[string]any{}); err != nil {
		return err
	}
	if binary != BinaryCompute {
		return errorf(ErrInvalid, "Updating a %s service is not supported. Only nova-compute services can be updated.", binary)
	}
	all, err := s.states(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(all, func(st ServiceState) bool { return st.Host == host && st.Binary == binary })
	if i < 0 {
		return errorf(ErrNotFound, "Could not find binary %s on host %s.", binary, host)
	}
	return s.applyServiceUpdate(ctx, all[i], u)
}

// UpdateService changes the compute service whose uuid is id (2.53 and
// later) and returns it as it is afterwards.
func (s *Service) UpdateService(ctx context.Context, id string, u ServiceUpdate) (ServiceState, error) {
	if err := uuid.Validate(id); err != nil {
		return ServiceState{}, errorf(ErrInvalid, "Invalid uuid %s", id)
	}
	if err := s.authorize(ctx, RuleServicesUpdate, map[string]any{}); err != nil {
		return ServiceState{}, err
	}
	st, err := s.serviceByID(ctx, id, true)
	if err != nil {
		return ServiceState{}, err
	}
	if st.Binary != BinaryCompute {
		return ServiceState{}, errorf(ErrInvalid,
			"Updating a %s service is not supported. Only nova-compute services can be updated.", st.Binary)
	}
	if u.Status != nil && *u.Status == "enabled" && u.DisabledReason != nil && *u.DisabledReason != "" {
		return ServiceState{}, errorf(ErrInvalid, "Specifying 'disabled_reason' with status 'enabled' is invalid.")
	}
	if u.Status == nil && u.ForcedDown == nil {
		return ServiceState{}, errorf(ErrInvalid,
			"No updates were requested. Fields 'status' or 'forced_down' should be specified.")
	}
	if err := s.applyServiceUpdate(ctx, st, u); err != nil {
		return ServiceState{}, err
	}
	return s.serviceByID(ctx, id, true)
}

func (s *Service) applyServiceUpdate(ctx context.Context, st ServiceState, u ServiceUpdate) error {
	a, _ := s.admin()
	if u.Status != nil {
		disabled := *u.Status == "disabled"
		reason := ""
		if disabled && u.DisabledReason != nil {
			reason = *u.DisabledReason
		}
		if err := a.SetServiceDisabled(ctx, st.Host, st.Binary, disabled, reason); err != nil {
			return s.serviceGone(err, st)
		}
		s.log.InfoContext(ctx, "service status changed", "host", st.Host, "binary", st.Binary,
			"status", *u.Status, "reason", reason)
	}
	if u.ForcedDown != nil {
		if err := a.SetServiceForcedDown(ctx, st.Host, st.Binary, *u.ForcedDown); err != nil {
			return s.serviceGone(err, st)
		}
		s.log.InfoContext(ctx, "service forced_down changed", "host", st.Host, "binary", st.Binary,
			"forced_down", *u.ForcedDown)
	}
	return nil
}

// serviceGone names a service removed while it was being changed.
func (s *Service) serviceGone(err error, st ServiceState) error {
	if errors.Is(err, ErrNotFound) {
		return errorf(ErrNotFound, "Could not find binary %s on host %s.", st.Binary, st.Host)
	}
	return fmt.Errorf("update service %s on %s: %w", st.Binary, st.Host, err)
}

// serviceByID finds a service by its uuid (byUUID) or integer id.
func (s *Service) serviceByID(ctx context.Context, id string, byUUID bool) (ServiceState, error) {
	all, err := s.states(ctx)
	if err != nil {
		return ServiceState{}, err
	}
	for _, st := range all {
		if (byUUID && st.UUID == id) || (!byUUID && strconv.Itoa(st.ID) == id) {
			return st, nil
		}
	}
	if byUUID {
		return ServiceState{}, errorf(ErrNotFound, "Service %s could not be found.", id)
	}
	return ServiceState{}, errorf(ErrNotFound, "Service %s not found.", id)
}

// DeleteService removes a service by its uuid (byUUID, 2.53 and later) or
// integer id. A compute service that still hosts instances, or is the
// source or destination of a move not yet over, stays, as in nova; one
// that goes leaves its host aggregates and its resource provider goes
// from placement.
func (s *Service) DeleteService(ctx context.Context, id string, byUUID bool) error {
	if err := s.authorize(ctx, RuleServicesDelete, map[string]any{}); err != nil {
		return err
	}
	if byUUID {
		if err := uuid.Validate(id); err != nil {
			return errorf(ErrInvalid, "Invalid uuid %s", id)
		}
	} else if n, err := strconv.Atoi(id); err != nil || n < 0 {
		return errorf(ErrInvalid, "Invalid input for field/attribute id. Value: %s. id must be an integer", id)
	}
	st, err := s.serviceByID(ctx, id, byUUID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return errorf(ErrNotFound, "Service %s not found.", id)
		}
		return err
	}
	if st.Binary == BinaryCompute {
		if err := s.retireComputeHost(ctx, st); err != nil {
			return err
		}
	}
	a, _ := s.admin()
	if err := a.RemoveService(ctx, st.Host, st.Binary); err != nil {
		if errors.Is(err, ErrNotFound) {
			return errorf(ErrNotFound, "Service %s not found.", id)
		}
		return fmt.Errorf("delete service %s on %s: %w", st.Binary, st.Host, err)
	}
	s.log.InfoContext(ctx, "service deleted", "host", st.Host, "binary", st.Binary)
	return nil
}

// instancesOnHost lists up to limit (0: all) live instances on host, by
// creation.
func (s *Service) instancesOnHost(ctx context.Context, host string, limit int) ([]Instance, error) {
	if s.inst == nil {
		return nil, nil
	}
	live := false
	insts, err := s.inst.ListInstances(ctx, InstanceFilter{Exact: map[string][]string{"host": {host}},
		Deleted: &live, SoftDeleted: true, Sort: []SortKey{{Key: "created_at"}}, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("list instances on %s: %w", host, err)
	}
	return insts, nil
}
