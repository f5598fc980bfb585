package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Role options keystone knows (keystone.assignment.role_backends.resource_options).
const roleOptionImmutable = "immutable"

// prohibitedImpliedRoles are role names no rule may imply, as keystone's
// [assignment] prohibited_implied_role default.
var prohibitedImpliedRoles = []string{"admin"}

// RoleUpdate is a PATCH /v3/roles/{role_id}: nil fields stay as they are.
type RoleUpdate struct {
	Name        *string
	Description *string
	// DomainID may only restate the role's domain ("" for a global role).
	DomainID *string
	// Options, when non-nil, are merged into the role's options; a nil value
	// removes that option.
	Options map[string]any
}

// RoleInference is one implication rule with both roles resolved.
type RoleInference struct {
	Prior   Role
	Implied Role
}

// RoleInferenceRule is a prior role with every role it directly implies.
type RoleInferenceRule struct {
	Prior   Role
	Implies []Role
}

// roleTargetRef is a role as keystone's policy targets carry it; a global role's
// domain_id is None.
func roleTargetRef(r Role) map[string]any {
	var domain any
	if r.DomainID != "" {
		domain = r.DomainID
	}
	opts := r.Options
	if opts == nil {
		opts = map[string]any{}
	}
	return map[string]any{"id": r.ID, "name": r.Name, "domain_id": domain,
		"description": r.Description, "options": opts}
}

// nameSchemaError applies keystone's name schema: 1 to max characters, not all blank.
func nameSchemaError(field, v string, max int) error {
	if v == "" {
		return invalid("Invalid input for field/attribute %s. Value: %s. '%s' is too short", field, v, v)
	}
	if len([]rune(v)) > max {
		return invalid("Invalid input for field/attribute %s. Value: %s. '%s' is too long", field, v, v)
	}
	if strings.IndexFunc(v, func(r rune) bool { return !unicode.IsSpace(r) }) < 0 {
		return invalid("Invalid input for field/attribute %s. Value: %s. '%s' does not match '[\\S]+'", field, v, v)
	}
	return nil
}

// lengthSchemaError refuses a string field longer than max characters.
func lengthSchemaError(field, v string, max int) error {
	if len([]rune(v)) > max {
		return invalid("Invalid input for field/attribute %s. Value: %s. '%s' is too long", field, v, v)
	}
	return nil
}

// checkRoleOptions accepts only the options keystone registers for roles, with
// boolean or null values.
func checkRoleOptions(opts map[string]any) error {
	for k, v := range opts {
		if k != roleOptionImmutable {
			return invalid("Invalid input for field/attribute options. Value: %v. Additional properties are not allowed ('%s' was unexpected)", opts, k)
		}
		if _, ok := v.(bool); v != nil && !ok {
			return invalid("Invalid input for field/attribute %s. Value: %v. %v is not of type 'boolean', 'null'", k, v, v)
		}
	}
	return nil
}

// roleImmutable reports whether the role has the immutable option set.
func roleImmutable(r Role) bool {
	v, _ := r.Options[roleOptionImmutable].(bool)
	return v
}

// roleRule picks the policy rule of an action on r: the domain_role variant for
// domain-specific roles, as keystone.api.roles does.
func roleRule(action string, r *Role) string {
	if r != nil && r.DomainID != "" {
		return "identity:" + action + "_domain_role"
	}
	return "identity:" + action + "_role"
}

// duplicateRole is keystone's 409 for a role name taken in its domain.
func duplicateRole(err error, r Role) error {
	if r.DomainID == "" {
		return duplicate(err, "role - Duplicate entry found with name %s.", r.Name)
	}
	return duplicate(err, "role - Duplicate entry found with name %s at domain ID %s.", r.Name, r.DomainID)
}

