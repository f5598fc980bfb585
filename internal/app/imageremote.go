package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/nimbus-cloud/nimbus/internal/image"
)

// remoteImages reads images of other image services for glance-download, as
// the caller: it reads the caller's catalog from identity with the caller's
// token, picks the image endpoint of the requested region and interface, and
// calls it with the same token.
type remoteImages struct {
	identityURL string
	http        *http.Client
}

func newRemoteImages(identityURL string) remoteImages {
	return remoteImages{identityURL: identityURL, http: &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          4,
	}}}
}

// client returns an image v2 client for src's region and interface.
func (r remoteImages) client(ctx context.Context, token string, src image.RemoteSource) (*gophercloud.ServiceClient, error) {
	pc, err := openstack.NewClient(r.identityURL)
	if err != nil {
		return nil, fmt.Errorf("identity endpoint: %w", err)
	}
	pc.HTTPClient = *r.http
	pc.SetToken(token)
	idc, err := openstack.NewIdentityV3(pc, gophercloud.EndpointOpts{})
	if err != nil {
		return nil, err
	}
	catalog, err := tokens.Get(ctx, idc, token).ExtractServiceCatalog()
	if err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	pc.EndpointLocator = func(eo gophercloud.EndpointOpts) (string, error) {
		return openstack.V3EndpointURL(catalog, eo)
	}
	sc, err := openstack.NewImageV2(pc, gophercloud.EndpointOpts{Region: src.Region,
		Availability: gophercloud.Availability(src.Interface)})
	if err != nil {
		return nil, fmt.Errorf("find the image service: %w", err)
	}
	return sc, nil
}

func (r remoteImages) Get(ctx context.Context, token string, src image.RemoteSource) (image.RemoteImage, error) {
	sc, err := r.client(ctx, token, src)
	if err != nil {
		return image.RemoteImage{}, err
	}
	img, err := images.Get(ctx, sc, src.ImageID).Extract()
	if err != nil {
		return image.RemoteImage{}, err
	}
	props := make(map[string]string, len(img.Properties))
	for k, v := range img.Properties {
		if s, ok := v.(string); ok {
			props[k] = s
		}
	}
	return image.RemoteImage{Status: string(img.Status), DiskFormat: img.DiskFormat,
		ContainerFormat: img.ContainerFormat, Properties: props}, nil
}

func (r remoteImages) Open(ctx context.Context, token string, src image.RemoteSource) (io.ReadCloser, error) {
	sc, err := r.client(ctx, token, src)
	if err != nil {
		return nil, err
	}
	return imagedata.Download(ctx, sc, src.ImageID).Extract()
}
