package identityhttp

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func (h *Handler) credentialRoutes(srv *api.Server) {
	srv.Handle("POST /v3/credentials", h.authed(h.createCredential))
	srv.Handle("GET /v3/credentials", h.authed(h.listCredentials))
	srv.Handle("GET /v3/credentials/{credential_id}", h.authed(h.getCredential))
	srv.Handle("PATCH /v3/credentials/{credential_id}", h.authed(h.updateCredential))
	srv.Handle("DELETE /v3/credentials/{credential_id}", h.authed(h.deleteCredential))
	srv.Handle("POST /v3/users/{user_id}/credentials/OS-EC2", h.authed(h.createEC2Credential))
	srv.Handle("GET /v3/users/{user_id}/credentials/OS-EC2", h.authed(h.listEC2Credentials))
	srv.Handle("GET /v3/users/{user_id}/credentials/OS-EC2/{credential_id}", h.authed(h.getEC2Credential))
	srv.Handle("DELETE /v3/users/{user_id}/credentials/OS-EC2/{credential_id}", h.authed(h.deleteEC2Credential))
}

// credentialMembers are the members of a credential object that are not extra
// attributes.
var credentialMembers = []string{"id", "user_id", "project_id", "type", "blob", "links"}

// attributeName normalizes an extra attribute's name as keystone does.
var attributeName = strings.NewReplacer(":", "_", "-", "_")

// credentialView renders a credential as keystone does (api-ref: identity v3,
// "Credentials", "Show credential details"): blob is the JSON string the client
// stored, project_id is null when unset, and extra attributes appear as
// top-level members.
func credentialView(r *http.Request, c identity.Credential) map[string]any {
	v := make(map[string]any, len(c.Extra)+6)
	for k, x := range c.Extra {
		v[k] = x
	}
	v["id"], v["user_id"], v["type"], v["blob"] = c.ID, c.UserID, c.Type, c.Blob
	v["project_id"] = nullIfEmpty(c.ProjectID)
	v["links"] = selfLink(r, "/v3/credentials/"+c.ID)
	return v
}

// credentialExtra decodes the members of a credential object that are extra
// attributes, with keystone's normalized names (':' and '-' become '_').
func (e entity) credentialExtra() (map[string]any, error) {
	var extra map[string]any
	for k, raw := range e {
		if slices.Contains(credentialMembers, k) {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, typeError(k, raw, "JSON value")
		}
		if extra == nil {
			extra = map[string]any{}
		}
		extra[attributeName.Replace(k)] = v
	}
	return extra, nil
}

// createCredential serves POST /v3/credentials (api-ref: "Create credential"):
// {"credential": {"user_id", "type", "blob", "project_id", <extra>...}}; an
// ec2 credential needs project_id. A given id is ignored, as in keystone.
func (h *Handler) createCredential(w http.ResponseWriter, r *http.Request) {
	e, ok := h.decodeEntity(w, r, "credential")
	if !ok {
		return
	}
	var (
		in identity.CredentialCreate
		id string
	)
	err := e.fields(e.require("blob"), e.require("type"), e.require("user_id"))
	if err == nil {
		err = e.fields(
			e.strInto("id", &id),
			e.strInto("blob", &in.Blob),
			e.strInto("type", &in.Type),
			e.strInto("user_id", &in.UserID),
			e.nullableStrInto("project_id", &in.ProjectID))
	}
	if err == nil {
		in.Extra, err = e.credentialExtra()
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	c, err := h.svc.CreateCredential(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"credential": credentialView(r, c)})
}

// listCredentials serves GET /v3/credentials (api-ref: "List credentials"),
// filtered by user_id and type.
func (h *Handler) listCredentials(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cs, err := h.svc.ListCredentials(r.Context(), identity.CredentialFilter{UserID: q.Get("user_id"), Type: q.Get("type")})
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]any, len(cs))
	for i, c := range cs {
		views[i] = credentialView(r, c)
	}
	h.writeEntityList(w, r, "credentials", views)
}

