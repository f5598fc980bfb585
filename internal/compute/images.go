package compute

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
)

// ImageRecord is an image as the compute API's image proxy shows it (the
// deprecated /images, microversions before 2.36).
type ImageRecord struct {
	ID, Name string
	// Status is the image service's ("active", "queued", ...).
	Status          string
	MinDisk, MinRAM int
	// Size is nil until data is uploaded.
	Size *int64
	// Properties are the image's additional properties (nova's
	// "metadata"); never nil.
	Properties           map[string]string
	CreatedAt, UpdatedAt time.Time
}

// ImageListFilter selects images for the proxy's lists, as nova passes its
// filters on to the image service.
type ImageListFilter struct {
	Name string
	// Status is the image service's status, lower case.
	Status string
	// ChangesSince keeps images updated at or after it.
	ChangesSince time.Time
	// MinRAM and MinDisk keep images needing at least this much.
	MinRAM, MinDisk *int
	// Properties must match exactly (server: instance_uuid, type:
	// image_type, property-*).
	Properties map[string]string
	// Marker is the id of the last image of the previous page; Limit 0
	// lists every image.
	Marker string
	Limit  int
}

// ImageProxy is an image service the compute API proxies onto, on the
// caller's behalf. Images the caller may not see are ErrNotFound.
type ImageProxy interface {
	ListImageRecords(ctx context.Context, f ImageListFilter) ([]ImageRecord, error)
	ImageRecord(ctx context.Context, id string) (ImageRecord, error)
	// RemoveImage deletes an image; one the caller may not delete is
	// ErrForbidden.
	RemoveImage(ctx context.Context, id string) error
	// ReplaceImageProperties makes props the image's additional
	// properties, adding, changing and removing as needed.
	ReplaceImageProperties(ctx context.Context, id string, props map[string]string) (ImageRecord, error)
}

// ServesImageProxy reports whether the image service can be proxied onto.
func (s *Service) ServesImageProxy() bool {
	_, ok := s.images.(ImageProxy)
	return ok
}

func (s *Service) imageProxy(ctx context.Context) (ImageProxy, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	p, ok := s.images.(ImageProxy)
	if !ok {
		return nil, errors.New("the image service cannot be proxied onto")
	}
	return p, nil
}

// ImageListOptions are the query of GET /images[/detail] as given.
type ImageListOptions struct {
	// Params are the query parameters nova passes on: name, status,
	// changes-since, server, type, minRam, minDisk and property-*.
	Params map[string]string
	Limit  *int
	Marker *string
}

// Images lists the images the caller may see (GET /images, /images/detail).
func (s *Service) Images(ctx context.Context, o ImageListOptions) ([]ImageRecord, error) {
	p, err := s.imageProxy(ctx)
	if err != nil {
		return nil, err
	}
	f := ImageListFilter{Name: o.Params["name"], Status: strings.ToLower(o.Params["status"]),
		Properties: map[string]string{}}
	for k, v := range o.Params {
		if name, ok := strings.CutPrefix(k, "property-"); ok {
			f.Properties[name] = v
		}
	}
	if server, ok := o.Params["server"]; ok {
		// A server's URL or its id.
		if i := strings.LastIndex(server, "/"); i >= 0 {
			server = server[i+1:]
		}
		f.Properties["instance_uuid"] = server
	}
	if t, ok := o.Params["type"]; ok {
		f.Properties["image_type"] = t
	}
	if raw, ok := o.Params["changes-since"]; ok {
		t, err := ParseISOTime(raw)
		if err != nil {
			return nil, errorf(ErrInvalid, "Invalid filter field: changes-since.")
		}
		f.ChangesSince = t
	}
	for name, dst := range map[string]**int{"minRam": &f.MinRAM, "minDisk": &f.MinDisk} {
		if raw, ok := o.Params[name]; ok {
			var n int
			if _, err := fmt.Sscan(raw, &n); err != nil {
				return nil, errorf(ErrInvalid, "Invalid filter field: %s.", name)
			}
			*dst = &n
		}
	}
	if o.Limit != nil {
		f.Limit = s.limit(o.Limit)
		if f.Limit == 0 {
			return []ImageRecord{}, nil
		}
	}
	if o.Marker != nil {
		f.Marker = *o.Marker
	}
	out, err := p.ListImageRecords(ctx, f)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []ImageRecord{}
	}
	return out, nil
}

// imageNotFound is nova's answer for an image the caller cannot see.
func imageNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return errorf(ErrNotFound, "Image not found.")
	}
	return err
}

// ImageDetail returns an image (GET /images/{id}).
func (s *Service) ImageDetail(ctx context.Context, id string) (ImageRecord, error) {
	p, err := s.imageProxy(ctx)
	if err != nil {
		return ImageRecord{}, err
	}
	img, err := p.ImageRecord(ctx, id)
	return img, imageNotFound(err)
}

// DeleteImageRecord deletes an image (DELETE /images/{id}).
func (s *Service) DeleteImageRecord(ctx context.Context, id string) error {
	p, err := s.imageProxy(ctx)
	if err != nil {
		return err
	}
	err = p.RemoveImage(ctx, id)
	if errors.Is(err, ErrForbidden) {
		return errorf(ErrForbidden, "You are not allowed to delete the image.")
	}
	return imageNotFound(err)
}

// Modes of UpdateImageMetadata.
const (
	// ImageMetadataMerge adds and changes keys (POST .../metadata).
	ImageMetadataMerge = iota
	// ImageMetadataReplace makes the given keys all there are (PUT
	// .../metadata).
	ImageMetadataReplace
	// ImageMetadataDelete removes one key (DELETE .../metadata/{key}).
	ImageMetadataDelete
)

// ImageMetadata returns an image's properties (GET /images/{id}/metadata).
func (s *Service) ImageMetadata(ctx context.Context, id string) (map[string]string, error) {
	img, err := s.ImageDetail(ctx, id)
	if err != nil {
		return nil, err
	}
	return img.Properties, nil
}

// UpdateImageMetadata changes an image's properties in mode and returns
// them afterwards. The project's metadata_items limit bounds how many
// there may be (nova's 403 "Image metadata limit exceeded").
func (s *Service) UpdateImageMetadata(ctx context.Context, id string, md map[string]string, mode int) (map[string]string, error) {
	p, err := s.imageProxy(ctx)
	if err != nil {
		return nil, err
	}
	img, err := p.ImageRecord(ctx, id)
	if err != nil {
		return nil, imageNotFound(err)
	}
	next := maps.Clone(img.Properties)
	switch mode {
	case ImageMetadataReplace:
		next = maps.Clone(md)
	case ImageMetadataDelete:
		for k := range md {
			if _, ok := next[k]; !ok {
				return nil, errorf(ErrNotFound, "Invalid metadata key")
			}
			delete(next, k)
		}
	default:
		maps.Copy(next, md)
	}
	if mode != ImageMetadataDelete && len(next) > 0 {
		c, _ := caller(ctx)
		limits, err := s.limitsOf(ctx, c.ProjectID, "")
		if err != nil {
			return nil, err
		}
		if l := limits[ResourceMetadataItems]; l >= 0 && len(next) > l {
			return nil, errorf(ErrForbidden, "Image metadata limit exceeded")
		}
	}
	out, err := p.ReplaceImageProperties(ctx, id, next)
	if errors.Is(err, ErrForbidden) {
		return nil, errorf(ErrForbidden, "Not authorized for image %s.", id)
	}
	if err != nil {
		return nil, imageNotFound(err)
	}
	return out.Properties, nil
}
