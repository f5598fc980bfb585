package identityhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func (h *Handler) extrasRoutes(srv *api.Server) {
	h.domainConfigRoutes(srv)
	h.epFilterRoutes(srv)
	h.policyRoutes(srv)
	h.consumerRoutes(srv)
}

func (h *Handler) domainConfigRoutes(srv *api.Server) {
	for _, base := range []string{"/v3/domains/{domain_id}/config", "/v3/domains/{domain_id}/config/{group}",
		"/v3/domains/{domain_id}/config/{group}/{option}"} {
		srv.Handle("GET "+base, h.authed(h.getDomainConfig))
		srv.Handle("PATCH "+base, h.authed(h.updateDomainConfig))
		srv.Handle("DELETE "+base, h.authed(h.deleteDomainConfig))
	}
	srv.Handle("PUT /v3/domains/{domain_id}/config", h.authed(h.createDomainConfig))
	srv.Handle("GET /v3/domains/config/default", h.authed(h.defaultDomainConfig("")))
	// The groups are spelled out: /v3/domains/config/{group}/default would
	// clash with /v3/domains/{domain_id}/config/{group} on
	// /v3/domains/config/config/default. An unsupported group is a 404 here
	// rather than keystone's 403.
	for _, g := range identity.DomainConfigGroups() {
		srv.Handle("GET /v3/domains/config/"+g+"/default", h.authed(h.defaultDomainConfig(g)))
		srv.Handle("GET /v3/domains/config/"+g+"/{option}/default", h.authed(h.defaultDomainConfig(g)))
	}
}

// decodeExact unmarshals raw JSON into v with numbers kept as json.Number, as
// the request decoder does, so option values keep their exact digits.
func decodeExact(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}

// decodeConfig reads {"config": {...}}; a body without "config" is an empty
// configuration, as in keystone. Numbers stay exact.
func (h *Handler) decodeConfig(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	var body map[string]json.RawMessage
	if !h.decode(w, r, &body) {
		return nil, false
	}
	cfg := map[string]any{}
	if raw, ok := body["config"]; ok {
		if err := decodeExact(raw, &cfg); err != nil || cfg == nil {
			writeError(w, r, typeError("config", raw, "object"))
			return nil, false
		}
	}
	return cfg, true
}

// createDomainConfig serves PUT /v3/domains/{domain_id}/config (api-ref:
// "Create domain configuration"): 201 for a new configuration, 200 when it
// replaces one.
func (h *Handler) createDomainConfig(w http.ResponseWriter, r *http.Request) {
	cfg, ok := h.decodeConfig(w, r)
	if !ok {
		return
	}
	shown, created, err := h.svc.CreateDomainConfig(r.Context(), r.PathValue("domain_id"), cfg)
	if err != nil {
		writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	api.WriteJSON(w, status, map[string]any{"config": shown})
}

// getDomainConfig serves GET and HEAD /v3/domains/{domain_id}/config[/{group}[/{option}]]
// (api-ref: "Show domain configuration", "Show domain group configuration",
// "Show domain group option configuration").
func (h *Handler) getDomainConfig(w http.ResponseWriter, r *http.Request) {
	cfg, err := h.svc.GetDomainConfig(r.Context(), r.PathValue("domain_id"), r.PathValue("group"), r.PathValue("option"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"config": cfg})
}

// updateDomainConfig serves PATCH /v3/domains/{domain_id}/config[/{group}[/{option}]]
// (api-ref: "Update domain configuration" and its group and option forms);
// the answer is the whole configuration.
func (h *Handler) updateDomainConfig(w http.ResponseWriter, r *http.Request) {
	cfg, ok := h.decodeConfig(w, r)
	if !ok {
		return
	}
	shown, err := h.svc.UpdateDomainConfig(r.Context(), r.PathValue("domain_id"), r.PathValue("group"),
		r.PathValue("option"), cfg)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"config": shown})
}