// CreateRole creates a global or (with DomainID) domain-specific role
// (POST /v3/roles). The id is generated.
func (s *Service) CreateRole(ctx context.Context, r Role) (Role, error) {
	if _, err := caller(ctx); err != nil {
		return Role{}, err
	}
	var target map[string]any
	if r.DomainID != "" {
		target = map[string]any{"target": map[string]any{"role": roleTargetRef(r)}}
	}
	if err := s.authorize(ctx, roleRule("create", &r), target); err != nil {
		return Role{}, err
	}
	if err := nameSchemaError("name", r.Name, 255); err != nil {
		return Role{}, err
	}
	if err := lengthSchemaError("description", r.Description, 255); err != nil {
		return Role{}, err
	}
	if err := checkRoleOptions(r.Options); err != nil {
		return Role{}, err
	}
	for k, v := range r.Options {
		if v == nil {
			delete(r.Options, k)
		}
	}
	r.ID = s.newID()
	if err := s.store.CreateRole(ctx, r); err != nil {
		return Role{}, lookup(duplicateRole(err, r), "domain", r.DomainID)
	}
	s.changed()
	return r, nil
}

// getRoleAuthorized fetches a role and enforces the role or domain_role variant
// of action on it. A missing role is reported only after the check passes, so
// the answer does not reveal which roles exist.
func (s *Service) getRoleAuthorized(ctx context.Context, action, id string) (Role, error) {
	if _, err := caller(ctx); err != nil {
		return Role{}, err
	}
	r, err := s.store.GetRole(ctx, id)
	if err != nil {
		if aerr := s.authorize(ctx, roleRule(action, nil), nil); aerr != nil {
			return Role{}, aerr
		}
		return Role{}, lookup(err, "role", id)
	}
	target := map[string]any{"target": map[string]any{"role": roleTargetRef(r)}}
	if err := s.authorize(ctx, roleRule(action, &r), target); err != nil {
		return Role{}, err
	}
	return r, nil
}

// GetRole returns one role (GET /v3/roles/{role_id}).
func (s *Service) GetRole(ctx context.Context, id string) (Role, error) {
	return s.getRoleAuthorized(ctx, "get", id)
}

// ListRoles lists the global roles, or with domainID that domain's roles,
// optionally only those named name (GET /v3/roles).
func (s *Service) ListRoles(ctx context.Context, name, domainID string) ([]Role, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	rule := "identity:list_roles"
	target := map[string]any{}
	if domainID != "" {
		rule = "identity:list_domain_roles"
		target["domain_id"] = domainID
	}
	if name != "" {
		target["name"] = name
	}
	if err := s.authorize(ctx, rule, target); err != nil {
		return nil, err
	}
	roles, err := s.store.ListRoles(ctx, RoleFilter{Name: name, DomainID: domainID})
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	return roles, nil
}

// UpdateRole changes a role's name, description or options
// (PATCH /v3/roles/{role_id}). An immutable role accepts only an update that
// clears its immutable option and nothing else.
func (s *Service) UpdateRole(ctx context.Context, id string, u RoleUpdate) (Role, error) {
	r, err := s.getRoleAuthorized(ctx, "update", id)
	if err != nil {
		return Role{}, err
	}
	if roleImmutable(r) && !onlyClearsImmutable(u) {
		return Role{}, forbidden("Unable to update immutable role resource: `%s. Set resource option \"immutable\" to false first.", id)
	}
	if u.DomainID != nil && *u.DomainID != r.DomainID {
		return Role{}, invalid("Update of `domain_id` is not allowed.")
	}
	if u.Name != nil {
		if err := nameSchemaError("name", *u.Name, 255); err != nil {
			return Role{}, err
		}
		r.Name = *u.Name
	}
	if u.Description != nil {
		if err := lengthSchemaError("description", *u.Description, 255); err != nil {
			return Role{}, err
		}
		r.Description = *u.Description
	}
	if u.Options != nil {
		if err := checkRoleOptions(u.Options); err != nil {
			return Role{}, err
		}
		opts := make(map[string]any, len(r.Options)+len(u.Options))
		for k, v := range r.Options {
			opts[k] = v
		}
		for k, v := range u.Options {
			if v == nil {
				delete(opts, k)
			} else {
				opts[k] = v
			}
		}
		r.Options = opts
	}
	if err := s.store.UpdateRole(ctx, r); err != nil {
		return Role{}, lookup(duplicateRole(err, r), "role", id)
	}
	s.changed()
	return r, nil
}

