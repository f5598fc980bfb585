package image

import (
	"context"
	"errors"
	"time"
)

// TaskStatus is where a task is in its life: pending, processing, then success
// or failure.
type TaskStatus string

// Task statuses, as glance names them.
const (
	TaskPending    TaskStatus = "pending"
	TaskProcessing TaskStatus = "processing"
	TaskSuccess    TaskStatus = "success"
	TaskFailure    TaskStatus = "failure"
)

// TaskTypeImport is the type of the task recorded for each image import.
const TaskTypeImport = "api_image_import"

// taskTTL is how long a finished task is kept visible (glance's task_time_to_live).
const taskTTL = 48 * time.Hour

// Task is one asynchronous operation on an image (glance's tasks, API 2.12).
type Task struct {
	ID     string
	Type   string
	Status TaskStatus
	// Owner is the project that asked for the task.
	Owner string
	// Input and Result are free-form JSON objects; nil when absent.
	Input   map[string]any
	Result  map[string]any
	Message string
	ImageID string
	// RequestID is the id of the API request that started the task.
	RequestID string
	UserID    string
	// ExpiresAt is set once the task has finished.
	ExpiresAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TaskFilter selects tasks for ListTasks; empty fields match everything.
type TaskFilter struct {
	ImageID string
	Owner   string
	Status  TaskStatus
	Type    string
}

// TaskStore keeps tasks. Missing rows are ErrNotFound (wrapped).
type TaskStore interface {
	CreateTask(ctx context.Context, t Task) error
	GetTask(ctx context.Context, id string) (Task, error)
	// UpdateTask writes every field of t but its id, type and creation time.
	UpdateTask(ctx context.Context, t Task) error
	// ListTasks returns the tasks f selects, newest first.
	ListTasks(ctx context.Context, f TaskFilter) ([]Task, error)
}

// Task policy rules (glance's policies/tasks.py).
const (
	RuleTasksAPIAccess = "tasks_api_access"
	RuleGetTask        = "get_task"
	RuleGetTasks       = "get_tasks"
)

// ImageTasks lists the tasks of image id (GET /v2/images/{id}/tasks, API
// 2.12). Like glance, a caller other than an administrator sees only the tasks
// its own project started.
func (s *Service) ImageTasks(ctx context.Context, id string) ([]Task, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	img, member, err := s.visibleImage(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeImage(ctx, RuleGetImage, img, member); err != nil {
		return nil, err
	}
	f := TaskFilter{ImageID: id}
	if !isAdmin(c) {
		f.Owner = c.ProjectID
	}
	return s.store.ListTasks(ctx, f)
}

// GetTask returns task id (GET /v2/tasks/{id}); only administrators may use
// the tasks API by default (tasks_api_access).
func (s *Service) GetTask(ctx context.Context, id string) (Task, error) {
	c, err := caller(ctx)
	if err != nil {
		return Task{}, err
	}
	if err := s.authorize(ctx, RuleTasksAPIAccess, map[string]any{"project_id": c.ProjectID}); err != nil {
		return Task{}, err
	}
	t, err := s.store.GetTask(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && !isAdmin(c) && t.Owner != c.ProjectID) {
		return Task{}, errorf(ErrNotFound, "Failed to find task %s", id)
	}
	if err != nil {
		return Task{}, err
	}
	if err := s.authorize(ctx, RuleGetTask, map[string]any{"project_id": t.Owner}); err != nil {
		return Task{}, err
	}
	return t, nil
}

// ListTasks lists the tasks f selects, newest first (GET /v2/tasks); a caller
// other than an administrator sees only its project's tasks.
func (s *Service) ListTasks(ctx context.Context, f TaskFilter) ([]Task, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	target := map[string]any{"project_id": c.ProjectID}
	if err := s.authorize(ctx, RuleTasksAPIAccess, target); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, RuleGetTasks, target); err != nil {
		return nil, err
	}
	if !isAdmin(c) {
		f.Owner = c.ProjectID
	}
	return s.store.ListTasks(ctx, f)
}

// startTask records an api_image_import task, processing, for the import
// of img that req asks for. A task that cannot be recorded is logged, never
// fatal to the import.
func (s *Service) startTask(ctx context.Context, id string, img Image, req ImportRequest, stores []string) (Task, bool) {
	var userID, project string
	if c, err := caller(ctx); err == nil {
		userID, project = c.UserID, c.ProjectID
	}
	method := map[string]any{"name": req.Method}
	if req.URI != "" {
		method["uri"] = req.URI
	}
	if req.Method == MethodGlanceDownload {
		method["glance_image_id"] = req.Remote.ImageID
		method["glance_region"] = req.Remote.Region
		method["glance_service_interface"] = req.Remote.Interface
	}
	backends := make([]any, 0, len(stores))
	for _, st := range stores {
		backends = append(backends, st)
	}
	now := s.now().UTC()
	t := Task{
		ID: id, Type: TaskTypeImport, Status: TaskProcessing, Owner: project,
		Input: map[string]any{
			"image_id": img.ID,
			"import_req": map[string]any{"method": method, "stores": backends,
				"all_stores_must_succeed": req.mustSucceed(), "all_stores": req.AllStores},
			"backend": backends,
		},
		ImageID: img.ID, RequestID: req.RequestID, UserID: userID, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.CreateTask(ctx, t); err != nil {
		s.log.Error("record import task", "image_id", img.ID, "error", err)
		return Task{}, false
	}
	return t, true
}

// finishTask marks t as succeeded, or failed with err's message.
func (s *Service) finishTask(ctx context.Context, t Task, err error) {
	now := s.now().UTC()
	t.UpdatedAt, t.ExpiresAt = now, now.Add(taskTTL)
	if err == nil {
		t.Status, t.Result = TaskSuccess, map[string]any{"image_id": t.ImageID}
	} else {
		t.Status, t.Message = TaskFailure, "Import failed"
		var ie *Error
		if errors.As(err, &ie) {
			t.Message = ie.Message
		}
	}
	if uerr := s.store.UpdateTask(ctx, t); uerr != nil {
		s.log.Error("record import task result", "image_id", t.ImageID, "task_id", t.ID, "error", uerr)
	}
}
