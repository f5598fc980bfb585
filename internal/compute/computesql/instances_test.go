package computesql_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/computesql"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
)

// unlimited is a quota that limits nothing.
var unlimited = compute.InstanceQuota{ProjectID: "p1", Project: compute.InstanceCounts{Instances: -1, Cores: -1, RAM: -1},
	User: compute.InstanceCounts{Instances: -1, Cores: -1, RAM: -1}}

// instance returns a live instance fixture of project p1, created n
// minutes after base.
func instance(n int, name string) compute.Instance {
	zero := 0
	desc := "desc " + name
	at := base.Add(time.Duration(n) * time.Minute)
	return compute.Instance{
		UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", n), DisplayName: name, Description: &desc,
		ProjectID: "p1", UserID: "u1",
		Flavor:   compute.Flavor{ID: 7, FlavorID: "small", Name: "m1.small", VCPUs: 2, MemoryMB: 512, RootGB: 1, RxTxFactor: 1, ExtraSpecs: map[string]string{"hw:cpu_policy": "shared"}},
		ImageRef: "11111111-1111-4111-8111-111111111111", ImageProperties: map[string]string{"os_distro": "cirros", "min_ram": "0"},
		SchedulerHints: map[string][]string{"same_host": {"x"}}, Metadata: map[string]string{"role": name},
		SystemMetadata: map[string]string{"password_0": ""},
		Tags:           []string{}, SecurityGroups: []string{"default"}, Hostname: name, ReservationID: "r-1", LaunchIndex: n,
		BlockDevices: []compute.BlockDevice{{SourceType: "image", DestinationType: "local", BootIndex: &zero,
			ImageID: "11111111-1111-4111-8111-111111111111", DeleteOnTermination: true}},
		VMState: compute.VMBuilding, TaskState: compute.TaskScheduling, CreatedAt: at, UpdatedAt: at,
	}
}

func create(t *testing.T, s *computesql.Store, insts ...compute.Instance) []compute.Instance {
	t.Helper()
	var actions []compute.InstanceAction
	for _, i := range insts {
		actions = append(actions, compute.InstanceAction{InstanceUUID: i.UUID, Action: "create", RequestID: "req-" + i.UUID,
			UserID: i.UserID, ProjectID: i.ProjectID, StartTime: i.CreatedAt, UpdatedAt: i.CreatedAt})
	}
	out, err := s.CreateInstances(context.Background(), insts, actions, unlimited)
	if err != nil {
		t.Fatalf("create instances: %v", err)
	}
	return out
}

func uuids(insts []compute.Instance) []string {
	out := []string{}
	for _, i := range insts {
		out = append(out, i.DisplayName)
	}
	return out
}

func TestInstanceRoundTrip(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		in := instance(1, "web")
		in.Tags = []string{"a", "b"}
		reason := "maintenance"
		in.LockedReason = &reason
		got := create(t, s, in)[0]
		if got.ID == 0 {
			t.Fatal("no row id")
		}
		in.ID = got.ID
		dbtest.Same(t, got, in)

		read, err := s.GetInstance(ctx, in.UUID, false)
		dbtest.Must(t, err)
		dbtest.Same(t, read, in)

		_, err = s.GetInstance(ctx, "nope", false)
		dbtest.WantErr(t, err, compute.ErrNotFound)

		// A duplicate UUID is refused and nothing of the batch stays.
		_, err = s.CreateInstances(ctx, []compute.Instance{instance(2, "b"), instance(1, "dup")}, nil, unlimited)
		dbtest.WantErr(t, err, compute.ErrConflict)
		_, err = s.GetInstance(ctx, instance(2, "b").UUID, true)
		dbtest.WantErr(t, err, compute.ErrNotFound)
	})
}

