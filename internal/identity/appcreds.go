package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// maxAppCredSecret is the longest secret bcrypt can check in full.
const maxAppCredSecret = 72

// AppCredRequest is what POST /v3/users/{user_id}/application_credentials asks for.
type AppCredRequest struct {
	Name        string
	Description string
	// Secret is the secret to use; "" generates one.
	Secret string
	// ExpiresAt must be in the future; zero means never.
	ExpiresAt    time.Time
	Unrestricted bool
	// Roles name roles by id or name; empty delegates every role of the
	// caller's token.
	Roles []RoleRef
	// AccessRules, when set, narrow the credential's tokens to these API
	// operations; each names one of the user's rules by ID or gives service,
	// path and method.
	AccessRules []AccessRule
}

// RoleRef names a role by ID or, when ID is empty, by Name.
type RoleRef struct {
	ID, Name string
}

// AppCredDetail is an application credential with its roles resolved. Secret is
// set only in the answer to its creation; it is never stored.
type AppCredDetail struct {
	ApplicationCredential
	Roles  []Role
	Secret string
	// AccessRules are the credential's access rules; nil when it has none.
	AccessRules []AccessRule
}

// appCredMissing is keystone's 404 for an application credential.
func appCredMissing(id string) error {
	return &Error{Kind: ErrNotFound, Message: fmt.Sprintf("Could not find Application Credential: %s.", id)}
}

