package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// RuleCopyImage is glance's policy rule for the copy-image import method.
const RuleCopyImage = "copy_image"

// MethodCopyImage copies an active image's data into more of the site's stores.
const MethodCopyImage = "copy-image"

// Stores lists the stores images may be kept in, the default first (GET
// /v2/info/stores).
func (s *Service) Stores() []StoreInfo {
	out := make([]StoreInfo, 0, len(s.storeIDs))
	for i, id := range s.storeIDs {
		out = append(out, StoreInfo{ID: id, Default: i == 0, ReadOnly: isReadOnly(s.stores[id])})
	}
	return out
}

// ReadOnlyBackend is a store that only reads data kept elsewhere, such as
// glance's http store: it serves images whose locations it handles.
type ReadOnlyBackend interface {
	Backend
	ReadOnly() bool
	// Handles reports whether the store can read location.
	Handles(location string) bool
}

func isReadOnly(b Backend) bool {
	ro, ok := b.(ReadOnlyBackend)
	return ok && ro.ReadOnly()
}

// writableStores lists the stores data can be written to, the default first.
func (s *Service) writableStores() []string {
	var out []string
	for _, id := range s.storeIDs {
		if !isReadOnly(s.stores[id]) {
			out = append(out, id)
		}
	}
	return out
}

