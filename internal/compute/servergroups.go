package compute

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Server group policies, nova's names.
const (
	PolicyAffinity         = "affinity"
	PolicyAntiAffinity     = "anti-affinity"
	PolicySoftAffinity     = "soft-affinity"
	PolicySoftAntiAffinity = "soft-anti-affinity"
)

// RuleMaxServerPerHost is the one server group rule nova knows (2.64): how
// many members an anti-affinity group may have on one host.
const RuleMaxServerPerHost = "max_server_per_host"

// Server group policy rule names, as nova's policies name them.
const (
	RuleServerGroupsCreate   = "os_compute_api:os-server-groups:create"
	RuleServerGroupsDelete   = "os_compute_api:os-server-groups:delete"
	RuleServerGroupsIndex    = "os_compute_api:os-server-groups:index"
	RuleServerGroupsIndexAll = "os_compute_api:os-server-groups:index:all_projects"
	RuleServerGroupsShow     = "os_compute_api:os-server-groups:show"
)

// nova's words for a group hint and its quotas.
const (
	serverGroupHint             = "group"
	serverGroupMembersExceeded  = "Quota exceeded, too many servers in group"
	serverGroupsQuotaExceededMs = "Quota exceeded, too many server groups."
)

// ServerGroup is nova's InstanceGroup: servers placed together or apart.
type ServerGroup struct {
	ID        int64
	UUID      string
	Name      string
	ProjectID string
	UserID    string
	// Policy is one of the Policy* constants.
	Policy string
	// Rules are the policy's rules by name (RuleMaxServerPerHost).
	Rules map[string]int
	// Members are the uuids of the group's servers not deleted, oldest
	// first.
	Members   []string
	CreatedAt time.Time
}

// ServerGroupMember is a member of a group and the host it runs on ("" when
// none yet).
type ServerGroupMember struct {
	InstanceUUID string
	Host         string
}

// ServerGroupStore keeps server groups and their members. A member whose
// instance is deleted is no longer a member.
type ServerGroupStore interface {
	// CreateServerGroup stores g (ID assigned) unless the project would
	// then have more than limit groups (ErrOverQuota; negative: no limit).
	CreateServerGroup(ctx context.Context, g ServerGroup, limit int) (ServerGroup, error)
	GetServerGroup(ctx context.Context, uuid string) (ServerGroup, error)
	// ListServerGroups lists the groups of a project ("" for every
	// project) by id, skipping offset and returning at most limit.
	ListServerGroups(ctx context.Context, projectID string, offset, limit int) ([]ServerGroup, error)
	DeleteServerGroup(ctx context.Context, uuid string) error
	// AddServerGroupMembers adds instances to a group unless it would then
	// have more than limit members (ErrOverQuota; negative: no limit).
	AddServerGroupMembers(ctx context.Context, uuid string, instanceUUIDs []string, limit int) error
	// ServerGroupMembers lists a group's members with their hosts.
	ServerGroupMembers(ctx context.Context, uuid string) ([]ServerGroupMember, error)
	// InstanceServerGroup returns the group an instance is a member of;
	// none is ErrNotFound.
	InstanceServerGroup(ctx context.Context, instanceUUID string) (ServerGroup, error)
	// CountServerGroups counts the groups of a project, or of one user of
	// it (userID "" for all).
	CountServerGroups(ctx context.Context, projectID, userID string) (int, error)
}

// ServerGroupCreate is a new group as POST /os-server-groups describes it.
type ServerGroupCreate struct {
	Name   string
	Policy string
	Rules  map[string]int
}

// serverGroupCounter counts server groups for quotas.
type serverGroupCounter struct{ store ServerGroupStore }

func (c serverGroupCounter) Usage(ctx context.Context, projectID, userID string) (map[string]int, error) {
	n, err := c.store.CountServerGroups(ctx, projectID, userID)
	if err != nil {
		return nil, err
	}
	return map[string]int{ResourceServerGroups: n}, nil
}

// ServerGroupCounter counts the server_groups quota resource on a store
// that keeps server groups; nil when it does not.
func ServerGroupCounter(store Store) UsageCounter {
	gs, ok := store.(ServerGroupStore)
	if !ok {
		return nil
	}
	return serverGroupCounter{gs}
}

// groups is the store's server groups, or a 404 when it keeps none.
func (s *Service) groups() (ServerGroupStore, error) {
	gs, ok := s.store.(ServerGroupStore)
	if !ok {
		return nil, errorf(ErrNotFound, "The resource could not be found.")
	}
	return gs, nil
}

func serverGroupNotFound(uuid string) error {
	return errorf(ErrNotFound, "Instance group %s could not be found.", uuid)
}