// newAppCredSecret returns 64 URL-safe random characters (48 random bytes).
func newAppCredSecret() string {
	var b [48]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("read random: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// checkAppCredToken refuses callers whose token comes from a restricted
// application credential: those may not manage application credentials.
func (s *Service) checkAppCredToken(ctx context.Context, c *auth.Caller) error {
	if c.AppCredID == "" && !slices.Contains(c.Methods, "application_credential") {
		return nil
	}
	ac, err := s.store.GetApplicationCredential(ctx, c.AppCredID)
	if err == nil && ac.Unrestricted {
		return nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("get application credential %s: %w", c.AppCredID, err)
	}
	return forbidden("You are not authorized to perform the requested action: Using method 'application_credential' is not allowed for managing additional application credentials.")
}

// CreateApplicationCredential creates an application credential for the calling
// user on the project of the caller's token
// (POST /v3/users/{user_id}/application_credentials). Its roles must be among
// the token's roles (400 otherwise); the roles they imply are added. The answer
// carries the secret, which is stored only hashed.
func (s *Service) CreateApplicationCredential(ctx context.Context, userID string, req AppCredRequest) (AppCredDetail, error) {
	c, err := caller(ctx)
	if err != nil {
		return AppCredDetail{}, err
	}
	if err := s.authorize(ctx, "identity:create_application_credential", map[string]any{"user_id": userID}); err != nil {
		return AppCredDetail{}, err
	}
	if err := s.checkAppCredToken(ctx, c); err != nil {
		return AppCredDetail{}, err
	}
	if c.UserID != userID {
		return AppCredDetail{}, forbidden("You are not authorized to perform the requested action: Cannot create an application credential for another user.")
	}
	if c.ProjectID == "" {
		return AppCredDetail{}, forbidden("You are not authorized to perform the requested action: An application credential can only be created with a project-scoped token.")
	}
	if err := nameSchemaError("name", req.Name, 255); err != nil {
		return AppCredDetail{}, err
	}
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(s.now()) {
		return AppCredDetail{}, invalid("The 'expires_at' must not be before now. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
	}
	secret := req.Secret
	if secret == "" {
		secret = newAppCredSecret()
	} else if len(secret) > maxAppCredSecret {
		return AppCredDetail{}, invalid("Invalid application credential: the secret is longer than %d bytes.", maxAppCredSecret)
	}
	roles, err := s.appCredRoles(ctx, c, req.Roles)
	if err != nil {
		return AppCredDetail{}, err
	}
	rules, err := s.resolveAccessRules(ctx, userID, req.AccessRules)
	if err != nil {
		return AppCredDetail{}, err
	}
	hash, err := s.hasher.Hash(secret)
	if err != nil {
		return AppCredDetail{}, fmt.Errorf("hash application credential secret: %w", err)
	}
	ac := ApplicationCredential{ID: s.newID(), Name: req.Name, Description: req.Description, UserID: userID,
		ProjectID: c.ProjectID, SecretHash: hash, Unrestricted: req.Unrestricted}
	if !req.ExpiresAt.IsZero() {
		ac.ExpiresAt = req.ExpiresAt.UTC()
	}
	for _, r := range roles {
		ac.RoleIDs = append(ac.RoleIDs, r.ID)
	}
	if rules, err = s.storeAppCred(ctx, ac, rules); err != nil {
		err = duplicate(err, "application_credential - Duplicate entry found with name %s.", req.Name)
		return AppCredDetail{}, lookup(err, "user", userID)
	}
	s.changed()
	return AppCredDetail{ApplicationCredential: ac, Roles: roles, Secret: secret, AccessRules: rules}, nil
}

// appCredRoles resolves the roles an application credential delegates: those
// asked for (by id or name) plus every role they imply, all of which the token
// must carry; or, when none are asked for, the token's roles.
func (s *Service) appCredRoles(ctx context.Context, c *auth.Caller, refs []RoleRef) ([]Role, error) {
	held := make([]string, len(c.Roles))
	for i, r := range c.Roles {
		held[i] = r.ID
	}
	ids := held
	if len(refs) > 0 {
		ids = nil
		for _, ref := range refs {
			id, err := s.roleIDOf(ctx, ref)
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		var err error
		if ids, err = s.expandImplied(ctx, ids); err != nil {
			return nil, err
		}
		for _, id := range ids {
			if !slices.Contains(held, id) {
				return nil, invalid("Invalid application credential: Cannot create an application credential with unassigned role")
			}
		}
	}
	byID, err := s.rolesByID(ctx, slices.Clone(ids))
	if err != nil {
		return nil, err
	}
	roles := make([]Role, 0, len(ids))
	for _, id := range ids {
		r, ok := byID[id]
		if !ok {
			return nil, notFound("role", id)
		}
		if !slices.ContainsFunc(roles, func(x Role) bool { return x.ID == id }) {
			roles = append(roles, r)
		}
	}
	return roles, nil
}

// roleIDOf resolves a role reference; a name must match exactly one role.
func (s *Service) roleIDOf(ctx context.Context, ref RoleRef) (string, error) {
	if ref.ID != "" {
		return ref.ID, nil
	}
	if ref.Name == "" {
		return "", invalid("Invalid input for field/attribute roles. Value: {}. {} does not have enough properties")
	}
	roles, err := s.store.ListRoles(ctx, RoleFilter{Name: ref.Name, AnyDomain: true})
	if err != nil {
		return "", fmt.Errorf("list roles named %s: %w", ref.Name, err)
	}
	switch len(roles) {
	case 0:
		return "", &Error{Kind: ErrNotFound, Message: fmt.Sprintf("Role %s is not defined", ref.Name)}
	case 1:
		return roles[0].ID, nil
	}
	return "", invalid("There are multiple role entities named '%s'. Please use ID instead of names to resolve the ambiguity.", ref.Name)
}

// appCredOwned fetches an application credential and enforces rule against its
// owner, as keystone does (the owner comes from the credential, not the path).
// A credential that is missing or belongs to another user than userID is a 404.
func (s *Service) appCredOwned(ctx context.Context, rule, userID, id string) (ApplicationCredential, error) {
	if _, err := caller(ctx); err != nil {
		return ApplicationCredential{}, err
	}
	ac, err := s.store.GetApplicationCredential(ctx, id)
	owner := userID
	if err == nil {
		owner = ac.UserID
	} else if !errors.Is(err, ErrNotFound) {
		return ApplicationCredential{}, fmt.Errorf("get application credential %s: %w", id, err)
	}
	if aerr := s.authorize(ctx, rule, map[string]any{"user_id": owner}); aerr != nil {
		return ApplicationCredential{}, aerr
	}
	if err != nil || ac.UserID != userID {
		return ApplicationCredential{}, appCredMissing(id)
	}
	return ac, nil
}

// GetApplicationCredential returns one of a user's application credentials
// (GET /v3/users/{user_id}/application_credentials/{application_credential_id}).
func (s *Service) GetApplicationCredential(ctx context.Context, userID, id string) (AppCredDetail, error) {
	ac, err := s.appCredOwned(ctx, "identity:get_application_credential", userID, id)
	if err != nil {
		return AppCredDetail{}, err
	}
	out, err := s.appCredDetails(ctx, []ApplicationCredential{ac})
	if err != nil {
		return AppCredDetail{}, err
	}
	return out[0], nil
}

// ListApplicationCredentials lists a user's application credentials, only the
// one named name when it is set (GET /v3/users/{user_id}/application_credentials).
func (s *Service) ListApplicationCredentials(ctx context.Context, userID, name string) ([]AppCredDetail, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "identity:list_application_credentials", map[string]any{"user_id": userID}); err != nil {
		return nil, err
	}
	acs, err := s.store.ListApplicationCredentials(ctx, userID, name)
	if err != nil {
		return nil, fmt.Errorf("list application credentials of user %s: %w", userID, err)
	}
	return s.appCredDetails(ctx, acs)
}

// appCredDetails resolves the roles and access rules of application credentials.
func (s *Service) appCredDetails(ctx context.Context, acs []ApplicationCredential) ([]AppCredDetail, error) {
	var ids []string
	for _, ac := range acs {
		ids = append(ids, ac.RoleIDs...)
	}
	roles, err := s.rolesByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	rules, err := s.appCredAccessRules(ctx, acs)
	if err != nil {
		return nil, err
	}
	out := make([]AppCredDetail, len(acs))
	for i, ac := range acs {
		out[i] = AppCredDetail{ApplicationCredential: ac, Roles: []Role{}, AccessRules: rules[ac.ID]}
		for _, id := range ac.RoleIDs {
			if r, ok := roles[id]; ok {
				out[i].Roles = append(out[i].Roles, r)
			}
		}
	}
	return out, nil
}

// DeleteApplicationCredential deletes one of a user's application credentials
// and revokes the tokens issued with it
// (DELETE /v3/users/{user_id}/application_credentials/{application_credential_id}).
// A token from a restricted application credential may not do this (403).
func (s *Service) DeleteApplicationCredential(ctx context.Context, userID, id string) error {
	c, err := caller(ctx)
	if err != nil {
		return err
	}
	if _, err := s.appCredOwned(ctx, "identity:delete_application_credential", userID, id); err != nil {
		return err
	}
	if err := s.checkAppCredToken(ctx, c); err != nil {
		return err
	}
	if err := s.removeAppCred(ctx, id); err != nil {
		return err
	}
	s.changed()
	return nil
}

// removeAppCred deletes an application credential and revokes its tokens.
func (s *Service) removeAppCred(ctx context.Context, id string) error {
	err := s.store.DeleteApplicationCredential(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return appCredMissing(id)
	}
	if err != nil {
		return fmt.Errorf("delete application credential %s: %w", id, err)
	}
	return s.revoke(ctx, RevocationEvent{AppCredID: id})
}