// locationData opens the data of an image that has no data of its own but
// locations a read-only store can read, trying them in order.
func (s *Service) locationData(ctx context.Context, img Image) (io.ReadSeekCloser, int64, error) {
	var errs []error
	for _, l := range img.Locations {
		for _, id := range s.storeIDs {
			ro, ok := s.stores[id].(ReadOnlyBackend)
			if !ok || !ro.Handles(l.URL) {
				continue
			}
			r, size, err := ro.Open(ctx, l.URL)
			if err == nil {
				return r, size, nil
			}
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil, 0, ErrNotFound
	}
	return nil, 0, errors.Join(errs...)
}

// multiStore reports whether the site has several stores (glance's
// enabled_backends), which the stores parameters of imports need.
func (s *Service) multiStore() bool { return len(s.storeIDs) > 1 }

// copiesOf returns where img's data is, by store. Images written before
// copies were recorded have their one Location in Stores[0].
func copiesOf(img Image) map[string]string {
	if len(img.Copies) > 0 {
		return img.Copies
	}
	if img.Location != "" && len(img.Stores) > 0 {
		return map[string]string{img.Stores[0]: img.Location}
	}
	return nil
}

// dataBackend returns the store of img's Location.
func (s *Service) dataBackend(img Image) Backend {
	if len(img.Stores) > 0 {
		if b, ok := s.stores[img.Stores[0]]; ok {
			return b
		}
	}
	return s.backend
}

// storeOf resolves a store id a client named, as glance's
// get_store_from_store_identifier: an unknown one is a conflict.
func (s *Service) storeOf(id string) (Backend, error) {
	b, ok := s.stores[id]
	if !ok {
		return nil, errorf(ErrConflict, "Unknown store '%s': this site's stores are %s.", id, strings.Join(s.storeIDs, ", "))
	}
	if isReadOnly(b) {
		return nil, errorf(ErrConflict, "Store '%s' is read-only: image data cannot be written to it.", id)
	}
	return b, nil
}

// importStores resolves the stores an import writes to, as glance's
// get_stores_from_request: all_stores, the stores list, the
// X-Image-Meta-Store header, or the default store. For copy-image the stores
// that already hold the image are left out of all_stores and refused when
// named.
func (s *Service) importStores(img Image, req ImportRequest) ([]string, error) {
	if req.AllStoresMustSucceed != nil && !*req.AllStoresMustSucceed && !s.multiStore() {
		return nil, errorf(ErrValidation, "All_stores_must_succeed can only be set with enabled_backends.")
	}
	var stores []string
	switch {
	case req.AllStores && (req.Stores != nil || req.StoreHeader != ""):
		return nil, errorf(ErrValidation, "All_stores parameter can't be used with x-image-meta-store header or stores parameter")
	case req.AllStores:
		stores = s.writableStores()
	case req.Stores != nil && req.StoreHeader != "":
		return nil, errorf(ErrValidation, "Stores parameter and x-image-meta-store header can't be both specified")
	case req.Stores != nil:
		stores = slices.Compact(slices.Clone(req.Stores))
	case req.StoreHeader != "":
		stores = []string{req.StoreHeader}
	default:
		if w := s.writableStores(); len(w) > 0 {
			stores = w[:1]
		}
	}
	for _, id := range stores {
		if _, err := s.storeOf(id); err != nil {
			return nil, err
		}
	}
	if req.Method != MethodCopyImage {
		if len(stores) == 0 {
			return nil, errorf(ErrValidation, "Import request names no store.")
		}
		return stores, nil
	}
	have := copiesOf(img)
	if req.AllStores {
		return slices.DeleteFunc(stores, func(id string) bool { _, ok := have[id]; return ok }), nil
	}
	for _, id := range stores {
		if _, ok := have[id]; ok {
			return nil, errorf(ErrValidation, "Image is already present at store '%s'", id)
		}
	}
	return stores, nil
}

// mustSucceed is all_stores_must_succeed, true unless the request says no.
func (r ImportRequest) mustSucceed() bool {
	return r.AllStoresMustSucceed == nil || *r.AllStoresMustSucceed
}

// copyToStores copies image id's data into each of stores, one after the
// other, each copy checked against the image's checksum. Each store leaves
// os_glance_importing_to_stores when done, and joins os_glance_failed_import
// when its copy fails. When mustSucceed is set, the first failure ends the
// work and takes the image's data away from every store (the image is
// queued again), as glance's all_stores_must_succeed does.
func (s *Service) copyToStores(ctx context.Context, id string, stores []string, mustSucceed bool) error {
	var failed []error
	for i, store := range stores {
		err := s.copyToStore(ctx, id, store)
		if err == nil {
			continue
		}
		if errors.Is(err, ErrGone) || ctx.Err() != nil || mustSucceed {
			s.abandonImport(ctx, id, stores[i:], mustSucceed)
			return err
		}
		failed = append(failed, err)
		s.abandonImport(ctx, id, []string{store}, false)
		s.log.Info("copy image data to store failed", "image_id", id, "store", store, "error", err)
	}
	if len(failed) > 0 {
		return errorf(ErrConflict, "Copying the image to some stores failed: %v", errors.Join(failed...))
	}
	return nil
}

// copyToStore copies image id's data from the store downloads read into
// store and records the copy; an image deleted meanwhile gets the copy
// removed again (ErrGone).
func (s *Service) copyToStore(ctx context.Context, id, store string) error {
	b, err := s.storeOf(store)
	if err != nil {
		return err
	}
	img, err := s.store.GetImage(ctx, id)
	if err != nil {
		return s.casError(err, id, img.Status)
	}
	if img.Location == "" {
		return errorf(ErrGone, "Image %s has no data to copy.", id)
	}
	r, size, err := s.dataBackend(img).Open(ctx, img.Location)
	if err != nil {
		return fmt.Errorf("open the data of image %s: %w", id, err)
	}
	defer r.Close()
	tee, err := NewTee(r, s.cfg.HashAlgo, nil, -1)
	if err != nil {
		return err
	}
	loc, err := b.Put(ctx, id, tee)
	if err != nil {
		return fmt.Errorf("copy image %s to store %s: %w", id, store, err)
	}
	if tee.Size() != size || tee.Checksum() != img.Checksum {
		_ = b.Delete(context.WithoutCancel(ctx), loc)
		return errorf(ErrConflict, "The copy of image %s in store %s does not match its size and checksum.", id, store)
	}
	w := written{location: loc}
	ctx = context.WithoutCancel(ctx)
	cur, err := s.store.GetImage(ctx, id)
	if err == nil && cur.Status != Active && cur.Status != Deactivated {
		err = ErrNotFound
	}
	if err == nil {
		cur.Copies = copiesOf(cur)
		cur.Copies[store] = w.location
		if !slices.Contains(cur.Stores, store) {
			cur.Stores = append(cur.Stores, store)
		}
		doneImporting(&cur, store, false)
		cur.UpdatedAt = s.now().UTC()
		err = s.store.UpdateImage(ctx, cur, cur.Status)
	}
	if err != nil {
		if derr := b.Delete(ctx, w.location); derr != nil {
			s.log.Error("delete the copy of an image that changed meanwhile", "image_id", id, "store", store, "error", derr)
		}
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
			return errorf(ErrGone, "Image %s was deleted or changed while it was being copied to store %s.", id, store)
		}
		return fmt.Errorf("record the copy of image %s in store %s: %w", id, store, err)
	}
	return nil
}

