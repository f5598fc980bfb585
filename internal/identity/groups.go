package identity

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// GroupCreate holds the fields of POST /v3/groups.
type GroupCreate struct {
	Name string
	// DomainID defaults to the caller's domain scope, else the default domain.
	DomainID    string
	Description string
}

// GroupUpdate holds the fields of PATCH /v3/groups/{group_id}; nil fields stay
// as they are. ID and DomainID may only repeat the current values.
type GroupUpdate struct {
	ID, Name, DomainID, Description *string
}

// policyGroup is a group as policy rules see it (target.group.*).
func policyGroup(g Group) map[string]any {
	return map[string]any{"id": g.ID, "name": g.Name, "domain_id": g.DomainID}
}

// groupConflict is keystone's message for a group name taken in its domain.
func groupConflict(err error, g Group) error {
	return duplicate(err, "group - Duplicate entry found with name %s at domain ID %s.", g.Name, g.DomainID)
}

// authorizeGroup checks rule against the group id, then reports whether it exists.
func (s *Service) authorizeGroup(ctx context.Context, rule, id string, extra map[string]any) (Group, error) {
	g, err := s.store.GetGroup(ctx, id)
	target := map[string]any{}
	if err == nil {
		target["group"] = policyGroup(g)
	} else if !errors.Is(err, ErrNotFound) {
		return Group{}, err
	}
	full := map[string]any{"target": target, "group_id": id}
	for k, v := range extra {
		full[k] = v
	}
	if aerr := s.authorize(ctx, rule, full); aerr != nil {
		return Group{}, aerr
	}
	if err != nil {
		return Group{}, notFound("group", id)
	}
	return g, nil
}

// CreateGroup creates a group (POST /v3/groups).
func (s *Service) CreateGroup(ctx context.Context, in GroupCreate) (Group, error) {
	c, err := caller(ctx)
	if err != nil {
		return Group{}, err
	}
	asked := map[string]any{"name": in.Name}
	if in.DomainID != "" {
		asked["domain_id"] = in.DomainID
	}
	if err := s.authorize(ctx, "identity:create_group", map[string]any{"target": map[string]any{"group": asked}}); err != nil {
		return Group{}, err
	}
	if err := validateEntityName(in.Name, identityNameMax); err != nil {
		return Group{}, err
	}
	if err := validateIDString("domain_id", in.DomainID); err != nil {
		return Group{}, err
	}
	g := Group{ID: s.newID(), Name: strings.TrimSpace(in.Name), DomainID: in.DomainID, Description: in.Description}
	if g.DomainID == "" {
		g.DomainID = c.DomainID
	}
	if g.DomainID == "" {
		g.DomainID = s.cfg.DefaultDomainID
	}
	if _, err := s.store.GetDomain(ctx, g.DomainID); err != nil {
		return Group{}, lookup(err, "domain", g.DomainID)
	}
	if err := s.store.CreateGroup(ctx, g); err != nil {
		return Group{}, lookup(groupConflict(err, g), "domain", g.DomainID)
	}
	s.changed()
	return s.reloadGroup(ctx, g.ID)
}

// reloadGroup reads a group back after a write.
func (s *Service) reloadGroup(ctx context.Context, id string) (Group, error) {
	g, err := s.store.GetGroup(ctx, id)
	if err != nil {
		return Group{}, lookup(err, "group", id)
	}
	return g, nil
}

// GetGroup returns one group (GET /v3/groups/{group_id}).
func (s *Service) GetGroup(ctx context.Context, id string) (Group, error) {
	return s.authorizeGroup(ctx, "identity:get_group", id, nil)
}

// ListGroups lists groups (GET /v3/groups). A domain-scoped caller sees only its
// domain's groups.
func (s *Service) ListGroups(ctx context.Context, f GroupFilter) ([]Group, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	target := map[string]any{"target": map[string]any{}}
	if c.DomainID != "" {
		target["target"] = map[string]any{"group": map[string]any{"domain_id": c.DomainID}}
	}
	addFilterValues(target, map[string]string{"domain_id": f.DomainID, "name": f.Name}, nil)
	if err := s.authorize(ctx, "identity:list_groups", target); err != nil {
		return nil, err
	}
	gs, err := s.store.ListGroups(ctx, GroupFilter{DomainID: f.DomainID, Name: f.Name})
	if err != nil {
		return nil, err
	}
	if c.DomainID != "" {
		gs = slices.DeleteFunc(gs, func(g Group) bool { return g.DomainID != c.DomainID })
	}
	return gs, nil
}

// UpdateGroup changes a group's name or description (PATCH /v3/groups/{group_id}).
func (s *Service) UpdateGroup(ctx context.Context, id string, u GroupUpdate) (Group, error) {
	g, err := s.authorizeGroup(ctx, "identity:update_group", id, nil)
	if err != nil {
		return Group{}, err
	}
	if u.Name != nil {
		if err := validateEntityName(*u.Name, identityNameMax); err != nil {
			return Group{}, err
		}
		g.Name = strings.TrimSpace(*u.Name)
	}
	switch {
	case u.ID != nil && *u.ID != g.ID:
		return Group{}, invalid("Cannot change ID")
	case u.DomainID != nil && *u.DomainID != g.DomainID:
		return Group{}, invalid("Cannot change Domain ID")
	}
	if u.Description != nil {
		g.Description = *u.Description
	}
	if err := s.store.UpdateGroup(ctx, g); err != nil {
		return Group{}, lookup(groupConflict(err, g), "group", id)
	}
	s.changed()
	return s.reloadGroup(ctx, id)
}

