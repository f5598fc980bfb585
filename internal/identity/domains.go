package identity

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Length limits of keystone's request schemas.
const (
	// resourceNameMax bounds project and domain names (keystone's resource schema).
	resourceNameMax = 64
	// identityNameMax bounds user and group names (keystone's identity schema).
	identityNameMax = 255
	// tagMax bounds one project or domain tag; maxTags bounds how many there are.
	tagMax  = 255
	maxTags = 80
)

// idStringPattern is keystone's id_string: what a domain_id, parent_id or
// default_project_id in a request body may look like.
var idStringPattern = regexp.MustCompile(`^[a-zA-Z0-9-]+$`)

// explicitDomainIDPattern is a UUID4 in keystone's form: 32 lowercase hex digits.
var explicitDomainIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// fieldInvalid is keystone's schema error for one field of a request body.
func fieldInvalid(field, format string, args ...any) error {
	return invalid("Invalid input for field '%s': %s", field, fmt.Sprintf(format, args...))
}

// quoted renders a value as keystone's messages do (Python's repr of a string),
// shortened so a huge value does not flood the error.
func quoted(s string) string {
	if utf8.RuneCountInString(s) > 80 {
		s = string([]rune(s)[:77]) + "..."
	}
	return "'" + s + "'"
}

// validateEntityName checks a name as keystone's schemas do: 1 to max characters,
// at least one of them not white space.
func validateEntityName(name string, max int) error {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return fieldInvalid("name", "%s is too short", quoted(name))
	case n > max:
		return fieldInvalid("name", "%s is too long", quoted(name))
	case strings.TrimSpace(name) == "":
		return fieldInvalid("name", `%s does not match '[\S]+'`, quoted(name))
	}
	return nil
}

// validateIDString checks a reference id given in a request body; "" means absent.
func validateIDString(field, id string) error {
	if id == "" || (len(id) <= 64 && idStringPattern.MatchString(id)) {
		return nil
	}
	if len(id) > 64 {
		return fieldInvalid(field, "%s is too long", quoted(id))
	}
	return fieldInvalid(field, "%s does not match '^[a-zA-Z0-9-]+$'", quoted(id))
}

// validateTag checks one tag: 1 to 255 characters, no '/' and no ','.
func validateTag(field, tag string) error {
	switch n := utf8.RuneCountInString(tag); {
	case n == 0:
		return fieldInvalid(field, "%s is too short", quoted(tag))
	case n > tagMax:
		return fieldInvalid(field, "%s is too long", quoted(tag))
	case strings.ContainsAny(tag, "/,"):
		return fieldInvalid(field, "%s does not match '^[^,/]*$'", quoted(tag))
	}
	return nil
}

// validateTagList checks a whole tag list: at most 80 distinct valid tags.
func validateTagList(tags []string) error {
	if len(tags) > maxTags {
		return fieldInvalid("tags", "the list has %d tags; at most %d are allowed", len(tags), maxTags)
	}
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		if err := validateTag(fmt.Sprintf("tags/%d", i), t); err != nil {
			return err
		}
		if seen[t] {
			return fieldInvalid("tags", "%s appears more than once; tags must be unique", quoted(t))
		}
		seen[t] = true
	}
	return nil
}

// optionCheck validates one resource option value; nil values (which clear the
// option) never reach it.
type optionCheck func(field string, v any) error

func boolOption(field string, v any) error {
	if _, ok := v.(bool); !ok {
		return fieldInvalid(field, "%v is not of type 'boolean', 'null'", v)
	}
	return nil
}

// resourceOptionChecks are the options projects and domains accept (keystone's
// project options registry).
var resourceOptionChecks = map[string]optionCheck{immutableOption: boolOption}

// immutableOption makes a project, domain or role refuse changes and deletion
// until it is set to false.
const immutableOption = "immutable"

