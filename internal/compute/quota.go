package compute

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Quota resource names, nova's QUOTAS.resources.
const (
	ResourceInstances                = "instances"
	ResourceCores                    = "cores"
	ResourceRAM                      = "ram"
	ResourceMetadataItems            = "metadata_items"
	ResourceInjectedFiles            = "injected_files"
	ResourceInjectedFileContentBytes = "injected_file_content_bytes"
	ResourceInjectedFilePathBytes    = "injected_file_path_bytes"
	ResourceKeyPairs                 = "key_pairs"
	ResourceServerGroups             = "server_groups"
	ResourceServerGroupMembers       = "server_group_members"
	// The nova-network quotas nova keeps only so that its responses keep
	// their shape; always unlimited unless an operator sets them.
	ResourceFixedIPs           = "fixed_ips"
	ResourceFloatingIPs        = "floating_ips"
	ResourceSecurityGroups     = "security_groups"
	ResourceSecurityGroupRules = "security_group_rules"
)

// QuotaResources lists every quota resource, sorted.
var QuotaResources = []string{
	ResourceCores, ResourceFixedIPs, ResourceFloatingIPs, ResourceInjectedFileContentBytes,
	ResourceInjectedFilePathBytes, ResourceInjectedFiles, ResourceInstances, ResourceKeyPairs,
	ResourceMetadataItems, ResourceRAM, ResourceSecurityGroupRules, ResourceSecurityGroups,
	ResourceServerGroupMembers, ResourceServerGroups,
}

// countable are the resources whose usage is counted; the others are limits
// on a single request (metadata items per server) and have no usage.
var countable = map[string]bool{
	ResourceInstances: true, ResourceCores: true, ResourceRAM: true, ResourceKeyPairs: true,
	ResourceServerGroups: true, ResourceServerGroupMembers: true,
}

// perProject are the resources nova never limits per user: a per-user
// update of them sets the project's limit.
var perProject = map[string]bool{ResourceFixedIPs: true, ResourceFloatingIPs: true}

// DefaultQuotaClass is the quota class whose limits replace the [quota]
// defaults for every project.
const DefaultQuotaClass = "default"

// Usage is one resource's limit and how much of it is used.
type Usage struct {
	Limit    int
	InUse    int
	Reserved int
}

// configDefault is the [quota] default of a resource, -1 when it has none.
func (s *Service) configDefault(resource string) int {
	if v, ok := s.cfg.Quota[resource]; ok {
		return v
	}
	return -1
}

// defaultLimits are nova's get_defaults: the default quota class's limits,
// else the configured defaults.
func (s *Service) defaultLimits(ctx context.Context) (map[string]int, error) {
	class, err := s.store.ClassQuotas(ctx, DefaultQuotaClass)
	if err != nil {
		return nil, fmt.Errorf("read default quota class: %w", err)
	}
	out := make(map[string]int, len(QuotaResources))
	for _, r := range QuotaResources {
		if v, ok := class[r]; ok {
			out[r] = v
		} else {
			out[r] = s.configDefault(r)
		}
	}
	return out, nil
}

// classLimits are nova's get_class_quotas: the class's limits, else the
// configured defaults (not the default class's).
func (s *Service) classLimits(ctx context.Context, class string) (map[string]int, error) {
	set, err := s.store.ClassQuotas(ctx, class)
	if err != nil {
		return nil, fmt.Errorf("read quota class %s: %w", class, err)
	}
	out := make(map[string]int, len(QuotaResources))
	for _, r := range QuotaResources {
		if v, ok := set[r]; ok {
			out[r] = v
		} else {
			out[r] = s.configDefault(r)
		}
	}
	return out, nil
}

// projectLimits are the limits in force for a project: its own, else the
// defaults.
func (s *Service) projectLimits(ctx context.Context, projectID string) (map[string]int, error) {
	set, err := s.store.ProjectQuotas(ctx, projectID)
	if err != nil {
		return nil, fmt.Errorf("read quotas of project %s: %w", projectID, err)
	}
	return s.overlay(ctx, set)
}

