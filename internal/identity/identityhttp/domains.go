package identityhttp

import (
	"encoding/json"
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func (h *Handler) domainRoutes(srv *api.Server) {
	srv.Handle("POST /v3/domains", h.authed(h.createDomain))
	srv.Handle("GET /v3/domains", h.authed(h.listDomains))
	srv.Handle("GET /v3/domains/{domain_id}", h.authed(h.getDomain))
	srv.Handle("PATCH /v3/domains/{domain_id}", h.authed(h.updateDomain))
	srv.Handle("DELETE /v3/domains/{domain_id}", h.authed(h.deleteDomain))
	srv.Handle("GET /v3/auth/domains", h.authed(h.authDomains))
}

// domainView is a domain as keystone renders it (api-ref: identity v3,
// "Domains", "Show domain details"; tags since v3.10).
type domainView struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Enabled     bool           `json:"enabled"`
	Tags        []string       `json:"tags"`
	Options     map[string]any `json:"options"`
	Links       map[string]any `json:"links"`
}

func newDomainView(r *http.Request, d identity.Domain) domainView {
	v := domainView{ID: d.ID, Name: d.Name, Description: d.Description, Enabled: d.Enabled,
		Tags: d.Tags, Options: d.Options, Links: selfLink(r, "/v3/domains/"+d.ID)}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	if v.Options == nil {
		v.Options = map[string]any{}
	}
	return v
}

// createDomain serves POST /v3/domains (api-ref: "Create domain"):
// {"domain": {"name", "description", "enabled", "tags", "options", "explicit_domain_id"}}.
func (h *Handler) createDomain(w http.ResponseWriter, r *http.Request) {
	e, ok := h.decodeEntity(w, r, "domain")
	if !ok {
		return
	}
	var in identity.DomainCreate
	err := e.require("name")
	if err == nil {
		err = e.fields(
			e.strInto("name", &in.Name),
			e.strInto("explicit_domain_id", &in.ID),
			e.nullableStrInto("description", &in.Description),
			e.boolInto("enabled", &in.Enabled),
			e.listInto("tags", &in.Tags),
			e.objectInto("options", &in.Options))
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	d, err := h.svc.CreateDomain(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"domain": newDomainView(r, d)})
}

