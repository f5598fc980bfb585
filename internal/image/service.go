package image

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// Config holds the image rules operators tune (glance's option names in comments).
type Config struct {
	// ImageSizeCap is the largest image accepted, in bytes (image_size_cap).
	ImageSizeCap int64
	// UserStorageQuota bounds a project's total image bytes; 0: unlimited
	// (user_storage_quota / image_size_total).
	UserStorageQuota int64
	// ImageCountQuota bounds a project's images; 0: unlimited (image_count_total).
	ImageCountQuota int64
	// HashAlgo is os_hash_algo (hashing_algorithm), sha512 by default.
	HashAlgo string
	// ImportMethods are the enabled import methods (enabled_import_methods):
	// glance-direct, web-download.
	ImportMethods []string
	// WebDownloadAllowedHosts limits web-download to these hosts; empty with
	// web-download enabled allows none.
	WebDownloadAllowedHosts []string
	// DiskFormats and ContainerFormats are the accepted formats.
	DiskFormats, ContainerFormats []string
	// ListLimit is the default page size (limit_param_default) and ListMax the
	// largest (api_limit_max).
	ListLimit, ListMax int
	// ShowMultipleLocations shows images' locations and lets clients edit
	// them (show_multiple_locations).
	ShowMultipleLocations bool
	// ShowDirectURL shows an image's first location as direct_url
	// (show_image_direct_url).
	ShowDirectURL bool
	// GlanceDownloadProperties are the property names and prefixes that
	// glance-download copies from the source image
	// ([glance_download_properties] extra_properties).
	GlanceDownloadProperties []string
}

// Inspector reads an image's bytes as they stream past and reports what they
// are. It is written to with every byte of the image, in order.
type Inspector interface {
	io.Writer
	// Result names the detected format and virtual size, or says why the data is
	// unsafe or does not match the declared format.
	Result() (InspectResult, error)
}

// InspectResult is what an Inspector found.
type InspectResult struct {
	Format      string
	VirtualSize int64
}

// Authorizer checks the caller in ctx against a named policy rule and target.
type Authorizer interface {
	Authorize(ctx context.Context, rule string, target map[string]any) error
}

// Service is the image service: every rule of glance's v2 API.
type Service struct {
	cfg     Config
	store   Store
	backend Backend
	staging Backend
	inspect func(diskFormat string) Inspector
	fetch   func(ctx context.Context, uri string) (io.ReadCloser, error)
	authz   Authorizer
	log     *slog.Logger
	now     func() time.Time
	newID   func() string
	remote  RemoteImages
	// stores are every store by id; storeIDs lists them, the default first.
	stores   map[string]Backend
	storeIDs []string

	// Imports run in the background, after the API has answered 202: goRun
	// starts one, bgCtx ends them all at Close, and bg counts those running.
	goRun    func(func())
	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup
	onImport func(id string, err error) // tests observe finished imports

	// cache is the local image cache and its prefetcher; nil without one.
	cache *localCache
}

// Deps are the collaborators of a Service.
type Deps struct {
	Store Store
	// Backend keeps active images' data; Staging keeps glance-direct uploads
	// until they are imported.
	Backend, Staging Backend
	// Inspect returns an Inspector checking data declared as diskFormat.
	Inspect func(diskFormat string) Inspector
	Authz   Authorizer
	Log     *slog.Logger
	Now     func() time.Time
	NewID   func() string
	// Fetch opens the data at a web-download URI already checked against
	// web_download_allowed_hosts; nil leaves web-download unavailable.
	Fetch func(ctx context.Context, uri string) (io.ReadCloser, error)
	// OtherStores are the stores beside Backend, the default one, when the
	// site has several (glance's enabled_backends); images are copied to them
	// by copy-image or imported to them by request.
	OtherStores []Backend
	// Remote reads images of other image services for glance-download; nil
	// leaves glance-download unavailable.
	Remote RemoteImages
	// Go runs background work such as imports; nil runs it on goroutines that
	// Close cancels and waits for.
	Go func(func())
	// Cache is the local image cache (image_cache_dir); nil: no cache, and
	// the cache API answers 404.
	Cache Cache
}

// New returns a Service.
func New(cfg Config, d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.NewID == nil {
		d.NewID = NewID
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.HashAlgo == "" {
		cfg.HashAlgo = "sha512"
	}
	s := &Service{cfg: cfg, store: d.Store, backend: d.Backend, staging: d.Staging, inspect: d.Inspect,
		fetch: d.Fetch, authz: d.Authz, log: d.Log, now: d.Now, newID: d.NewID, remote: d.Remote, goRun: d.Go}
	s.stores = map[string]Backend{}
	for _, b := range append([]Backend{d.Backend}, d.OtherStores...) {
		if b != nil {
			s.stores[b.Name()] = b
			s.storeIDs = append(s.storeIDs, b.Name())
		}
	}
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	if s.goRun == nil {
		s.goRun = func(f func()) {
			s.bg.Add(1)
			go func() {
				defer s.bg.Done()
				f()
			}()
		}
	}
	if d.Cache != nil {
		s.enableCache(d.Cache, prefetchDelay)
	}
	return s
}

// Close cancels the imports still running and waits for them to give up:
// each leaves its image as it was before the import and nothing stored. It
// also stops the cache prefetcher, whose copy in progress stays queued.
func (s *Service) Close() error {
	s.bgCancel()
	s.bg.Wait()
	s.stopCache()
	return nil
}

// NewID returns a glance-style id: a random UUID with dashes.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("read random: %v", err))
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Error is a failure with a message meant for the API client; Kind decides the
// status code.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the sentinel kind.
func (e *Error) Unwrap() error { return e.Kind }

// errorf returns an *Error of kind with a formatted message.
func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// caller returns the authenticated caller, or ErrUnauthorized.
func caller(ctx context.Context) (*auth.Caller, error) {
	c, ok := auth.FromContext(ctx)
	if !ok {
		return nil, errorf(ErrUnauthorized, "The request you have made requires authentication.")
	}
	return c, nil
}
