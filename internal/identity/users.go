package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// UserCreate holds the fields of POST /v3/users.
type UserCreate struct {
	Name string
	// DomainID defaults to the caller's domain scope, else the default domain.
	DomainID string
	// DefaultProjectID, when set, must name an existing project.
	DefaultProjectID string
	Description      string
	Enabled          *bool   // nil: enabled
	Password         *string // nil: no password
	// Extra are the attributes keystone has no column for (email, ...).
	Extra   map[string]any
	Options map[string]any
}

// UserUpdate holds the fields of PATCH /v3/users/{user_id}; nil fields stay as
// they are. ID and DomainID may only repeat the current values.
type UserUpdate struct {
	ID, Name, DomainID, Description *string
	// DefaultProjectID "" clears the default project.
	DefaultProjectID *string
	Enabled          *bool
	// Password replaces the password; ClearPassword removes it ("password": null).
	Password      *string
	ClearPassword bool
	// Extra is merged into the user's extra attributes.
	Extra map[string]any
	// Options sets each named option; a nil value clears it.
	Options map[string]any
}

// userOptionChecks are the options keystone knows for users; any other is a 400.
var userOptionChecks = map[string]optionCheck{
	"ignore_change_password_upon_first_use": boolOption,
	"ignore_password_expiry":                boolOption,
	"ignore_lockout_failure_attempts":       boolOption,
	"lock_password":                         boolOption,
	"multi_factor_auth_enabled":             boolOption,
	"multi_factor_auth_rules":               mfaRulesOption,
}

// mfaRulesOption checks multi_factor_auth_rules: a list of non-empty lists of
// method names, no list repeated and no name repeated within a list.
func mfaRulesOption(field string, v any) error {
	bad := fieldInvalid(field, "Invalid data type, must be a list of lists comprised of strings. "+
		"Sub-lists may not be duplicated. Strings in sub-lists may not be duplicated.")
	rules, ok := v.([]any)
	if !ok {
		return bad
	}
	seenRules := map[string]bool{}
	for _, r := range rules {
		methods, ok := r.([]any)
		if !ok || len(methods) == 0 {
			return bad
		}
		seen := map[string]bool{}
		for _, m := range methods {
			name, ok := m.(string)
			if !ok || seen[name] {
				return bad
			}
			seen[name] = true
		}
		key := fmt.Sprint(methods)
		if seenRules[key] {
			return bad
		}
		seenRules[key] = true
	}
	return nil
}

// policyUser is a user as policy rules see it (target.user.*).
func policyUser(u User) map[string]any {
	m := map[string]any{"id": u.ID, "name": u.Name, "domain_id": u.DomainID, "enabled": u.Enabled}
	if u.DefaultProjectID != "" {
		m["default_project_id"] = u.DefaultProjectID
	}
	return m
}

// userConflict is keystone's message for a user name taken in its domain.
func userConflict(err error, u User) error {
	return duplicate(err, "user - Duplicate entry found with name %s at domain ID %s.", u.Name, u.DomainID)
}

// authorizeUser checks rule against the user id, then reports whether it exists.
func (s *Service) authorizeUser(ctx context.Context, rule, id string, extra map[string]any) (User, error) {
	u, err := s.store.GetUser(ctx, id)
	target := map[string]any{}
	if err == nil {
		target["user"] = policyUser(u)
	} else if !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	full := map[string]any{"target": target, "user_id": id}
	for k, v := range extra {
		full[k] = v
	}
	if aerr := s.authorize(ctx, rule, full); aerr != nil {
		return User{}, aerr
	}
	if err != nil {
		return User{}, notFound("user", id)
	}
	return u, nil
}

// checkPasswordLength refuses passwords over [identity] max_password_length, as
// keystone does with strict_password_check.
func (s *Service) checkPasswordLength(pw string) error {
	if len(pw) > s.cfg.MaxPasswordLength {
		return forbidden("The password length must be less than or equal to %d. The server could not comply with the request because the password is invalid.", s.cfg.MaxPasswordLength)
	}
	return nil
}

// setPassword hashes pw into u, with the expiry the compliance rules give a
// password the user (selfService) or an administrator chose.
func (s *Service) setPassword(u *User, pw string, selfService bool) error {
	h, err := s.hasher.Hash(pw)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return err
		}
		return fmt.Errorf("hash password of user %s: %w", u.ID, err)
	}
	now := s.now().UTC()
	u.PasswordHash, u.PasswordCreatedAt, u.PasswordExpiresAt = h, now, s.newPasswordExpiry(u, now, selfService)
	return nil
}

