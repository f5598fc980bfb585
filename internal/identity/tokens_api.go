package identity

import (
	"context"
)

// CheckToken validates the subject token of GET/HEAD /v3/auth/tokens on behalf of
// the caller, enforcing rule (identity:validate_token or identity:check_token).
func (s *Service) CheckToken(ctx context.Context, rule, subject string, allowExpired bool) (*Token, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if subject == "" {
		return nil, invalid("X-Subject-Token header is required.")
	}
	t, err := s.ValidateToken(ctx, subject, allowExpired)
	if err != nil {
		if errorsIsUnauthorized(err) {
			return nil, notFound("token", "the subject token is not valid")
		}
		return nil, err
	}
	target := map[string]any{"target": map[string]any{"token": map[string]any{"user_id": t.User.ID}}, "user_id": c.UserID}
	if err := s.authorize(ctx, rule, target); err != nil {
		return nil, err
	}
	return t, nil
}

// RevokeSubjectToken revokes the subject token of DELETE /v3/auth/tokens.
func (s *Service) RevokeSubjectToken(ctx context.Context, subject string) error {
	t, err := s.CheckToken(ctx, "identity:revoke_token", subject, false)
	if err != nil {
		return err
	}
	return s.RevokeToken(ctx, t)
}

// AuthCatalog returns the catalog for the caller's token (GET /v3/auth/catalog).
// An unscoped token has no catalog, as keystone answers.
func (s *Service) AuthCatalog(ctx context.Context) (*Catalog, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if c.Scope() == "" {
		return nil, forbidden("The service catalog is only available to scoped tokens.")
	}
	return s.Catalog(ctx)
}

// AuthSystem reports whether the caller holds any role on the system
// (GET /v3/auth/system).
func (s *Service) AuthSystem(ctx context.Context) (bool, error) {
	c, err := caller(ctx)
	if err != nil {
		return false, err
	}
	roles, err := s.effectiveRoles(ctx, c.UserID, nil, nil, true)
	if err != nil {
		return false, err
	}
	return len(roles) > 0, nil
}