// userLimits are the limits in force for a user of a project: the user's
// own, else the project's (proj, as projectLimits returns), else the
// defaults.
func (s *Service) userLimits(ctx context.Context, projectID, userID string, proj map[string]int) (map[string]int, error) {
	set, err := s.store.UserQuotas(ctx, projectID, userID)
	if err != nil {
		return nil, fmt.Errorf("read quotas of user %s in project %s: %w", userID, projectID, err)
	}
	out := maps.Clone(proj)
	maps.Copy(out, set)
	return out, nil
}

// overlay puts set over the default limits.
func (s *Service) overlay(ctx context.Context, set map[string]int) (map[string]int, error) {
	out, err := s.defaultLimits(ctx)
	if err != nil {
		return nil, err
	}
	maps.Copy(out, set)
	return out, nil
}

// usage counts what the project (or one user of it) uses, as nova's
// _get_usages: per-user key pairs and server group members always show 0,
// resources no counter knows show 0.
func (s *Service) usage(ctx context.Context, projectID, userID string) (map[string]int, error) {
	out := map[string]int{}
	for _, c := range s.counters {
		counts, err := c.Usage(ctx, projectID, userID)
		if err != nil {
			return nil, fmt.Errorf("count usage of project %s: %w", projectID, err)
		}
		for r, n := range counts {
			if countable[r] && r != ResourceKeyPairs && r != ResourceServerGroupMembers {
				out[r] += n
			}
		}
	}
	return out, nil
}

// limitsWithUsage pairs limits with the usage of the project (or user).
func (s *Service) limitsWithUsage(ctx context.Context, limits map[string]int, projectID, userID string) (map[string]Usage, error) {
	used, err := s.usage(ctx, projectID, userID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Usage, len(limits))
	for r, l := range limits {
		out[r] = Usage{Limit: l, InUse: used[r]}
	}
	return out, nil
}

// unlimited reports a limit that does not limit (nova: any value <= -1).
func unlimited(v int) bool { return v <= -1 }

// settableRange is the range an update may set a limit to.
type settableRange struct{ min, max int }

// settable is nova's get_settable_quotas. For a project: at least what the
// project uses and what its users' limits add up to. For a user: at least
// what the user uses, at most what the project has not given to its other
// users.
func (s *Service) settable(ctx context.Context, projectID, userID string) (map[string]settableRange, error) {
	proj, err := s.projectLimits(ctx, projectID)
	if err != nil {
		return nil, err
	}
	sums, err := s.store.UserQuotaSums(ctx, projectID)
	if err != nil {
		return nil, fmt.Errorf("sum user quotas of project %s: %w", projectID, err)
	}
	out := make(map[string]settableRange, len(QuotaResources))
	if userID == "" {
		used, err := s.usage(ctx, projectID, "")
		if err != nil {
			return nil, err
		}
		for _, r := range QuotaResources {
			// What the project has given its users: its limit less what
			// remains, unlimited when either is.
			given, remains := -1, proj[r]-sums[r]
			if !unlimited(proj[r]) && !unlimited(remains) {
				given = proj[r] - remains
			}
			out[r] = settableRange{min: max(given, used[r]), max: -1}
		}
		return out, nil
	}
	own, err := s.store.UserQuotas(ctx, projectID, userID)
	if err != nil {
		return nil, fmt.Errorf("read quotas of user %s: %w", userID, err)
	}
	used, err := s.usage(ctx, projectID, userID)
	if err != nil {
		return nil, err
	}
	for _, r := range QuotaResources {
		remains := proj[r] - sums[r]
		maximum := -1
		if !unlimited(proj[r]) && !unlimited(remains) && !unlimited(own[r]) {
			maximum = remains + own[r]
		}
		out[r] = settableRange{min: used[r], max: maximum}
	}
	return out, nil
}