// CreateServerGroup creates a group in the caller's project within the
// server_groups quota. Rules are for anti-affinity alone, as in nova.
func (s *Service) CreateServerGroup(ctx context.Context, gc ServerGroupCreate) (ServerGroup, error) {
	c, err := caller(ctx)
	if err != nil {
		return ServerGroup{}, err
	}
	if err := s.authorize(ctx, RuleServerGroupsCreate, callerTarget(c)); err != nil {
		return ServerGroup{}, err
	}
	gs, err := s.groups()
	if err != nil {
		return ServerGroup{}, err
	}
	switch gc.Policy {
	case PolicyAffinity, PolicyAntiAffinity, PolicySoftAffinity, PolicySoftAntiAffinity:
	default:
		return ServerGroup{}, errorf(ErrInvalid, "Invalid input received: unknown server group policy %q.", gc.Policy)
	}
	if len(gc.Rules) > 0 && gc.Policy != PolicyAntiAffinity {
		return ServerGroup{}, errorf(ErrInvalid, "Only anti-affinity policy supports rules.")
	}
	for k, v := range gc.Rules {
		if k != RuleMaxServerPerHost || v < 1 {
			return ServerGroup{}, errorf(ErrInvalid, "Invalid input received: rule %s=%d is not a positive %s.",
				k, v, RuleMaxServerPerHost)
		}
	}
	if err := s.CheckDeltas(ctx, c.ProjectID, c.UserID, map[string]int{ResourceServerGroups: 1}); err != nil {
		if errors.Is(err, ErrOverLimit) {
			return ServerGroup{}, errorf(ErrForbidden, serverGroupsQuotaExceededMs)
		}
		return ServerGroup{}, err
	}
	proj, err := s.projectLimits(ctx, c.ProjectID)
	if err != nil {
		return ServerGroup{}, err
	}
	g := ServerGroup{UUID: s.newID(), Name: gc.Name, ProjectID: c.ProjectID, UserID: c.UserID, Policy: gc.Policy,
		Rules: gc.Rules, CreatedAt: s.now().UTC()}
	if g.Rules == nil {
		g.Rules = map[string]int{}
	}
	// The store counts again in its transaction, so two creations racing
	// for the last unit cannot both succeed.
	g, err = gs.CreateServerGroup(ctx, g, proj[ResourceServerGroups])
	if errors.Is(err, ErrOverQuota) {
		return ServerGroup{}, errorf(ErrForbidden, serverGroupsQuotaExceededMs)
	}
	if err != nil {
		return ServerGroup{}, fmt.Errorf("create server group %s: %w", gc.Name, err)
	}
	s.log.InfoContext(ctx, "server group created", "server_group", g.UUID, "policy", g.Policy, "project_id", g.ProjectID)
	return g, nil
}

// visibleGroup returns a group the caller may see: its project's, or any
// for an admin. Others are not found, so their existence does not leak.
func (s *Service) visibleGroup(ctx context.Context, gs ServerGroupStore, uuid string) (ServerGroup, error) {
	c, err := caller(ctx)
	if err != nil {
		return ServerGroup{}, err
	}
	g, err := gs.GetServerGroup(ctx, uuid)
	if errors.Is(err, ErrNotFound) {
		return ServerGroup{}, serverGroupNotFound(uuid)
	}
	if err != nil {
		return ServerGroup{}, fmt.Errorf("get server group %s: %w", uuid, err)
	}
	if g.ProjectID != c.ProjectID && !s.isAdmin(ctx) {
		return ServerGroup{}, serverGroupNotFound(uuid)
	}
	return g, nil
}

// ServerGroup shows one group.
func (s *Service) ServerGroup(ctx context.Context, uuid string) (ServerGroup, error) {
	gs, err := s.groups()
	if err != nil {
		return ServerGroup{}, err
	}
	g, err := s.visibleGroup(ctx, gs, uuid)
	if err != nil {
		return ServerGroup{}, err
	}
	if err := s.authorize(ctx, RuleServerGroupsShow, map[string]any{"project_id": g.ProjectID}); err != nil {
		return ServerGroup{}, err
	}
	return g, nil
}

// ServerGroups lists the caller's project's groups, or every project's
// when allProjects is asked by a caller the all_projects rule allows. Pages
// are offset and limit (nil: MaxLimit), as nova's are.
func (s *Service) ServerGroups(ctx context.Context, allProjects bool, offset int, limit *int) ([]ServerGroup, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, RuleServerGroupsIndex, map[string]any{"project_id": c.ProjectID}); err != nil {
		return nil, err
	}
	gs, err := s.groups()
	if err != nil {
		return nil, err
	}
	project := c.ProjectID
	if allProjects && s.allowed(ctx, RuleServerGroupsIndexAll) {
		project = ""
	}
	n := s.limit(limit)
	if n == 0 {
		return []ServerGroup{}, nil
	}
	out, err := gs.ListServerGroups(ctx, project, offset, n)
	if err != nil {
		return nil, fmt.Errorf("list server groups: %w", err)
	}
	return out, nil
}