func TestInstanceUpdate(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		in := create(t, s, instance(1, "web"))[0]
		later := base.Add(time.Hour)
		act := &compute.InstanceAction{InstanceUUID: in.UUID, Action: "stop", RequestID: "req-stop", UserID: "u1",
			ProjectID: "p1", StartTime: later, UpdatedAt: later,
			Events: []compute.InstanceActionEvent{{Event: "api_stop", StartTime: later, FinishTime: later, Result: "Success"}}}
		out, err := s.UpdateInstance(ctx, in.UUID, func(i *compute.Instance) error {
			i.VMState, i.TaskState, i.Host = compute.VMActive, compute.TaskNone, "h1"
			i.Metadata = map[string]string{"new": "1"}
			i.SystemMetadata = map[string]string{"shelved_image_id": "img-1", "shelved_host": "h1"}
			old := i.Flavor
			i.OldFlavor = &old
			i.LaunchedAt, i.UpdatedAt = later, later
			i.Description = nil
			return nil
		}, act)
		dbtest.Must(t, err)
		if out.VMState != compute.VMActive || out.Host != "h1" || out.OldFlavor == nil || out.Description != nil ||
			!out.LaunchedAt.Equal(later) || len(out.Metadata) != 1 || out.Metadata["new"] != "1" {
			t.Errorf("after update: %+v", out)
		}
		if read, _ := s.GetInstance(ctx, in.UUID, false); len(read.SystemMetadata) != 2 ||
			read.SystemMetadata["shelved_image_id"] != "img-1" {
			t.Errorf("system metadata read back: %v", read.SystemMetadata)
		}
		a, err := s.GetAction(ctx, in.UUID, "req-stop")
		dbtest.Must(t, err)
		if a.Action != "stop" || len(a.Events) != 1 || a.Events[0].Result != "Success" {
			t.Errorf("recorded action %+v", a)
		}

		// A refusal writes nothing, action included.
		refuse := errors.New("wrong state")
		_, err = s.UpdateInstance(ctx, in.UUID, func(i *compute.Instance) error {
			i.DisplayName = "changed"
			return refuse
		}, &compute.InstanceAction{InstanceUUID: in.UUID, Action: "x", RequestID: "req-x", StartTime: later, UpdatedAt: later})
		if !errors.Is(err, refuse) {
			t.Fatalf("refused update: %v", err)
		}
		read, _ := s.GetInstance(ctx, in.UUID, false)
		if read.DisplayName != "web" {
			t.Error("a refused update was written")
		}
		_, err = s.GetAction(ctx, in.UUID, "req-x")
		dbtest.WantErr(t, err, compute.ErrNotFound)

		// Deleted instances are no longer updated or counted.
		_, err = s.UpdateInstance(ctx, in.UUID, func(i *compute.Instance) error { i.Deleted = true; return nil }, nil)
		dbtest.Must(t, err)
		_, err = s.UpdateInstance(ctx, in.UUID, func(i *compute.Instance) error { return nil }, nil)
		dbtest.WantErr(t, err, compute.ErrNotFound)
		n, err := s.CountInstances(ctx, "p1", "")
		dbtest.Must(t, err)
		dbtest.Same(t, n, compute.InstanceCounts{})
		_, err = s.GetInstance(ctx, in.UUID, true)
		dbtest.Must(t, err)
	})
}

func TestInstanceQuota(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		q := compute.InstanceQuota{ProjectID: "p1", Project: compute.InstanceCounts{Instances: 2, Cores: -1, RAM: -1},
			UserID: "u1", User: compute.InstanceCounts{Instances: -1, Cores: 5, RAM: -1}}
		_, err := s.CreateInstances(ctx, []compute.Instance{instance(1, "a"), instance(2, "b")}, nil, q)
		dbtest.Must(t, err)
		n, err := s.CountInstances(ctx, "p1", "u1")
		dbtest.Must(t, err)
		dbtest.Same(t, n, compute.InstanceCounts{Instances: 2, Cores: 4, RAM: 1024})
		_, err = s.CreateInstances(ctx, []compute.Instance{instance(3, "c")}, nil, q)
		dbtest.WantErr(t, err, compute.ErrOverQuota)
		q.Project.Instances = 10
		_, err = s.CreateInstances(ctx, []compute.Instance{instance(3, "c")}, nil, q)
		dbtest.WantErr(t, err, compute.ErrOverQuota) // the user's 5 cores
		_, err = s.GetInstance(ctx, instance(3, "c").UUID, true)
		dbtest.WantErr(t, err, compute.ErrNotFound)

		// Concurrent creates of one project never pass its limit together.
		q = compute.InstanceQuota{ProjectID: "p9", Project: compute.InstanceCounts{Instances: 3, Cores: -1, RAM: -1},
			User: compute.InstanceCounts{Instances: -1, Cores: -1, RAM: -1}}
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				inst := instance(100+i, fmt.Sprintf("r%d", i))
				inst.ProjectID = "p9"
				_, _ = s.CreateInstances(ctx, []compute.Instance{inst}, nil, q)
			}()
		}
		wg.Wait()
		n, err = s.CountInstances(ctx, "p9", "")
		dbtest.Must(t, err)
		if n.Instances != 3 {
			t.Errorf("%d instances in a project limited to 3", n.Instances)
		}
	})
}

