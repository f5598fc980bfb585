package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/auth/policy"
	"github.com/nimbus-cloud/nimbus/internal/config"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/image"
	"github.com/nimbus-cloud/nimbus/internal/image/filestore"
	"github.com/nimbus-cloud/nimbus/internal/image/format"
	"github.com/nimbus-cloud/nimbus/internal/image/imagecache"
	"github.com/nimbus-cloud/nimbus/internal/image/imagehttp"
	"github.com/nimbus-cloud/nimbus/internal/image/imagesql"
)

// Glance's default disk_formats and container_formats ([image_format]).
var (
	defaultDiskFormats      = []string{"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"}
	defaultContainerFormats = []string{"ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"}
)

// ImageConfig turns the [image] section into the image service's rules.
func ImageConfig(cfg *config.Config) image.Config {
	return image.Config{
		ImageSizeCap:             cfg.Image.ImageSizeCap,
		UserStorageQuota:         cfg.Image.UserStorageQuota,
		ImageCountQuota:          cfg.Image.ImageCountQuota,
		HashAlgo:                 cfg.Image.HashingAlgorithm,
		ImportMethods:            splitList(cfg.Image.EnabledImportMethods),
		WebDownloadAllowedHosts:  splitList(cfg.Image.WebDownloadAllowedHosts),
		DiskFormats:              defaultDiskFormats,
		ContainerFormats:         defaultContainerFormats,
		ListLimit:                cfg.Image.LimitParamDefault,
		ListMax:                  cfg.Image.APILimitMax,
		ShowMultipleLocations:    cfg.Image.ShowMultipleLocations,
		ShowDirectURL:            cfg.Image.ShowImageDirectURL,
		GlanceDownloadProperties: splitList(cfg.GlanceDownload.ExtraProperties),
	}
}

// splitList splits a comma-separated option, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// inspector adapts format.Inspector to image.Inspector. Unless requireMatch is
// set, data of no known format passes under any declared format (its virtual
// size stays unknown), as glance does with require_image_format_match off.
type inspector struct {
	*format.Inspector
	requireMatch bool
}

func (i inspector) Result() (image.InspectResult, error) {
	info, err := i.Inspector.Result()
	var me *format.MismatchError
	if !i.requireMatch && errors.As(err, &me) && me.Detected == "raw" {
		return image.InspectResult{}, nil
	}
	return image.InspectResult{Format: info.Format, VirtualSize: info.VirtualSize}, err
}

// Write passes data to the inspector; a mismatch refusal is deferred to Result,
// where it may be waived.
func (i inspector) Write(b []byte) (int, error) {
	n, err := i.Inspector.Write(b)
	var me *format.MismatchError
	if !i.requireMatch && errors.As(err, &me) {
		return len(b), nil
	}
	return n, err
}

// webFetcher returns web-download's fetcher: an HTTP client with connect,
// handshake and header timeouts that follows redirects only to http(s) URLs on
// the allowed hosts, refuses answers other than 2xx and sources larger than
// sizeCap, and never reads more than sizeCap+1 bytes (so the upload path sees
// the excess and refuses it as too large).
func webFetcher(allowed []string, sizeCap int64) func(ctx context.Context, uri string) (io.ReadCloser, error) {
	client := allowedHostsClient(allowed)
	return func(ctx context.Context, uri string) (io.ReadCloser, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
		if err != nil {
			return nil, fmt.Errorf("build request: %w", err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetch: %w", err)
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			resp.Body.Close()
			return nil, fmt.Errorf("source answered %s", resp.Status)
		}
		if sizeCap > 0 && resp.ContentLength > sizeCap {
			resp.Body.Close()
			return nil, fmt.Errorf("source size %d bytes is more than the limit of %d bytes", resp.ContentLength, sizeCap)
		}
		if sizeCap <= 0 {
			return resp.Body, nil
		}
		return struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, sizeCap+1), resp.Body}, nil
	}
}