// onlyClearsImmutable reports whether u touches nothing but the immutable
// option, setting it to false or null.
func onlyClearsImmutable(u RoleUpdate) bool {
	if u.Name != nil || u.Description != nil || u.DomainID != nil || len(u.Options) != 1 {
		return false
	}
	v, ok := u.Options[roleOptionImmutable]
	return ok && (v == nil || v == false)
}

// DeleteRole deletes a role with its assignments and implications
// (DELETE /v3/roles/{role_id}). As keystone does, it also deletes the
// application credentials of every user directly assigned the role on a
// project, for that project. Tokens that carried the role, directly or through
// an implication, are revoked.
func (s *Service) DeleteRole(ctx context.Context, id string) error {
	r, err := s.getRoleAuthorized(ctx, "delete", id)
	if err != nil {
		return err
	}
	if roleImmutable(r) {
		return forbidden("Unable to delete immutable role resource: `%s. Set resource option \"immutable\" to false first.", id)
	}
	if err := s.deleteAppCredsForRole(ctx, id); err != nil {
		return err
	}
	// Tokens are matched against their roles as they are after the deletion,
	// where this role no longer appears: revoke by the assignments and the
	// implications that carried it too.
	as, err := s.store.ListAssignments(ctx, AssignmentFilter{RoleIDs: []string{id}})
	if err != nil {
		return fmt.Errorf("list assignments of role %s: %w", id, err)
	}
	rules, err := s.store.ListImpliedRoles(ctx, "")
	if err != nil {
		return fmt.Errorf("list implied roles: %w", err)
	}
	if err := s.store.DeleteRole(ctx, id); err != nil {
		return lookup(err, "role", id)
	}
	if err := s.revoke(ctx, RevocationEvent{RoleID: id}); err != nil {
		return err
	}
	for _, a := range as {
		if err := s.revokeGrantTokens(ctx, grantOf(a)); err != nil {
			return err
		}
	}
	for _, ir := range rules {
		if ir.ImpliedID == id {
			if err := s.revoke(ctx, RevocationEvent{RoleID: ir.PriorID}); err != nil {
				return err
			}
		}
	}
	s.changed()
	return nil
}