// DeleteGroup deletes a group with its memberships and assignments
// (DELETE /v3/groups/{group_id}). When the group held roles, its members'
// tokens are revoked, as keystone does.
func (s *Service) DeleteGroup(ctx context.Context, id string) error {
	// Keystone loads the group before policy here, so a missing one is a 404.
	g, err := s.store.GetGroup(ctx, id)
	if err != nil {
		return lookup(err, "group", id)
	}
	if err := s.authorize(ctx, "identity:delete_group", map[string]any{"target": map[string]any{"group": policyGroup(g)}, "group_id": id}); err != nil {
		return err
	}
	roles, err := s.store.ListAssignments(ctx, AssignmentFilter{ActorIDs: []string{id},
		Types: []AssignmentType{GroupProject, GroupDomain, GroupSystem}})
	if err != nil {
		return err
	}
	var members []User
	if len(roles) > 0 {
		if members, err = s.store.ListUsers(ctx, UserFilter{GroupID: id}); err != nil {
			return err
		}
	}
	if err := s.store.DeleteGroup(ctx, id); err != nil {
		return lookup(err, "group", id)
	}
	s.changed()
	for _, u := range members {
		if err := s.revoke(ctx, RevocationEvent{UserID: u.ID}); err != nil {
			return err
		}
	}
	return nil
}

// authorizeMembership checks rule for a user and a group, then requires both
// to exist (group first, as keystone reports).
func (s *Service) authorizeMembership(ctx context.Context, rule, groupID, userID string) error {
	target := map[string]any{}
	g, gerr := s.store.GetGroup(ctx, groupID)
	if gerr == nil {
		target["group"] = policyGroup(g)
	} else if !errors.Is(gerr, ErrNotFound) {
		return gerr
	}
	u, uerr := s.store.GetUser(ctx, userID)
	if uerr == nil {
		target["user"] = policyUser(u)
	} else if !errors.Is(uerr, ErrNotFound) {
		return uerr
	}
	if err := s.authorize(ctx, rule, map[string]any{"target": target, "group_id": groupID, "user_id": userID}); err != nil {
		return err
	}
	switch {
	case gerr != nil:
		return notFound("group", groupID)
	case uerr != nil:
		return notFound("user", userID)
	}
	return nil
}

// notInGroup is keystone's 404 for a membership that does not exist.
func notInGroup(userID, groupID string) error {
	return &Error{Kind: ErrNotFound, Message: "User '" + userID + "' not found in group '" + groupID + "'"}
}

// AddUserToGroup makes a user a member of a group
// (PUT /v3/groups/{group_id}/users/{user_id}); adding a member again is fine.
func (s *Service) AddUserToGroup(ctx context.Context, groupID, userID string) error {
	if err := s.authorizeMembership(ctx, "identity:add_user_to_group", groupID, userID); err != nil {
		return err
	}
	if err := s.store.AddUserToGroup(ctx, userID, groupID); err != nil {
		return lookup(err, "group", groupID)
	}
	s.changed()
	return nil
}

// CheckUserInGroup reports whether a user is a member of a group
// (HEAD/GET /v3/groups/{group_id}/users/{user_id}): nil, or 404.
func (s *Service) CheckUserInGroup(ctx context.Context, groupID, userID string) error {
	if err := s.authorizeMembership(ctx, "identity:check_user_in_group", groupID, userID); err != nil {
		return err
	}
	in, err := s.store.IsUserInGroup(ctx, userID, groupID)
	if err != nil {
		return err
	}
	if !in {
		return notInGroup(userID, groupID)
	}
	return nil
}

// RemoveUserFromGroup ends a membership and revokes the user's tokens, which may
// carry roles the group gave (DELETE /v3/groups/{group_id}/users/{user_id}).
func (s *Service) RemoveUserFromGroup(ctx context.Context, groupID, userID string) error {
	if err := s.authorizeMembership(ctx, "identity:remove_user_from_group", groupID, userID); err != nil {
		return err
	}
	if err := s.store.RemoveUserFromGroup(ctx, userID, groupID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return notInGroup(userID, groupID)
		}
		return err
	}
	s.changed()
	return s.revoke(ctx, RevocationEvent{UserID: userID})
}

// ListGroupUsers lists a group's members (GET /v3/groups/{group_id}/users),
// narrowed by f as GET /v3/users is. A domain-scoped caller sees only its
// domain's users.
func (s *Service) ListGroupUsers(ctx context.Context, groupID string, f UserFilter) ([]User, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	extra := map[string]any{}
	addFilterValues(extra, map[string]string{"domain_id": f.DomainID, "name": f.Name}, map[string]*bool{"enabled": f.Enabled})
	if _, err := s.authorizeGroup(ctx, "identity:list_users_in_group", groupID, extra); err != nil {
		return nil, err
	}
	f.GroupID = groupID
	us, err := s.store.ListUsers(ctx, f)
	if err != nil {
		return nil, err
	}
	if c.DomainID != "" {
		us = slices.DeleteFunc(us, func(u User) bool { return u.DomainID != c.DomainID })
	}
	return us, nil
}
