package compute

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// instanceNotFound is nova's InstanceNotFound.
func instanceNotFound(id string) error {
	return errorf(ErrNotFound, "Instance %s could not be found.", id)
}

// lookup returns the instance id names if the caller may see it: admins
// see every project's, others their project's (nova's project_only reads).
func (s *Service) lookup(ctx context.Context, id string, readDeleted bool) (Instance, error) {
	c, err := caller(ctx)
	if err != nil {
		return Instance{}, err
	}
	if s.inst == nil {
		return Instance{}, instanceNotFound(id)
	}
	inst, err := s.inst.GetInstance(ctx, id, readDeleted)
	if errors.Is(err, ErrNotFound) {
		return Instance{}, instanceNotFound(id)
	}
	if err != nil {
		return Instance{}, fmt.Errorf("get instance %s: %w", id, err)
	}
	if inst.ProjectID != c.ProjectID && !s.isAdmin(ctx) {
		return Instance{}, instanceNotFound(id)
	}
	return inst, nil
}

// ownerTarget is the policy target of an instance: its project and user.
func ownerTarget(inst Instance) map[string]any {
	return map[string]any{"project_id": inst.ProjectID, "user_id": inst.UserID}
}

// projectTarget is the target of rules nova checks against the project
// alone.
func projectTarget(inst Instance) map[string]any {
	return map[string]any{"project_id": inst.ProjectID}
}

// Server returns a live server (GET /servers/{server_id}).
func (s *Service) Server(ctx context.Context, id string) (Instance, error) {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return Instance{}, err
	}
	if err := s.authorize(ctx, RuleServersShow, projectTarget(inst)); err != nil {
		return Instance{}, err
	}
	return inst, nil
}

// ViewPolicy is what policy lets a caller see of a server.
type ViewPolicy struct {
	// ExtendedAttrs are the OS-EXT-SRV-ATTR fields (host, node, ...).
	ExtendedAttrs bool
	// FlavorExtraSpecs are the embedded flavor's extra specs (2.47).
	FlavorExtraSpecs bool
	// HostStatus is every host status; HostStatusUnknown only UNKNOWN.
	HostStatus, HostStatusUnknown bool
	// Admin sees the details of faults with code 500.
	Admin bool
}

// ServerViewPolicy returns what the caller may see of the servers of a
// project ("" for a list, which nova checks against the caller's own
// project).
func (s *Service) ServerViewPolicy(ctx context.Context, projectID string) ViewPolicy {
	c, err := caller(ctx)
	if err != nil {
		return ViewPolicy{}
	}
	target := callerTarget(c)
	if projectID != "" {
		target = map[string]any{"project_id": projectID}
	}
	can := func(rule string) bool { return s.authorize(ctx, rule, target) == nil }
	v := ViewPolicy{ExtendedAttrs: can(RuleExtendedServerAttributes), FlavorExtraSpecs: can(RuleServersShowExtraSpecs),
		Admin: s.isAdmin(ctx)}
	v.HostStatus = can(RuleServersShowHostStatus)
	if !v.HostStatus {
		v.HostStatusUnknown = can(RuleServersShowHostStatusUnkn)
	}
	return v
}

// HostStatus is the state of the compute service of an instance's host
// (nova's get_instance_host_status): "" without a host or service.
func (s *Service) HostStatus(ctx context.Context, inst Instance) string {
	if inst.Host == "" || s.services == nil {
		return HostNone
	}
	recs, err := s.services.Services(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "list services for host status", "error", err)
		return HostNone
	}
	for _, r := range recs {
		if r.Host != inst.Host || r.Binary != "nova-compute" {
			continue
		}
		switch {
		case r.ForcedDown:
			return HostDown
		case r.Disabled:
			return HostMaintenance
		case r.Up:
			return HostUp
		}
		return HostUnknown
	}
	return HostNone
}

// hostUp reports whether the compute service of host is up, true when the
// cloud has no service directory to ask.
func (s *Service) hostUp(ctx context.Context) func(string) bool {
	return func(host string) bool {
		if s.services == nil {
			return true
		}
		recs, err := s.services.Services(ctx)
		if err != nil {
			return false
		}
		for _, r := range recs {
			if r.Host == host && r.Binary == "nova-compute" {
				return r.Up && !r.ForcedDown
			}
		}
		return false
	}
}

