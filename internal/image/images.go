package image

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
)

// CreateImage records a new queued image from the attributes of a create
// request (the decoded JSON object): glance's POST /v2/images. Read-only and
// reserved attributes are refused with ErrForbidden, schema violations with
// ErrValidation, a project over its image count quota with ErrTooLarge.
func (s *Service) CreateImage(ctx context.Context, attrs map[string]any) (Image, error) {
	c, err := caller(ctx)
	if err != nil {
		return Image{}, err
	}
	now := s.now().UTC().Truncate(1e9)
	img := Image{ID: s.newID(), Status: Queued, Visibility: Shared, Owner: c.ProjectID,
		Tags: []string{}, Properties: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := checkWritable(k, true); err != nil {
			return Image{}, err
		}
	}
	for _, k := range keys {
		if err := s.setAttribute(&img, k, attrs[k]); err != nil {
			return Image{}, err
		}
	}
	if img.Owner != c.ProjectID && !isAdmin(c) {
		return Image{}, errorf(ErrForbidden, "You are not permitted to create images owned by '%s'.", img.Owner)
	}
	target := imageTarget(img, "")
	if err := s.authorize(ctx, RuleAddImage, target); err != nil {
		return Image{}, err
	}
	if err := s.authorizeVisibility(ctx, img.Visibility, target); err != nil {
		return Image{}, err
	}
	if err := s.checkCountQuota(ctx, img.Owner); err != nil {
		return Image{}, err
	}
	if err := s.store.CreateImage(ctx, img); err != nil {
		if errors.Is(err, ErrConflict) {
			return Image{}, errorf(ErrConflict, "Image with identifier %s already exists!", img.ID)
		}
		return Image{}, fmt.Errorf("create image %s: %w", img.ID, err)
	}
	s.log.InfoContext(ctx, "image created", "image_id", img.ID, "owner", img.Owner)
	return img, nil
}

// authorizeVisibility applies publicize_image and communitize_image to an image
// being made public or community.
func (s *Service) authorizeVisibility(ctx context.Context, v Visibility, target map[string]any) error {
	switch v {
	case Public:
		return s.authorize(ctx, RulePublicizeImage, target)
	case Community:
		return s.authorize(ctx, RuleCommunitizeImage, target)
	}
	return nil
}

// checkCountQuota refuses a new image for a project that owns ImageCountQuota
// images already.
func (s *Service) checkCountQuota(ctx context.Context, owner string) error {
	if s.cfg.ImageCountQuota <= 0 {
		return nil
	}
	count, _, err := s.store.Usage(ctx, owner)
	if err != nil {
		return fmt.Errorf("image usage of %s: %w", owner, err)
	}
	if count >= s.cfg.ImageCountQuota {
		return errorf(ErrTooLarge, "Resource image_count_total is over limit of %d due to current usage %d and delta 1",
			s.cfg.ImageCountQuota, count)
	}
	return nil
}

// GetImage returns an image the caller may see (glance's GET /v2/images/{id}).
func (s *Service) GetImage(ctx context.Context, id string) (Image, error) {
	img, member, err := s.visibleImage(ctx, id)
	if err != nil {
		return Image{}, err
	}
	if err := s.authorizeImage(ctx, RuleGetImage, img, member); err != nil {
		if errors.Is(err, ErrForbidden) {
			return Image{}, errorf(ErrNotFound, "No image found with ID %s", id)
		}
		return Image{}, err
	}
	return img, nil
}

// VisibilityAll is the visibility filter value that lists images of every
// visibility the caller may see.
const VisibilityAll Visibility = "all"

// ListImages returns one page of the images the caller may see that f selects,
// and whether a further page may exist. Without a visibility filter, glance
// leaves out community images of other projects; hidden images are left out
// unless f.Hidden asks for them.
func (s *Service) ListImages(ctx context.Context, f ImageFilter) ([]Image, bool, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, false, err
	}
	if err := s.authorize(ctx, RuleGetImages, map[string]any{"project_id": c.ProjectID}); err != nil {
		return nil, false, err
	}
	if f.Limit <= 0 || (s.cfg.ListMax > 0 && f.Limit > s.cfg.ListMax) {
		f.Limit = min(s.cfg.ListLimit, s.cfg.ListMax)
		if f.Limit <= 0 {
			f.Limit = 25
		}
	}
	if f.Hidden == nil {
		no := false
		f.Hidden = &no
	}
	f.Project = c.ProjectID
	f.AllProjects = isAdmin(c)
	switch f.Visibility {
	case "":
		f.HideOthersCommunity = true
	case VisibilityAll:
		f.Visibility = ""
	}
	if f.Marker != "" {
		if _, _, err := s.visibleImage(ctx, f.Marker); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, false, errorf(ErrValidation, "Invalid marker. Image %s could not be found.", f.Marker)
			}
			return nil, false, err
		}
	}
	want := f.Limit
	f.Limit = want + 1 // one more tells whether a next page exists
	page, err := s.store.ListImages(ctx, f)
	if err != nil {
		return nil, false, fmt.Errorf("list images: %w", err)
	}
	if len(page) > want {
		return page[:want], true, nil
	}
	return page, false, nil
}

