package image

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// errNoTasks is what dpStore answers to every task call: the data path tests
// run without a task store, which imports must survive.
var errNoTasks = errors.New("dpStore keeps no tasks")

func (s *dpStore) CreateTask(context.Context, Task) error                { return errNoTasks }
func (s *dpStore) GetTask(context.Context, string) (Task, error)         { return Task{}, errNoTasks }
func (s *dpStore) UpdateTask(context.Context, Task) error                { return errNoTasks }
func (s *dpStore) ListTasks(context.Context, TaskFilter) ([]Task, error) { return nil, errNoTasks }

// taskStore is a dpStore that keeps tasks in memory.
type taskStore struct {
	*dpStore
	tmu   sync.Mutex
	tasks map[string]Task
}

func (s *taskStore) CreateTask(_ context.Context, t Task) error {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	s.tasks[t.ID] = t
	return nil
}

func (s *taskStore) GetTask(_ context.Context, id string) (Task, error) {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	t, ok := s.tasks[id]
	if !ok {
		return Task{}, ErrNotFound
	}
	return t, nil
}

func (s *taskStore) UpdateTask(_ context.Context, t Task) error {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	if _, ok := s.tasks[t.ID]; !ok {
		return ErrNotFound
	}
	s.tasks[t.ID] = t
	return nil
}

func (s *taskStore) ListTasks(_ context.Context, f TaskFilter) ([]Task, error) {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	var out []Task
	for _, t := range s.tasks {
		if (f.ImageID == "" || t.ImageID == f.ImageID) && (f.Owner == "" || t.Owner == f.Owner) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b Task) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// newTaskFixture is newDPFixture with a store that keeps tasks.
func newTaskFixture(cfg Config, status Status) (*dpFixture, *taskStore) {
	f := newDPFixture(cfg, status)
	ts := &taskStore{dpStore: f.store, tasks: map[string]Task{}}
	n := 0
	f.svc = New(cfg, Deps{Store: ts, Backend: f.backend, Staging: f.staging,
		Inspect: func(string) Inspector { return &dpInspector{} },
		NewID:   func() string { n++; return "task-" + string(rune('0'+n)) }})
	return f, ts
}

func TestImportRecordsTask(t *testing.T) {
	t.Parallel()
	f, _ := newTaskFixture(Config{ImportMethods: []string{MethodGlanceDirect}}, Queued)
	ctx := dpCtx()
	if err := f.svc.StageData(ctx, "img", strings.NewReader("staged data"), -1); err != nil {
		t.Fatalf("StageData: %v", err)
	}
	if err := importSync(ctx, f.svc, "img", ImportRequest{Method: MethodGlanceDirect, RequestID: "req-1"}); err != nil {
		t.Fatalf("Import: %v", err)
	}
	tasks, err := f.svc.ImageTasks(ctx, "img")
	if err != nil || len(tasks) != 1 {
		t.Fatalf("ImageTasks = %+v, %v; want one task", tasks, err)
	}
	task := tasks[0]
	req, _ := task.Input["import_req"].(map[string]any)
	method, _ := req["method"].(map[string]any)
	if task.Status != TaskSuccess || task.Type != TaskTypeImport || task.RequestID != "req-1" ||
		task.UserID != "u1" || task.Owner != "p1" || task.ImageID != "img" || method["name"] != MethodGlanceDirect ||
		task.Result["image_id"] != "img" || task.ExpiresAt.IsZero() || task.Message != "" {
		t.Fatalf("task = %+v", task)
	}
	other := dpCtxOf("p2")
	if _, err := f.svc.ImageTasks(other, "img"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another project's image tasks: %v, want not found", err)
	}
	got, err := f.svc.GetTask(ctx, task.ID)
	if err != nil || got.ID != task.ID {
		t.Errorf("GetTask = %+v, %v", got, err)
	}
	if _, err := f.svc.GetTask(other, task.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetTask of another project's task: %v, want not found", err)
	}
	if list, err := f.svc.ListTasks(other, TaskFilter{}); err != nil || len(list) != 0 {
		t.Errorf("ListTasks of another project = %+v, %v; want none", list, err)
	}
}

func TestFailedImportRecordsTask(t *testing.T) {
	t.Parallel()
	f, _ := newTaskFixture(Config{ImportMethods: []string{MethodGlanceDirect}}, Queued)
	ctx := dpCtx()
	if err := f.svc.StageData(ctx, "img", strings.NewReader("UNSAFE data"), -1); err != nil {
		t.Fatalf("StageData: %v", err)
	}
	if err := importSync(ctx, f.svc, "img", ImportRequest{Method: MethodGlanceDirect}); err == nil {
		t.Fatal("import of unsafe data succeeded")
	}
	tasks, err := f.svc.ImageTasks(ctx, "img")
	if err != nil || len(tasks) != 1 || tasks[0].Status != TaskFailure || tasks[0].Message == "" ||
		tasks[0].Result != nil {
		t.Fatalf("ImageTasks = %+v, %v; want one failed task with a message", tasks, err)
	}
}

func TestImportRefusedRecordsNoTask(t *testing.T) {
	t.Parallel()
	f, ts := newTaskFixture(Config{ImportMethods: []string{MethodGlanceDirect}}, Queued)
	if err := importSync(dpCtx(), f.svc, "img", ImportRequest{Method: MethodGlanceDirect}); !errors.Is(err, ErrConflict) {
		t.Fatalf("import before staging: %v", err)
	}
	if len(ts.tasks) != 0 {
		t.Errorf("refused import recorded tasks %+v", ts.tasks)
	}
}

// dpCtxOf is dpCtx for another project.
func dpCtxOf(project string) context.Context {
	return auth.WithCaller(context.Background(), &auth.Caller{ProjectID: project, UserID: "u-" + project,
		Roles: []auth.Role{{Name: "member"}}})
}

// importSync runs an import to its end and returns its error: Import's own
// refusal, or the failure of the work it started in the background.
func importSync(ctx context.Context, svc *Service, id string, req ImportRequest) error {
	var runErr error
	svc.goRun = func(f func()) { f() }
	svc.onImport = func(_ string, err error) { runErr = err }
	if err := svc.Import(ctx, id, req); err != nil {
		return err
	}
	return runErr
}