// deleteAppCredsForRole removes the application credentials keystone removes
// when a role goes: those of each user holding the role on a project, on that
// project.
func (s *Service) deleteAppCredsForRole(ctx context.Context, roleID string) error {
	as, err := s.store.ListAssignments(ctx, AssignmentFilter{Types: []AssignmentType{UserProject}, RoleIDs: []string{roleID}})
	if err != nil {
		return fmt.Errorf("list assignments of role %s: %w", roleID, err)
	}
	done := map[[2]string]bool{}
	for _, a := range as {
		key := [2]string{a.ActorID, a.TargetID}
		if done[key] {
			continue
		}
		done[key] = true
		creds, err := s.store.ListApplicationCredentials(ctx, a.ActorID, "")
		if err != nil {
			return fmt.Errorf("list application credentials of user %s: %w", a.ActorID, err)
		}
		for _, ac := range creds {
			if ac.ProjectID != a.TargetID {
				continue
			}
			if err := s.removeAppCred(ctx, ac.ID); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
	}
	return nil
}

// resolveInference fetches both roles of an implication rule (404 for either)
// and enforces rule with keystone's prior_role/implied_role target.
func (s *Service) resolveInference(ctx context.Context, rule, priorID, impliedID string) (RoleInference, error) {
	if _, err := caller(ctx); err != nil {
		return RoleInference{}, err
	}
	prior, err := s.store.GetRole(ctx, priorID)
	if err != nil {
		return RoleInference{}, lookup(err, "role", priorID)
	}
	implied, err := s.store.GetRole(ctx, impliedID)
	if err != nil {
		return RoleInference{}, lookup(err, "role", impliedID)
	}
	target := map[string]any{"target": map[string]any{
		"prior_role": roleTargetRef(prior), "implied_role": roleTargetRef(implied)}}
	if err := s.authorize(ctx, rule, target); err != nil {
		return RoleInference{}, err
	}
	return RoleInference{Prior: prior, Implied: implied}, nil
}

// CreateImpliedRole records that holding priorID also grants impliedID
// (PUT /v3/roles/{prior_role_id}/implies/{implied_role_id}). It refuses, as
// keystone does with 403, a prohibited implied role and a global role implying a
// domain-specific one; it also refuses with 403 a rule that would close a loop,
// and with 409 a rule that exists.
func (s *Service) CreateImpliedRole(ctx context.Context, priorID, impliedID string) (RoleInference, error) {
	inf, err := s.resolveInference(ctx, "identity:create_implied_role", priorID, impliedID)
	if err != nil {
		return RoleInference{}, err
	}
	if slices.Contains(prohibitedImpliedRoles, inf.Implied.Name) {
		return RoleInference{}, forbidden("%s cannot be an implied roles.", impliedID)
	}
	if inf.Prior.DomainID == "" && inf.Implied.DomainID != "" {
		return RoleInference{}, forbidden("Global role cannot imply a domain-specific role")
	}
	rules, err := s.store.ListImpliedRoles(ctx, priorID)
	if err != nil {
		return RoleInference{}, fmt.Errorf("list implied roles of %s: %w", priorID, err)
	}
	if slices.ContainsFunc(rules, func(ir ImpliedRole) bool { return ir.ImpliedID == impliedID }) {
		return RoleInference{}, conflict("Conflict occurred attempting to store implied_role - Duplicate entry.")
	}
	reach, err := s.expandImplied(ctx, []string{impliedID})
	if err != nil {
		return RoleInference{}, err
	}
	if slices.Contains(reach, priorID) {
		return RoleInference{}, forbidden("%s cannot be an implied role of %s: the rule would form a loop of implied roles.", impliedID, priorID)
	}
	if err := s.store.CreateImpliedRole(ctx, ImpliedRole{PriorID: priorID, ImpliedID: impliedID}); err != nil {
		return RoleInference{}, lookup(err, "role", priorID)
	}
	s.changed()
	return inf, nil
}

// impliedRoleMissing is keystone's 404 for a rule that does not exist.
func impliedRoleMissing(priorID, impliedID string) error {
	return &Error{Kind: ErrNotFound, Message: fmt.Sprintf("%s does not imply %s.", priorID, impliedID)}
}

// GetImpliedRole returns one implication rule
// (GET /v3/roles/{prior_role_id}/implies/{implied_role_id}).
func (s *Service) GetImpliedRole(ctx context.Context, priorID, impliedID string) (RoleInference, error) {
	inf, err := s.resolveInference(ctx, "identity:get_implied_role", priorID, impliedID)
	if err != nil {
		return RoleInference{}, err
	}
	rules, err := s.store.ListImpliedRoles(ctx, priorID)
	if err != nil {
		return RoleInference{}, fmt.Errorf("list implied roles of %s: %w", priorID, err)
	}
	if !slices.ContainsFunc(rules, func(ir ImpliedRole) bool { return ir.ImpliedID == impliedID }) {
		return RoleInference{}, impliedRoleMissing(priorID, impliedID)
	}
	return inf, nil
}

// CheckImpliedRole is HEAD /v3/roles/{prior_role_id}/implies/{implied_role_id}:
// keystone enforces check_implied_role and then get_implied_role.
func (s *Service) CheckImpliedRole(ctx context.Context, priorID, impliedID string) error {
	if _, err := s.resolveInference(ctx, "identity:check_implied_role", priorID, impliedID); err != nil {
		return err
	}
	_, err := s.GetImpliedRole(ctx, priorID, impliedID)
	return err
}

// DeleteImpliedRole removes an implication rule and revokes the tokens that
// carry the prior role (DELETE /v3/roles/{prior_role_id}/implies/{implied_role_id}).
func (s *Service) DeleteImpliedRole(ctx context.Context, priorID, impliedID string) error {
	if _, err := s.resolveInference(ctx, "identity:delete_implied_role", priorID, impliedID); err != nil {
		return err
	}
	err := s.store.DeleteImpliedRole(ctx, ImpliedRole{PriorID: priorID, ImpliedID: impliedID})
	if errors.Is(err, ErrNotFound) {
		return impliedRoleMissing(priorID, impliedID)
	}
	if err != nil {
		return fmt.Errorf("delete implied role %s -> %s: %w", priorID, impliedID, err)
	}
	if err := s.revoke(ctx, RevocationEvent{RoleID: priorID}); err != nil {
		return err
	}
	s.changed()
	return nil
}

// ListImpliedRoles returns the roles priorID directly implies
// (GET /v3/roles/{prior_role_id}/implies).
func (s *Service) ListImpliedRoles(ctx context.Context, priorID string) (RoleInferenceRule, error) {
	if _, err := caller(ctx); err != nil {
		return RoleInferenceRule{}, err
	}
	prior, err := s.store.GetRole(ctx, priorID)
	if err != nil {
		return RoleInferenceRule{}, lookup(err, "role", priorID)
	}
	target := map[string]any{"target": map[string]any{"prior_role": roleTargetRef(prior)}}
	if err := s.authorize(ctx, "identity:list_implied_roles", target); err != nil {
		return RoleInferenceRule{}, err
	}
	rules, err := s.inferenceRules(ctx, priorID)
	if err != nil {
		return RoleInferenceRule{}, err
	}
	if len(rules) == 0 {
		return RoleInferenceRule{Prior: prior, Implies: []Role{}}, nil
	}
	return rules[0], nil
}

// ListRoleInferences returns every implication rule grouped by prior role
// (GET /v3/role_inferences).
func (s *Service) ListRoleInferences(ctx context.Context) ([]RoleInferenceRule, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "identity:list_role_inference_rules", nil); err != nil {
		return nil, err
	}
	return s.inferenceRules(ctx, "")
}

