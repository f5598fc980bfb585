// Package imagehttp speaks the Image v2 API (glance) over HTTP: it decodes
// requests, calls one image.Service method, and renders glance's JSON.
package imagehttp
