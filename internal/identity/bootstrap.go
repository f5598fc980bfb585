package identity

import (
	"context"
	"errors"
	"fmt"
)

// BootstrapOptions name what `nimbus admin bootstrap` creates, as
// `keystone-manage bootstrap` does.
type BootstrapOptions struct {
	AdminUsername string // default "admin"
	// AdminPassword is the admin user's password: required when the admin user
	// does not exist yet; when empty an existing admin keeps their password.
	AdminPassword    string
	AdminProjectName string // default "admin"
	ServiceProject   string // default "service"
	RegionID         string // default "RegionOne"
	// IdentityURLs are the identity endpoints by interface (public, internal, admin).
	IdentityURLs map[string]string
}

// BootstrapResult tells what bootstrap found or made.
type BootstrapResult struct {
	AdminUserID, AdminProjectID, ServiceProjectID string
	// PasswordSet is true when the admin password was written (a new admin user,
	// or an existing one whose password changed).
	PasswordSet bool
}

// Bootstrap makes sure the cloud's first entities exist: the default domain, the
// admin, member and reader roles (admin implies member implies reader), the admin
// and service projects, the admin user with the admin role on the admin project
// and the system, the region, and the identity service with its endpoints. It is
// idempotent: existing entities are kept, and the admin password is reset to the
// one given. It runs without policy checks; only operators can run it.
func (s *Service) Bootstrap(ctx context.Context, o BootstrapOptions) (BootstrapResult, error) {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&o.AdminUsername, "admin")
	def(&o.AdminProjectName, "admin")
	def(&o.ServiceProject, "service")
	def(&o.RegionID, "RegionOne")
	var res BootstrapResult
	domainID := s.cfg.DefaultDomainID
	if _, err := s.store.GetDomain(ctx, domainID); errors.Is(err, ErrNotFound) {
		err = s.store.CreateDomain(ctx, Domain{ID: domainID, Name: "Default", Enabled: true,
			Description: "The default domain"})
		if err != nil {
			return res, fmt.Errorf("create default domain: %w", err)
		}
	} else if err != nil {
		return res, err
	}
	roles := map[string]string{}
	for _, name := range []string{"admin", "member", "reader"} {
		id, err := s.ensureRole(ctx, name)
		if err != nil {
			return res, err
		}
		roles[name] = id
	}
	for _, ir := range []ImpliedRole{{roles["admin"], roles["member"]}, {roles["member"], roles["reader"]}} {
		if err := s.store.CreateImpliedRole(ctx, ir); err != nil {
			return res, fmt.Errorf("create implied role: %w", err)
		}
	}
	var err error
	if res.AdminProjectID, err = s.ensureProject(ctx, domainID, o.AdminProjectName, "Bootstrap project for initializing the cloud."); err != nil {
		return res, err
	}
	if res.ServiceProjectID, err = s.ensureProject(ctx, domainID, o.ServiceProject, "Project of the cloud's service users."); err != nil {
		return res, err
	}
	if res.AdminUserID, res.PasswordSet, err = s.ensureUser(ctx, domainID, o.AdminUsername, o.AdminPassword, res.AdminProjectID); err != nil {
		return res, err
	}
	for _, a := range []Assignment{
		{Type: UserProject, ActorID: res.AdminUserID, TargetID: res.AdminProjectID, RoleID: roles["admin"]},
		{Type: UserSystem, ActorID: res.AdminUserID, TargetID: SystemTarget, RoleID: roles["admin"]},
	} {
		if err := s.store.CreateAssignment(ctx, a); err != nil {
			return res, fmt.Errorf("grant admin role: %w", err)
		}
	}
	if err := s.RegisterService(ctx, o.RegionID, "identity", "keystone", "Identity service", o.IdentityURLs); err != nil {
		return res, err
	}
	s.changed()
	return res, nil
}

func (s *Service) ensureRole(ctx context.Context, name string) (string, error) {
	rs, err := s.store.ListRoles(ctx, RoleFilter{Name: name})
	if err != nil {
		return "", fmt.Errorf("find role %s: %w", name, err)
	}
	if len(rs) > 0 {
		return rs[0].ID, nil
	}
	id := s.newID()
	if err := s.store.CreateRole(ctx, Role{ID: id, Name: name, Options: map[string]any{}}); err != nil {
		return "", fmt.Errorf("create role %s: %w", name, err)
	}
	return id, nil
}

func (s *Service) ensureProject(ctx context.Context, domainID, name, description string) (string, error) {
	p, err := s.store.GetProjectByName(ctx, domainID, name)
	if err == nil {
		return p.ID, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("find project %s: %w", name, err)
	}
	id := s.newID()
	err = s.store.CreateProject(ctx, Project{ID: id, Name: name, DomainID: domainID, Enabled: true,
		Description: description, Options: map[string]any{}})
	if err != nil {
		return "", fmt.Errorf("create project %s: %w", name, err)
	}
	return id, nil
}

