package image

import (
	"context"
	"errors"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// Policy rule names, as glance's policies name them.
const (
	RuleAddImage         = "add_image"
	RuleGetImage         = "get_image"
	RuleGetImages        = "get_images"
	RuleModifyImage      = "modify_image"
	RuleDeleteImage      = "delete_image"
	RulePublicizeImage   = "publicize_image"
	RuleCommunitizeImage = "communitize_image"
	RuleDeactivate       = "deactivate"
	RuleReactivate       = "reactivate"
	RuleAddMember        = "add_member"
	RuleGetMember        = "get_member"
	RuleGetMembers       = "get_members"
	RuleModifyMember     = "modify_member"
	RuleDeleteMember     = "delete_member"
)

// authorize checks rule against target. A Service without an Authorizer allows
// every call; the caller still has to be authenticated.
func (s *Service) authorize(ctx context.Context, rule string, target map[string]any) error {
	if _, err := caller(ctx); err != nil {
		return err
	}
	if s.authz == nil {
		return nil
	}
	err := s.authz.Authorize(ctx, rule, target)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrForbidden):
		return errorf(ErrForbidden, "You are not authorized to complete %s action.", rule)
	case errors.Is(err, auth.ErrUnauthorized):
		return errorf(ErrUnauthorized, "The request you have made requires authentication.")
	}
	return err
}

// imageTarget is the policy target of an image, as glance's ImageTarget: the
// owner as project_id, the visibility, and member_id, the project whose
// membership the request concerns.
func imageTarget(img Image, memberID string) map[string]any {
	t := map[string]any{
		"id": img.ID, "project_id": img.Owner, "owner": img.Owner,
		"visibility": string(img.Visibility), "protected": img.Protected,
		"member_id": memberID, "status": string(img.Status), "name": img.Name,
	}
	return t
}

// isAdmin reports whether the caller is a cloud administrator, glance's
// context_is_admin (role:admin).
func isAdmin(c *auth.Caller) bool { return c.HasRole("admin") }

// visibleImage reads image id and returns it with the caller's membership when
// the caller may see it; images it may not see are ErrNotFound, as glance hides
// them.
func (s *Service) visibleImage(ctx context.Context, id string) (Image, *Member, error) {
	c, err := caller(ctx)
	if err != nil {
		return Image{}, nil, err
	}
	img, err := s.store.GetImage(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Image{}, nil, errorf(ErrNotFound, "No image found with ID %s", id)
	}
	if err != nil {
		return Image{}, nil, err
	}
	var member *Member
	if c.ProjectID != "" && img.Owner != c.ProjectID && img.Visibility == Shared {
		m, err := s.store.GetMember(ctx, id, c.ProjectID)
		switch {
		case err == nil:
			member = &m
		case !errors.Is(err, ErrNotFound):
			return Image{}, nil, err
		}
	}
	if !canSee(c, img, member) {
		return Image{}, nil, errorf(ErrNotFound, "No image found with ID %s", id)
	}
	return img, member, nil
}

// canSee is glance's visibility rule for one image.
func canSee(c *auth.Caller, img Image, member *Member) bool {
	switch {
	case isAdmin(c):
		return true
	case img.Owner != "" && img.Owner == c.ProjectID:
		return true
	case img.Visibility == Public, img.Visibility == Community:
		return true
	case img.Visibility == Shared:
		return member != nil
	}
	return false
}

// memberIDOf is the project id a membership gives the caller, or "".
func memberIDOf(m *Member) string {
	if m == nil {
		return ""
	}
	return m.MemberID
}

// authorizeImage authorizes rule against a visible image.
func (s *Service) authorizeImage(ctx context.Context, rule string, img Image, member *Member) error {
	return s.authorize(ctx, rule, imageTarget(img, memberIDOf(member)))
}
