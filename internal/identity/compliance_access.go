package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// AccessRule narrows what tokens of an application credential may do to one
// API operation: a service type from the catalog, a request path (where "*"
// matches one path segment and "**" any number) and a request method. Rules
// belong to a user and may be shared by several of the user's credentials.
type AccessRule struct {
	ID      string
	UserID  string
	Service string
	Path    string
	Method  string
}

// AccessRuleFilter narrows ListAccessRules; zero fields match everything.
type AccessRuleFilter struct {
	UserID  string
	Service string
	Path    string
	Method  string
}

// complete reports whether the rule gives service, path and method.
func (r AccessRule) complete() bool { return r.Service != "" && r.Path != "" && r.Method != "" }

// accessRuleMethods are the methods an access rule may name, in keystone's order.
var accessRuleMethods = []string{"DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"}

// accessRulePathMax bounds an access rule's path, as keystone's schema does.
const accessRulePathMax = 225

// accessRuleMissing is keystone's 404 for an access rule.
func accessRuleMissing(id string) error {
	return &Error{Kind: ErrNotFound, Message: fmt.Sprintf("Could not find Access Rule: %s.", id)}
}

// validateAccessRule checks access rule i of a create request as keystone's
// schema does. A rule names an existing rule by ID, or gives service, path and
// method: all three, since keystone would store a rule missing one, which then
// matches nothing.
func validateAccessRule(i int, r AccessRule) error {
	field := func(name string) string { return fmt.Sprintf("access_rules/%d/%s", i, name) }
	if err := validateIDString(field("id"), r.ID); err != nil {
		return err
	}
	if r.ID != "" && !r.complete() {
		return nil // a reference to an existing rule; keystone ignores the rest
	}
	for _, f := range []struct{ name, v string }{{"service", r.Service}, {"path", r.Path}, {"method", r.Method}} {
		if f.v == "" {
			return fieldInvalid(fmt.Sprintf("access_rules/%d", i), "'%s' is a required property", f.name)
		}
	}
	if err := validateIDString(field("service"), r.Service); err != nil {
		return err
	}
	switch {
	case utf8.RuneCountInString(r.Path) > accessRulePathMax:
		return fieldInvalid(field("path"), "%s is too long", quoted(r.Path))
	case r.Path[0] != '/':
		return fieldInvalid(field("path"), `%s does not match '^/\\.*'`, quoted(r.Path))
	case !slices.Contains(accessRuleMethods, r.Method):
		return fieldInvalid(field("method"), "%s is not one of ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT']", quoted(r.Method))
	}
	return nil
}

// resolveAccessRules validates the access rules of a new application
// credential of userID and completes them for the store: a rule whose id names
// one of the user's rules is that rule; an id naming no rule is a 404 unless
// the rule gives its fields, and one naming another user's rule is refused; a
// new rule gets an id. The store then reuses a rule of the user equal to a new
// one.
func (s *Service) resolveAccessRules(ctx context.Context, userID string, in []AccessRule) ([]AccessRule, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]AccessRule, len(in))
	for i, r := range in {
		if err := validateAccessRule(i, r); err != nil {
			return nil, err
		}
		r.UserID = userID
		if r.ID == "" {
			r.ID = s.newID()
			out[i] = r
			continue
		}
		got, err := s.store.GetAccessRule(ctx, r.ID)
		switch {
		case err == nil && got.UserID == userID:
			r = got
		case err == nil && r.complete():
			return nil, conflict("Conflict occurred attempting to store access_rule - Duplicate entry found with ID %s.", r.ID)
		case errors.Is(err, ErrNotFound) && r.complete():
			// A new rule under the id the client chose, as keystone allows.
		case err == nil || errors.Is(err, ErrNotFound):
			return nil, accessRuleMissing(r.ID)
		default:
			return nil, fmt.Errorf("get access rule %s: %w", r.ID, err)
		}
		out[i] = r
	}
	return out, nil
}