// ensureUser creates the user, or resets an existing user's password when it does
// not match; it reports whether it wrote a password.
func (s *Service) ensureUser(ctx context.Context, domainID, name, password, defaultProject string) (string, bool, error) {
	u, err := s.store.GetUserByName(ctx, domainID, name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", false, fmt.Errorf("find user %s: %w", name, err)
	}
	if err != nil && password == "" {
		return "", false, invalid("user %s does not exist yet: a password is needed to create it", name)
	}
	if err == nil && (password == "" || u.PasswordHash != "" && s.hasher.Compare(u.PasswordHash, password) == nil) {
		return u.ID, false, nil
	}
	hash, herr := s.hasher.Hash(password)
	if herr != nil {
		return "", false, fmt.Errorf("hash password of %s: %w", name, herr)
	}
	if err == nil {
		u.PasswordHash, u.PasswordCreatedAt, u.Enabled = hash, s.now().UTC(), true
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return "", false, fmt.Errorf("reset password of %s: %w", name, err)
		}
		return u.ID, true, s.revoke(ctx, RevocationEvent{UserID: u.ID})
	}
	u = User{ID: s.newID(), Name: name, DomainID: domainID, Enabled: true, DefaultProjectID: defaultProject,
		PasswordHash: hash, PasswordCreatedAt: s.now().UTC(), Options: map[string]any{}, Extra: map[string]any{}}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return "", false, fmt.Errorf("create user %s: %w", name, err)
	}
	return u.ID, true, nil
}

// EnsureServiceUser makes sure a service's user exists in the default domain with
// the given password and holds the admin and service roles on the service
// project, as the install guides set up for nova, glance and the rest.
func (s *Service) EnsureServiceUser(ctx context.Context, name, password, serviceProject string) error {
	if serviceProject == "" {
		serviceProject = "service"
	}
	p, err := s.store.GetProjectByName(ctx, s.cfg.DefaultDomainID, serviceProject)
	if err != nil {
		return fmt.Errorf("find service project: %w", err)
	}
	uid, _, err := s.ensureUser(ctx, s.cfg.DefaultDomainID, name, password, "")
	if err != nil {
		return err
	}
	for _, role := range []string{"admin", "service"} {
		rid, err := s.ensureRole(ctx, role)
		if err != nil {
			return err
		}
		if err := s.store.CreateAssignment(ctx, Assignment{Type: UserProject, ActorID: uid, TargetID: p.ID, RoleID: rid}); err != nil {
			return fmt.Errorf("grant %s to %s: %w", role, name, err)
		}
	}
	s.changed()
	return nil
}

// RegisterService makes sure the region, a catalog service of the given type and
// its endpoints exist, updating endpoint URLs that changed. Later services call
// it at start to put themselves in the catalog.
func (s *Service) RegisterService(ctx context.Context, regionID, typ, name, description string, urls map[string]string) error {
	if _, err := s.store.GetRegion(ctx, regionID); errors.Is(err, ErrNotFound) {
		if err := s.store.CreateRegion(ctx, Region{ID: regionID}); err != nil && !errors.Is(err, ErrConflict) {
			return fmt.Errorf("create region %s: %w", regionID, err)
		}
	} else if err != nil {
		return err
	}
	svcs, err := s.store.ListServices(ctx, ServiceFilter{Type: typ})
	if err != nil {
		return fmt.Errorf("find %s service: %w", typ, err)
	}
	var svc CatalogService
	if len(svcs) > 0 {
		svc = svcs[0]
	} else {
		svc = CatalogService{ID: s.newID(), Type: typ, Name: name, Description: description, Enabled: true}
		if err := s.store.CreateService(ctx, svc); err != nil {
			return fmt.Errorf("create %s service: %w", typ, err)
		}
	}
	existing, err := s.store.ListEndpoints(ctx, EndpointFilter{ServiceID: svc.ID, RegionID: regionID})
	if err != nil {
		return fmt.Errorf("list %s endpoints: %w", typ, err)
	}
	for iface, url := range urls {
		found := false
		for _, e := range existing {
			if e.Interface != iface {
				continue
			}
			found = true
			if e.URL != url {
				e.URL = url
				if err := s.store.UpdateEndpoint(ctx, e); err != nil {
					return fmt.Errorf("update %s %s endpoint: %w", typ, iface, err)
				}
			}
		}
		if !found {
			e := Endpoint{ID: s.newID(), ServiceID: svc.ID, Interface: iface, URL: url, RegionID: regionID, Enabled: true}
			if err := s.store.CreateEndpoint(ctx, e); err != nil {
				return fmt.Errorf("create %s %s endpoint: %w", typ, iface, err)
			}
		}
	}
	s.changed()
	return nil
}
