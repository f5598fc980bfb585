package computehttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// serverPartRoutes are the resources of a server: metadata, tags,
// addresses and actions.
func (h *Handler) serverPartRoutes(srv *api.Server) {
	h.route(srv, "GET /v2.1/servers/{server_id}/metadata", h.listMetadata)
	h.route(srv, "POST /v2.1/servers/{server_id}/metadata", h.writeMetadata(compute.MetadataMerge))
	h.route(srv, "PUT /v2.1/servers/{server_id}/metadata", h.writeMetadata(compute.MetadataReplace))
	h.route(srv, "GET /v2.1/servers/{server_id}/metadata/{key}", h.showMetadataItem)
	h.route(srv, "PUT /v2.1/servers/{server_id}/metadata/{key}", h.setMetadataItem)
	h.route(srv, "DELETE /v2.1/servers/{server_id}/metadata/{key}", h.deleteMetadataItem)
	h.route(srv, "GET /v2.1/servers/{server_id}/tags", h.listTags)
	h.route(srv, "PUT /v2.1/servers/{server_id}/tags", h.replaceTags)
	h.route(srv, "DELETE /v2.1/servers/{server_id}/tags", h.deleteTags)
	h.route(srv, "GET /v2.1/servers/{server_id}/tags/{tag}", h.checkTag)
	h.route(srv, "PUT /v2.1/servers/{server_id}/tags/{tag}", h.addTag)
	h.route(srv, "DELETE /v2.1/servers/{server_id}/tags/{tag}", h.deleteTag)
	h.route(srv, "GET /v2.1/servers/{server_id}/ips", h.listIPs)
	h.route(srv, "GET /v2.1/servers/{server_id}/ips/{network_label}", h.showIPs)
	h.route(srv, "GET /v2.1/servers/{server_id}/os-instance-actions", h.listActions)
	h.route(srv, "GET /v2.1/servers/{server_id}/os-instance-actions/{request_id}", h.showAction)
}

func (h *Handler) listMetadata(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	md, err := h.svc.ServerMetadata(r.Context(), r.PathValue("server_id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"metadata": nonNilMeta(md)})
	return nil
}

func (h *Handler) writeMetadata(mode int) versioned {
	return func(w http.ResponseWriter, r *http.Request, _ api.Version) error {
		body, err := h.readBody(w, r)
		if err != nil {
			return err
		}
		if err := validateBody(metadataBody, body); err != nil {
			return err
		}
		md, err := h.svc.UpdateServerMetadata(r.Context(), r.PathValue("server_id"),
			stringMap(body.(map[string]any)["metadata"]), mode)
		if err != nil {
			return err
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"metadata": nonNilMeta(md)})
		return nil
	}
}

func (h *Handler) showMetadataItem(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	key := r.PathValue("key")
	val, err := h.svc.ServerMetadataItem(r.Context(), r.PathValue("server_id"), key)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"meta": map[string]string{key: val}})
	return nil
}

func (h *Handler) setMetadataItem(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	if err := validateBody(metadataUpdate, body); err != nil {
		return err
	}
	item := stringMap(body.(map[string]any)["meta"])
	key := r.PathValue("key")
	if _, ok := item[key]; !ok {
		return api.BadRequest("Request body and URI mismatch")
	}
	if _, err := h.svc.UpdateServerMetadata(r.Context(), r.PathValue("server_id"), item, compute.MetadataItem); err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"meta": item})
	return nil
}

func (h *Handler) deleteMetadataItem(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	if err := h.svc.DeleteServerMetadataItem(r.Context(), r.PathValue("server_id"), r.PathValue("key")); err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}

// tagsVersion is the microversion that added server tags.
const tagsVersion = 26