// ServerUpdate is the body of PUT /servers/{server_id}; nil fields stay.
type ServerUpdate struct {
	Name *string
	// Description set to a nil *string clears it.
	Description    **string
	Hostname       *string
	AccessIPv4     *string
	AccessIPv6     *string
	AutoDiskConfig *bool
}

// UpdateServer changes a server's name, description, hostname or access
// addresses.
func (s *Service) UpdateServer(ctx context.Context, id string, u ServerUpdate) (Instance, error) {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return Instance{}, err
	}
	if err := s.authorize(ctx, RuleServersUpdate, ownerTarget(inst)); err != nil {
		return Instance{}, err
	}
	now := s.now().UTC()
	out, err := s.inst.UpdateInstance(ctx, id, func(i *Instance) error {
		if u.Name != nil {
			i.DisplayName = strings.TrimSpace(*u.Name)
		}
		if u.Description != nil {
			i.Description = *u.Description
		}
		if u.Hostname != nil {
			i.Hostname = *u.Hostname
		}
		if u.AccessIPv4 != nil {
			i.AccessIPv4 = *u.AccessIPv4
		}
		if u.AccessIPv6 != nil {
			i.AccessIPv6 = *u.AccessIPv6
		}
		if u.AutoDiskConfig != nil {
			i.AutoDiskConfig = *u.AutoDiskConfig
		}
		i.UpdatedAt = now
		return nil
	}, nil)
	if errors.Is(err, ErrNotFound) {
		return Instance{}, errorf(ErrNotFound, "Instance could not be found")
	}
	if err != nil {
		return Instance{}, fmt.Errorf("update instance %s: %w", id, err)
	}
	return out, nil
}

// ServerListOptions are the query of GET /servers and /servers/detail,
// checked against the schema of the microversion, with what the
// microversion decides.
type ServerListOptions struct {
	Detail bool
	// Params holds the last value of each query parameter.
	Params map[string]string
	// Statuses are every status parameter given.
	Statuses []string
	// SortKeys and SortDirs are every sort_key and sort_dir given.
	SortKeys, SortDirs []string
	Limit              *int
	Marker             *string
	// UserFilters are the filters callers without allow_all_filters may
	// use at this microversion; the others are dropped silently.
	UserFilters []string
	// StrictStatus refuses an unknown status (2.38) instead of listing
	// nothing.
	StrictStatus bool
	// TagLists splits tags filters on commas (2.26).
	TagLists bool
	// IgnoredSortKeys are sort keys nova accepts but ignores.
	IgnoredSortKeys []string
}

// listPaging are parameters that page and sort rather than filter.
var listPaging = []string{"sort_key", "sort_dir", "limit", "marker"}

// joinedFilters name joined tables, which nova refuses to filter on.
var joinedFilters = []string{"block_device_mapping", "services", "metadata", "system_metadata", "info_cache",
	"security_groups", "pci_devices"}

// exactFilters are the filters nova matches exactly.
var exactFilters = []string{"project_id", "user_id", "image_ref", "vm_state", "instance_type_id", "uuid", "host",
	"task_state", "locked"}