// storeAppCred stores a new application credential with the access rules
// resolveAccessRules made of the request, and returns the rules as stored
// (nil without any).
func (s *Service) storeAppCred(ctx context.Context, ac ApplicationCredential, rules []AccessRule) ([]AccessRule, error) {
	if len(rules) == 0 {
		return nil, s.store.CreateApplicationCredential(ctx, ac)
	}
	return s.store.CreateApplicationCredentialWithAccessRules(ctx, ac, rules)
}

// appCredAccessRules returns the access rules of application credentials, by
// credential id.
func (s *Service) appCredAccessRules(ctx context.Context, acs []ApplicationCredential) (map[string][]AccessRule, error) {
	if len(acs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(acs))
	for i, ac := range acs {
		ids[i] = ac.ID
	}
	rules, err := s.store.ListAppCredAccessRules(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list access rules of application credentials: %w", err)
	}
	return rules, nil
}

// TokenAccessRules returns the access rules of the application credential a
// token was issued with, for rendering the token; nil for other tokens and
// for unconstrained credentials.
func (s *Service) TokenAccessRules(ctx context.Context, t *Token) ([]AccessRule, error) {
	if t.AppCred == nil {
		return nil, nil
	}
	rules, err := s.appCredAccessRules(ctx, []ApplicationCredential{*t.AppCred})
	if err != nil {
		return nil, err
	}
	return rules[t.AppCred.ID], nil
}

// ListAccessRules lists a user's access rules, narrowed by the service, path
// and method of f (GET /v3/users/{user_id}/access_rules).
func (s *Service) ListAccessRules(ctx context.Context, userID string, f AccessRuleFilter) ([]AccessRule, error) {
	extra := map[string]any{}
	addFilterValues(extra, map[string]string{"service": f.Service, "path": f.Path, "method": f.Method}, nil)
	if _, err := s.authorizeUser(ctx, "identity:list_access_rules", userID, extra); err != nil {
		return nil, err
	}
	f.UserID = userID
	rules, err := s.store.ListAccessRules(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list access rules of user %s: %w", userID, err)
	}
	return rules, nil
}

// accessRuleOwned enforces rule for the user userID and returns the access
// rule id; a rule that is missing or not that user's is a 404.
func (s *Service) accessRuleOwned(ctx context.Context, rule, userID, id string) (AccessRule, error) {
	if _, err := s.authorizeUser(ctx, rule, userID, nil); err != nil {
		return AccessRule{}, err
	}
	r, err := s.store.GetAccessRule(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && r.UserID != userID {
		return AccessRule{}, accessRuleMissing(id)
	}
	if err != nil {
		return AccessRule{}, fmt.Errorf("get access rule %s: %w", id, err)
	}
	return r, nil
}

// GetAccessRule returns one of a user's access rules
// (GET /v3/users/{user_id}/access_rules/{access_rule_id}).
func (s *Service) GetAccessRule(ctx context.Context, userID, id string) (AccessRule, error) {
	return s.accessRuleOwned(ctx, "identity:get_access_rule", userID, id)
}

// DeleteAccessRule deletes one of a user's access rules
// (DELETE /v3/users/{user_id}/access_rules/{access_rule_id}). A rule that an
// application credential still uses is kept (403).
func (s *Service) DeleteAccessRule(ctx context.Context, userID, id string) error {
	if _, err := s.accessRuleOwned(ctx, "identity:delete_access_rule", userID, id); err != nil {
		return err
	}
	err := s.store.DeleteAccessRule(ctx, id)
	switch {
	case errors.Is(err, ErrConflict):
		return forbidden("May not delete access rule in use")
	case errors.Is(err, ErrNotFound):
		return accessRuleMissing(id)
	case err != nil:
		return fmt.Errorf("delete access rule %s: %w", id, err)
	}
	s.changed()
	return nil
}
