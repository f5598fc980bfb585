package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// The image service as the compute API's image proxy (/images before
// microversion 2.36) reads and changes it, on the caller's behalf.
var _ compute.ImageProxy = computeImages{}

// imageProxyPage is how many images a proxy list asks for at a time.
const imageProxyPage = 200

// proxyErr turns the image service's refusals into the compute service's.
func proxyErr(id string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, image.ErrNotFound):
		return fmt.Errorf("image %s: %w", id, compute.ErrNotFound)
	case errors.Is(err, image.ErrForbidden):
		return fmt.Errorf("image %s: %w", id, compute.ErrForbidden)
	case errors.Is(err, image.ErrValidation), errors.Is(err, image.ErrConflict):
		return &compute.Error{Kind: compute.ErrInvalid, Message: err.Error()}
	}
	return fmt.Errorf("image %s: %w", id, err)
}

func imageRecord(img image.Image) compute.ImageRecord {
	props := maps.Clone(img.Properties)
	if props == nil {
		props = map[string]string{}
	}
	return compute.ImageRecord{ID: img.ID, Name: img.Name, Status: string(img.Status), MinDisk: int(img.MinDisk),
		MinRAM: int(img.MinRAM), Size: img.Size, Properties: props, CreatedAt: img.CreatedAt, UpdatedAt: img.UpdatedAt}
}

// ListImageRecords pages through the image service until the filter's
// limit is met: minRam and minDisk, which the image service's lists do
// not filter on, are applied to what it returns.
func (ci computeImages) ListImageRecords(ctx context.Context, f compute.ImageListFilter) ([]compute.ImageRecord, error) {
	q := image.ImageFilter{Name: f.Name, Properties: f.Properties, Marker: f.Marker}
	if f.Status != "" {
		q.Status = []image.Status{image.Status(f.Status)}
	}
	if !f.ChangesSince.IsZero() {
		q.Updated = []image.TimeFilter{{Op: "gte", At: f.ChangesSince}}
	}
	var out []compute.ImageRecord
	for {
		q.Limit = imageProxyPage
		page, more, err := ci.svc.ListImages(ctx, q)
		if err != nil {
			return nil, proxyErr(f.Marker, err)
		}
		for _, img := range page {
			if (f.MinRAM != nil && int(img.MinRAM) < *f.MinRAM) || (f.MinDisk != nil && int(img.MinDisk) < *f.MinDisk) {
				continue
			}
			out = append(out, imageRecord(img))
			if f.Limit > 0 && len(out) == f.Limit {
				return out, nil
			}
		}
		if !more || len(page) == 0 {
			return out, nil
		}
		q.Marker = page[len(page)-1].ID
	}
}

func (ci computeImages) ImageRecord(ctx context.Context, id string) (compute.ImageRecord, error) {
	img, err := ci.svc.GetImage(ctx, id)
	if err != nil {
		return compute.ImageRecord{}, proxyErr(id, err)
	}
	return imageRecord(img), nil
}

func (ci computeImages) RemoveImage(ctx context.Context, id string) error {
	return proxyErr(id, ci.svc.DeleteImage(ctx, id))
}

// ReplaceImageProperties patches the image's additional properties into
// props: one operation per key added, changed or removed.
func (ci computeImages) ReplaceImageProperties(ctx context.Context, id string, props map[string]string) (compute.ImageRecord, error) {
	img, err := ci.svc.GetImage(ctx, id)
	if err != nil {
		return compute.ImageRecord{}, proxyErr(id, err)
	}
	pointer := strings.NewReplacer("~", "~0", "/", "~1")
	var ops []image.PatchOp
	for _, k := range slices.Sorted(maps.Keys(img.Properties)) {
		if _, keep := props[k]; !keep {
			ops = append(ops, image.PatchOp{Op: "remove", Path: "/" + pointer.Replace(k)})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		old, had := img.Properties[k]
		switch {
		case !had:
			ops = append(ops, image.PatchOp{Op: "add", Path: "/" + pointer.Replace(k), Value: props[k]})
		case old != props[k]:
			ops = append(ops, image.PatchOp{Op: "replace", Path: "/" + pointer.Replace(k), Value: props[k]})
		}
	}
	if len(ops) == 0 {
		return imageRecord(img), nil
	}
	img, err = ci.svc.UpdateImage(ctx, id, ops)
	if err != nil {
		return compute.ImageRecord{}, proxyErr(id, err)
	}
	return imageRecord(img), nil
}