func (h *Handler) listTags(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if !at(v, tagsVersion) {
		return notFound()
	}
	tags, err := h.svc.ServerTags(r.Context(), r.PathValue("server_id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"tags": nonNilTags(tags)})
	return nil
}

func (h *Handler) replaceTags(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if !at(v, tagsVersion) {
		return notFound()
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	if err := validateBody(tagsBody, body); err != nil {
		return err
	}
	tags, err := h.svc.SetServerTags(r.Context(), r.PathValue("server_id"), stringList(body.(map[string]any)["tags"]))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"tags": nonNilTags(tags)})
	return nil
}

func (h *Handler) deleteTags(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if !at(v, tagsVersion) {
		return notFound()
	}
	if err := h.svc.DeleteServerTags(r.Context(), r.PathValue("server_id")); err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}

func (h *Handler) checkTag(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if !at(v, tagsVersion) {
		return notFound()
	}
	if err := h.svc.CheckServerTag(r.Context(), r.PathValue("server_id"), r.PathValue("tag")); err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}

func (h *Handler) addTag(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if !at(v, tagsVersion) {
		return notFound()
	}
	id, tag := r.PathValue("server_id"), r.PathValue("tag")
	if e := tagParam.check(nil, tag); e != nil {
		return api.BadRequest("Tag '%s' is invalid. It must be a non empty string without characters '/' and ','. "+
			"Validation error message: %s", tag, e.message)
	}
	added, err := h.svc.AddServerTag(r.Context(), id, tag)
	if err != nil {
		return err
	}
	if !added {
		noContent(w, http.StatusNoContent)
		return nil
	}
	w.Header().Set("Location", api.BaseURL(r)+"/v2.1/servers/"+id+"/tags/"+tag)
	noContent(w, http.StatusCreated)
	return nil
}

func (h *Handler) deleteTag(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if !at(v, tagsVersion) {
		return notFound()
	}
	if err := h.svc.DeleteServerTag(r.Context(), r.PathValue("server_id"), r.PathValue("tag")); err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}

// addressView renders addresses by network label (api-ref "Servers IPs").
func addressView(addrs []compute.Address) []map[string]any {
	out := make([]map[string]any, len(addrs))
	for i, a := range addrs {
		out[i] = map[string]any{"version": a.Version, "addr": a.Addr}
	}
	return out
}

func (h *Handler) listIPs(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	nets, err := h.svc.ServerAddresses(r.Context(), r.PathValue("server_id"))
	if err != nil {
		return err
	}
	out := map[string]any{}
	for label, addrs := range nets {
		out[label] = addressView(addrs)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"addresses": out})
	return nil
}

func (h *Handler) showIPs(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	label := r.PathValue("network_label")
	addrs, err := h.svc.ServerNetworkAddresses(r.Context(), r.PathValue("server_id"), label)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{label: addressView(addrs)})
	return nil
}

func (h *Handler) listActions(w http.ResponseWriter, r *http.Request, v api.Version) error {
	q := r.URL.Query()
	o := compute.ActionListOptions{Paged: at(v, 58), ReadDeleted: at(v, 21)}
	if o.Paged {
		s := actionsQueryV258
		if at(v, 66) {
			s = actionsQueryV266
		}
		if err := validateQuery(s, q); err != nil {
			return err
		}
		o.ChangesSince, _ = last(q, "changes-since")
		o.ChangesBefore, _ = last(q, "changes-before")
		var err error
		if o.Limit, o.Marker, err = page(q); err != nil {
			return err
		}
	}
	id := r.PathValue("server_id")
	actions, err := h.svc.ServerActions(r.Context(), id, o)
	if err != nil {
		return err
	}
	views := make([]map[string]any, len(actions))
	for i, a := range actions {
		views[i] = actionView(v, a)
	}
	body := map[string]any{"instanceActions": views}
	if o.Paged && len(actions) > 0 {
		if next := h.nextLink(r, "servers/"+id+"/os-instance-actions", len(actions), actions[len(actions)-1].RequestID); next != nil {
			body["links"] = next
		}
	}
	api.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (h *Handler) showAction(w http.ResponseWriter, r *http.Request, v api.Version) error {
	a, inst, av, err := h.svc.ServerAction(r.Context(), r.PathValue("server_id"), r.PathValue("request_id"), at(v, 21),
		at(v, 51), at(v, 62), at(v, 84))
	if err != nil {
		return err
	}
	view := actionView(v, a)
	if av.Events {
		project := a.ProjectID
		if project == "" {
			project = inst.ProjectID
		}
		events := make([]map[string]any, len(a.Events))
		for i, e := range a.Events {
			events[i] = eventView(v, e, av, project)
		}
		view["events"] = events
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"instanceAction": view})
	return nil
}