func TestInstanceList(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		var all []compute.Instance
		for i, name := range []string{"alpha", "bravo", "charlie", "delta", "echo"} {
			inst := instance(i+1, name)
			if i%2 == 1 {
				inst.ProjectID = "p2"
			}
			inst.Tags = map[int][]string{0: {"web", "prod"}, 2: {"web"}, 4: {"db"}}[i]
			all = append(all, inst)
		}
		create(t, s, all...)
		_, err := s.UpdateInstance(ctx, all[4].UUID, func(i *compute.Instance) error {
			i.Deleted, i.VMState, i.TaskState, i.UpdatedAt = true, compute.VMDeleted, compute.TaskNone, base.Add(time.Hour)
			return nil
		}, nil)
		dbtest.Must(t, err)
		live := false
		list := func(f compute.InstanceFilter) []string {
			t.Helper()
			out, err := s.ListInstances(ctx, f)
			dbtest.Must(t, err)
			return uuids(out)
		}
		newest := []compute.SortKey{{Key: "created_at", Desc: true}}
		dbtest.Same(t, list(compute.InstanceFilter{Deleted: &live, Sort: newest}),
			[]string{"delta", "charlie", "bravo", "alpha"})
		dbtest.Same(t, list(compute.InstanceFilter{Sort: newest}),
			[]string{"echo", "delta", "charlie", "bravo", "alpha"})
		dbtest.Same(t, list(compute.InstanceFilter{Exact: map[string][]string{"project_id": {"p1"}}, Deleted: &live,
			Sort: []compute.SortKey{{Key: "display_name"}}}), []string{"alpha", "charlie"})
		dbtest.Same(t, list(compute.InstanceFilter{Regex: map[string]*regexp.Regexp{"display_name": regexp.MustCompile("a$")},
			Sort: []compute.SortKey{{Key: "display_name"}}}), []string{"alpha", "delta"})
		dbtest.Same(t, list(compute.InstanceFilter{Tags: []string{"web"}, Sort: []compute.SortKey{{Key: "display_name"}}}),
			[]string{"alpha", "charlie"})
		dbtest.Same(t, list(compute.InstanceFilter{Tags: []string{"web", "prod"}}), []string{"alpha"})
		dbtest.Same(t, list(compute.InstanceFilter{TagsAny: []string{"prod", "db"}, Sort: []compute.SortKey{{Key: "display_name"}}}),
			[]string{"alpha", "echo"})
		dbtest.Same(t, list(compute.InstanceFilter{NotTags: []string{"web", "prod"}, Deleted: &live,
			Sort: []compute.SortKey{{Key: "display_name"}}}), []string{"bravo", "charlie", "delta"})
		dbtest.Same(t, list(compute.InstanceFilter{NotTagsAny: []string{"web"}, Deleted: &live,
			Sort: []compute.SortKey{{Key: "display_name"}}}), []string{"bravo", "delta"})
		dbtest.Same(t, list(compute.InstanceFilter{ChangesSince: base.Add(30 * time.Minute)}), []string{"echo"})
		dbtest.Same(t, list(compute.InstanceFilter{Exact: map[string][]string{"task_state": {""}}}), []string{"echo"})
		dbtest.Same(t, list(compute.InstanceFilter{Exact: map[string][]string{"locked": {"0"}, "instance_type_id": {"7"}},
			Deleted: &live, Limit: 1}), []string{"delta"})

		// Pages follow the order, with a deleted marker too.
		f := compute.InstanceFilter{Sort: []compute.SortKey{{Key: "display_name"}}, Limit: 2}
		dbtest.Same(t, list(f), []string{"alpha", "bravo"})
		f.Marker = all[1].UUID
		dbtest.Same(t, list(f), []string{"charlie", "delta"})
		f.Marker = all[3].UUID
		dbtest.Same(t, list(f), []string{"echo"})
		f.Marker = "missing"
		_, err = s.ListInstances(ctx, f)
		dbtest.WantErr(t, err, compute.ErrMarkerNotFound)

		// Ties on the first key fall back to created_at and the row id;
		// a regex page still stops at the limit.
		g := compute.InstanceFilter{Sort: []compute.SortKey{{Key: "image_ref"}, {Key: "created_at"}}, Limit: 2,
			Regex: map[string]*regexp.Regexp{"display_name": regexp.MustCompile("[aeiou]")}}
		dbtest.Same(t, list(g), []string{"alpha", "bravo"})
		g.Marker = all[1].UUID
		dbtest.Same(t, list(g), []string{"charlie", "delta"})
	})
}