// listDomains serves GET /v3/domains (api-ref: "List domains"), filtered by
// name and enabled.
func (h *Handler) listDomains(w http.ResponseWriter, r *http.Request) {
	f := identity.DomainFilter{Name: r.URL.Query().Get("name"), Enabled: optionalBool(r, "enabled")}
	ds, err := h.svc.ListDomains(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.writeDomains(w, r, ds)
}

func (h *Handler) writeDomains(w http.ResponseWriter, r *http.Request, ds []identity.Domain) {
	views := make([]any, len(ds))
	for i, d := range ds {
		views[i] = newDomainView(r, d)
	}
	h.writeEntityList(w, r, "domains", views)
}

// getDomain serves GET /v3/domains/{domain_id} (api-ref: "Show domain details").
func (h *Handler) getDomain(w http.ResponseWriter, r *http.Request) {
	d, err := h.svc.GetDomain(r.Context(), r.PathValue("domain_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"domain": newDomainView(r, d)})
}

// updateDomain serves PATCH /v3/domains/{domain_id} (api-ref: "Update domain").
func (h *Handler) updateDomain(w http.ResponseWriter, r *http.Request) {
	e, ok := h.decodeEntity(w, r, "domain")
	if !ok {
		return
	}
	var u identity.DomainUpdate
	err := e.notEmpty()
	if err == nil {
		err = e.fields(
			e.strPtr("name", &u.Name),
			e.nullableStrPtr("description", &u.Description),
			e.boolInto("enabled", &u.Enabled),
			e.listPtr("tags", &u.Tags),
			e.objectInto("options", &u.Options))
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	d, err := h.svc.UpdateDomain(r.Context(), r.PathValue("domain_id"), u)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"domain": newDomainView(r, d)})
}

// deleteDomain serves DELETE /v3/domains/{domain_id} (api-ref: "Delete domain").
func (h *Handler) deleteDomain(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteDomain(r.Context(), r.PathValue("domain_id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// authDomains serves GET /v3/auth/domains (api-ref: "Get available domain
// scopes").
func (h *Handler) authDomains(w http.ResponseWriter, r *http.Request) {
	ds, err := h.svc.AuthDomains(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.writeDomains(w, r, ds)
}

// writeEntityList renders a keystone collection: {"<key>": [...], "links": {...}},
// truncated to [identity] list_limit with "truncated": true as keystone does.
func (h *Handler) writeEntityList(w http.ResponseWriter, r *http.Request, key string, views []any) {
	body := map[string]any{"links": collectionLinks(r)}
	if limit := h.svc.Config().ListLimit; limit > 0 && len(views) > limit {
		views = views[:limit]
		body["truncated"] = true
	}
	body[key] = views
	api.WriteJSON(w, http.StatusOK, body)
}

// entity is one object of a request body (the value of "user", "project", ...)
// with its members still raw, so each is typed and checked on its own and the
// members keystone has no field for can be kept (a user's extra attributes).
type entity map[string]json.RawMessage

// decodeEntity reads a body of the form {"<key>": {...}}; on failure it writes
// the error and returns false.
func (h *Handler) decodeEntity(w http.ResponseWriter, r *http.Request, key string) (entity, bool) {
	var body map[string]json.RawMessage
	if !h.decode(w, r, &body) {
		return nil, false
	}
	raw, ok := body[key]
	if !ok {
		writeError(w, r, api.BadRequest("'%s' is a required property", key))
		return nil, false
	}
	var e entity
	if err := json.Unmarshal(raw, &e); err != nil || e == nil {
		writeError(w, r, typeError(key, raw, "object"))
		return nil, false
	}
	return e, true
}

// typeError is keystone's schema message for a member of the wrong JSON type.
func typeError(field string, raw json.RawMessage, want string) error {
	shown := string(raw)
	if len(shown) > 64 {
		shown = shown[:61] + "..."
	}
	return api.BadRequest("Invalid input for field '%s': %s is not of type '%s'", field, shown, want)
}

// require fails when the entity lacks a member.
func (e entity) require(name string) error {
	if _, ok := e[name]; !ok {
		return api.BadRequest("'%s' is a required property", name)
	}
	return nil
}

// notEmpty fails on {}: an update must change something (keystone's minProperties).
func (e entity) notEmpty() error {
	if len(e) == 0 {
		return api.BadRequest("{} does not have enough properties")
	}
	return nil
}

// fields returns the first error of a series of member decodes.
func (e entity) fields(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// decodeMember unmarshals one present member into dst, or reports its type.
// null is accepted only when nullable; it leaves dst untouched and reports
// present=true, null=true.
func (e entity) decodeMember(name, want string, nullable bool, dst any) (present, null bool, err error) {
	raw, ok := e[name]
	if !ok {
		return false, false, nil
	}
	if string(raw) == "null" {
		if !nullable {
			return true, true, typeError(name, raw, want)
		}
		return true, true, nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		if name == "password" || name == "original_password" {
			return true, false, api.BadRequest("Invalid input for field '%s': the value is not of type '%s'", name, want)
		}
		return true, false, typeError(name, raw, want)
	}
	return true, false, nil
}

// strInto sets *dst from a string member.
func (e entity) strInto(name string, dst *string) error {
	_, _, err := e.decodeMember(name, "string", false, dst)
	return err
}

// nullableStrInto sets *dst from a string member; null leaves "".
func (e entity) nullableStrInto(name string, dst *string) error {
	_, _, err := e.decodeMember(name, "string', 'null", true, dst)
	return err
}

// strPtr points *dst at a present string member.
func (e entity) strPtr(name string, dst **string) error {
	var v string
	present, _, err := e.decodeMember(name, "string", false, &v)
	if present && err == nil {
		*dst = &v
	}
	return err
}

// nullableStrPtr points *dst at a present string member, null reading as "".
func (e entity) nullableStrPtr(name string, dst **string) error {
	var v string
	present, _, err := e.decodeMember(name, "string', 'null", true, &v)
	if present && err == nil {
		*dst = &v
	}
	return err
}

// boolInto points *dst at a present boolean member.
func (e entity) boolInto(name string, dst **bool) error {
	var v bool
	present, _, err := e.decodeMember(name, "boolean", false, &v)
	if present && err == nil {
		*dst = &v
	}
	return err
}

// listInto sets *dst from an array-of-strings member.
func (e entity) listInto(name string, dst *[]string) error {
	_, _, err := e.decodeMember(name, "array", false, dst)
	return err
}

// listPtr points *dst at a present array-of-strings member.
func (e entity) listPtr(name string, dst **[]string) error {
	var v []string
	present, _, err := e.decodeMember(name, "array", false, &v)
	if present && err == nil {
		if v == nil {
			v = []string{}
		}
		*dst = &v
	}
	return err
}

// objectInto sets *dst from an object member (resource options); a present
// empty object gives an empty, non-nil map.
func (e entity) objectInto(name string, dst *map[string]any) error {
	var v map[string]any
	present, _, err := e.decodeMember(name, "object", false, &v)
	if present && err == nil {
		if v == nil {
			v = map[string]any{}
		}
		*dst = v
	}
	return err
}