// deleteDomainConfig serves DELETE /v3/domains/{domain_id}/config[/{group}[/{option}]].
func (h *Handler) deleteDomainConfig(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.DeleteDomainConfig(r.Context(), r.PathValue("domain_id"), r.PathValue("group"),
		r.PathValue("option")))
}

// defaultDomainConfig serves GET and HEAD /v3/domains/config/default, and
// for group /v3/domains/config/{group}/default and
// /v3/domains/config/{group}/{option}/default (api-ref: "Show default
// configuration settings" and its group and option forms).
func (h *Handler) defaultDomainConfig(group string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cfg, err := h.svc.DefaultDomainConfig(r.Context(), group, r.PathValue("option"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"config": cfg})
	}
}

// domainProjectView renders a domain as keystone's projects API shows a
// project acting as a domain: is_domain true, no domain and no parent.
func domainProjectView(r *http.Request, d identity.Domain) map[string]any {
	tags, opts := d.Tags, d.Options
	if tags == nil {
		tags = []string{}
	}
	if opts == nil {
		opts = map[string]any{}
	}
	return map[string]any{"id": d.ID, "name": d.Name, "domain_id": nil, "parent_id": nil, "is_domain": true,
		"enabled": d.Enabled, "description": d.Description, "tags": tags, "options": opts,
		"links": selfLink(r, "/v3/projects/"+d.ID)}
}

// actsAsDomain reports whether err, the answer to a /v3/projects/{project_id}
// call, is a 404 for an id that names a domain, which keystone's projects API
// serves as a project acting as a domain.
func (h *Handler) actsAsDomain(r *http.Request, err error) bool {
	return errors.Is(err, identity.ErrNotFound) && h.svc.ActsAsDomain(r.Context(), r.PathValue("project_id"))
}

// createDomainProject serves POST /v3/projects with is_domain true.
func (h *Handler) createDomainProject(w http.ResponseWriter, r *http.Request, in identity.ProjectCreate) {
	d, err := h.svc.CreateDomainProject(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"project": domainProjectView(r, d)})
}

// listDomainProjects serves GET /v3/projects?is_domain=true.
func (h *Handler) listDomainProjects(w http.ResponseWriter, r *http.Request, q identity.ProjectQuery) {
	ds, err := h.svc.ListDomainProjects(r.Context(), q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]any, len(ds))
	for i, d := range ds {
		views[i] = domainProjectView(r, d)
	}
	h.writeEntityList(w, r, "projects", views)
}

// getDomainProject serves GET /v3/projects/{project_id} for a domain.
func (h *Handler) getDomainProject(w http.ResponseWriter, r *http.Request) {
	d, err := h.svc.GetDomainProject(r.Context(), r.PathValue("project_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"project": domainProjectView(r, d)})
}

// updateDomainProject serves PATCH /v3/projects/{project_id} for a domain.
func (h *Handler) updateDomainProject(w http.ResponseWriter, r *http.Request, u identity.ProjectUpdate) {
	d, err := h.svc.UpdateDomainProject(r.Context(), r.PathValue("project_id"), u)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"project": domainProjectView(r, d)})
}

// deleteDomainProject serves DELETE /v3/projects/{project_id} for a domain.
func (h *Handler) deleteDomainProject(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.DeleteDomainProject(r.Context(), r.PathValue("project_id")))
}

// extraAttributes decodes the members of an entity that are not in known:
// the extra attributes keystone keeps for policies and consumers.
func (e entity) extraAttributes(known ...string) (map[string]any, error) {
	var extra map[string]any
	for k, raw := range e {
		if slices.Contains(known, k) {
			continue
		}
		var v any
		if err := decodeExact(raw, &v); err != nil {
			return nil, typeError(k, raw, "JSON value")
		}
		if extra == nil {
			extra = map[string]any{}
		}
		extra[k] = v
	}
	return extra, nil
}

// withExtra renders an entity's extra attributes at the top level, under its
// own members.
func withExtra(extra, members map[string]any) map[string]any {
	v := make(map[string]any, len(extra)+len(members))
	for k, x := range extra {
		v[k] = x
	}
	for k, x := range members {
		v[k] = x
	}
	return v
}