// DeleteImage deletes an image and its data (glance's DELETE /v2/images/{id}).
// An upload in progress then fails its final status change and removes what
// it wrote.
func (s *Service) DeleteImage(ctx context.Context, id string) error {
	img, member, err := s.visibleImage(ctx, id)
	if err != nil {
		return err
	}
	if err := s.authorizeImage(ctx, RuleDeleteImage, img, member); err != nil {
		return err
	}
	if img.Protected {
		return errorf(ErrForbidden, "Image %s is protected and cannot be deleted.", id)
	}
	if img.Status == Deleted || img.Status == PendingDelete {
		return errorf(ErrNotFound, "No image found with ID %s", id)
	}
	if err := s.store.DeleteImage(ctx, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return errorf(ErrNotFound, "No image found with ID %s", id)
		}
		return fmt.Errorf("delete image %s: %w", id, err)
	}
	s.deleteData(ctx, img)
	s.log.InfoContext(ctx, "image deleted", "image_id", id)
	return nil
}

// deleteData removes an image's data from the backend (or the staging area for
// a staged image). The record is already gone, so a failure is only logged.
func (s *Service) deleteData(ctx context.Context, img Image) {
	if img.Location == "" {
		return
	}
	if img.Status == Uploading || img.Status == Importing {
		if s.staging != nil {
			if err := s.staging.Delete(ctx, img.Location); err != nil {
				s.log.ErrorContext(ctx, "delete staged image data", "image_id", img.ID, "error", err)
			}
		}
		return
	}
	for store, loc := range copiesOf(img) {
		b, ok := s.stores[store]
		if !ok {
			s.log.ErrorContext(ctx, "image data in a store this site no longer has", "image_id", img.ID, "store", store)
			continue
		}
		if err := b.Delete(ctx, loc); err != nil {
			s.log.ErrorContext(ctx, "delete image data", "image_id", img.ID, "store", store, "error", err)
		}
	}
}

// DeactivateImage makes an active image's data unreadable to non-admins
// (POST /v2/images/{id}/actions/deactivate). A deactivated image stays so.
func (s *Service) DeactivateImage(ctx context.Context, id string) error {
	return s.setActivation(ctx, id, RuleDeactivate, Active, Deactivated, "deactivate")
}

// ReactivateImage undoes DeactivateImage (POST .../actions/reactivate).
func (s *Service) ReactivateImage(ctx context.Context, id string) error {
	return s.setActivation(ctx, id, RuleReactivate, Deactivated, Active, "reactivate")
}

// setActivation moves an image from one status to to, under rule; an image
// already in to is left as it is, any other status is a 403 as in glance.
func (s *Service) setActivation(ctx context.Context, id, rule string, from, to Status, verb string) error {
	img, member, err := s.visibleImage(ctx, id)
	if err != nil {
		return err
	}
	if err := s.authorizeImage(ctx, rule, img, member); err != nil {
		return err
	}
	switch img.Status {
	case to:
		return nil
	case from:
	default:
		return errorf(ErrForbidden, "Not allowed to %s image in status '%s'", verb, img.Status)
	}
	img.Status = to
	img.UpdatedAt = s.now().UTC().Truncate(1e9)
	if err := s.store.UpdateImage(ctx, img, from); err != nil {
		if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
			return errorf(ErrConflict, "Image %s changed status while it was being %sd; try again.", id, verb)
		}
		return fmt.Errorf("%s image %s: %w", verb, id, err)
	}
	return nil
}

// PatchOp is one JSON-patch operation on an image: Op is add, replace or
// remove; Path names one top-level attribute or additional property.
type PatchOp struct {
	Op    string
	Path  string
	Value any
}

