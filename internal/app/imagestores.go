package app

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/config"
	"github.com/nimbus-cloud/nimbus/internal/image"
	"github.com/nimbus-cloud/nimbus/internal/image/filestore"
	"github.com/nimbus-cloud/nimbus/internal/image/httpstore"
)

// storeID is what a store id may look like: it names a directory.
var storeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// imageStore is one configured store: its id, its type (file or http), and
// where a file store's files live.
type imageStore struct{ id, typ, dir string }

// imageStoreLayout reads [image] enabled_backends and [glance_store]
// default_backend. Without enabled_backends the site has one store, "file",
// in the data directory. With it, the default store keeps the data
// directory and each other store a subdirectory named by its id. The default
// store comes first.
func imageStoreLayout(cfg *config.Config) ([]imageStore, error) {
	dataDir := cfg.ImageDataDir()
	if strings.TrimSpace(cfg.Image.EnabledBackends) == "" {
		if cfg.GlanceStore.DefaultBackend != "" && cfg.GlanceStore.DefaultBackend != "file" {
			return nil, fmt.Errorf("[glance_store] default_backend %q: no such store; [image] enabled_backends is empty",
				cfg.GlanceStore.DefaultBackend)
		}
		return []imageStore{{id: "file", typ: "file", dir: dataDir}}, nil
	}
	var ids []string
	seen := map[string]bool{}
	types := map[string]string{}
	for _, entry := range splitList(cfg.Image.EnabledBackends) {
		id, typ, ok := strings.Cut(entry, ":")
		id, typ = strings.TrimSpace(id), strings.TrimSpace(typ)
		switch {
		case !ok:
			return nil, fmt.Errorf("[image] enabled_backends: %q is not id:type", entry)
		case !storeID.MatchString(id) || id == "staging":
			return nil, fmt.Errorf("[image] enabled_backends: store id %q must be letters, digits, '-' and '_' (and not \"staging\")", id)
		case typ != "file" && typ != "http":
			return nil, fmt.Errorf("[image] enabled_backends: store %s has type %q; this site supports file and http stores", id, typ)
		case seen[id]:
			return nil, fmt.Errorf("[image] enabled_backends: store %s is listed twice", id)
		}
		seen[id] = true
		types[id] = typ
		ids = append(ids, id)
	}
	def := ""
	for _, id := range ids {
		if types[id] == "file" {
			def = id
			break
		}
	}
	if d := cfg.GlanceStore.DefaultBackend; d != "" {
		if !seen[d] {
			return nil, fmt.Errorf("[glance_store] default_backend %q is not one of [image] enabled_backends (%s)",
				d, strings.Join(ids, ", "))
		}
		def = d
	}
	if def == "" || types[def] != "file" {
		return nil, fmt.Errorf("[image] enabled_backends: the default store must be a file store; http stores are read-only")
	}
	out := []imageStore{{id: def, typ: "file", dir: dataDir}}
	for _, id := range ids {
		switch {
		case id == def:
		case types[id] == "http":
			out = append(out, imageStore{id: id, typ: "http"})
		default:
			out = append(out, imageStore{id: id, typ: "file", dir: filepath.Join(dataDir, id)})
		}
	}
	return out, nil
}

// openImageStores opens the configured stores, the default (a file store)
// first, and returns them with what closes them. http stores read from the
// hosts web-download may use. On failure the stores opened are closed again.
func openImageStores(cfg *config.Config) (*filestore.Store, []image.Backend, []func() error, error) {
	layout, err := imageStoreLayout(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	var (
		def     *filestore.Store
		others  []image.Backend
		closers []func() error
	)
	for _, st := range layout {
		if st.typ == "http" {
			allowed := splitList(cfg.Image.WebDownloadAllowedHosts)
			others = append(others, httpstore.New(st.id, allowedHostsClient(allowed), allowed))
			continue
		}
		s, err := filestore.NewNamed(st.id, st.dir)
		if err != nil {
			errs := []error{fmt.Errorf("image store %s: %w", st.id, err)}
			for _, c := range closers {
				errs = append(errs, c())
			}
			return nil, nil, nil, errors.Join(errs...)
		}
		closers = append(closers, s.Close)
		if def == nil {
			def = s
		} else {
			others = append(others, s)
		}
	}
	return def, others, closers, nil
}