// inferenceRules resolves the implication rules of priorID (all when "") into
// roles, grouped by prior role in the store's order.
func (s *Service) inferenceRules(ctx context.Context, priorID string) ([]RoleInferenceRule, error) {
	rules, err := s.store.ListImpliedRoles(ctx, priorID)
	if err != nil {
		return nil, fmt.Errorf("list implied roles: %w", err)
	}
	if len(rules) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, 2*len(rules))
	for _, ir := range rules {
		ids = append(ids, ir.PriorID, ir.ImpliedID)
	}
	roles, err := s.rolesByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []RoleInferenceRule
	for _, ir := range rules {
		prior, ok1 := roles[ir.PriorID]
		implied, ok2 := roles[ir.ImpliedID]
		if !ok1 || !ok2 {
			continue // a role deleted under our feet
		}
		if n := len(out); n > 0 && out[n-1].Prior.ID == ir.PriorID {
			out[n-1].Implies = append(out[n-1].Implies, implied)
			continue
		}
		out = append(out, RoleInferenceRule{Prior: prior, Implies: []Role{implied}})
	}
	return out, nil
}

// rolesByID loads the roles with the given ids (any domain) into a map.
func (s *Service) rolesByID(ctx context.Context, ids []string) (map[string]Role, error) {
	out := map[string]Role{}
	if len(ids) == 0 {
		return out, nil
	}
	slices.Sort(ids)
	roles, err := s.store.ListRoles(ctx, RoleFilter{IDs: slices.Compact(ids), AnyDomain: true})
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	for _, r := range roles {
		out[r.ID] = r
	}
	return out, nil
}
