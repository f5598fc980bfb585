package identityhttp

import (
	"encoding/json"
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func (h *Handler) policyRoutes(srv *api.Server) {
	srv.Handle("POST /v3/policies", h.authed(h.createPolicy))
	srv.Handle("GET /v3/policies", h.authed(h.listPolicies))
	srv.Handle("GET /v3/policies/{policy_id}", h.authed(h.getPolicy))
	srv.Handle("PATCH /v3/policies/{policy_id}", h.authed(h.updatePolicy))
	srv.Handle("DELETE /v3/policies/{policy_id}", h.authed(h.deletePolicy))
}

func (h *Handler) consumerRoutes(srv *api.Server) {
	srv.Handle("POST /v3/OS-OAUTH1/consumers", h.authed(h.createConsumer))
	srv.Handle("GET /v3/OS-OAUTH1/consumers", h.authed(h.listConsumers))
	srv.Handle("GET /v3/OS-OAUTH1/consumers/{consumer_id}", h.authed(h.getConsumer))
	srv.Handle("PATCH /v3/OS-OAUTH1/consumers/{consumer_id}", h.authed(h.updateConsumer))
	srv.Handle("DELETE /v3/OS-OAUTH1/consumers/{consumer_id}", h.authed(h.deleteConsumer))
}

// policyMembers are the members of a policy object that are not extra attributes.
var policyMembers = []string{"id", "type", "blob", "links"}

// policyView renders a policy (api-ref: identity v3, "Policies", "Show policy
// details"), extra attributes at the top level.
func policyView(r *http.Request, p identity.Policy) map[string]any {
	return withExtra(p.Extra, map[string]any{"id": p.ID, "type": p.Type, "blob": p.Blob,
		"links": selfLink(r, "/v3/policies/"+p.ID)})
}

// decodePolicy reads {"policy": {"blob", "type", <extra attributes>...}}.
func (h *Handler) decodePolicy(w http.ResponseWriter, r *http.Request) (identity.PolicyUpdate, bool) {
	var u identity.PolicyUpdate
	e, ok := h.decodeEntity(w, r, "policy")
	if !ok {
		return u, false
	}
	err := e.fields(e.strPtr("id", &u.ID), e.strPtr("type", &u.Type), e.strPtr("blob", &u.Blob))
	if err == nil {
		u.Extra, err = e.extraAttributes(policyMembers...)
	}
	if err != nil {
		writeError(w, r, err)
		return u, false
	}
	return u, true
}

// createPolicy serves POST /v3/policies (api-ref: "Create policy"); blob and
// type are required, and any id given is replaced.
func (h *Handler) createPolicy(w http.ResponseWriter, r *http.Request) {
	u, ok := h.decodePolicy(w, r)
	if !ok {
		return
	}
	for _, req := range []struct {
		v    *string
		name string
	}{{u.Blob, "blob"}, {u.Type, "type"}} {
		if req.v == nil {
			writeError(w, r, api.BadRequest("'%s' is a required property", req.name))
			return
		}
	}
	p, err := h.svc.CreatePolicy(r.Context(), identity.Policy{Type: *u.Type, Blob: *u.Blob, Extra: u.Extra})
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"policy": policyView(r, p)})
}

// getPolicy serves GET /v3/policies/{policy_id}.
func (h *Handler) getPolicy(w http.ResponseWriter, r *http.Request) {
	p, err := h.svc.GetPolicy(r.Context(), r.PathValue("policy_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"policy": policyView(r, p)})
}

// listPolicies serves GET /v3/policies, filtered by type.
func (h *Handler) listPolicies(w http.ResponseWriter, r *http.Request) {
	ps, err := h.svc.ListPolicies(r.Context(), r.URL.Query().Get("type"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]any, len(ps))
	for i, p := range ps {
		views[i] = policyView(r, p)
	}
	h.writeEntityList(w, r, "policies", views)
}

// updatePolicy serves PATCH /v3/policies/{policy_id} (api-ref: "Update policy").
func (h *Handler) updatePolicy(w http.ResponseWriter, r *http.Request) {
	u, ok := h.decodePolicy(w, r)
	if !ok {
		return
	}
	if u.ID == nil && u.Type == nil && u.Blob == nil && len(u.Extra) == 0 {
		writeError(w, r, api.BadRequest("{} does not have enough properties"))
		return
	}
	p, err := h.svc.UpdatePolicy(r.Context(), r.PathValue("policy_id"), u)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"policy": policyView(r, p)})
}