func TestInstanceTagsAndActions(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		in := create(t, s, instance(1, "web"))[0]
		at := base.Add(time.Hour)
		added, err := s.AddInstanceTag(ctx, in.UUID, "b", 2, at)
		dbtest.Must(t, err)
		again, err := s.AddInstanceTag(ctx, in.UUID, "b", 2, at)
		dbtest.Must(t, err)
		if !added || again {
			t.Errorf("added %v then %v", added, again)
		}
		_, err = s.AddInstanceTag(ctx, in.UUID, "a", 2, at)
		dbtest.Must(t, err)
		_, err = s.AddInstanceTag(ctx, in.UUID, "c", 2, at)
		dbtest.WantErr(t, err, compute.ErrOverQuota)
		read, _ := s.GetInstance(ctx, in.UUID, false)
		dbtest.Same(t, read.Tags, []string{"a", "b"})
		if !read.UpdatedAt.Equal(at) {
			t.Errorf("tagging left updated_at %v", read.UpdatedAt)
		}
		dbtest.WantErr(t, s.DeleteInstanceTag(ctx, in.UUID, "zz", at), compute.ErrNotFound)
		dbtest.Must(t, s.DeleteInstanceTag(ctx, in.UUID, "a", at))
		tags, err := s.SetInstanceTags(ctx, in.UUID, []string{"y", "x"}, at)
		dbtest.Must(t, err)
		dbtest.Same(t, tags, []string{"x", "y"})
		_, err = s.SetInstanceTags(ctx, "missing", nil, at)
		dbtest.WantErr(t, err, compute.ErrNotFound)

		// Events move their action; an error marks it.
		dbtest.Must(t, s.StartEvent(ctx, in.UUID, "req-"+in.UUID, compute.InstanceActionEvent{Event: "build",
			StartTime: at, Host: "h1"}))
		dbtest.Must(t, s.FinishEvent(ctx, in.UUID, "req-"+in.UUID, compute.InstanceActionEvent{Event: "build",
			FinishTime: at.Add(time.Second), Result: "Error", Traceback: "tb", Details: "boom"}))
		dbtest.WantErr(t, s.FinishEvent(ctx, in.UUID, "req-"+in.UUID, compute.InstanceActionEvent{Event: "none",
			FinishTime: at}), compute.ErrNotFound)
		dbtest.WantErr(t, s.StartEvent(ctx, in.UUID, "req-none", compute.InstanceActionEvent{Event: "x", StartTime: at}),
			compute.ErrNotFound)
		a, err := s.GetAction(ctx, in.UUID, "req-"+in.UUID)
		dbtest.Must(t, err)
		if a.Message == nil || *a.Message != "Error" || !a.UpdatedAt.Equal(at.Add(time.Second)) || len(a.Events) != 1 ||
			a.Events[0].Host != "h1" || a.Events[0].Details != "boom" || a.Events[0].FinishTime.IsZero() {
			t.Errorf("action after events: %+v", a)
		}
		for i := range 3 {
			dbtest.Must(t, s.RecordAction(ctx, compute.InstanceAction{InstanceUUID: in.UUID, Action: "reboot",
				RequestID: fmt.Sprintf("req-%d", i), StartTime: at.Add(time.Duration(i) * time.Minute),
				UpdatedAt: at.Add(time.Duration(i) * time.Minute)}))
		}
		page, err := s.ListActions(ctx, in.UUID, compute.ActionFilter{Limit: 2})
		dbtest.Must(t, err)
		if len(page) != 2 || page[0].RequestID != "req-2" || page[1].RequestID != "req-1" {
			t.Fatalf("first page %+v", page)
		}
		page, err = s.ListActions(ctx, in.UUID, compute.ActionFilter{Marker: "req-1"})
		dbtest.Must(t, err)
		if len(page) != 2 || page[0].RequestID != "req-0" || page[1].Action != "create" {
			t.Fatalf("second page %+v", page)
		}
		_, err = s.ListActions(ctx, in.UUID, compute.ActionFilter{Marker: "req-9"})
		dbtest.WantErr(t, err, compute.ErrMarkerNotFound)
		page, err = s.ListActions(ctx, in.UUID, compute.ActionFilter{ChangesSince: at.Add(time.Minute)})
		dbtest.Must(t, err)
		if len(page) != 2 {
			t.Errorf("changes-since kept %d actions", len(page))
		}

		// Faults: the latest shows on the instance; purge removes all.
		dbtest.Must(t, s.AddFault(ctx, in.UUID, compute.Fault{Code: 500, Message: "first", Created: at}))
		dbtest.Must(t, s.AddFault(ctx, in.UUID, compute.Fault{Code: 400, Message: "second", Created: at}))
		read, _ = s.GetInstance(ctx, in.UUID, false)
		if read.Fault == nil || read.Fault.Message != "second" {
			t.Errorf("fault %+v", read.Fault)
		}
		dbtest.Must(t, s.PurgeInstances(ctx, []string{in.UUID}))
		_, err = s.GetInstance(ctx, in.UUID, true)
		dbtest.WantErr(t, err, compute.ErrNotFound)
	})
}