// allowedHostsClient is an HTTP client with connect, handshake and header
// timeouts that follows redirects only to http(s) URLs on the allowed hosts.
func allowedHostsClient(allowed []string) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConns:          4,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			host := strings.ToLower(req.URL.Hostname())
			switch {
			case len(via) >= 10:
				return errors.New("too many redirects")
			case req.URL.Scheme != "http" && req.URL.Scheme != "https",
				!slices.ContainsFunc(allowed, func(h string) bool { return strings.EqualFold(h, host) }):
				return fmt.Errorf("redirect to %s refused: host not allowed", req.URL.Redacted())
			}
			return nil
		},
	}
}

// callerValidator validates tokens in process through the identity service.
type callerValidator struct{ svc *identity.Service }

func (v callerValidator) ValidateToken(ctx context.Context, token string) (*auth.Caller, error) {
	return v.svc.ValidateCaller(ctx, token)
}

// imageCache opens the local image cache when [image] image_cache_dir is
// set; nil (a nil interface, not a nil pointer) leaves caching off.
func imageCache(cfg *config.Config, log *slog.Logger) (image.Cache, error) {
	if cfg.Image.ImageCacheDir == "" {
		return nil, nil
	}
	ic, err := imagecache.New(cfg.Image.ImageCacheDir, imagecache.Options{MaxSize: cfg.Image.ImageCacheMaxSize,
		Log: log.With("service", "image", "component", "cache")})
	if err != nil {
		return nil, fmt.Errorf("image cache: %w", err)
	}
	return ic, nil
}

// startImage opens the image database and stores, registers the image
// endpoints in the catalog, and serves the Image v2 API.
func (c *Cloud) startImage(ctx context.Context) error {
	ms, err := imagesql.Migrations()
	if err != nil {
		return err
	}
	d, err := OpenDB(ctx, c.cfg, "image", ms)
	if err != nil {
		return err
	}
	c.dbs = append(c.dbs, d)
	backend, otherStores, closers, err := openImageStores(c.cfg)
	if err != nil {
		return err
	}
	c.closers = append(c.closers, closers...)
	staging, err := filestore.New(filepath.Join(c.cfg.ImageDataDir(), "staging"))
	if err != nil {
		return fmt.Errorf("image staging store: %w", err)
	}
	c.closers = append(c.closers, staging.Close)
	enforcer, err := policy.New(policy.ImageDefaults(), policy.Options{
		PolicyFile: c.cfg.Policy.PolicyFile, EnforceScope: c.cfg.Policy.EnforceScope})
	if err != nil {
		return fmt.Errorf("load image policy: %w", err)
	}
	cache, err := imageCache(c.cfg, c.log)
	if err != nil {
		return err
	}
	svc := image.New(ImageConfig(c.cfg), image.Deps{
		Store: imagesql.New(d), Backend: backend, Staging: staging,
		Inspect: func(diskFormat string) image.Inspector {
			return inspector{format.NewInspector(diskFormat), c.cfg.Image.RequireImageFormatMatch}
		},
		Authz:       auth.NewAuthorizer(enforcer),
		Log:         c.log.With("service", "image"),
		Fetch:       webFetcher(splitList(c.cfg.Image.WebDownloadAllowedHosts), c.cfg.Image.ImageSizeCap),
		Remote:      newRemoteImages(c.IdentityURL),
		OtherStores: otherStores,
		Cache:       cache,
	})
	c.closers = append(c.closers, svc.Close)
	ln, err := c.listen(c.cfg.Image.BindPort)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	c.ImageURL = c.publicURL(ln)
	urls := map[string]string{"public": c.ImageURL, "internal": c.ImageURL, "admin": c.ImageURL}
	if err := c.Identity.RegisterService(ctx, "RegionOne", "image", "glance", "Image service", urls); err != nil {
		ln.Close()
		return fmt.Errorf("register image service: %w", err)
	}
	srv := api.NewServer(api.Options{Name: "image", Render: imagehttp.RenderError,
		Log: c.log.With("service", "image"), Metrics: c.metrics})
	h := imagehttp.Register(srv, svc, callerValidator{c.Identity}, c.cfg.OsloMiddleware.MaxRequestBodySize)
	h.SetIdentityURL(c.IdentityURL)
	c.Image = svc
	c.serve(ln, srv)
	return nil
}
