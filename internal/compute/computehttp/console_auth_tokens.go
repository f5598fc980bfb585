package computehttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
)

// consoleAuthTokenShowV299 refuses every query parameter from 2.99 on
// (nova's show_query_v299); before, they are ignored.
var consoleAuthTokenShowV299 = (&schema{types: []string{"object"}, additional: no()}).compile()

// consoleAuthTokenRoutes serves os-console-auth-tokens (api-ref "Server
// Consoles": Show Console Connection Information).
func (h *Handler) consoleAuthTokenRoutes(srv *api.Server) {
	h.route(srv, "GET /v2.1/os-console-auth-tokens/{console_token}", h.showConsoleAuthToken)
}

// consoleConnectionView is the console of a token (2.31 and later; the
// tls_port of 2.99 belongs to spice-direct consoles, which this cloud does
// not serve).
type consoleConnectionView struct {
	InstanceUUID       string  `json:"instance_uuid"`
	Host               string  `json:"host"`
	Port               int     `json:"port"`
	InternalAccessPath *string `json:"internal_access_path"`
}

// showConsoleAuthToken is GET /os-console-auth-tokens/{console_token}.
// Before 2.31 it served the rdp-html5 consoles of the Hyper-V driver alone,
// which nova removed: nova answers a bare 400 there, before any policy.
func (h *Handler) showConsoleAuthToken(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if !at(v, 31) {
		return api.BadRequest("The server could not comply with the request since it is either malformed or otherwise incorrect.")
	}
	if at(v, 99) {
		if err := validateQuery(consoleAuthTokenShowV299, r.URL.Query()); err != nil {
			return err
		}
	}
	c, err := h.svc.ConsoleAuthToken(r.Context(), r.PathValue("console_token"))
	if err != nil {
		return err
	}
	view := consoleConnectionView{InstanceUUID: c.InstanceUUID, Host: c.Host, Port: c.Port}
	if c.InternalAccessPath != "" {
		view.InternalAccessPath = &c.InternalAccessPath
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"console": view})
	return nil
}
