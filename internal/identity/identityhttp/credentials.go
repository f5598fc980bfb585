package identityhttp

import "github.com/nimbus-cloud/nimbus/internal/api"

func (h *Handler) credentialRoutes(srv *api.Server) {}
