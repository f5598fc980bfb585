package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/identity/fernet"
)

// resolveScope sets the token's project, domain or system scope as sc asks, falling
// back to the user's default project when sc is empty.
func (s *Service) resolveScope(ctx context.Context, t *Token, sc Scope) error {
	set := 0
	if sc.ProjectID != "" || sc.ProjectName != "" {
		set++
	}
	if sc.DomainID != "" || sc.DomainName != "" {
		set++
	}
	if sc.System {
		set++
	}
	if sc.TrustID != "" {
		set++
	}
	if set > 1 {
		return invalid("Specify either a project, a domain or the system as the scope, not several.")
	}
	switch {
	case sc.Unscoped:
		return nil
	case sc.TrustID != "":
		return s.scopeToTrust(ctx, t, sc.TrustID)
	case sc.ProjectID != "" || sc.ProjectName != "":
		p, err := s.findProject(ctx, sc)
		if err != nil {
			return err
		}
		t.Project = p
	case sc.DomainID != "" || sc.DomainName != "":
		d, err := s.findScopeDomain(ctx, sc.DomainID, sc.DomainName)
		if err != nil {
			return err
		}
		t.Domain = d
	case sc.System:
		t.System = true
	case t.User.DefaultProjectID != "":
		// Keystone scopes to the default project when it can, and otherwise hands
		// out an unscoped token.
		p, err := s.store.GetProject(ctx, t.User.DefaultProjectID)
		if err == nil && p.Enabled {
			roles, err := s.effectiveRoles(ctx, t.User.ID, &p, nil, false)
			if err != nil {
				return err
			}
			if len(roles) > 0 {
				t.Project = &p
			}
		}
	}
	return nil
}

func (s *Service) findProject(ctx context.Context, sc Scope) (*Project, error) {
	var (
		p   Project
		err error
	)
	if sc.ProjectID != "" {
		p, err = s.store.GetProject(ctx, sc.ProjectID)
	} else {
		domainID := sc.ProjectDomainID
		if domainID == "" {
			if sc.ProjectDomainName == "" {
				return nil, invalid("Expecting to find domain in project.")
			}
			d, derr := s.store.GetDomainByName(ctx, sc.ProjectDomainName)
			if derr != nil {
				return nil, unauthorized("Could not find domain: %s.", sc.ProjectDomainName)
			}
			domainID = d.ID
		}
		p, err = s.store.GetProjectByName(ctx, domainID, sc.ProjectName)
	}
	if errors.Is(err, ErrNotFound) {
		name := sc.ProjectID
		if name == "" {
			name = sc.ProjectName
		}
		return nil, unauthorized("Could not find project: %s.", name)
	}
	if err != nil {
		return nil, err
	}
	if !p.Enabled {
		return nil, unauthorized("Project %s is disabled.", p.ID)
	}
	d, err := s.store.GetDomain(ctx, p.DomainID)
	if err != nil {
		return nil, fmt.Errorf("get domain of project %s: %w", p.ID, err)
	}
	if !d.Enabled {
		return nil, unauthorized("Domain %s is disabled.", d.ID)
	}
	return &p, nil
}

func (s *Service) findScopeDomain(ctx context.Context, id, name string) (*Domain, error) {
	var (
		d   Domain
		err error
	)
	if id != "" {
		d, err = s.store.GetDomain(ctx, id)
	} else {
		d, err = s.store.GetDomainByName(ctx, name)
	}
	if errors.Is(err, ErrNotFound) {
		return nil, unauthorized("Could not find domain: %s.", id+name)
	}
	if err != nil {
		return nil, err
	}
	if !d.Enabled {
		return nil, unauthorized("Domain %s is disabled.", d.ID)
	}
	return &d, nil
}

// fill resolves names and roles of a token whose user and scope are set.
func (s *Service) fill(ctx context.Context, t *Token) error {
	ud, err := s.store.GetDomain(ctx, t.User.DomainID)
	if err != nil {
		return fmt.Errorf("get domain of user %s: %w", t.User.ID, err)
	}
	t.UserDomain = ud
	if t.AppCred != nil {
		if t.AccessRules, err = s.TokenAccessRules(ctx, t); err != nil {
			return err
		}
	}
	if t.Project != nil {
		pd := ud
		if t.Project.DomainID != ud.ID {
			if pd, err = s.store.GetDomain(ctx, t.Project.DomainID); err != nil {
				return fmt.Errorf("get domain of project %s: %w", t.Project.ID, err)
			}
		}
		t.ProjectDomain = &pd
		t.IsAdminProject = s.isAdminProject(t.Project, &pd)
	}
	if !t.Scoped() {
		t.Roles = nil
		return nil
	}
	var roles []Role
	if t.Trust != nil {
		roles, err = s.trustRoles(ctx, t.Trust)
	} else {
		roles, err = s.effectiveRoles(ctx, t.User.ID, t.Project, t.Domain, t.System)
	}
	if err != nil {
		return err
	}
	if t.AppCred != nil {
		// An application credential delegates only the roles it names that the
		// user still holds.
		roles = slices.DeleteFunc(roles, func(r Role) bool { return !slices.Contains(t.AppCred.RoleIDs, r.ID) })
	}
	t.Roles = roles
	return nil
}