// Servers lists the servers the caller may see, as nova's _get_servers
// and compute.API.get_all do.
func (s *Service) Servers(ctx context.Context, o ServerListOptions) ([]Instance, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	rule, allRule := RuleServersIndex, RuleServersIndexAllTenants
	if o.Detail {
		rule, allRule = RuleServersDetail, RuleServersDetailAllTenants
	}
	if err := s.authorize(ctx, rule, callerTarget(c)); err != nil {
		return nil, err
	}
	opts := map[string]string{}
	for k, v := range o.Params {
		opts[k] = v
	}
	_, hasStatus := opts["status"]
	if s.allowed(ctx, RuleServersAllowAllFilters) {
		for _, k := range listPaging {
			delete(opts, k)
		}
	} else {
		for k := range opts {
			if !slices.Contains(o.UserFilters, k) {
				delete(opts, k)
			}
		}
	}
	for _, k := range sortedKeys(opts) {
		if slices.Contains(joinedFilters, k) || strings.HasPrefix(k, "_") {
			return nil, errorf(ErrInvalid, "Invalid filter field: %s.", k)
		}
	}
	f := InstanceFilter{Exact: map[string][]string{}}
	delete(opts, "status")
	if hasStatus {
		vms, tasks, anyTask := StatesForStatus(o.Statuses)
		if len(vms) == 0 {
			if o.StrictStatus {
				return nil, errorf(ErrInvalid, "Invalid status value")
			}
			return []Instance{}, nil
		}
		f.Exact["vm_state"] = stateStrings(vms)
		if !anyTask {
			f.Exact["task_state"] = stateStrings(tasks)
		}
		delete(opts, "vm_state")
		delete(opts, "task_state")
		if len(vms) == 1 && vms[0] == VMDeleted {
			if !s.isAdmin(ctx) {
				return nil, errorf(ErrForbidden, "Only administrators may list deleted instances")
			}
			t := true
			f.Deleted = &t
		}
	}
	if err := changesFilter(opts, &f.ChangesSince, &f.ChangesBefore); err != nil {
		return nil, err
	}
	if f.Deleted == nil {
		if raw, ok := opts["deleted"]; ok {
			d := boolDefault(raw, false)
			f.Deleted = &d
		} else if f.ChangesSince.IsZero() && f.ChangesBefore.IsZero() {
			d := false
			f.Deleted = &d
		}
	}
	delete(opts, "deleted")
	if raw, ok := opts["soft_deleted"]; ok {
		f.SoftDeleted = boolDefault(raw, false)
		delete(opts, "soft_deleted")
	}
	for _, k := range []string{"tags", "tags-any", "not-tags", "not-tags-any"} {
		v, ok := opts[k]
		if !ok {
			continue
		}
		delete(opts, k)
		list := []string{v}
		if o.TagLists {
			list = strings.Split(v, ",")
		}
		switch k {
		case "tags":
			f.Tags = list
		case "tags-any":
			f.TagsAny = list
		case "not-tags":
			f.NotTags = list
		default:
			f.NotTagsAny = list
		}
	}
	allTenants := false
	if raw, ok := opts["all_tenants"]; ok {
		if raw == "" {
			allTenants = true
		} else if allTenants, err = strictBool(raw); err != nil {
			return nil, err
		}
		delete(opts, "all_tenants")
	}
	if raw, ok := opts["locked"]; ok {
		b, err := strictBool(raw)
		if err != nil {
			return nil, err
		}
		opts["locked"] = boolString(b)
	}
	if allTenants {
		if err := s.authorize(ctx, allRule, callerTarget(c)); err != nil {
			return nil, err
		}
		if t, ok := opts["tenant_id"]; ok {
			if _, has := opts["project_id"]; !has {
				opts["project_id"] = t
			}
		}
	} else {
		opts["project_id"] = c.ProjectID
	}
	delete(opts, "tenant_id")
	if err := s.mapFilters(ctx, opts, &f); err != nil {
		return nil, err
	}
	if f.Sort, err = s.sortKeys(ctx, o); err != nil {
		return nil, err
	}
	f.Limit = s.limit(o.Limit)
	if o.Marker != nil {
		f.Marker = *o.Marker
	}
	if f.Limit == 0 || f.None {
		return []Instance{}, nil
	}
	out, err := s.inst.ListInstances(ctx, f)
	if errors.Is(err, ErrMarkerNotFound) {
		return nil, errorf(ErrInvalid, "marker [%s] not found", f.Marker)
	}
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	return out, nil
}

// mapFilters turns nova's remaining search options into the filter: names
// mapped to columns, exact matches and regular expressions. Options that
// name no column are ignored, as nova ignores them.
func (s *Service) mapFilters(ctx context.Context, opts map[string]string, f *InstanceFilter) error {
	for _, k := range sortedKeys(opts) {
		v := opts[k]
		switch k {
		case "image":
			k = "image_ref"
		case "name":
			k = "display_name"
		case "description":
			k = "display_description"
		case "ip", "ip6", "fixed_ip":
			// Servers have no addresses until networking exists, so no
			// server matches an address.
			f.None = true
			continue
		case "flavor":
			fl, err := s.store.GetFlavor(ctx, v, FlavorScope{All: true})
			if errors.Is(err, ErrNotFound) {
				f.None = true
				continue
			}
			if err != nil {
				return fmt.Errorf("look up flavor %s: %w", v, err)
			}
			f.Exact["instance_type_id"] = []string{fmt.Sprint(fl.ID)}
			continue
		}
		switch {
		case slices.Contains(exactFilters, k):
			if _, set := f.Exact[k]; !set {
				f.Exact[k] = []string{v}
			}
		case slices.Contains(InstanceRegexColumns, k):
			re, err := regexp.Compile(v)
			if err != nil {
				return errorf(ErrInvalid, "Invalid filter field: %s.", k)
			}
			if f.Regex == nil {
				f.Regex = map[string]*regexp.Regexp{}
			}
			f.Regex[k] = re
		}
	}
	return nil
}