// checkSettable refuses a limit outside its settable range, in nova's words.
func checkSettable(resource string, limit int, rg settableRange) error {
	inf := func(v int) float64 {
		if v == -1 {
			return 1e300
		}
		return float64(v)
	}
	if inf(limit) < inf(rg.min) {
		return errorf(ErrInvalid, "Quota limit %d for %s must be greater than or equal to already used and reserved %d.",
			limit, resource, rg.min)
	}
	if inf(limit) > inf(rg.max) {
		return errorf(ErrInvalid, "Quota limit %d for %s must be less than or equal to %d.", limit, resource, rg.max)
	}
	return nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// QuotaExceeded reports the resources a request would take past their
// limits (nova's OverQuota). It is ErrOverLimit; callers that answer with
// another status (key pairs, servers: 403) say so with their own message.
type QuotaExceeded struct {
	// Overs are the resources over their limits, sorted.
	Overs []string
	// Scope is "project" or "user": whose limit was exceeded.
	Scope string
	// Limits are the limits in force of that scope, Usage what it used
	// before the request.
	Limits, Usage map[string]int
}

func (e *QuotaExceeded) Error() string {
	quoted := make([]string, len(e.Overs))
	for i, o := range e.Overs {
		quoted[i] = "'" + o + "'"
	}
	return "Quota exceeded for resources: [" + strings.Join(quoted, ", ") + "]"
}

// Unwrap makes a QuotaExceeded an ErrOverLimit.
func (e *QuotaExceeded) Unwrap() error { return ErrOverLimit }

// bothScopes are the resources counted for the project and for each user
// of it, each against its own limit.
var bothScopes = map[string]bool{
	ResourceInstances: true, ResourceCores: true, ResourceRAM: true, ResourceServerGroups: true,
}

// CheckDeltas checks that adding deltas to what a project, and one user of
// it, use keeps them within their limits, as nova's Quotas.check_deltas:
// instances, cores, ram and server groups against the project's limit and
// the user's; key pairs, which only users own, and the per-request limits
// (metadata items, ...) against the stricter of the two. It returns a
// *QuotaExceeded naming every resource over its limit.
func (s *Service) CheckDeltas(ctx context.Context, projectID, userID string, deltas map[string]int) error {
	if err := checkResources(deltas); err != nil {
		return err
	}
	proj, err := s.projectLimits(ctx, projectID)
	if err != nil {
		return err
	}
	user, err := s.userLimits(ctx, projectID, userID, proj)
	if err != nil {
		return err
	}
	projUse, userUse, err := s.counts(ctx, projectID, userID)
	if err != nil {
		return err
	}
	over := &QuotaExceeded{Scope: "project", Limits: proj, Usage: projUse}
	for _, r := range sortedKeys(deltas) {
		d := deltas[r]
		if !bothScopes[r] {
			if lim := minLimit(proj[r], user[r]); lim >= 0 && lim < userUse[r]+d {
				over.Overs = append(over.Overs, r)
			}
			continue
		}
		if lim := proj[r]; lim >= 0 && lim < projUse[r]+d {
			over.Overs = append(over.Overs, r)
		} else if lim := user[r]; userID != "" && lim >= 0 && lim < userUse[r]+d {
			over.Overs = append(over.Overs, r)
			over.Scope, over.Limits, over.Usage = "user", user, userUse
		}
	}
	if over.Overs != nil {
		return over
	}
	return nil
}

// counts are the real counts of what a project and a user of it use, for
// quota checks (unlike usage, which shows nova's view of usage).
func (s *Service) counts(ctx context.Context, projectID, userID string) (proj, user map[string]int, err error) {
	proj, user = map[string]int{}, map[string]int{}
	for _, c := range s.counters {
		p, err := c.Usage(ctx, projectID, "")
		if err != nil {
			return nil, nil, fmt.Errorf("count usage of project %s: %w", projectID, err)
		}
		for r, n := range p {
			proj[r] += n
		}
		if userID == "" {
			continue
		}
		u, err := c.Usage(ctx, projectID, userID)
		if err != nil {
			return nil, nil, fmt.Errorf("count usage of user %s: %w", userID, err)
		}
		for r, n := range u {
			user[r] += n
		}
	}
	if userID != "" {
		n, err := s.store.CountKeyPairs(ctx, userID)
		if err != nil {
			return nil, nil, fmt.Errorf("count key pairs of %s: %w", userID, err)
		}
		user[ResourceKeyPairs] = n
	}
	return proj, user, nil
}
