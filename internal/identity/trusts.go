package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// Trust is a trustor's delegation of some of its roles on a project to a
// trustee (OS-TRUST). The trustee authenticates with the trust as scope and
// gets a token for the project with those roles, as the trustor when
// Impersonation is set.
type Trust struct {
	ID            string
	TrustorUserID string
	TrusteeUserID string
	// ProjectID is "" for a trust that delegates no project (and no roles).
	ProjectID     string
	Impersonation bool
	ExpiresAt     time.Time // zero: never
	// RemainingUses is how many more tokens the trust may issue; nil: no limit.
	RemainingUses *int
	// RedelegatedTrustID is the trust this one was redelegated from, "" for none.
	RedelegatedTrustID string
	// RedelegationCount is how many more times the trust may be redelegated.
	RedelegationCount int
	// RoleIDs are the delegated roles as named at creation (not expanded).
	RoleIDs []string
}

// TrustFilter narrows ListTrusts; zero fields match everything.
type TrustFilter struct {
	TrustorUserID      string
	TrusteeUserID      string
	RedelegatedTrustID string
}

// TrustStore keeps the rows of trusts (OS-TRUST).
type TrustStore interface {
	// CreateTrust stores a trust with its roles. A trust with the same trustor,
	// trustee, project, impersonation and expiry is ErrConflict.
	CreateTrust(ctx context.Context, t Trust) error
	// GetTrust returns the trust with id, expired or used up included.
	GetTrust(ctx context.Context, id string) (Trust, error)
	ListTrusts(ctx context.Context, f TrustFilter) ([]Trust, error)
	// DeleteTrust removes the trust and every trust redelegated from it, at any
	// depth, and returns the ids it removed, id first.
	DeleteTrust(ctx context.Context, id string) ([]string, error)
	// ConsumeTrustUse takes one use of a trust with limited uses and leaves a
	// trust without a limit alone. A missing or used-up trust is ErrNotFound.
	ConsumeTrustUse(ctx context.Context, id string) error
}

// TrustRequest is what POST /v3/OS-TRUST/trusts asks for.
type TrustRequest struct {
	TrustorUserID, TrusteeUserID string
	ProjectID                    string
	Impersonation                bool
	ExpiresAt                    time.Time // zero: never
	RemainingUses                *int      // nil: no limit
	AllowRedelegation            bool
	RedelegationCount            *int // nil: the most allowed
	Roles                        []RoleRef
}

// TrustDetail is a trust with its roles resolved; roles deleted since the
// trust was made are left out.
type TrustDetail struct {
	Trust
	Roles []Role
}

// trustMissing is keystone's 404 for a trust.
func trustMissing(id string) error { return notFound("trust", id) }

