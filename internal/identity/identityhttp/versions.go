package identityhttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
)

// APIVersion is the identity API version Nimbus implements.
const APIVersion = "v3.14"

// versionView is one entry of keystone's version discovery document.
func versionView(r *http.Request) map[string]any {
	return map[string]any{
		"id":      APIVersion,
		"status":  "stable",
		"updated": "2020-04-07T00:00:00Z",
		"links":   []any{map[string]any{"rel": "self", "href": api.BaseURL(r) + "/v3/"}},
		"media-types": []any{map[string]any{
			"base": "application/json", "type": "application/vnd.openstack.identity-v3+json",
		}},
	}
}

func (h *Handler) versionRoutes(srv *api.Server) {
	// GET / lists the versions with 300 Multiple Choices, as keystone does.
	srv.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusMultipleChoices,
			map[string]any{"versions": map[string]any{"values": []any{versionView(r)}}})
	})
	v3 := func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusOK, map[string]any{"version": versionView(r)})
	}
	srv.HandleFunc("GET /v3", v3)
	srv.HandleFunc("GET /v3/{$}", v3)
}
