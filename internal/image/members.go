package image

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// CreateMember shares a shared image with a project, as pending
// (POST /v2/images/{id}/members). Only shared images have members.
func (s *Service) CreateMember(ctx context.Context, imageID, memberID string) (Member, error) {
	c, err := caller(ctx)
	if err != nil {
		return Member{}, err
	}
	img, member, err := s.visibleImage(ctx, imageID)
	if err != nil {
		return Member{}, err
	}
	if err := s.authorizeImage(ctx, RuleAddMember, img, member); err != nil {
		return Member{}, err
	}
	if img.Owner != c.ProjectID && !isAdmin(c) {
		return Member{}, errorf(ErrForbidden, "Not allowed to create members for image %s.", imageID)
	}
	if memberID == "" || len(memberID) > maxLength {
		return Member{}, errorf(ErrValidation, "Provided object does not match schema 'member': member must be 1 to %d characters", maxLength)
	}
	if img.Visibility != Shared {
		return Member{}, errorf(ErrConflict, "Only shared images have members.")
	}
	members, err := s.store.ListMembers(ctx, imageID)
	if err != nil {
		return Member{}, fmt.Errorf("list members of %s: %w", imageID, err)
	}
	if len(members) >= MaxMembers {
		return Member{}, errorf(ErrTooLarge, "The limit has been exceeded on the number of allowed image members for this image. Attempted: %d, Maximum: %d",
			len(members)+1, MaxMembers)
	}
	now := s.now().UTC().Truncate(1e9)
	m := Member{ImageID: imageID, MemberID: memberID, Status: MemberPending, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateMember(ctx, m); err != nil {
		if errors.Is(err, ErrConflict) {
			return Member{}, errorf(ErrConflict, "Member %s is duplicated for image %s", memberID, imageID)
		}
		if errors.Is(err, ErrNotFound) {
			return Member{}, errorf(ErrNotFound, "No image found with ID %s", imageID)
		}
		return Member{}, fmt.Errorf("create member %s of %s: %w", memberID, imageID, err)
	}
	return m, nil
}

// ListMembers returns an image's members: all of them to its owner and to
// admins, the caller's own membership to a member, none to anyone else.
func (s *Service) ListMembers(ctx context.Context, imageID string) ([]Member, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	img, member, err := s.visibleImage(ctx, imageID)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeImage(ctx, RuleGetMembers, img, member); err != nil {
		return nil, err
	}
	members, err := s.store.ListMembers(ctx, imageID)
	if err != nil {
		return nil, fmt.Errorf("list members of %s: %w", imageID, err)
	}
	if img.Owner == c.ProjectID || isAdmin(c) {
		return members, nil
	}
	return slices.DeleteFunc(members, func(m Member) bool { return m.MemberID != c.ProjectID }), nil
}

// GetMember returns one membership, to the image's owner, an admin or the
// member itself.
func (s *Service) GetMember(ctx context.Context, imageID, memberID string) (Member, error) {
	c, err := caller(ctx)
	if err != nil {
		return Member{}, err
	}
	img, member, err := s.visibleImage(ctx, imageID)
	if err != nil {
		return Member{}, err
	}
	if img.Owner != c.ProjectID && !isAdmin(c) && memberID != c.ProjectID {
		return Member{}, memberNotFound(imageID, memberID)
	}
	if err := s.authorizeImage(ctx, RuleGetMember, img, member); err != nil {
		return Member{}, err
	}
	m, err := s.store.GetMember(ctx, imageID, memberID)
	if errors.Is(err, ErrNotFound) {
		return Member{}, memberNotFound(imageID, memberID)
	}
	return m, err
}

// UpdateMember sets a member's answer to a shared image; only the member (or
// an admin) may (PUT /v2/images/{id}/members/{member_id}).
func (s *Service) UpdateMember(ctx context.Context, imageID, memberID string, status MemberStatus) (Member, error) {
	c, err := caller(ctx)
	if err != nil {
		return Member{}, err
	}
	img, _, err := s.visibleImage(ctx, imageID)
	if err != nil {
		return Member{}, err
	}
	m, err := s.store.GetMember(ctx, imageID, memberID)
	if errors.Is(err, ErrNotFound) {
		return Member{}, memberNotFound(imageID, memberID)
	}
	if err != nil {
		return Member{}, fmt.Errorf("get member %s of %s: %w", memberID, imageID, err)
	}
	if err := s.authorize(ctx, RuleModifyMember, imageTarget(img, memberID)); err != nil {
		return Member{}, err
	}
	if memberID != c.ProjectID && !isAdmin(c) {
		return Member{}, errorf(ErrForbidden, "You are not permitted to modify the membership of %s on image %s.", memberID, imageID)
	}
	if !slices.Contains([]MemberStatus{MemberPending, MemberAccepted, MemberRejected}, status) {
		return Member{}, errorf(ErrValidation, "Status must be \"pending\", \"accepted\" or \"rejected\".")
	}
	m.Status = status
	m.UpdatedAt = s.now().UTC().Truncate(1e9)
	if err := s.store.UpdateMember(ctx, m); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Member{}, memberNotFound(imageID, memberID)
		}
		return Member{}, fmt.Errorf("update member %s of %s: %w", memberID, imageID, err)
	}
	return m, nil
}

// DeleteMember stops sharing an image with a project; only the owner (or an
// admin) may.
func (s *Service) DeleteMember(ctx context.Context, imageID, memberID string) error {
	c, err := caller(ctx)
	if err != nil {
		return err
	}
	img, member, err := s.visibleImage(ctx, imageID)
	if err != nil {
		return err
	}
	if err := s.authorizeImage(ctx, RuleDeleteMember, img, member); err != nil {
		return err
	}
	if img.Owner != c.ProjectID && !isAdmin(c) {
		return errorf(ErrForbidden, "You are not permitted to remove members of image %s.", imageID)
	}
	if err := s.store.DeleteMember(ctx, imageID, memberID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return memberNotFound(imageID, memberID)
		}
		return fmt.Errorf("delete member %s of %s: %w", memberID, imageID, err)
	}
	return nil
}

func memberNotFound(imageID, memberID string) error {
	return errorf(ErrNotFound, "%s is not a member of image %s", memberID, imageID)
}
