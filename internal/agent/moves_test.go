package agent

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/fake"
)

// fakeUploader keeps uploaded images and deleted ids.
type fakeUploader struct {
	mu       sync.Mutex
	uploaded map[string]string
	deleted  []string
	fail     error
}

func (f *fakeUploader) Upload(ctx context.Context, id, diskFormat, containerFormat string, data io.Reader) error {
	b, err := io.ReadAll(data)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.uploaded[id] = diskFormat + "/" + containerFormat + ":" + string(b)
	return nil
}

func (f *fakeUploader) Delete(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, id)
	return nil
}

func TestSnapshot(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	up := &fakeUploader{uploaded: map[string]string{}}
	h.a.uploader = up
	h.cond.add("i1", "h1", "building", "scheduling", 0)
	if err := h.a.BuildAndRun(ctxReq(), buildReq("i1")); err != nil {
		t.Fatal(err)
	}
	h.cond.add("i1", "h1", "active", "image_snapshot_pending", 1)
	if err := h.a.Snapshot(ctxReq(), rpc.SnapshotRequest{InstanceUUID: "i1", ImageID: "snap"}); err != nil {
		t.Fatal(err)
	}
	if up.uploaded["snap"] != "raw/bare:disk bytes" {
		t.Errorf("uploaded %q", up.uploaded["snap"])
	}
	if st := h.cond.state("i1"); st.TaskState != "" || st.VMState != "active" {
		t.Errorf("after snapshot %+v", st)
	}
	// A failed upload deletes the image, records a fault, keeps the server.
	up.fail = errors.New("image service full")
	h.cond.add("i1", "h1", "active", "image_snapshot_pending", 1)
	if err := h.a.Snapshot(ctxReq(), rpc.SnapshotRequest{InstanceUUID: "i1", ImageID: "snap2"}); err != nil {
		t.Fatal(err)
	}
	_, updates := h.cond.log()
	last := updates[len(updates)-1]
	if st := h.cond.state("i1"); st.TaskState != "" || st.VMState != "active" || last.Fault == nil ||
		!strings.Contains(last.Fault.Message, "image service full") || !slices.Equal(up.deleted, []string{"snap2"}) {
		t.Errorf("after a failed snapshot %+v fault %+v deleted %v", st, last.Fault, up.deleted)
	}
}

func TestRebuild(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.images.data["img2"] = "other disk"
	h.cond.add("i1", "h1", "building", "scheduling", 0)
	if err := h.a.BuildAndRun(ctxReq(), buildReq("i1")); err != nil {
		t.Fatal(err)
	}
	spec := buildReq("i1").Instance
	spec.Image.ID, spec.BlockDevices[0].ImageID = "img2", "img2"
	for _, tc := range []struct {
		from string
		want rpc.InstanceState
	}{
		{"active", rpc.InstanceState{VMState: "active", PowerState: 1}},
		{"stopped", rpc.InstanceState{VMState: "stopped", PowerState: 4}},
		{"error", rpc.InstanceState{VMState: "active", PowerState: 1}},
	} {
		h.cond.add("i1", "h1", tc.from, "rebuilding", 1)
		if err := h.a.Rebuild(ctxReq(), rpc.RebuildRequest{Instance: spec, VMState: tc.from}); err != nil {
			t.Fatal(err)
		}
		if st := h.cond.state("i1"); st != tc.want {
			t.Errorf("rebuild from %s: %+v, want %+v", tc.from, st, tc.want)
		}
	}
	snap, err := h.drv.Snapshot(context.Background(), "i1")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(snap.Data)
	snap.Data.Close()
	if string(data) != "other disk" {
		t.Errorf("rebuilt disk %q", data)
	}
	// A spawn that fails leaves the instance in ERROR: its old guest is gone.
	h.cond.add("i1", "h1", "active", "rebuilding", 1)
	h.drv.FailNext(fake.OpSpawn, 1)
	if err := h.a.Rebuild(ctxReq(), rpc.RebuildRequest{Instance: spec, VMState: "active"}); err != nil {
		t.Fatal(err)
	}
	_, updates := h.cond.log()
	last := updates[len(updates)-1]
	if st := h.cond.state("i1"); st.VMState != "error" || st.TaskState != "" || last.Fault == nil {
		t.Errorf("failed rebuild: %+v fault %+v", st, last.Fault)
	}
}

