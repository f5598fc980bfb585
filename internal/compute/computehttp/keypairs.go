package computehttp

import (
	"net/http"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// Key pair schemas (schemas/keypairs.py).
var (
	keypairName = &schema{allOf: []*schema{nameParam, {types: []string{"string"}, pattern: `^[_\- a-zA-Z0-9]+$`,
		minLength: intp(1), maxLength: intp(255)}}}
	// keypairNameV292 also allows "@" and ".".
	keypairNameV292 = &schema{allOf: []*schema{nameParam, {types: []string{"string"}, pattern: `^[_\-\@\. a-zA-Z0-9]+$`,
		minLength: intp(1), maxLength: intp(255)}}}
	keypairType = &schema{types: []string{"string"}, enum: []any{"ssh", "x509"}}

	keypairCreateV21 = keypairBody(prop{"name", keypairName}, prop{"public_key", anyString})
	keypairCreateV22 = keypairBody(prop{"name", keypairName}, prop{"type", keypairType},
		prop{"public_key", anyString})
	keypairCreateV210 = keypairBody(prop{"name", keypairName}, prop{"type", keypairType},
		prop{"public_key", anyString}, prop{"user_id", anyString})
	keypairCreateV292 = func() *schema {
		s := keypairBody(prop{"name", keypairNameV292}, prop{"type", keypairType},
			prop{"public_key", anyString}, prop{"user_id", anyString})
		s.props[0].s.required = []string{"name", "public_key"}
		return s
	}()

	keypairQueryV210 = (&schema{types: []string{"object"}, props: []prop{{"user_id", anyString}}}).compile()
	keypairQueryV235 = keypairQueryV210.with([]prop{{"limit", nonNegative}, {"marker", anyString}}).compile()
)

// keypairBody is a {"keypair": {...}} create schema with the given
// properties, name required.
func keypairBody(ps ...prop) *schema {
	return (&schema{types: []string{"object"}, props: []prop{{"keypair", &schema{types: []string{"object"}, props: ps,
		required: []string{"name"}, additional: no()}}}, required: []string{"keypair"}, additional: no()}).compile()
}

func (h *Handler) keypairRoutes(srv *api.Server) {
	h.route(srv, "GET /v2.1/os-keypairs", h.listKeypairs)
	h.route(srv, "POST /v2.1/os-keypairs", h.createKeypair)
	h.route(srv, "GET /v2.1/os-keypairs/{keypair_name}", h.showKeypair)
	h.route(srv, "DELETE /v2.1/os-keypairs/{keypair_name}", h.deleteKeypair)
}

// pyTime is a time as nova's JSON shows a naive datetime: isoformat, with
// microseconds unless they are zero, without a zone.
func pyTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05")
	}
	return t.Format("2006-01-02T15:04:05.000000")
}

// keypairQuery validates the query of key pair routes for the microversion
// (user_id from 2.10, limit and marker for lists from 2.35, nothing else from
// 2.75) and returns the user the request names.
func keypairQuery(r *http.Request, v api.Version, list bool) (string, error) {
	if !at(v, 10) {
		return "", nil
	}
	s := keypairQueryV210
	if list && at(v, 35) {
		s = keypairQueryV235
	}
	if at(v, 75) {
		s = strict(s)
	}
	q := r.URL.Query()
	if err := validateQuery(s, q); err != nil {
		return "", err
	}
	// nova takes the first user_id given.
	if vs := q["user_id"]; len(vs) > 0 {
		return vs[0], nil
	}
	return "", nil
}

func (h *Handler) createKeypair(w http.ResponseWriter, r *http.Request, v api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	s := keypairCreateV21
	switch {
	case at(v, 92):
		s = keypairCreateV292
	case at(v, 10):
		s = keypairCreateV210
	case at(v, 2):
		s = keypairCreateV22
	}
	if err := validateBody(s, body); err != nil {
		return err
	}
	in := body.(map[string]any)["keypair"].(map[string]any)
	kc := compute.KeyPairCreate{Name: strings.TrimSpace(in["name"].(string))}
	if t, ok := in["type"].(string); ok {
		kc.Type = t
	}
	if u, ok := in["user_id"].(string); ok {
		kc.UserID = u
	}
	if pk, ok := in["public_key"].(string); ok {
		kc.PublicKey = &pk
	}
	kp, private, err := h.svc.CreateKeyPair(r.Context(), kc)
	if err != nil {
		return err
	}
	view := map[string]any{"name": kp.Name, "public_key": kp.PublicKey, "fingerprint": kp.Fingerprint,
		"user_id": kp.UserID}
	if kc.PublicKey == nil {
		view["private_key"] = private
	}
	if at(v, 2) {
		view["type"] = kp.Type
	}
	status := http.StatusOK
	if at(v, 2) {
		status = http.StatusCreated
	}
	api.WriteJSON(w, status, map[string]any{"keypair": view})
	return nil
}

func (h *Handler) listKeypairs(w http.ResponseWriter, r *http.Request, v api.Version) error {
	user, err := keypairQuery(r, v, true)
	if err != nil {
		return err
	}
	var (
		limit  *int
		marker *string
	)
	paged := at(v, 35)
	if paged {
		if limit, marker, err = page(r.URL.Query()); err != nil {
			return err
		}
	}
	kps, err := h.svc.KeyPairs(r.Context(), user, marker, limit, !paged)
	if err != nil {
		return err
	}
	list := make([]map[string]any, len(kps))
	for i, kp := range kps {
		item := map[string]any{"name": kp.Name, "public_key": kp.PublicKey, "fingerprint": kp.Fingerprint}
		if at(v, 2) {
			item["type"] = kp.Type
		}
		list[i] = map[string]any{"keypair": item}
	}
	body := map[string]any{"keypairs": list}
	if paged && len(kps) > 0 {
		if next := h.nextLink(r, "os-keypairs", len(kps), kps[len(kps)-1].Name); next != nil {
			body["keypairs_links"] = next
		}
	}
	api.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (h *Handler) showKeypair(w http.ResponseWriter, r *http.Request, v api.Version) error {
	user, err := keypairQuery(r, v, false)
	if err != nil {
		return err
	}
	kp, err := h.svc.KeyPair(r.Context(), user, r.PathValue("keypair_name"))
	if err != nil {
		return err
	}
	// deleted, deleted_at and updated_at are nova's soft-delete columns,
	// kept in the response though key pairs are never soft-deleted.
	view := map[string]any{"name": kp.Name, "public_key": kp.PublicKey, "fingerprint": kp.Fingerprint,
		"user_id": kp.UserID, "created_at": pyTime(kp.CreatedAt), "deleted": false, "deleted_at": nil,
		"id": kp.ID, "updated_at": nil}
	if at(v, 2) {
		view["type"] = kp.Type
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"keypair": view})
	return nil
}

func (h *Handler) deleteKeypair(w http.ResponseWriter, r *http.Request, v api.Version) error {
	user, err := keypairQuery(r, v, false)
	if err != nil {
		return err
	}
	if err := h.svc.DeleteKeyPair(r.Context(), user, r.PathValue("keypair_name")); err != nil {
		return err
	}
	status := http.StatusAccepted
	if at(v, 2) {
		status = http.StatusNoContent
	}
	noContent(w, status)
	return nil
}