// doneImporting takes store off img's os_glance_importing_to_stores, adding
// it to os_glance_failed_import when failed; the import lock goes when no
// store is left.
func doneImporting(img *Image, store string, failed bool) {
	if img.Properties == nil {
		img.Properties = map[string]string{}
	}
	left := slices.DeleteFunc(splitStores(img.Properties[propImportingTo]), func(s string) bool { return s == store })
	// Like glance, the properties stay, empty, once every store is done:
	// clients wait for an empty os_glance_importing_to_stores.
	img.Properties[propImportingTo] = strings.Join(left, ",")
	if len(left) == 0 {
		delete(img.Properties, propImportTask)
	}
	if _, ok := img.Properties[propFailedImport]; !ok {
		img.Properties[propFailedImport] = ""
	}
	if failed {
		f := splitStores(img.Properties[propFailedImport])
		if !slices.Contains(f, store) {
			img.Properties[propFailedImport] = strings.Join(append(f, store), ",")
		}
	}
}

func splitStores(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// abandonImport records stores as failed. With dropData (an import whose
// stores must all succeed) the image loses its data in every store and is
// queued again.
func (s *Service) abandonImport(ctx context.Context, id string, stores []string, dropData bool) {
	ctx = context.WithoutCancel(ctx)
	img, err := s.store.GetImage(ctx, id)
	if err != nil {
		return
	}
	from := img.Status
	for _, st := range stores {
		doneImporting(&img, st, true)
	}
	var drop map[string]string
	if dropData && (from == Active || from == Deactivated) {
		drop = copiesOf(img)
		for st := range drop {
			doneImporting(&img, st, true)
		}
		img.Status, img.Location, img.Stores, img.Copies = Queued, "", nil, nil
		img.Size, img.VirtualSize = nil, nil
		img.Checksum, img.HashAlgo, img.HashValue = "", "", ""
	}
	img.UpdatedAt = s.now().UTC()
	if err := s.store.UpdateImage(ctx, img, from); err != nil {
		s.log.Error("record failed stores of an import", "image_id", id, "error", err)
		return
	}
	for st, loc := range drop {
		if b, ok := s.stores[st]; ok {
			if err := b.Delete(ctx, loc); err != nil {
				s.log.Error("delete data of a failed import", "image_id", id, "store", st, "error", err)
			}
		}
	}
}

// nothingToCopy answers a copy-image request for stores that all hold img
// already: the import properties say no store is left and none failed.
func (s *Service) nothingToCopy(ctx context.Context, img Image) error {
	_, importing := img.Properties[propImportingTo]
	_, failed := img.Properties[propFailedImport]
	if importing && failed {
		return nil
	}
	img.Properties = maps.Clone(img.Properties)
	if img.Properties == nil {
		img.Properties = map[string]string{}
	}
	img.Properties[propImportingTo], img.Properties[propFailedImport] = "", ""
	img.UpdatedAt = s.now().UTC()
	if err := s.store.UpdateImage(ctx, img, Active); err != nil {
		return s.casError(err, img.ID, Active)
	}
	return nil
}
