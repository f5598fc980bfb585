package image

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// RemoteSource names the image glance-download copies: its id, and the region
// and interface of the image service that has it.
type RemoteSource struct {
	ImageID   string
	Region    string
	Interface string // public, internal or admin; public when empty
}

// RemoteImage is what glance-download reads of the source image's record.
type RemoteImage struct {
	Status          string
	DiskFormat      string
	ContainerFormat string
	// Properties are the source's additional properties.
	Properties map[string]string
}

// RemoteImages reads images of another image service with the caller's
// token, found in the caller's catalog by region and interface.
type RemoteImages interface {
	Get(ctx context.Context, token string, src RemoteSource) (RemoteImage, error)
	Open(ctx context.Context, token string, src RemoteSource) (io.ReadCloser, error)
}

// checkRemote is glance's validation of glance-download's parameters.
func (s *Service) checkRemote(src *RemoteSource) error {
	if s.remote == nil {
		return errorf(ErrNotFound, "'%s' method is not available at this site.", MethodGlanceDownload)
	}
	switch {
	case src.Region == "":
		return errorf(ErrValidation, "'glance_region' needs to be set for glance-download import method")
	case src.ImageID == "":
		return errorf(ErrValidation, "'glance_image_id' needs to be set for glance-download import method")
	}
	if _, err := uuid.Parse(src.ImageID); err != nil {
		return errorf(ErrValidation, "Remote image id does not look like a UUID: %s", src.ImageID)
	}
	if src.Interface == "" {
		src.Interface = "public"
	}
	return nil
}

// importRemote copies the source image into img (importing): first the
// source's disk and container formats and the properties glance-download
// copies, then its data, hashed and inspected as any upload. On failure img
// gets back its own formats and properties and is queued again.
func (s *Service) importRemote(ctx context.Context, img Image, b Backend, src RemoteSource) error {
	orig := img
	orig.Properties = maps.Clone(img.Properties)
	fail := func(err error) error {
		s.revert(ctx, img.ID, Importing, &orig)
		return err
	}
	c, err := caller(ctx)
	if err != nil {
		return fail(err)
	}
	remote, err := s.remote.Get(ctx, c.Token, src)
	if err != nil {
		return fail(errorf(ErrValidation, "Failed to read image %s from the image service of region %s (%s): %v",
			src.ImageID, src.Region, src.Interface, err))
	}
	if remote.Status != string(Active) {
		return fail(errorf(ErrConflict, "Image %s of region %s is %s; only active images can be downloaded.",
			src.ImageID, src.Region, remote.Status))
	}
	if !s.validFormats(remote.DiskFormat, remote.ContainerFormat) {
		return fail(errorf(ErrValidation, "Image %s of region %s has formats %s/%s, which this site does not accept.",
			src.ImageID, src.Region, remote.DiskFormat, remote.ContainerFormat))
	}
	img.DiskFormat, img.ContainerFormat = remote.DiskFormat, remote.ContainerFormat
	img.Properties = maps.Clone(img.Properties)
	for k, v := range remote.Properties {
		if s.copiedProperty(k) {
			img.Properties[k] = v
		}
	}
	img.UpdatedAt = s.now().UTC()
	if err := s.store.UpdateImage(ctx, img, Importing); err != nil {
		return fail(s.casError(err, img.ID, Importing))
	}
	limit, err := s.uploadLimit(ctx, img.Owner, -1)
	if err != nil {
		return fail(err)
	}
	body, err := s.remote.Open(ctx, c.Token, src)
	if err != nil {
		return fail(errorf(ErrValidation, "Failed to download the data of image %s from region %s: %v", src.ImageID, src.Region, err))
	}
	defer body.Close()
	w, err := s.write(ctx, b, img, body, -1, limit, true)
	if err != nil {
		return fail(err)
	}
	if err := s.activate(ctx, img.ID, Importing, w); err != nil {
		return fail(fmt.Errorf("glance-download of image %s: %w", img.ID, err))
	}
	return nil
}

// copiedProperty reports whether glance-download copies property name: it is
// one of the configured names or starts with one of the configured prefixes
// (those ending in "_" or ":"). glance's own os_glance_* never travel.
func (s *Service) copiedProperty(name string) bool {
	if strings.HasPrefix(name, "os_glance") {
		return false
	}
	for _, p := range s.cfg.GlanceDownloadProperties {
		if name == p || (strings.HasSuffix(p, "_") || strings.HasSuffix(p, ":")) && strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// validFormats reports whether disk and container formats are among those
// this site accepts.
func (s *Service) validFormats(disk, container string) bool {
	return slices.Contains(s.cfg.DiskFormats, disk) && slices.Contains(s.cfg.ContainerFormats, container)
}