func (s *Service) isAdminProject(p *Project, d *Domain) bool {
	if s.cfg.AdminProjectName == "" {
		// As keystone: with no admin project configured every project counts.
		return true
	}
	return p.Name == s.cfg.AdminProjectName && strings.EqualFold(d.Name, s.cfg.AdminProjectDomainName)
}

// ValidateToken opens a token and returns it with its current user, scope and
// roles. It fails with ErrUnauthorized for garbage, expired (unless allowExpired
// and within the window) and revoked tokens, and when the user, scope or roles are
// gone.
func (s *Service) ValidateToken(ctx context.Context, id string, allowExpired bool) (*Token, error) {
	v, err := s.validate(ctx, id, allowExpired)
	if err != nil {
		return nil, err
	}
	return v.tok, nil
}

// validate is ValidateToken returning the cache entry, which also holds what
// every validation of the token needs: its revocation subject and its caller.
func (s *Service) validate(ctx context.Context, id string, allowExpired bool) (*validated, error) {
	now := s.now()
	keyGen := s.tokens.KeyGeneration()
	if v := s.cache.get(id, now, keyGen); v != nil && now.Before(v.tok.ExpiresAt) {
		if s.revocations.revoked(v.subject) {
			return nil, unauthorized("The token has been revoked.")
		}
		return v, nil
	}
	p, err := s.tokens.Validate(id)
	if errors.Is(err, fernet.ErrTokenExpired) && allowExpired && now.Before(p.ExpiresAt.Add(s.cfg.AllowExpiredWindow)) {
		err = nil // Validate returns the payload of an expired token too
	}
	if err != nil {
		if errors.Is(err, fernet.ErrTokenExpired) {
			return nil, unauthorized("The token has expired.")
		}
		return nil, unauthorized("The request you have made requires authentication.")
	}
	t, err := s.rebuild(ctx, id, p)
	if err != nil {
		return nil, err
	}
	v := &validated{tok: t, subject: t.revocationSubject(), caller: t.Caller()}
	if s.revocations.revoked(v.subject) {
		return nil, unauthorized("The token has been revoked.")
	}
	if now.Before(t.ExpiresAt) {
		s.cache.put(id, v, now, keyGen)
	}
	return v, nil
}

// rebuild resolves a token payload against the current rows.
func (s *Service) rebuild(ctx context.Context, id string, p fernet.Payload) (*Token, error) {
	gone := func(what string) error { return unauthorized("The token is no longer valid: %s.", what) }
	u, err := s.store.GetUser(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, gone("its user was deleted")
	}
	if err != nil {
		return nil, err
	}
	if err := s.checkUserUsable(ctx, &u); err != nil {
		return nil, gone("its user or the user's domain is disabled")
	}
	t := &Token{ID: id, Methods: p.Methods, User: u, AuditIDs: p.AuditIDs,
		IssuedAt: p.IssuedAt, ExpiresAt: p.ExpiresAt, System: p.System}
	switch {
	case p.ProjectID != "":
		proj, err := s.findProject(ctx, Scope{ProjectID: p.ProjectID})
		if err != nil {
			return nil, gone("its project is gone or disabled")
		}
		t.Project = proj
	case p.DomainID != "":
		d, err := s.findScopeDomain(ctx, p.DomainID, "")
		if err != nil {
			return nil, gone("its domain is gone or disabled")
		}
		t.Domain = d
	}
	if p.AppCredID != "" {
		ac, err := s.store.GetApplicationCredential(ctx, p.AppCredID)
		if err != nil {
			return nil, gone("its application credential was deleted")
		}
		t.AppCred = &ac
	}
	if p.TrustID != "" {
		if err := s.rebuildTrust(ctx, t, p.TrustID); err != nil {
			return nil, err
		}
	}
	if err := s.fill(ctx, t); err != nil {
		if t.Trust != nil && errors.Is(err, ErrForbidden) {
			return nil, gone("its trustor no longer holds the delegated roles")
		}
		return nil, err
	}
	if t.Scoped() && len(t.Roles) == 0 {
		return nil, gone("its user holds no role on its scope")
	}
	return t, nil
}

// RevokeToken revokes one token (DELETE /v3/auth/tokens).
func (s *Service) RevokeToken(ctx context.Context, t *Token) error {
	return s.revoke(ctx, RevocationEvent{AuditID: t.AuditIDs[0]})
}