// trustTargetRef is a trust as keystone's policy targets carry it.
func trustTargetRef(t Trust) map[string]any {
	var project, expires, uses any
	if t.ProjectID != "" {
		project = t.ProjectID
	}
	if !t.ExpiresAt.IsZero() {
		expires = t.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	if t.RemainingUses != nil {
		uses = *t.RemainingUses
	}
	return map[string]any{"id": t.ID, "trustor_user_id": t.TrustorUserID, "trustee_user_id": t.TrusteeUserID,
		"project_id": project, "impersonation": t.Impersonation, "expires_at": expires, "remaining_uses": uses,
		"redelegation_count": t.RedelegationCount}
}

// checkTrustToken refuses callers authenticated with an application credential:
// keystone lets none of them read or manage trusts, restricted or not.
func checkTrustToken(c *auth.Caller) error {
	if slices.Contains(c.Methods, "application_credential") || c.AppCredID != "" {
		return forbidden("You are not authorized to perform the requested action: Using method 'application_credential' is not allowed for managing trusts.")
	}
	return nil
}

// liveTrust returns a trust a token may still come from: not expired, not used
// up, and (for a redelegated trust) every trust above it live too, with their
// trustees enabled. Anything else is a 404, as keystone answers.
func (s *Service) liveTrust(ctx context.Context, id string) (Trust, error) {
	t, err := s.store.GetTrust(ctx, id)
	if err != nil {
		return Trust{}, lookup(err, "trust", id)
	}
	if !s.trustUsable(t) {
		return Trust{}, trustMissing(id)
	}
	parent := t
	for range maxTrustChain {
		if parent.RedelegatedTrustID == "" {
			return t, nil
		}
		parent, err = s.store.GetTrust(ctx, parent.RedelegatedTrustID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Trust{}, err
		}
		if err != nil || !s.trustUsable(parent) {
			return Trust{}, trustMissing(id)
		}
		trustee, err := s.store.GetUser(ctx, parent.TrusteeUserID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Trust{}, err
		}
		if err != nil || !trustee.Enabled {
			return Trust{}, forbidden("One of the trust agents is disabled or deleted")
		}
	}
	return Trust{}, trustMissing(id)
}

// maxTrustChain bounds the walk up a redelegation chain; chains are far
// shorter ([trust] max_redelegation_count), so this only guards against loops.
const maxTrustChain = 64

// trustUsable reports whether a trust has neither expired nor run out of uses.
func (s *Service) trustUsable(t Trust) bool {
	if !t.ExpiresAt.IsZero() && !s.now().Before(t.ExpiresAt) {
		return false
	}
	return t.RemainingUses == nil || *t.RemainingUses > 0
}

// authorizedTrust fetches a live trust and enforces rule on it with keystone's
// {"trust": ...} target. As keystone does, a missing trust is a 404 before
// the policy check, and a caller authenticated with an application credential
// is refused after it.
func (s *Service) authorizedTrust(ctx context.Context, rule, id string) (Trust, error) {
	c, err := caller(ctx)
	if err != nil {
		return Trust{}, err
	}
	t, err := s.liveTrust(ctx, id)
	if err != nil {
		return Trust{}, err
	}
	if err := s.authorize(ctx, rule, map[string]any{"target": map[string]any{"trust": trustTargetRef(t)}}); err != nil {
		return Trust{}, err
	}
	if err := checkTrustToken(c); err != nil {
		return Trust{}, err
	}
	return t, nil
}

// CreateTrust creates a trust from the calling user, who must be its trustor
// (POST /v3/OS-TRUST/trusts). The trustee must exist, and each role (by id or
// name) must be one the trustor holds on the project. A caller whose token
// comes from a trust redelegates that trust, within its limits.
func (s *Service) CreateTrust(ctx context.Context, req TrustRequest) (TrustDetail, error) {
	c, err := caller(ctx)
	if err != nil {
		return TrustDetail{}, err
	}
	if err := checkTrustRequest(req); err != nil {
		return TrustDetail{}, err
	}
	t := Trust{TrustorUserID: req.TrustorUserID, TrusteeUserID: req.TrusteeUserID, ProjectID: req.ProjectID,
		Impersonation: req.Impersonation, RemainingUses: req.RemainingUses}
	if err := s.authorize(ctx, "identity:create_trust", map[string]any{"target": map[string]any{"trust": trustTargetRef(t)}}); err != nil {
		return TrustDetail{}, err
	}
	if err := checkTrustToken(c); err != nil {
		return TrustDetail{}, err
	}
	if req.ProjectID != "" && len(req.Roles) == 0 {
		return TrustDetail{}, forbidden("You are not authorized to perform the requested action: At least one role should be specified.")
	}
	if c.UserID != req.TrustorUserID {
		return TrustDetail{}, forbidden("You are not authorized to perform the requested action: The authenticated user should match the trustor.")
	}
	if _, err := s.store.GetUser(ctx, req.TrusteeUserID); err != nil {
		return TrustDetail{}, lookup(err, "user", req.TrusteeUserID)
	}
	if t.RoleIDs, err = s.trustRoleIDs(ctx, req); err != nil {
		return TrustDetail{}, err
	}
	if !req.ExpiresAt.IsZero() {
		if !req.ExpiresAt.After(s.now()) {
			return TrustDetail{}, invalid("The 'expires_at' must not be before now. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
		}
		t.ExpiresAt = req.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	parent, err := s.redelegatedTrust(ctx, c)
	if err != nil {
		return TrustDetail{}, err
	}
	if err := s.setRedelegation(ctx, &t, req, parent); err != nil {
		return TrustDetail{}, err
	}
	t.ID = s.newID()
	if err := s.store.CreateTrust(ctx, t); err != nil {
		return TrustDetail{}, duplicate(err, "trust - Duplicate entry.")
	}
	s.changed()
	return s.trustDetail(ctx, t)
}

// checkTrustRequest applies keystone's schema limits on the counts.
func checkTrustRequest(req TrustRequest) error {
	if req.TrustorUserID == "" || req.TrusteeUserID == "" {
		return invalid("Invalid input for field/attribute trust. 'trustor_user_id' and 'trustee_user_id' are required properties")
	}
	if req.RemainingUses != nil && *req.RemainingUses < 1 {
		return invalid("Invalid input for field/attribute remaining_uses. Value: %d. %d is less than the minimum of 1", *req.RemainingUses, *req.RemainingUses)
	}
	if req.RedelegationCount != nil && *req.RedelegationCount < 0 {
		return invalid("Invalid input for field/attribute redelegation_count. Value: %d. %d is less than the minimum of 0", *req.RedelegationCount, *req.RedelegationCount)
	}
	return nil
}

// trustRoleIDs resolves the requested roles and checks that the trustor holds
// each on the project (404 for one it does not, as keystone answers).
func (s *Service) trustRoleIDs(ctx context.Context, req TrustRequest) ([]string, error) {
	var ids []string
	for _, ref := range req.Roles {
		id, err := s.roleIDOf(ctx, ref)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	var held []Role
	if req.ProjectID != "" {
		p, err := s.store.GetProject(ctx, req.ProjectID)
		if err != nil {
			return nil, lookup(err, "project", req.ProjectID)
		}
		if held, err = s.effectiveRoles(ctx, req.TrustorUserID, &p, nil, false); err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		if !slices.ContainsFunc(held, func(r Role) bool { return r.ID == id }) {
			return nil, notFound("role", id)
		}
	}
	return ids, nil
}

// redelegatedTrust returns the trust the caller's token was issued through, or
// nil for a token that came from no trust.
func (s *Service) redelegatedTrust(ctx context.Context, c *auth.Caller) (*Trust, error) {
	if c.Token == "" {
		return nil, nil
	}
	tok, err := s.ValidateToken(ctx, c.Token, false)
	if err != nil {
		return nil, err
	}
	if tok.Trust == nil {
		return nil, nil
	}
	if !s.cfg.AllowRedelegation {
		return nil, forbidden("You are not authorized to perform the requested action: Redelegation of trusts is not enabled on this cloud.")
	}
	t, err := s.liveTrust(ctx, tok.Trust.ID)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// setRedelegation sets the redelegation fields of a new trust as keystone's
// trust manager does: a redelegatable trust starts with the most allowed count
// (or the one asked for), and a trust redelegated from parent takes one less
// than its parent and must stay within every trust above it.
func (s *Service) setRedelegation(ctx context.Context, t *Trust, req TrustRequest, parent *Trust) error {
	redelegatable := req.AllowRedelegation && (req.RedelegationCount == nil || *req.RedelegationCount != 0)
	count := -1 // not yet decided
	if !redelegatable {
		count = 0
	} else {
		if !s.cfg.AllowRedelegation {
			return forbidden("You are not authorized to perform the requested action: Redelegation of trusts is not enabled on this cloud.")
		}
		if req.RedelegationCount != nil {
			if *req.RedelegationCount > s.cfg.MaxRedelegationCount {
				return forbidden("Requested redelegation depth of %d is greater than allowed %d", *req.RedelegationCount, s.cfg.MaxRedelegationCount)
			}
			count = *req.RedelegationCount
		}
		if req.RemainingUses != nil {
			return invalid("remaining_uses must not be set if redelegation is allowed")
		}
	}
	if parent == nil {
		if count < 0 {
			count = s.cfg.MaxRedelegationCount
		}
		t.RedelegationCount = count
		return nil
	}
	t.RedelegatedTrustID = parent.ID
	if remaining := parent.RedelegationCount - 1; count < 0 {
		count = remaining
	} else if redelegatable && count != remaining {
		return forbidden("Modifying \"redelegation_count\" upon redelegation is forbidden. Omitting this parameter is advised.")
	}
	t.RedelegationCount = count
	for p := parent; ; {
		if err := s.checkRedelegation(p, t); err != nil {
			return err
		}
		if p.RedelegatedTrustID == "" {
			return nil
		}
		next, err := s.store.GetTrust(ctx, p.RedelegatedTrustID)
		if err != nil {
			return lookup(err, "trust", p.RedelegatedTrustID)
		}
		p = &next
	}
}

// checkRedelegation checks a new trust t against a trust above it: keystone's
// _validate_redelegation. A new trust without an expiry takes the parent's.
func (s *Service) checkRedelegation(parent *Trust, t *Trust) error {
	if parent.RedelegationCount <= 0 || parent.RedelegationCount > s.cfg.MaxRedelegationCount {
		return forbidden("Remaining redelegation depth of %d out of allowed range of [0..%d]", parent.RedelegationCount, s.cfg.MaxRedelegationCount)
	}
	if t.RemainingUses != nil {
		return forbidden("Field \"remaining_uses\" is set to %d while it must not be set in order to redelegate a trust", *t.RemainingUses)
	}
	switch {
	case t.ExpiresAt.IsZero():
		t.ExpiresAt = parent.ExpiresAt
	case !parent.ExpiresAt.IsZero() && parent.ExpiresAt.Before(t.ExpiresAt):
		return forbidden("Requested expiration time is more than redelegated trust can provide")
	}
	for _, id := range t.RoleIDs {
		if !slices.Contains(parent.RoleIDs, id) {
			return forbidden("Some of requested roles are not in redelegated trust")
		}
	}
	if !parent.Impersonation && t.Impersonation {
		return forbidden("Impersonation is not allowed because redelegated trust does not specify impersonation. Redelegated trust id: %s", parent.ID)
	}
	return nil
}

// trustDetail resolves a trust's roles.
func (s *Service) trustDetail(ctx context.Context, t Trust) (TrustDetail, error) {
	byID, err := s.rolesByID(ctx, slices.Clone(t.RoleIDs))
	if err != nil {
		return TrustDetail{}, err
	}
	d := TrustDetail{Trust: t, Roles: []Role{}}
	for _, id := range t.RoleIDs {
		if r, ok := byID[id]; ok {
			d.Roles = append(d.Roles, r)
		}
	}
	return d, nil
}

// GetTrust returns a trust with its roles (GET /v3/OS-TRUST/trusts/{trust_id}).
// An expired or used-up trust is a 404, as keystone answers.
func (s *Service) GetTrust(ctx context.Context, id string) (TrustDetail, error) {
	t, err := s.authorizedTrust(ctx, "identity:get_trust", id)
	if err != nil {
		return TrustDetail{}, err
	}
	return s.trustDetail(ctx, t)
}

// ListTrusts lists the trusts of a trustor, else of a trustee, else all of
// them (GET /v3/OS-TRUST/trusts), each under its own policy rule.
func (s *Service) ListTrusts(ctx context.Context, trustorID, trusteeID string) ([]Trust, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var f TrustFilter
	rule, target := "identity:list_trusts", map[string]any{}
	switch {
	case trustorID != "":
		f.TrustorUserID = trustorID
		rule, target = "identity:list_trusts_for_trustor",
			map[string]any{"target": map[string]any{"trust": map[string]any{"trustor_user_id": trustorID}}}
	case trusteeID != "":
		f.TrusteeUserID = trusteeID
		rule, target = "identity:list_trusts_for_trustee",
			map[string]any{"target": map[string]any{"trust": map[string]any{"trustee_user_id": trusteeID}}}
	}
	if err := s.authorize(ctx, rule, target); err != nil {
		return nil, err
	}
	if err := checkTrustToken(c); err != nil {
		return nil, err
	}
	trusts, err := s.store.ListTrusts(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list trusts: %w", err)
	}
	return trusts, nil
}

// DeleteTrust deletes a trust and the trusts redelegated from it, and revokes
// the tokens issued through any of them (DELETE /v3/OS-TRUST/trusts/{trust_id}).
func (s *Service) DeleteTrust(ctx context.Context, id string) error {
	if _, err := s.authorizedTrust(ctx, "identity:delete_trust", id); err != nil {
		return err
	}
	ids, err := s.store.DeleteTrust(ctx, id)
	if err != nil {
		return lookup(err, "trust", id)
	}
	s.changed()
	for _, gone := range ids {
		if err := s.revoke(ctx, RevocationEvent{TrustID: gone}); err != nil {
			return err
		}
	}
	return nil
}

// ListTrustRoles returns the roles a trust delegates
// (GET /v3/OS-TRUST/trusts/{trust_id}/roles).
func (s *Service) ListTrustRoles(ctx context.Context, id string) ([]Role, error) {
	t, err := s.authorizedTrust(ctx, "identity:list_roles_for_trust", id)
	if err != nil {
		return nil, err
	}
	d, err := s.trustDetail(ctx, t)
	if err != nil {
		return nil, err
	}
	return d.Roles, nil
}

// GetTrustRole returns one role a trust delegates; a role the trust does not
// delegate is a 404 (GET/HEAD /v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}).
func (s *Service) GetTrustRole(ctx context.Context, trustID, roleID string) (Role, error) {
	t, err := s.authorizedTrust(ctx, "identity:get_role_for_trust", trustID)
	if err != nil {
		return Role{}, err
	}
	if !slices.Contains(t.RoleIDs, roleID) {
		return Role{}, notFound("role", roleID)
	}
	r, err := s.store.GetRole(ctx, roleID)
	if err != nil {
		return Role{}, lookup(err, "role", roleID)
	}
	return r, nil
}

// scopeToTrust scopes a token being issued to the trust with id: the
// authenticated user (t.User) must be its trustee, the trustor must be usable,
// and the token gets the trust's project, becomes the trustor's when the trust
// impersonates, and expires no later than the trust.
func (s *Service) scopeToTrust(ctx context.Context, t *Token, id string) error {
	tr, err := s.liveTrust(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return unauthorized("Could not find trust: %s.", id)
	}
	if err != nil {
		return err
	}
	if t.User.ID != tr.TrusteeUserID {
		return forbidden("User is not a trustee.")
	}
	trustor, err := s.store.GetUser(ctx, tr.TrustorUserID)
	if errors.Is(err, ErrNotFound) {
		return unauthorized("Could not find trust: %s.", id)
	}
	if err != nil {
		return err
	}
	if !trustor.Enabled {
		return forbidden("Trustor is disabled.")
	}
	if d, err := s.store.GetDomain(ctx, trustor.DomainID); err != nil || !d.Enabled {
		return &Error{Kind: ErrNotFound, Message: "Trustor domain is disabled."}
	}
	if tr.ProjectID != "" {
		if t.Project, err = s.findProject(ctx, Scope{ProjectID: tr.ProjectID}); err != nil {
			return err
		}
	}
	t.Trust = &tr
	if tr.Impersonation {
		t.User = trustor
	}
	if !tr.ExpiresAt.IsZero() && tr.ExpiresAt.Before(t.ExpiresAt) {
		t.ExpiresAt = tr.ExpiresAt
	}
	return nil
}

// rebuildTrust re-checks the trust of a token being validated: it must still be
// live, name the token's user as trustee, and have a usable trustor, whom the
// token shows when the trust impersonates.
func (s *Service) rebuildTrust(ctx context.Context, t *Token, id string) error {
	gone := func(what string) error { return unauthorized("The token is no longer valid: %s.", what) }
	tr, err := s.store.GetTrust(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return gone("its trust was deleted")
	}
	if err != nil {
		return err
	}
	if !tr.ExpiresAt.IsZero() && !s.now().Before(tr.ExpiresAt) {
		return gone("its trust has expired")
	}
	if tr.TrusteeUserID != t.User.ID {
		return gone("its user is not the trustee")
	}
	trustor, err := s.store.GetUser(ctx, tr.TrustorUserID)
	if errors.Is(err, ErrNotFound) {
		return gone("its trustor was deleted")
	}
	if err != nil {
		return err
	}
	if err := s.checkUserUsable(ctx, &trustor); err != nil {
		return gone("its trustor or the trustor's domain is disabled")
	}
	t.Trust = &tr
	if tr.Impersonation {
		t.User = trustor
	}
	return nil
}

// trustRoles returns the roles a token from the trust carries: the trust's
// roles and those they imply, all of which the original trustor (the first of
// a redelegation chain) must still hold on the project (403 otherwise).
func (s *Service) trustRoles(ctx context.Context, tr *Trust) ([]Role, error) {
	if len(tr.RoleIDs) == 0 {
		return nil, nil
	}
	denied := forbidden("Trustee has no delegated roles.")
	if tr.ProjectID == "" {
		return nil, denied
	}
	trustor := tr.TrustorUserID
	for parentID, depth := tr.RedelegatedTrustID, 0; parentID != "" && depth < maxTrustChain; depth++ {
		parent, err := s.store.GetTrust(ctx, parentID)
		if err != nil {
			return nil, denied
		}
		trustor, parentID = parent.TrustorUserID, parent.RedelegatedTrustID
	}
	p, err := s.store.GetProject(ctx, tr.ProjectID)
	if err != nil {
		return nil, denied
	}
	held, err := s.effectiveRoles(ctx, trustor, &p, nil, false)
	if err != nil {
		return nil, err
	}
	wanted, err := s.expandImplied(ctx, tr.RoleIDs)
	if err != nil {
		return nil, err
	}
	for _, id := range wanted {
		if !slices.ContainsFunc(held, func(r Role) bool { return r.ID == id }) {
			return nil, denied
		}
	}
	return slices.DeleteFunc(held, func(r Role) bool { return !slices.Contains(wanted, r.ID) }), nil
}

// consumeTrustUse takes a use of a trust with limited uses after a token was
// issued through it; a trust used up meanwhile fails the authentication.
func (s *Service) consumeTrustUse(ctx context.Context, tr *Trust) error {
	if tr == nil || tr.RemainingUses == nil {
		return nil
	}
	err := s.store.ConsumeTrustUse(ctx, tr.ID)
	if errors.Is(err, ErrNotFound) {
		return unauthorized("Could not find trust: %s.", tr.ID)
	}
	if err != nil {
		return fmt.Errorf("consume a use of trust %s: %w", tr.ID, err)
	}
	// Nothing cached depends on the count, so there is nothing for changed() to drop.
	return nil
}