// sortKeys applies nova's get_sort_params and process_sort_params: keys
// nova ignores are dropped with their directions, host and node are for
// admins, and created_at and the row id break ties.
func (s *Service) sortKeys(ctx context.Context, o ServerListOptions) ([]SortKey, error) {
	keys, dirs := slices.Clone(o.SortKeys), slices.Clone(o.SortDirs)
	for i := range keys {
		keys[i] = strings.TrimSpace(keys[i])
	}
	for i := range dirs {
		dirs[i] = strings.TrimSpace(dirs[i])
	}
	if len(keys) == 0 {
		keys = []string{"created_at"}
	}
	if len(dirs) == 0 {
		dirs = []string{"desc"}
	}
	for i := 0; i < len(keys); {
		k := keys[i]
		switch {
		case slices.Contains(o.IgnoredSortKeys, k):
			if len(dirs) > i {
				dirs = slices.Delete(dirs, i, i+1)
			}
			keys = slices.Delete(keys, i, i+1)
			continue
		case (k == "host" || k == "node") && !s.isAdmin(ctx):
			return nil, errorf(ErrForbidden, "Only administrators can sort servers by %s", k)
		}
		i++
	}
	def := "desc"
	if len(dirs) > 0 {
		def = dirs[0]
	}
	for _, d := range dirs {
		if d != "asc" && d != "desc" {
			return nil, errorf(ErrInvalid, "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'")
		}
	}
	if len(dirs) > len(keys) {
		return nil, errorf(ErrInvalid, "Invalid input received: Sort direction size exceeds sort key size")
	}
	for len(dirs) < len(keys) {
		dirs = append(dirs, def)
	}
	if !slices.Contains(keys, "created_at") {
		keys, dirs = append(keys, "created_at"), append(dirs, def)
	}
	out := make([]SortKey, len(keys))
	for i, k := range keys {
		if !slices.Contains(InstanceSortKeys, k) {
			return nil, errorf(ErrInvalid, "Sort key supplied was not valid.")
		}
		out[i] = SortKey{Key: k, Desc: dirs[i] == "desc"}
	}
	return out, nil
}

// changesFilter reads changes-since and changes-before (ISO 8601), the
// first not after the second.
func changesFilter(opts map[string]string, since, before *time.Time) error {
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"changes-since", since}, {"changes-before", before}} {
		raw, ok := opts[p.name]
		if !ok {
			continue
		}
		t, err := ParseISOTime(raw)
		if err != nil {
			return errorf(ErrInvalid, "Invalid filter field: %s.", p.name)
		}
		*p.dst = t
		delete(opts, p.name)
	}
	if !since.IsZero() && !before.IsZero() && before.Before(*since) {
		return errorf(ErrInvalid, "The value of changes-since must be less than or equal to changes-before.")
	}
	return nil
}

// ParseISOTime reads an ISO 8601 time as oslo's parse_isotime does; a time
// without a zone is UTC.
func ParseISOTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999",
		"2006-01-02T15:04Z07:00", "2006-01-02T15:04", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 time", s)
}

// strictBool is oslo's bool_from_string(strict=True), refused in nova's
// words.
func strictBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "t", "true", "on", "y", "yes":
		return true, nil
	case "0", "f", "false", "off", "n", "no":
		return false, nil
	}
	return false, errorf(ErrInvalid, "Invalid input received: Unrecognized value '%s', acceptable values are: "+
		"'0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'", v)
}

// boolDefault is bool_from_string(default=d): d for anything not a boolean.
func boolDefault(v string, d bool) bool {
	b, err := strictBool(v)
	if err != nil {
		return d
	}
	return b
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func stateStrings[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
