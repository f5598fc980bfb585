package imagesql_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/image"
	"github.com/nimbus-cloud/nimbus/internal/image/imagesql"
)

func TestTasks(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *imagesql.Store, _ *db.DB) {
		ctx := context.Background()
		at := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
		task := image.Task{ID: "t1", Type: image.TaskTypeImport, Status: image.TaskProcessing, Owner: "p1",
			Input: map[string]any{"image_id": "img-1",
				"import_req": map[string]any{"method": map[string]any{"name": "glance-direct"}}},
			ImageID: "img-1", RequestID: "req-abc", UserID: "u1", CreatedAt: at, UpdatedAt: at}
		dbtest.Must(t, s.CreateTask(ctx, task))
		dbtest.WantErr(t, s.CreateTask(ctx, task), image.ErrConflict)
		dbtest.WantErr(t, s.CreateTask(ctx, image.Task{ID: "t0"}), image.ErrValidation)
		got, err := s.GetTask(ctx, "t1")
		dbtest.Must(t, err)
		if !reflect.DeepEqual(got, task) {
			t.Fatalf("GetTask = %+v\nwant %+v", got, task)
		}
		_, err = s.GetTask(ctx, "missing")
		dbtest.WantErr(t, err, image.ErrNotFound)

		task.Status, task.Result = image.TaskSuccess, map[string]any{"image_id": "img-1"}
		task.UpdatedAt, task.ExpiresAt = at.Add(time.Second), at.Add(48*time.Hour)
		dbtest.Must(t, s.UpdateTask(ctx, task))
		dbtest.Must(t, s.UpdateTask(ctx, task)) // unchanged rows are not missing ones
		dbtest.WantErr(t, s.UpdateTask(ctx, image.Task{ID: "missing", CreatedAt: at, UpdatedAt: at}), image.ErrNotFound)
		got, err = s.GetTask(ctx, "t1")
		dbtest.Must(t, err)
		if !reflect.DeepEqual(got, task) {
			t.Fatalf("after update = %+v\nwant %+v", got, task)
		}

		later := image.Task{ID: "t2", Type: image.TaskTypeImport, Status: image.TaskFailure, Owner: "p2",
			ImageID: "img-1", Message: "boom", CreatedAt: at.Add(time.Minute), UpdatedAt: at.Add(time.Minute)}
		dbtest.Must(t, s.CreateTask(ctx, later))
		dbtest.Must(t, s.CreateTask(ctx, image.Task{ID: "t3", Type: image.TaskTypeImport, Status: image.TaskSuccess,
			Owner: "p1", ImageID: "img-2", CreatedAt: at, UpdatedAt: at}))
		for _, c := range []struct {
			f    image.TaskFilter
			want []string
		}{
			{image.TaskFilter{}, []string{"t2", "t1", "t3"}},
			{image.TaskFilter{ImageID: "img-1"}, []string{"t2", "t1"}},
			{image.TaskFilter{ImageID: "img-1", Owner: "p1"}, []string{"t1"}},
			{image.TaskFilter{Status: image.TaskFailure}, []string{"t2"}},
			{image.TaskFilter{Type: "other"}, nil},
		} {
			list, err := s.ListTasks(ctx, c.f)
			dbtest.Must(t, err)
			var ids []string
			for _, x := range list {
				ids = append(ids, x.ID)
			}
			if !reflect.DeepEqual(ids, c.want) {
				t.Errorf("ListTasks(%+v) = %v; want %v", c.f, ids, c.want)
			}
		}
		if got := mustList(t, s, "img-1"); got[0].Input != nil || got[0].Result != nil || got[0].Message != "boom" {
			t.Errorf("task without input = %+v", got[0])
		}
	})
}

// mustList lists the tasks of imageID.
func mustList(t *testing.T, s *imagesql.Store, imageID string) []image.Task {
	t.Helper()
	list, err := s.ListTasks(context.Background(), image.TaskFilter{ImageID: imageID})
	dbtest.Must(t, err)
	return list
}