// DeleteServerGroup deletes a group; its servers stay and leave it.
func (s *Service) DeleteServerGroup(ctx context.Context, uuid string) error {
	gs, err := s.groups()
	if err != nil {
		return err
	}
	g, err := s.visibleGroup(ctx, gs, uuid)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, RuleServerGroupsDelete, map[string]any{"project_id": g.ProjectID}); err != nil {
		return err
	}
	err = gs.DeleteServerGroup(ctx, uuid)
	if errors.Is(err, ErrNotFound) {
		return serverGroupNotFound(uuid)
	}
	if err != nil {
		return fmt.Errorf("delete server group %s: %w", uuid, err)
	}
	s.log.InfoContext(ctx, "server group deleted", "server_group", uuid)
	return nil
}

// requestedGroup is the group a create request's "group" hint names, with
// room checked for count more members; nil without a hint.
func (s *Service) requestedGroup(ctx context.Context, hints map[string][]string, count int) (*ServerGroup, error) {
	vs := hints[serverGroupHint]
	if len(vs) == 0 || vs[0] == "" {
		return nil, nil
	}
	gs, err := s.groups()
	if err != nil {
		return nil, err
	}
	g, err := s.visibleGroup(ctx, gs, vs[0])
	if errors.Is(err, ErrNotFound) {
		return nil, errorf(ErrInvalid, "Invalid server group: instance group %s could not be found.", vs[0])
	}
	if err != nil {
		return nil, err
	}
	limit, err := s.groupMemberLimit(ctx, g.ProjectID)
	if err != nil {
		return nil, err
	}
	if limit >= 0 && len(g.Members)+count > limit {
		return nil, errorf(ErrForbidden, serverGroupMembersExceeded)
	}
	return &g, nil
}

// groupMemberLimit is the server_group_members limit of the caller in a
// project: the stricter of the project's and the user's.
func (s *Service) groupMemberLimit(ctx context.Context, projectID string) (int, error) {
	c, err := caller(ctx)
	if err != nil {
		return 0, err
	}
	proj, err := s.projectLimits(ctx, projectID)
	if err != nil {
		return 0, err
	}
	user, err := s.userLimits(ctx, projectID, c.UserID, proj)
	if err != nil {
		return 0, err
	}
	return minLimit(proj[ResourceServerGroupMembers], user[ResourceServerGroupMembers]), nil
}

// joinGroup makes new instances members of g (nil: none). When the group
// fills up meanwhile, or the write fails, the instances are purged, as if
// never created, and the request fails.
func (s *Service) joinGroup(ctx context.Context, g *ServerGroup, insts []Instance) error {
	if g == nil {
		return nil
	}
	uuids := make([]string, len(insts))
	for i, inst := range insts {
		uuids[i] = inst.UUID
	}
	gs, err := s.groups()
	if err != nil {
		return err
	}
	limit, err := s.groupMemberLimit(ctx, g.ProjectID)
	if err != nil {
		return err
	}
	err = gs.AddServerGroupMembers(ctx, g.UUID, uuids, limit)
	if err == nil {
		return nil
	}
	if perr := s.inst.PurgeInstances(ctx, uuids); perr != nil {
		s.log.ErrorContext(ctx, "purge instances that could not join their server group", "server_group", g.UUID,
			"error", perr)
	}
	switch {
	case errors.Is(err, ErrOverQuota):
		return errorf(ErrForbidden, serverGroupMembersExceeded)
	case errors.Is(err, ErrNotFound):
		return errorf(ErrInvalid, "Invalid server group: instance group %s could not be found.", g.UUID)
	}
	return fmt.Errorf("add members to server group %s: %w", g.UUID, err)
}

// SchedulingGroup is the group an instance is a member of, with every
// member's host, for the scheduler; ok is false when it is in none. It is
// the control plane's, so no policy applies.
func (s *Service) SchedulingGroup(ctx context.Context, instanceUUID string) (ServerGroup, []ServerGroupMember, bool, error) {
	gs, ok := s.store.(ServerGroupStore)
	if !ok {
		return ServerGroup{}, nil, false, nil
	}
	g, err := gs.InstanceServerGroup(ctx, instanceUUID)
	if errors.Is(err, ErrNotFound) {
		return ServerGroup{}, nil, false, nil
	}
	if err != nil {
		return ServerGroup{}, nil, false, fmt.Errorf("get server group of instance %s: %w", instanceUUID, err)
	}
	members, err := gs.ServerGroupMembers(ctx, g.UUID)
	if err != nil {
		return ServerGroup{}, nil, false, fmt.Errorf("list members of server group %s: %w", g.UUID, err)
	}
	return g, members, true, nil
}