// fakeHosts delivers finish_resize to another agent directly.
type fakeHosts struct {
	mu    sync.Mutex
	to    map[string]*Agent
	casts []string
}

func (f *fakeHosts) FinishResize(ctx context.Context, host string, req rpc.FinishResizeRequest) error {
	f.mu.Lock()
	f.casts = append(f.casts, host)
	a := f.to[host]
	f.mu.Unlock()
	if a == nil {
		return errors.New("no route to " + host)
	}
	return a.FinishResize(ctx, req)
}

func (f *fakeHosts) agent(host string) (*Agent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.casts = append(f.casts, host)
	if a := f.to[host]; a != nil {
		return a, nil
	}
	return nil, errors.New("no route to " + host)
}

func (f *fakeHosts) PreLiveMigration(ctx context.Context, host string, spec rpc.InstanceSpec) (virt.MigrateData, error) {
	a, err := f.agent(host)
	if err != nil {
		return nil, err
	}
	r, err := a.PreLiveMigration(ctx, spec)
	return virt.MigrateData(r.MigrateData), err
}

func (f *fakeHosts) PostLiveMigration(ctx context.Context, host, uuid string) error {
	a, err := f.agent(host)
	if err != nil {
		return err
	}
	return a.PostLiveMigration(ctx, rpc.InstanceRequest{InstanceUUID: uuid})
}

func (f *fakeHosts) RollbackLiveMigration(ctx context.Context, host, uuid string) error {
	a, err := f.agent(host)
	if err != nil {
		return err
	}
	return a.RollbackLiveMigration(ctx, rpc.InstanceRequest{InstanceUUID: uuid})
}

func TestLiveMigration(t *testing.T) {
	t.Parallel()
	src, dst := newHarness(t), newHarness(t)
	dst.a.cfg.Host = "h2"
	if err := dst.drv.Init(context.Background(), "h2"); err != nil {
		t.Fatal(err)
	}
	src.a.hosts = &fakeHosts{to: map[string]*Agent{"h2": dst.a}}
	src.cond.add("i1", "h1", "building", "scheduling", 0)
	if err := src.a.BuildAndRun(ctxReq(), buildReq("i1")); err != nil {
		t.Fatal(err)
	}
	req := rpc.LiveMigrationRequest{Instance: buildReq("i1").Instance, Dest: rpc.HostChoice{Host: "h2", Node: "h2"}}
	// A failing move rolls the destination back and keeps the guest here.
	src.drv.FailNext(fake.OpLiveMigrate, 1)
	if err := src.a.LiveMigration(ctxReq(), req); err != nil {
		t.Fatal(err)
	}
	if len(src.cond.lives) != 1 || !strings.Contains(src.cond.lives[0].Error, "injected failure") {
		t.Fatalf("results %+v", src.cond.lives)
	}
	if info, err := src.drv.GetInfo(context.Background(), "i1"); err != nil || info.State != virt.Running {
		t.Errorf("source guest after a failed move: %+v %v", info, err)
	}
	if r, _ := dst.drv.HostResources(context.Background()); r.VCPUsUsed != 0 {
		t.Errorf("the destination kept room for a failed move: %+v", r)
	}
	if err := src.a.LiveMigration(ctxReq(), req); err != nil {
		t.Fatal(err)
	}
	if r := src.cond.lives[1]; r.Error != "" || r.Dest.Host != "h2" || r.Source != "h1" {
		t.Errorf("result %+v", r)
	}
	if info, err := dst.drv.GetInfo(context.Background(), "i1"); err != nil || info.State != virt.Running {
		t.Errorf("destination guest %+v %v", info, err)
	}
	if list, _ := src.drv.ListInstances(context.Background()); len(list) != 0 {
		t.Errorf("the source kept %v", list)
	}
}