// getCredential serves GET /v3/credentials/{credential_id} (api-ref: "Show
// credential details").
func (h *Handler) getCredential(w http.ResponseWriter, r *http.Request) {
	c, err := h.svc.GetCredential(r.Context(), r.PathValue("credential_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"credential": credentialView(r, c)})
}

// updateCredential serves PATCH /v3/credentials/{credential_id} (api-ref:
// "Update credential"): any of user_id, project_id (null clears it), type,
// blob and extra attributes; id may only repeat the credential's.
func (h *Handler) updateCredential(w http.ResponseWriter, r *http.Request) {
	e, ok := h.decodeEntity(w, r, "credential")
	if !ok {
		return
	}
	var up identity.CredentialUpdate
	err := e.notEmpty()
	if err == nil {
		err = e.fields(
			e.strPtr("id", &up.ID),
			e.strPtr("user_id", &up.UserID),
			e.strPtr("type", &up.Type),
			e.strPtr("blob", &up.Blob),
			e.nullableStrPtr("project_id", &up.ProjectID))
	}
	if err == nil {
		up.Extra, err = e.credentialExtra()
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	c, err := h.svc.UpdateCredential(r.Context(), r.PathValue("credential_id"), up)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"credential": credentialView(r, c)})
}

// deleteCredential serves DELETE /v3/credentials/{credential_id} (api-ref:
// "Delete credential").
func (h *Handler) deleteCredential(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.DeleteCredential(r.Context(), r.PathValue("credential_id")))
}

// ec2CredentialView is an EC2 key pair as keystone's OS-EC2 extension renders
// it (api-ref: identity v2-ext "OS-KSEC2", served by keystone on v3 under
// /v3/users/{user_id}/credentials/OS-EC2); links.self names it by access key.
type ec2CredentialView struct {
	UserID   string         `json:"user_id"`
	TenantID *string        `json:"tenant_id"`
	Access   string         `json:"access"`
	Secret   string         `json:"secret"`
	TrustID  *string        `json:"trust_id"`
	Links    map[string]any `json:"links"`
}

func newEC2CredentialView(r *http.Request, c identity.EC2Credential) ec2CredentialView {
	return ec2CredentialView{UserID: c.UserID, TenantID: nullIfEmpty(c.TenantID), Access: c.Access,
		Secret: c.Secret, TrustID: nullIfEmpty(c.TrustID),
		Links: selfLink(r, "/v3/users/"+c.UserID+"/credentials/OS-EC2/"+c.Access)}
}

// createEC2Credential serves POST /v3/users/{user_id}/credentials/OS-EC2:
// {"tenant_id": "<project id>"}.
func (h *Handler) createEC2Credential(w http.ResponseWriter, r *http.Request) {
	var body entity
	if !h.decode(w, r, &body) {
		return
	}
	if body == nil {
		writeError(w, r, api.BadRequest("Invalid input for field/attribute request body: it is not an object."))
		return
	}
	var tenantID string
	if err := body.nullableStrInto("tenant_id", &tenantID); err != nil {
		writeError(w, r, err)
		return
	}
	c, err := h.svc.CreateEC2Credential(r.Context(), r.PathValue("user_id"), tenantID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"credential": newEC2CredentialView(r, c)})
}

// listEC2Credentials serves GET /v3/users/{user_id}/credentials/OS-EC2.
func (h *Handler) listEC2Credentials(w http.ResponseWriter, r *http.Request) {
	cs, err := h.svc.ListEC2Credentials(r.Context(), r.PathValue("user_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]ec2CredentialView, len(cs))
	for i, c := range cs {
		views[i] = newEC2CredentialView(r, c)
	}
	api.WriteJSON(w, http.StatusOK, listBody(h, r, "credentials", views))
}

// getEC2Credential serves GET /v3/users/{user_id}/credentials/OS-EC2/{credential_id},
// where the credential id is the access key.
func (h *Handler) getEC2Credential(w http.ResponseWriter, r *http.Request) {
	c, err := h.svc.GetEC2Credential(r.Context(), r.PathValue("user_id"), r.PathValue("credential_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"credential": newEC2CredentialView(r, c)})
}

// deleteEC2Credential serves DELETE /v3/users/{user_id}/credentials/OS-EC2/{credential_id},
// where the credential id is the access key.
func (h *Handler) deleteEC2Credential(w http.ResponseWriter, r *http.Request) {
	writeNoContent(w, r, h.svc.DeleteEC2Credential(r.Context(), r.PathValue("user_id"), r.PathValue("credential_id")))
}
