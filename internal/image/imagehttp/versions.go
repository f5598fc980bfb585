package imagehttp

import (
	"fmt"
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
)

// CurrentVersion is the newest Image API version served.
const CurrentVersion = 17

// versionView is one entry of glance's version list (api-ref "Versions").
type versionView struct {
	ID     string     `json:"id"`
	Status string     `json:"status"`
	Links  []linkView `json:"links"`
}

// linkView is a link of a version entry.
type linkView struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

func (h *Handler) versionRoutes(srv *api.Server) {
	srv.HandleFunc("GET /{$}", h.versions(http.StatusMultipleChoices))
	srv.HandleFunc("GET /versions", h.versions(http.StatusOK))
	srv.HandleFunc("GET /v2", h.versions(http.StatusMultipleChoices))
	srv.HandleFunc("GET /v2/{$}", h.versions(http.StatusMultipleChoices))
}

// versions answers glance's version document, v2.17 (CURRENT) down to v2.0,
// with the given status: 300 for version negotiation at the root, 200 for
// /versions.
func (h *Handler) versions(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		href := api.BaseURL(r) + "/v2/"
		list := make([]versionView, 0, CurrentVersion+1)
		for minor := CurrentVersion; minor >= 0; minor-- {
			st := "SUPPORTED"
			if minor == CurrentVersion {
				st = "CURRENT"
			}
			list = append(list, versionView{ID: fmt.Sprintf("v2.%d", minor), Status: st,
				Links: []linkView{{Rel: "self", Href: href}}})
		}
		api.WriteJSON(w, status, map[string]any{"versions": list})
	}
}
