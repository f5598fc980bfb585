package placementhttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
)

// versionView is the one version of placement's root document
// (api-ref "List Versions").
type versionView struct {
	ID         string     `json:"id"`
	MaxVersion string     `json:"max_version"`
	MinVersion string     `json:"min_version"`
	Status     string     `json:"status"`
	Links      []linkView `json:"links"`
}

// linkView is a link of a version or resource.
type linkView struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// root answers GET /: the version document, without authentication. The
// self link is relative ("") as placement's is, so proxies need no care.
func (h *Handler) root(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := checkAccept(r); err != nil {
		return err
	}
	doc := versionView{ID: "v" + Microversions.Min.String(), MaxVersion: Microversions.Max.String(),
		MinVersion: Microversions.Min.String(), Status: "CURRENT", Links: []linkView{{Rel: "self", Href: ""}}}
	writeJSON(w, v, http.StatusOK, h.now(), map[string]any{"versions": []versionView{doc}})
	return nil
}