// validateDefaultProject checks a default_project_id: it must name a project,
// and not a domain.
func (s *Service) validateDefaultProject(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	if err := validateIDString("default_project_id", id); err != nil {
		return err
	}
	_, err := s.store.GetProject(ctx, id)
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	if _, derr := s.store.GetDomain(ctx, id); derr == nil {
		return invalid("User's default project ID cannot be a domain ID: %s", id)
	}
	return invalid("Could not find project: %s.", id)
}

// CreateUser creates a user (POST /v3/users).
func (s *Service) CreateUser(ctx context.Context, in UserCreate) (User, error) {
	c, err := caller(ctx)
	if err != nil {
		return User{}, err
	}
	asked := map[string]any{"name": in.Name}
	if in.DomainID != "" {
		asked["domain_id"] = in.DomainID
	}
	if err := s.authorize(ctx, "identity:create_user", map[string]any{"target": map[string]any{"user": asked}}); err != nil {
		return User{}, err
	}
	u := User{ID: s.newID(), Name: in.Name, DomainID: in.DomainID, Enabled: in.Enabled == nil || *in.Enabled,
		DefaultProjectID: in.DefaultProjectID, Description: in.Description, Extra: in.Extra}
	if err := validateEntityName(u.Name, identityNameMax); err != nil {
		return User{}, err
	}
	if err := validateIDString("domain_id", u.DomainID); err != nil {
		return User{}, err
	}
	if u.Options, err = applyOptions(nil, in.Options, userOptionChecks); err != nil {
		return User{}, err
	}
	if in.Password != nil {
		if err := s.checkPasswordLength(*in.Password); err != nil {
			return User{}, err
		}
		if err := s.checkPasswordRequirements(*in.Password); err != nil {
			return User{}, err
		}
	}
	if u.DomainID == "" {
		u.DomainID = c.DomainID
	}
	if u.DomainID == "" {
		u.DomainID = s.cfg.DefaultDomainID
	}
	if _, err := s.store.GetDomain(ctx, u.DomainID); err != nil {
		return User{}, lookup(err, "domain", u.DomainID)
	}
	if err := s.validateDefaultProject(ctx, u.DefaultProjectID); err != nil {
		return User{}, err
	}
	if in.Password != nil {
		if err := s.setPassword(&u, *in.Password, false); err != nil {
			return User{}, err
		}
	}
	u.Name = strings.TrimSpace(u.Name)
	if err := s.store.CreateUser(ctx, u); err != nil {
		return User{}, lookup(userConflict(err, u), "domain", u.DomainID)
	}
	s.changed()
	return s.reloadUser(ctx, u.ID)
}

// reloadUser reads a user back after a write, as the store normalized it.
func (s *Service) reloadUser(ctx context.Context, id string) (User, error) {
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return User{}, lookup(err, "user", id)
	}
	return u, nil
}

// GetUser returns one user (GET /v3/users/{user_id}).
func (s *Service) GetUser(ctx context.Context, id string) (User, error) {
	return s.authorizeUser(ctx, "identity:get_user", id, nil)
}

// ListUsers lists users (GET /v3/users). A domain-scoped caller sees only its
// domain's users.
func (s *Service) ListUsers(ctx context.Context, f UserFilter) ([]User, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	target := map[string]any{"target": map[string]any{}}
	if c.DomainID != "" {
		target["target"] = map[string]any{"domain_id": c.DomainID}
	}
	addFilterValues(target, map[string]string{"domain_id": f.DomainID, "name": f.Name}, map[string]*bool{"enabled": f.Enabled})
	if err := s.authorize(ctx, "identity:list_users", target); err != nil {
		return nil, err
	}
	if f.DomainID == "" {
		f.DomainID = c.DomainID
	}
	us, err := s.store.ListUsers(ctx, f)
	if err != nil {
		return nil, err
	}
	if c.DomainID != "" {
		us = slices.DeleteFunc(us, func(u User) bool { return u.DomainID != c.DomainID })
	}
	return us, nil
}

// UpdateUser changes a user (PATCH /v3/users/{user_id}). Disabling the user or
// changing the password revokes the user's tokens.
func (s *Service) UpdateUser(ctx context.Context, id string, up UserUpdate) (User, error) {
	u, err := s.authorizeUser(ctx, "identity:update_user", id, nil)
	if err != nil {
		return User{}, err
	}
	if err := s.checkUserUpdate(ctx, u, up); err != nil {
		return User{}, err
	}
	if u.Options, err = applyOptions(u.Options, up.Options, userOptionChecks); err != nil {
		return User{}, err
	}
	revoke := (up.Enabled != nil && !*up.Enabled && u.Enabled) || up.Password != nil || up.ClearPassword
	if up.Name != nil {
		u.Name = strings.TrimSpace(*up.Name)
	}
	if up.Description != nil {
		u.Description = *up.Description
	}
	if up.DefaultProjectID != nil {
		u.DefaultProjectID = *up.DefaultProjectID
	}
	if up.Enabled != nil {
		u.Enabled = *up.Enabled
	}
	if len(up.Extra) > 0 {
		merged := make(map[string]any, len(u.Extra)+len(up.Extra))
		for k, v := range u.Extra {
			merged[k] = v
		}
		for k, v := range up.Extra {
			merged[k] = v
		}
		u.Extra = merged
	}
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return User{}, lookup(userConflict(err, u), "user", id)
	}
	// An administrator's reset is not held to the history, but is recorded in it.
	if up.Password != nil || up.ClearPassword {
		if err := s.storePassword(ctx, &u, up.Password, false); err != nil {
			return User{}, err
		}
	}
	s.changed()
	if revoke {
		if err := s.revoke(ctx, RevocationEvent{UserID: id}); err != nil {
			return User{}, err
		}
	}
	return s.reloadUser(ctx, id)
}

