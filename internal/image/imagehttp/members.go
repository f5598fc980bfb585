package imagehttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// memberView is an image member as glance renders it (api-ref "Image members").
type memberView struct {
	CreatedAt string `json:"created_at"`
	ImageID   string `json:"image_id"`
	MemberID  string `json:"member_id"`
	Schema    string `json:"schema"`
	Status    string `json:"status"`
	UpdatedAt string `json:"updated_at"`
}

func newMemberView(m image.Member) memberView {
	return memberView{CreatedAt: imageTime(m.CreatedAt), ImageID: m.ImageID, MemberID: m.MemberID,
		Schema: "/v2/schemas/member", Status: string(m.Status), UpdatedAt: imageTime(m.UpdatedAt)}
}

// createMemberRequest is the body of POST /v2/images/{image_id}/members.
type createMemberRequest struct {
	Member *string `json:"member"`
}

// updateMemberRequest is the body of PUT /v2/images/{image_id}/members/{member_id}.
type updateMemberRequest struct {
	Status *string `json:"status"`
}

func (h *Handler) memberRoutes(srv *api.Server) {
	srv.Handle("POST /v2/images/{image_id}/members", h.mw.RequireFunc(h.createMember))
	srv.Handle("GET /v2/images/{image_id}/members", h.mw.RequireFunc(h.listMembers))
	srv.Handle("GET /v2/images/{image_id}/members/{member_id}", h.mw.RequireFunc(h.getMember))
	srv.Handle("PUT /v2/images/{image_id}/members/{member_id}", h.mw.RequireFunc(h.updateMember))
	srv.Handle("DELETE /v2/images/{image_id}/members/{member_id}", h.mw.RequireFunc(h.deleteMember))
}

// createMember is POST /v2/images/{image_id}/members.
func (h *Handler) createMember(w http.ResponseWriter, r *http.Request) {
	var req createMemberRequest
	if err := h.readJSON(w, r, &req); err != nil {
		writeError(w, r, api.BadRequest("Member to be added not specified"))
		return
	}
	if req.Member == nil {
		writeError(w, r, api.BadRequest("Member to be added not specified"))
		return
	}
	m, err := h.svc.CreateMember(r.Context(), r.PathValue("image_id"), *req.Member)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, newMemberView(m))
}

// listMembers is GET /v2/images/{image_id}/members.
func (h *Handler) listMembers(w http.ResponseWriter, r *http.Request) {
	ms, err := h.svc.ListMembers(r.Context(), r.PathValue("image_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]memberView, len(ms))
	for i, m := range ms {
		views[i] = newMemberView(m)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"members": views, "schema": "/v2/schemas/members"})
}

// getMember is GET /v2/images/{image_id}/members/{member_id}.
func (h *Handler) getMember(w http.ResponseWriter, r *http.Request) {
	m, err := h.svc.GetMember(r.Context(), r.PathValue("image_id"), r.PathValue("member_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, newMemberView(m))
}

// updateMember is PUT /v2/images/{image_id}/members/{member_id}.
func (h *Handler) updateMember(w http.ResponseWriter, r *http.Request) {
	var req updateMemberRequest
	if err := h.readJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.Status == nil {
		writeError(w, r, api.BadRequest("Status not specified"))
		return
	}
	m, err := h.svc.UpdateMember(r.Context(), r.PathValue("image_id"), r.PathValue("member_id"),
		image.MemberStatus(*req.Status))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, newMemberView(m))
}

// deleteMember is DELETE /v2/images/{image_id}/members/{member_id}.
func (h *Handler) deleteMember(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteMember(r.Context(), r.PathValue("image_id"), r.PathValue("member_id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
