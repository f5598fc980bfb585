// Package imagehttp speaks the Image v2 API (glance) over HTTP: it decodes
// requests, calls one image.Service method, and renders glance's JSON.
package imagehttp

import (
	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/auth/authhttp"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// Handler serves the Image v2 API.
type Handler struct {
	svc     *image.Service
	mw      *authhttp.Middleware
	maxBody int64
}

var _ = api.DefaultMaxBody
