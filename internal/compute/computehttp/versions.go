package computehttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
)

// linkView is a link of nova's views.
type linkView struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
	Type string `json:"type,omitempty"`
}

// mediaType is one entry of a version's media-types.
type mediaType struct {
	Base string `json:"base"`
	Type string `json:"type"`
}

// versionView is nova's description of one API version (api-ref "List All
// Major Versions", "Show Details of Specific API Version").
type versionView struct {
	ID         string      `json:"id"`
	Status     string      `json:"status"`
	Version    string      `json:"version"`
	MinVersion string      `json:"min_version"`
	Updated    string      `json:"updated"`
	Links      []linkView  `json:"links"`
	MediaTypes []mediaType `json:"media-types,omitempty"`
}

// apiVersions are nova's two API versions: the legacy v2.0, listed but not
// served beyond its version document, and v2.1 with its microversions.
func apiVersions() []versionView {
	describedBy := linkView{Rel: "describedby", Type: "text/html", Href: "http://docs.openstack.org/"}
	return []versionView{
		{ID: "v2.0", Status: "DEPRECATED", Updated: "2025-07-04T12:00:00Z", Links: []linkView{describedBy},
			MediaTypes: []mediaType{{Base: "application/json", Type: "application/vnd.openstack.compute+json;version=2"}}},
		{ID: "v2.1", Status: "CURRENT", Version: Microversions.Max.String(), MinVersion: Microversions.Min.String(),
			Updated: "2013-07-23T11:33:21Z", Links: []linkView{describedBy},
			MediaTypes: []mediaType{{Base: "application/json", Type: "application/vnd.openstack.compute+json;version=2.1"}}},
	}
}

// versionPath is where a version is served: /v2 or /v2.1.
func versionPath(id string) string {
	if id == "v2.1" {
		return "/v2.1/"
	}
	return "/v2/"
}

func (h *Handler) versionRoutes(srv *api.Server) {
	srv.HandleFunc("GET /{$}", h.listVersions)
	// GET /v2.1 is answered without a token and GET /v2.1/ with one, as
	// nova's paste pipelines do.
	srv.Handle("GET /v2.1", h.negotiated(h.showVersion("v2.1")))
	h.route(srv, "GET /v2.1/{$}", h.showVersion("v2.1"))
	legacy := func(w http.ResponseWriter, r *http.Request) {
		_ = h.showVersion("v2.0")(w, r, api.Version{})
	}
	srv.HandleFunc("GET /v2", legacy)
	srv.HandleFunc("GET /v2/{$}", legacy)
}

// listVersions answers GET /: every version, each linking to its root.
func (h *Handler) listVersions(w http.ResponseWriter, r *http.Request) {
	base := api.BaseURL(r)
	list := apiVersions()
	for i := range list {
		list[i].Links = []linkView{{Rel: "self", Href: base + versionPath(list[i].ID)}}
		list[i].MediaTypes = nil
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"versions": list})
}

// showVersion answers GET /v2.1 (and /v2): the version with its
// microversion range.
func (h *Handler) showVersion(id string) versioned {
	return func(w http.ResponseWriter, r *http.Request, _ api.Version) error {
		for _, v := range apiVersions() {
			if v.ID == id {
				v.Links = append([]linkView{{Rel: "self", Href: api.BaseURL(r) + versionPath(id)}}, v.Links...)
				api.WriteJSON(w, http.StatusOK, map[string]any{"version": v})
				return nil
			}
		}
		return notFound()
	}
}