// deletePolicy serves DELETE /v3/policies/{policy_id}.
func (h *Handler) deletePolicy(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.DeletePolicy(r.Context(), r.PathValue("policy_id")))
}

// consumerMembers are the members of a consumer object that are not extra attributes.
var consumerMembers = []string{"id", "description", "secret", "links"}

// consumerView renders an OAuth1 consumer (api-ref: identity v3-ext,
// "OS-OAUTH1", "Show consumer details"); the secret only when it is set,
// which is in the answer to the creation.
func consumerView(r *http.Request, c identity.Consumer) map[string]any {
	v := withExtra(c.Extra, map[string]any{"id": c.ID, "description": nullIfEmpty(c.Description),
		"links": selfLink(r, "/v3/OS-OAUTH1/consumers/"+c.ID)})
	if c.Secret != "" {
		v["secret"] = c.Secret
	}
	return v
}

// decodeConsumer reads {"consumer": {"description", <extra attributes>...}};
// on POST the "consumer" member may be absent, as keystone allows.
func (h *Handler) decodeConsumer(w http.ResponseWriter, r *http.Request, create bool) (entity, identity.ConsumerUpdate, bool) {
	var u identity.ConsumerUpdate
	var body map[string]json.RawMessage
	if !h.decode(w, r, &body) {
		return nil, u, false
	}
	e := entity{}
	raw, ok := body["consumer"]
	var err error
	switch {
	case !ok && !create:
		err = api.BadRequest("'consumer' is a required property")
	case ok:
		if json.Unmarshal(raw, &e) != nil || e == nil {
			err = typeError("consumer", raw, "object")
		}
	}
	if err == nil {
		err = e.fields(e.strPtr("id", &u.ID), e.nullableStrPtr("description", &u.Description))
	}
	if err == nil {
		u.Extra, err = e.extraAttributes(consumerMembers...)
	}
	if err != nil {
		writeError(w, r, err)
		return nil, u, false
	}
	return e, u, true
}

// createConsumer serves POST /v3/OS-OAUTH1/consumers (api-ref: "Create
// consumer"); the answer carries the generated secret, which is never shown again.
func (h *Handler) createConsumer(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.decodeConsumer(w, r, true)
	if !ok {
		return
	}
	desc := ""
	if u.Description != nil {
		desc = *u.Description
	}
	c, err := h.svc.CreateConsumer(r.Context(), desc, u.Extra)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"consumer": consumerView(r, c)})
}

// getConsumer serves GET /v3/OS-OAUTH1/consumers/{consumer_id}.
func (h *Handler) getConsumer(w http.ResponseWriter, r *http.Request) {
	c, err := h.svc.GetConsumer(r.Context(), r.PathValue("consumer_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"consumer": consumerView(r, c)})
}

// listConsumers serves GET /v3/OS-OAUTH1/consumers.
func (h *Handler) listConsumers(w http.ResponseWriter, r *http.Request) {
	cs, err := h.svc.ListConsumers(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]any, len(cs))
	for i, c := range cs {
		views[i] = consumerView(r, c)
	}
	h.writeEntityList(w, r, "consumers", views)
}

// updateConsumer serves PATCH /v3/OS-OAUTH1/consumers/{consumer_id} (api-ref:
// "Update consumer"); the secret cannot be changed.
func (h *Handler) updateConsumer(w http.ResponseWriter, r *http.Request) {
	e, u, ok := h.decodeConsumer(w, r, false)
	if !ok {
		return
	}
	err := e.notEmpty()
	if _, secret := e["secret"]; err == nil && secret {
		err = api.BadRequest("Invalid input for field 'consumer': the secret of a consumer cannot be changed")
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	c, err := h.svc.UpdateConsumer(r.Context(), r.PathValue("consumer_id"), u)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"consumer": consumerView(r, c)})
}

// deleteConsumer serves DELETE /v3/OS-OAUTH1/consumers/{consumer_id}.
func (h *Handler) deleteConsumer(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.DeleteConsumer(r.Context(), r.PathValue("consumer_id")))
}