// applyOptions validates the options of a request against checks and returns
// current with them applied: a nil value removes the option, as in keystone.
func applyOptions(current, changes map[string]any, checks map[string]optionCheck) (map[string]any, error) {
	keys := make([]string, 0, len(changes))
	for k := range changes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(map[string]any, len(current)+len(changes))
	for k, v := range current {
		out[k] = v
	}
	for _, k := range keys {
		check, ok := checks[k]
		if !ok {
			return nil, fieldInvalid("options", "Additional properties are not allowed (%s was unexpected)", quoted(k))
		}
		v := changes[k]
		if v == nil {
			delete(out, k)
			continue
		}
		if err := check("options/"+k, v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// isImmutable reports whether options carry immutable: true.
func isImmutable(opts map[string]any) bool {
	v, _ := opts[immutableOption].(bool)
	return v
}

// immutableChangeAllowed is keystone's rule for updating an immutable resource:
// the update may only set the immutable option itself to false or null.
func immutableChangeAllowed(fieldsSet int, options map[string]any) bool {
	v, ok := options[immutableOption]
	return fieldsSet == 1 && ok && (v == nil || v == false)
}

// DomainCreate holds the fields of POST /v3/domains.
type DomainCreate struct {
	// ID is keystone's explicit_domain_id; "" generates one.
	ID          string
	Name        string
	Description string
	Enabled     *bool // nil: enabled
	Tags        []string
	Options     map[string]any
}

// DomainUpdate holds the fields of PATCH /v3/domains/{domain_id}; nil fields
// stay as they are.
type DomainUpdate struct {
	Name        *string
	Description *string
	Enabled     *bool
	Tags        *[]string
	// Options sets each named option; a nil value clears it.
	Options map[string]any
}

func (u DomainUpdate) fieldsSet() int {
	n := 0
	for _, set := range []bool{u.Name != nil, u.Description != nil, u.Enabled != nil, u.Tags != nil, u.Options != nil} {
		if set {
			n++
		}
	}
	return n
}

// policyDomain is a domain as policy rules see it (target.domain.*).
func policyDomain(d Domain) map[string]any {
	return map[string]any{"id": d.ID, "name": d.Name, "enabled": d.Enabled}
}

// domainConflict is keystone's message for a domain name that is taken.
func domainConflict(err error, name string) error {
	return duplicate(err, "project - it is not permitted to have two projects acting as domains with the same name: %s.", name)
}

// CreateDomain creates a domain (POST /v3/domains).
func (s *Service) CreateDomain(ctx context.Context, in DomainCreate) (Domain, error) {
	if err := s.authorize(ctx, "identity:create_domain", map[string]any{"target": map[string]any{}}); err != nil {
		return Domain{}, err
	}
	if in.ID != "" && !explicitDomainIDPattern.MatchString(in.ID) {
		return Domain{}, invalid("Domain ID does not conform to required UUID format.")
	}
	if err := validateEntityName(in.Name, resourceNameMax); err != nil {
		return Domain{}, err
	}
	if err := validateTagList(in.Tags); err != nil {
		return Domain{}, err
	}
	opts, err := applyOptions(nil, in.Options, resourceOptionChecks)
	if err != nil {
		return Domain{}, err
	}
	d := Domain{ID: in.ID, Name: strings.TrimSpace(in.Name), Description: in.Description,
		Enabled: in.Enabled == nil || *in.Enabled, Tags: in.Tags, Options: opts}
	if d.ID == "" {
		d.ID = s.newID()
	}
	if err := s.store.CreateDomain(ctx, d); err != nil {
		return Domain{}, domainConflict(err, d.Name)
	}
	s.changed()
	return s.reloadDomain(ctx, d.ID)
}

// reloadDomain reads a domain back after a write, as the store normalized it.
func (s *Service) reloadDomain(ctx context.Context, id string) (Domain, error) {
	d, err := s.store.GetDomain(ctx, id)
	if err != nil {
		return Domain{}, lookup(err, "domain", id)
	}
	return d, nil
}

// GetDomain returns one domain (GET /v3/domains/{domain_id}).
func (s *Service) GetDomain(ctx context.Context, id string) (Domain, error) {
	d, err := s.store.GetDomain(ctx, id)
	target := map[string]any{}
	if err == nil {
		target["domain"] = policyDomain(d)
	} else if !errors.Is(err, ErrNotFound) {
		return Domain{}, err
	}
	// Policy is checked before existence is revealed, as keystone does.
	if err := s.authorize(ctx, "identity:get_domain", map[string]any{"target": target, "domain_id": id}); err != nil {
		return Domain{}, err
	}
	if err != nil {
		return Domain{}, notFound("domain", id)
	}
	return d, nil
}

// ListDomains lists domains (GET /v3/domains). A domain-scoped caller sees only
// its own domain.
func (s *Service) ListDomains(ctx context.Context, f DomainFilter) ([]Domain, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	target := map[string]any{"target": map[string]any{}}
	if c.DomainID != "" {
		target["target"] = map[string]any{"domain": map[string]any{"id": c.DomainID}}
	}
	addFilterValues(target, map[string]string{"name": f.Name}, map[string]*bool{"enabled": f.Enabled})
	if err := s.authorize(ctx, "identity:list_domains", target); err != nil {
		return nil, err
	}
	ds, err := s.store.ListDomains(ctx, f)
	if err != nil {
		return nil, err
	}
	if c.DomainID != "" {
		ds = slices.DeleteFunc(ds, func(d Domain) bool { return d.ID != c.DomainID })
	}
	return ds, nil
}

// addFilterValues copies the list filters a request used into the policy
// target as flat keys, as keystone does.
func addFilterValues(target map[string]any, strs map[string]string, bools map[string]*bool) {
	for k, v := range strs {
		if v != "" {
			target[k] = v
		}
	}
	for k, v := range bools {
		if v != nil {
			target[k] = *v
		}
	}
}

// domainForPolicy loads a domain and checks rule against it. Keystone loads the
// domain of these calls before policy, so a missing one is a 404 for anyone.
func (s *Service) domainForPolicy(ctx context.Context, rule, id string) (Domain, error) {
	d, err := s.store.GetDomain(ctx, id)
	if err != nil {
		return Domain{}, lookup(err, "domain", id)
	}
	target := map[string]any{"target": map[string]any{"domain": policyDomain(d)}, "domain_id": id}
	if err := s.authorize(ctx, rule, target); err != nil {
		return Domain{}, err
	}
	return d, nil
}

// UpdateDomain changes a domain (PATCH /v3/domains/{domain_id}). Disabling it
// revokes every token of its users and projects and of its own scope.
func (s *Service) UpdateDomain(ctx context.Context, id string, u DomainUpdate) (Domain, error) {
	d, err := s.domainForPolicy(ctx, "identity:update_domain", id)
	if err != nil {
		return Domain{}, err
	}
	if isImmutable(d.Options) && !immutableChangeAllowed(u.fieldsSet(), u.Options) {
		return Domain{}, forbidden("Unable to update immutable domain resource: `%s. Set resource option \"immutable\" to false first.", id)
	}
	wasEnabled := d.Enabled
	if u.Name != nil {
		if err := validateEntityName(*u.Name, resourceNameMax); err != nil {
			return Domain{}, err
		}
		d.Name = strings.TrimSpace(*u.Name)
	}
	if u.Tags != nil {
		if err := validateTagList(*u.Tags); err != nil {
			return Domain{}, err
		}
		d.Tags = *u.Tags
	}
	if d.Options, err = applyOptions(d.Options, u.Options, resourceOptionChecks); err != nil {
		return Domain{}, err
	}
	if u.Description != nil {
		d.Description = *u.Description
	}
	if u.Enabled != nil {
		d.Enabled = *u.Enabled
	}
	if err := s.store.UpdateDomain(ctx, d); err != nil {
		return Domain{}, lookup(domainConflict(err, d.Name), "domain", id)
	}
	s.changed()
	if wasEnabled && !d.Enabled {
		if err := s.revoke(ctx, RevocationEvent{DomainID: id}); err != nil {
			return Domain{}, err
		}
	}
	return s.reloadDomain(ctx, id)
}

// DeleteDomain deletes a disabled domain with everything in it
// (DELETE /v3/domains/{domain_id}). The default domain cannot be deleted.
func (s *Service) DeleteDomain(ctx context.Context, id string) error {
	d, err := s.domainForPolicy(ctx, "identity:delete_domain", id)
	if err != nil {
		return err
	}
	switch {
	case isImmutable(d.Options):
		return forbidden("Unable to delete immutable domain resource: `%s. Set resource option \"immutable\" to false first.", id)
	case id == s.cfg.DefaultDomainID:
		return forbidden("The default domain %s cannot be deleted.", id)
	case d.Enabled:
		// Keystone insists on this so nobody deletes a domain by accident, and so
		// nobody deletes their own domain: once it is disabled their token is gone.
		return forbidden("Cannot delete a domain that is enabled, please disable it first.")
	}
	if err := s.store.DeleteDomain(ctx, id); err != nil {
		return lookup(err, "domain", id)
	}
	s.changed()
	return s.revoke(ctx, RevocationEvent{DomainID: id})
}

// AuthDomains lists the enabled domains the caller's user holds a role on,
// directly or through a group (GET /v3/auth/domains).
func (s *Service) AuthDomains(ctx context.Context) ([]Domain, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "identity:get_auth_domains", map[string]any{"target": map[string]any{}}); err != nil {
		return nil, err
	}
	reach, err := s.userReach(ctx, c.UserID)
	if err != nil {
		return nil, err
	}
	if len(reach.domains) == 0 {
		return nil, nil
	}
	t := true
	ds, err := s.store.ListDomains(ctx, DomainFilter{Enabled: &t})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ds, func(d Domain) bool { return !reach.domains[d.ID] }), nil
}

// roleReach is what a user holds roles on, directly or through a group, with
// inherited assignments spread over the projects below their target.
type roleReach struct {
	projects map[string]bool
	domains  map[string]bool
}

// userReach computes a user's reach from the role assignments of the user and
// the user's groups.
func (s *Service) userReach(ctx context.Context, userID string) (roleReach, error) {
	r := roleReach{projects: map[string]bool{}, domains: map[string]bool{}}
	groups, err := s.store.ListGroups(ctx, GroupFilter{UserID: userID})
	if err != nil {
		return r, err
	}
	actors := []string{userID}
	for _, g := range groups {
		actors = append(actors, g.ID)
	}
	as, err := s.store.ListAssignments(ctx, AssignmentFilter{ActorIDs: actors,
		Types: []AssignmentType{UserProject, GroupProject, UserDomain, GroupDomain}})
	if err != nil {
		return r, err
	}
	inherited := map[string]bool{} // projects and domains whose subtree inherits
	for _, a := range as {
		onDomain := a.Type == UserDomain || a.Type == GroupDomain
		switch {
		case a.Inherited:
			inherited[a.TargetID] = true
		case onDomain:
			r.domains[a.TargetID] = true
		default:
			r.projects[a.TargetID] = true
		}
	}
	if len(inherited) == 0 {
		return r, nil
	}
	// Spread inherited assignments: walk every project's ancestry (its parents,
	// then its domain) and include it when any ancestor passes roles down.
	all, err := s.store.ListProjects(ctx, ProjectFilter{})
	if err != nil {
		return r, err
	}
	byID := make(map[string]Project, len(all))
	for _, p := range all {
		byID[p.ID] = p
	}
	for _, p := range all {
		if inherited[p.DomainID] {
			r.projects[p.ID] = true
			continue
		}
		seen := map[string]bool{p.ID: true}
		for up := p.ParentID; up != "" && !seen[up]; up = byID[up].ParentID {
			seen[up] = true
			if inherited[up] {
				r.projects[p.ID] = true
				break
			}
		}
	}
	return r, nil
}