func TestResizeBetweenHosts(t *testing.T) {
	t.Parallel()
	src, dst := newHarness(t), newHarness(t)
	dst.a.cfg.Host = "h2"
	dst.a.cond, dst.cond = src.cond, src.cond // one conductor for both
	if err := dst.drv.Init(context.Background(), "h2"); err != nil {
		t.Fatal(err)
	}
	hosts := &fakeHosts{to: map[string]*Agent{"h2": dst.a}}
	src.a.hosts = hosts
	src.cond.add("i1", "h1", "building", "scheduling", 0)
	if err := src.a.BuildAndRun(ctxReq(), buildReq("i1")); err != nil {
		t.Fatal(err)
	}
	src.cond.add("i1", "h1", "active", "resize_prep", 1)
	req := rpc.ResizeRequest{Instance: buildReq("i1").Instance, Dest: rpc.HostChoice{Host: "h2", Node: "h2"},
		NewFlavor: rpc.Flavor{Name: "m1.medium", VCPUs: 4, MemoryMB: 4096, RootGB: 20}, VMState: "active"}
	// The conductor moves the instance to the destination when the source
	// reports the disk migrated.
	src.cond.onMove = func(r rpc.InstanceUpdateRequest) { src.cond.hosts[r.InstanceUUID] = r.MoveTo.Host }
	if err := src.a.ResizeInstance(ctxReq(), req); err != nil {
		t.Fatal(err)
	}
	if st := src.cond.state("i1"); st != (rpc.InstanceState{VMState: "resized", PowerState: 1}) {
		t.Errorf("after the resize: %+v", st)
	}
	_, updates := src.cond.log()
	if last := updates[len(updates)-1]; !last.FlavorNew || last.Host != "h2" {
		t.Errorf("final update %+v", last)
	}
	if r, _ := dst.drv.HostResources(context.Background()); r.VCPUsUsed != 4 {
		t.Errorf("destination uses %d VCPUs", r.VCPUsUsed)
	}
	if r, _ := src.drv.HostResources(context.Background()); r.VCPUsUsed != 2 {
		t.Errorf("the source's copy is gone before the confirmation: %d VCPUs", r.VCPUsUsed)
	}
	// Revert: the destination destroys its copy, the source brings its own
	// back running.
	if err := dst.a.RevertMigration(ctxReq(), rpc.InstanceRequest{InstanceUUID: "i1"}); err != nil {
		t.Fatal(err)
	}
	st, err := src.a.FinishRevertMigration(ctxReq(), rpc.FinishRevertRequest{InstanceUUID: "i1", PowerOn: true})
	if err != nil || st.PowerState != 1 {
		t.Fatalf("finish revert: %+v, %v", st, err)
	}
	if list, _ := dst.drv.ListInstances(context.Background()); len(list) != 0 {
		t.Errorf("the destination kept %v", list)
	}
	// A source that cannot migrate the disk hands the move back.
	src.cond.add("i1", "h1", "active", "resize_prep", 1)
	req.NewFlavor.RootGB = 0
	if err := src.a.ResizeInstance(ctxReq(), req); err != nil {
		t.Fatal(err)
	}
	if len(src.cond.resizeFailures) != 1 || !strings.Contains(src.cond.resizeFailures[0].Reason, "cannot resize disks down") {
		t.Errorf("resize failures %+v", src.cond.resizeFailures)
	}
	if info, _ := src.drv.GetInfo(context.Background(), "i1"); info.State != virt.Running {
		t.Errorf("a refused migration left the guest %s", info.State)
	}
	if err := src.a.ConfirmMigration(ctxReq(), rpc.InstanceRequest{InstanceUUID: "nothing"}); err != nil {
		t.Errorf("confirming what is not migrating: %v", err)
	}
}
