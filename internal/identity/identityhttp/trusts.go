package identityhttp

import "github.com/nimbus-cloud/nimbus/internal/api"

func (h *Handler) trustRoutes(srv *api.Server) {}