// UpdateImage applies a JSON patch to an image (PATCH /v2/images/{id}) and
// returns the result. Every operation is checked before anything is written;
// the write is a compare-and-set on the status read, retried if an upload
// moved the image meanwhile.
func (s *Service) UpdateImage(ctx context.Context, id string, ops []PatchOp) (Image, error) {
	c, err := caller(ctx)
	if err != nil {
		return Image{}, err
	}
	for attempt := 0; ; attempt++ {
		orig, member, err := s.visibleImage(ctx, id)
		if err != nil {
			return Image{}, err
		}
		target := imageTarget(orig, memberIDOf(member))
		if err := s.authorize(ctx, RuleModifyImage, target); err != nil {
			return Image{}, err
		}
		img := cloneImage(orig)
		for _, op := range ops {
			if IsLocationsPath(op.Path) {
				err = s.applyLocationOp(ctx, &img, op, target)
			} else {
				err = s.applyOp(&img, orig, op, isAdmin(c))
			}
			if err != nil {
				return Image{}, err
			}
		}
		if img.Visibility != orig.Visibility {
			if err := s.authorizeVisibility(ctx, img.Visibility, target); err != nil {
				return Image{}, err
			}
		}
		img.UpdatedAt = s.now().UTC().Truncate(1e9)
		err = s.store.UpdateImage(ctx, img, orig.Status)
		switch {
		case err == nil:
			if orig.Location != "" && img.Location == "" {
				s.deleteData(ctx, orig) // its location was removed
			}
			return img, nil
		case errors.Is(err, ErrNotFound):
			return Image{}, errorf(ErrNotFound, "No image found with ID %s", id)
		case errors.Is(err, ErrConflict) && attempt < 3:
			continue
		}
		return Image{}, fmt.Errorf("update image %s: %w", id, err)
	}
}

// applyOp applies one patch operation to img; orig is the image as stored.
func (s *Service) applyOp(img *Image, orig Image, op PatchOp, admin bool) error {
	name, err := patchPath(op.Path)
	if err != nil {
		return err
	}
	if err := checkWritable(name, false); err != nil {
		return err
	}
	if name == "owner" && !admin {
		return errorf(ErrForbidden, "You are not permitted to modify 'owner' on this image.")
	}
	if (name == "disk_format" || name == "container_format") && orig.Status != Queued {
		return errorf(ErrForbidden, "Attribute %s can be only replaced for a queued image.", name)
	}
	base := IsBaseAttribute(name)
	_, present := img.Properties[name]
	switch op.Op {
	case "add":
		if !base && present {
			return errorf(ErrConflict, "Property %s already present.", name)
		}
		return s.setAttribute(img, name, op.Value)
	case "replace":
		if !base && !present {
			return errorf(ErrConflict, "Property %s does not exist.", name)
		}
		return s.setAttribute(img, name, op.Value)
	case "remove":
		if base {
			return errorf(ErrForbidden, "Property %s may not be removed.", name)
		}
		if !present {
			return errorf(ErrConflict, "Property %s does not exist.", name)
		}
		delete(img.Properties, name)
		return nil
	}
	return errorf(ErrValidation, "Unable to find '%s' in JSON Schema change", op.Op)
}

// patchPath turns a JSON pointer of one segment into the attribute it names.
func patchPath(path string) (string, error) {
	if len(path) < 2 || path[0] != '/' {
		return "", errorf(ErrValidation, "Invalid JSON pointer for this resource: '%s'", path)
	}
	seg := path[1:]
	for i := 0; i < len(seg); i++ {
		if seg[i] == '/' {
			return "", errorf(ErrValidation, "Invalid JSON pointer for this resource: '%s'", path)
		}
		if seg[i] == '~' && (i+1 == len(seg) || (seg[i+1] != '0' && seg[i+1] != '1')) {
			return "", errorf(ErrValidation, "Pointer `%s` contains '~' not part of a recognized escape sequence.", path)
		}
	}
	out := make([]byte, 0, len(seg))
	for i := 0; i < len(seg); i++ {
		if seg[i] == '~' {
			if seg[i+1] == '0' {
				out = append(out, '~')
			} else {
				out = append(out, '/')
			}
			i++
			continue
		}
		out = append(out, seg[i])
	}
	return string(out), nil
}

// cloneImage copies an image deeply enough to edit its tags and properties.
func cloneImage(img Image) Image {
	out := img
	out.Tags = append([]string{}, img.Tags...)
	out.Properties = make(map[string]string, len(img.Properties))
	for k, v := range img.Properties {
		out.Properties[k] = v
	}
	out.Stores = append([]string(nil), img.Stores...)
	out.Copies = maps.Clone(img.Copies)
	out.Locations = nil
	for _, l := range img.Locations {
		out.Locations = append(out.Locations, cloneLocation(l))
	}
	return out
}
