package imagehttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// taskRoutes adds the task routes (api-ref image v2 "Tasks", and "Show image
// tasks" since 2.12).
func (h *Handler) taskRoutes(srv *api.Server) {
	srv.Handle("GET /v2/images/{image_id}/tasks", h.mw.RequireFunc(h.imageTasks))
	srv.Handle("GET /v2/tasks", h.mw.RequireFunc(h.listTasks))
	srv.Handle("GET /v2/tasks/{task_id}", h.mw.RequireFunc(h.getTask))
}

// taskView is one task as glance renders it.
type taskView struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Status    string         `json:"status"`
	Owner     string         `json:"owner"`
	Input     map[string]any `json:"input,omitempty"`
	Result    map[string]any `json:"result"`
	Message   string         `json:"message"`
	ImageID   string         `json:"image_id"`
	RequestID string         `json:"request_id"`
	UserID    string         `json:"user_id"`
	ExpiresAt *string        `json:"expires_at,omitempty"`
	CreatedAt string         `json:"created_at"`
	UpdatedAt string         `json:"updated_at"`
	Self      string         `json:"self"`
	Schema    string         `json:"schema"`
}

// newTaskView renders t; withInput leaves out input and result when false, as
// glance's task list does.
func newTaskView(t image.Task, withInput bool) taskView {
	v := taskView{ID: t.ID, Type: t.Type, Status: string(t.Status), Owner: t.Owner, Message: t.Message,
		ImageID: t.ImageID, RequestID: t.RequestID, UserID: t.UserID,
		CreatedAt: imageTime(t.CreatedAt), UpdatedAt: imageTime(t.UpdatedAt),
		Self: "/v2/tasks/" + t.ID, Schema: "/v2/schemas/task"}
	if withInput {
		v.Input, v.Result = t.Input, t.Result
		if v.Input == nil {
			v.Input = map[string]any{}
		}
	}
	if !t.ExpiresAt.IsZero() {
		v.ExpiresAt = optString(imageTime(t.ExpiresAt))
	}
	return v
}

// taskViews renders tasks, never as null.
func taskViews(tasks []image.Task, withInput bool) []taskView {
	out := make([]taskView, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, newTaskView(t, withInput))
	}
	return out
}

// imageTasks is GET /v2/images/{image_id}/tasks.
func (h *Handler) imageTasks(w http.ResponseWriter, r *http.Request) {
	tasks, err := h.svc.ImageTasks(r.Context(), r.PathValue("image_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"tasks": taskViews(tasks, true)})
}

// getTask is GET /v2/tasks/{task_id}.
func (h *Handler) getTask(w http.ResponseWriter, r *http.Request) {
	t, err := h.svc.GetTask(r.Context(), r.PathValue("task_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, newTaskView(t, true))
}

// listTasks is GET /v2/tasks, filtered by status and type. Pagination (marker,
// limit, sort) is not supported: every matching task is returned.
func (h *Handler) listTasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := image.TaskFilter{Status: image.TaskStatus(q.Get("status")), Type: q.Get("type")}
	tasks, err := h.svc.ListTasks(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"tasks": taskViews(tasks, false),
		"first": "/v2/tasks", "schema": "/v2/schemas/tasks"})
}