// checkUserUpdate applies keystone's rules on what a user update may say.
func (s *Service) checkUserUpdate(ctx context.Context, u User, up UserUpdate) error {
	if up.Name != nil {
		if err := validateEntityName(*up.Name, identityNameMax); err != nil {
			return err
		}
	}
	if up.Password != nil {
		if err := s.checkPasswordLength(*up.Password); err != nil {
			return err
		}
		if err := s.checkPasswordRequirements(*up.Password); err != nil {
			return err
		}
	}
	switch {
	case up.ID != nil && *up.ID != u.ID:
		return invalid("Cannot change ID")
	case up.DomainID != nil && *up.DomainID != u.DomainID:
		return invalid("Cannot change Domain ID")
	case up.DefaultProjectID != nil && *up.DefaultProjectID != u.DefaultProjectID:
		return s.validateDefaultProject(ctx, *up.DefaultProjectID)
	}
	return nil
}

// DeleteUser deletes a user with the user's memberships, assignments and
// application credentials, and revokes the user's tokens
// (DELETE /v3/users/{user_id}).
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	if _, err := s.authorizeUser(ctx, "identity:delete_user", id, nil); err != nil {
		return err
	}
	if err := s.store.DeleteUser(ctx, id); err != nil {
		return lookup(err, "user", id)
	}
	s.changed()
	return s.revoke(ctx, RevocationEvent{UserID: id})
}

// ChangePassword is a user's self-service password change
// (POST /v3/users/{user_id}/password). It needs no token and no policy: the
// original password is the credential, checked as authentication checks it
// (lockout included; an expired password may be changed). Any failure to prove
// it is a 401 that does not say which part was wrong. The new password must
// meet password_regex, the minimum age and the history. Success revokes the
// user's tokens.
func (s *Service) ChangePassword(ctx context.Context, userID, original, password string) error {
	if len(password) > s.cfg.MaxPasswordLength {
		return fieldInvalid("password", "the password is longer than %d characters", s.cfg.MaxPasswordLength)
	}
	u, err := s.store.GetUser(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		s.equalizeTiming(original)
		return authFailed()
	}
	if err != nil {
		return err
	}
	if len(original) > s.cfg.MaxPasswordLength {
		s.equalizeTiming(original)
		return authFailed()
	}
	failures, err := s.verifyPassword(ctx, &u, original)
	if err != nil {
		return err
	}
	if !u.Enabled {
		s.log.Info("password change refused: user disabled", "user_id", u.ID)
		return authFailed()
	}
	if err := s.clearFailedAuth(ctx, u.ID, failures); err != nil {
		return err
	}
	if err := s.checkPasswordRequirements(password); err != nil {
		return err
	}
	if locked, _ := u.Options["lock_password"].(bool); locked {
		return invalid("You cannot change your password at this time due to password policy disallowing password changes. Please contact your administrator to reset your password.")
	}
	if err := s.checkSelfServiceChange(ctx, &u, password); err != nil {
		return err
	}
	if err := s.storePassword(ctx, &u, &password, true); err != nil {
		return err
	}
	s.changed()
	return s.revoke(ctx, RevocationEvent{UserID: userID})
}

// ListUserGroups lists the groups a user belongs to (GET /v3/users/{user_id}/groups),
// optionally by name. A domain-scoped caller sees only its domain's groups.
func (s *Service) ListUserGroups(ctx context.Context, userID, name string) ([]Group, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	extra := map[string]any{}
	addFilterValues(extra, map[string]string{"name": name}, nil)
	if _, err := s.authorizeUser(ctx, "identity:list_groups_for_user", userID, extra); err != nil {
		return nil, err
	}
	gs, err := s.store.ListGroups(ctx, GroupFilter{UserID: userID, Name: name})
	if err != nil {
		return nil, err
	}
	if c.DomainID != "" {
		gs = slices.DeleteFunc(gs, func(g Group) bool { return g.DomainID != c.DomainID })
	}
	return gs, nil
}
