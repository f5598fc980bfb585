package identityhttp

import "github.com/nimbus-cloud/nimbus/internal/api"

func (h *Handler) complianceRoutes(srv *api.Server) {}
