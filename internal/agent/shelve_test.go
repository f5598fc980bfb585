package agent

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/virt"
	"github.com/nimbus-cloud/nimbus/internal/virt/fake"
)

// built returns a harness with instance i1 running on h1 and an uploader.
func built(t *testing.T, offload time.Duration) (*harness, *fakeUploader) {
	t.Helper()
	h := newHarness(t)
	h.a.cfg.ShelvedOffloadTime = offload
	up := &fakeUploader{uploaded: map[string]string{}}
	h.a.uploader = up
	h.cond.add("i1", "h1", "building", "scheduling", 0)
	if err := h.a.BuildAndRun(ctxReq(), buildReq("i1")); err != nil {
		t.Fatal(err)
	}
	return h, up
}

func TestShelveOffloadsAtOnce(t *testing.T) {
	t.Parallel()
	h, up := built(t, 0)
	h.cond.add("i1", "h1", "active", "shelving", 1)
	if err := h.a.Shelve(ctxReq(), rpc.ShelveRequest{InstanceUUID: "i1", ImageID: "shelved"}); err != nil {
		t.Fatal(err)
	}
	if up.uploaded["shelved"] != "raw/bare:disk bytes" {
		t.Errorf("uploaded %q", up.uploaded["shelved"])
	}
	if len(h.cond.shelved) != 1 {
		t.Fatalf("shelve reports %+v", h.cond.shelved)
	}
	if r := h.cond.shelved[0]; !r.Offloaded || r.ImageID != "shelved" || r.DiskFormat != "raw" || r.Host != "h1" {
		t.Errorf("shelve report %+v", r)
	}
	if _, err := h.drv.GetInfo(context.Background(), "i1"); !errors.Is(err, virt.ErrInstanceNotFound) {
		t.Errorf("offloaded guest still there: %v", err)
	}
	_, updates := h.cond.log()
	var tasks []string
	for _, u := range updates[2:] {
		tasks = append(tasks, *u.TaskState)
	}
	if !slices.Equal(tasks, []string{"shelving_image_pending_upload", "shelving_image_uploading"}) {
		t.Errorf("shelve task states %v", tasks)
	}

	// Unshelve spawns the guest from the shelved image on the claimed
	// host, then deletes the image.
	h.images.data["shelved"] = "shelved disk"
	h.cond.add("i1", "h1", "shelved_offloaded", "unshelving", 0)
	req := buildReq("i1")
	req.Instance.Image.ID = "shelved"
	if err := h.a.Unshelve(ctxReq(), rpc.UnshelveOnHostRequest{Instance: req.Instance, Host: req.Host}); err != nil {
		t.Fatal(err)
	}
	if r := h.cond.unshelved; len(r) != 1 || r[0].Error != "" || !r[0].Spawned || r[0].PowerState != 1 {
		t.Errorf("unshelve reports %+v", r)
	}
	if info, err := h.drv.GetInfo(context.Background(), "i1"); err != nil || info.State != virt.Running {
		t.Errorf("unshelved guest %+v, %v", info, err)
	}
	if !slices.Equal(up.deleted, []string{"shelved"}) {
		t.Errorf("deleted images %v", up.deleted)
	}
}

func TestShelveKeepsGuestThenOffloads(t *testing.T) {
	t.Parallel()
	h, up := built(t, time.Hour)
	h.cond.add("i1", "h1", "active", "shelving", 1)
	if err := h.a.Shelve(ctxReq(), rpc.ShelveRequest{InstanceUUID: "i1", ImageID: "shelved"}); err != nil {
		t.Fatal(err)
	}
	if r := h.cond.shelved; len(r) != 1 || r[0].Offloaded || r[0].PowerState != int(virt.Shutdown) {
		t.Fatalf("shelve reports %+v", r)
	}
	if info, err := h.drv.GetInfo(context.Background(), "i1"); err != nil || info.State != virt.Shutdown {
		t.Errorf("shelved guest %+v, %v", info, err)
	}
	// Not due yet: nothing happens.
	h.a.offloadShelved(context.Background())
	if len(h.cond.shelved) != 1 {
		t.Fatalf("offloaded before its time: %+v", h.cond.shelved)
	}
	// Due: the agent takes the task and offloads.
	h.a.mu.Lock()
	h.a.shelved["i1"] = time.Now().Add(-2 * time.Hour)
	h.a.mu.Unlock()
	h.cond.add("i1", "h1", "shelved", "", 4)
	h.a.offloadShelved(context.Background())
	if r := h.cond.shelved; len(r) != 2 || !r[1].Offloaded || r[1].ImageID != "" {
		t.Fatalf("offload reports %+v", r)
	}
	if h.drv.ImageCount() != 0 {
		t.Errorf("offload left %d images in the driver", h.drv.ImageCount())
	}
	// An unshelve that fails to spawn is reported with its error and
	// keeps the shelved image.
	h.cond.add("i1", "h1", "shelved_offloaded", "unshelving", 0)
	req := buildReq("i1")
	req.Instance.Image.ID = "gone"
	if err := h.a.Unshelve(ctxReq(), rpc.UnshelveOnHostRequest{Instance: req.Instance, Host: req.Host}); err != nil {
		t.Fatal(err)
	}
	if r := h.cond.unshelved; len(r) != 1 || r[0].Error == "" || !r[0].Spawned {
		t.Errorf("failed unshelve reports %+v", r)
	}
	if len(up.deleted) != 0 {
		t.Errorf("a failed unshelve deleted %v", up.deleted)
	}
}

func TestShelvePowersOnInPlace(t *testing.T) {
	t.Parallel()
	h, up := built(t, -1)
	h.cond.add("i1", "h1", "active", "shelving", 1)
	if err := h.a.Shelve(ctxReq(), rpc.ShelveRequest{InstanceUUID: "i1", ImageID: "shelved"}); err != nil {
		t.Fatal(err)
	}
	h.a.mu.Lock()
	remembered := len(h.a.shelved)
	h.a.mu.Unlock()
	if remembered != 0 {
		t.Error("shelved_offload_time -1 remembers instances to offload")
	}
	h.cond.add("i1", "h1", "shelved", "unshelving", 4)
	req := buildReq("i1")
	req.Instance.Image.ID = "shelved"
	if err := h.a.Unshelve(ctxReq(), rpc.UnshelveOnHostRequest{Instance: req.Instance}); err != nil {
		t.Fatal(err)
	}
	if r := h.cond.unshelved; len(r) != 1 || r[0].Error != "" || r[0].Spawned || r[0].PowerState != 1 {
		t.Errorf("unshelve reports %+v", r)
	}
	if !slices.Equal(up.deleted, []string{"shelved"}) {
		t.Errorf("deleted images %v", up.deleted)
	}
}

func TestShelveUploadFails(t *testing.T) {
	t.Parallel()
	h, up := built(t, 0)
	up.fail = errors.New("image service full")
	h.cond.add("i1", "h1", "active", "shelving", 1)
	if err := h.a.Shelve(ctxReq(), rpc.ShelveRequest{InstanceUUID: "i1", ImageID: "shelved"}); err != nil {
		t.Fatal(err)
	}
	_, updates := h.cond.log()
	last := updates[len(updates)-1]
	if st := h.cond.state("i1"); st.TaskState != "" || st.VMState != "active" || last.Fault == nil ||
		!strings.Contains(last.Fault.Message, "image service full") || !slices.Equal(up.deleted, []string{"shelved"}) {
		t.Errorf("after a failed shelve %+v fault %+v deleted %v", st, last.Fault, up.deleted)
	}
	if len(h.cond.shelved) != 0 {
		t.Errorf("a failed shelve was reported shelved: %+v", h.cond.shelved)
	}
	if _, err := h.drv.GetInfo(context.Background(), "i1"); err != nil {
		t.Errorf("a failed shelve lost the guest: %v", err)
	}
}

func TestRescueAndUnrescue(t *testing.T) {
	t.Parallel()
	h, _ := built(t, 0)
	h.images.data["rescue-img"] = "rescue disk"
	h.cond.add("i1", "h1", "active", "rescuing", 1)
	req := buildReq("i1")
	if err := h.a.Rescue(ctxReq(), rpc.RescueRequest{Instance: req.Instance, AdminPass: "pw",
		RescueImage: rpc.ImageMeta{ID: "rescue-img", DiskFormat: "raw"}}); err != nil {
		t.Fatal(err)
	}
	if st := h.cond.state("i1"); st != (rpc.InstanceState{VMState: "rescued", PowerState: 1}) {
		t.Errorf("after rescue %+v", st)
	}
	if ok, img := h.drv.Rescued("i1"); !ok || img != "rescue-img" {
		t.Errorf("driver rescued %v from %q", ok, img)
	}
	h.cond.add("i1", "h1", "rescued", "unrescuing", 1)
	if err := h.a.Unrescue(ctxReq(), rpc.InstanceRequest{InstanceUUID: "i1"}); err != nil {
		t.Fatal(err)
	}
	if st := h.cond.state("i1"); st != (rpc.InstanceState{VMState: "active", PowerState: 1}) {
		t.Errorf("after unrescue %+v", st)
	}
	// A rescue the driver refuses leaves the instance in ERROR with a
	// fault, as nova does.
	h.drv.FailNext(fake.OpRescue, 1)
	h.cond.add("i1", "h1", "active", "rescuing", 1)
	if err := h.a.Rescue(ctxReq(), rpc.RescueRequest{Instance: req.Instance}); err != nil {
		t.Fatal(err)
	}
	_, updates := h.cond.log()
	if st, last := h.cond.state("i1"), updates[len(updates)-1]; st.VMState != "error" || last.Fault == nil {
		t.Errorf("after a failed rescue %+v fault %+v", st, last.Fault)
	}
}

// fakeBackups is an uploader that lists backups newest first.
type fakeBackups struct {
	fakeUploader
	listed []string
}

func (f *fakeBackups) Backups(ctx context.Context, instanceUUID, backupType string) ([]string, error) {
	return slices.Clone(f.listed), nil
}

func TestBackupRotation(t *testing.T) {
	t.Parallel()
	h, _ := built(t, 0)
	up := &fakeBackups{fakeUploader: fakeUploader{uploaded: map[string]string{}}}
	h.a.uploader = up
	// The image service lists the new backup after an older one of the
	// same second: the new one is kept all the same.
	up.listed = []string{"b2", "b3", "b1"}
	h.cond.add("i1", "h1", "active", "image_backup", 1)
	if err := h.a.Backup(ctxReq(), rpc.BackupRequest{InstanceUUID: "i1", ImageID: "b3", BackupType: "daily",
		Rotation: 2}); err != nil {
		t.Fatal(err)
	}
	if up.uploaded["b3"] == "" || !slices.Equal(up.deleted, []string{"b1"}) {
		t.Errorf("uploaded %v, deleted %v", up.uploaded, up.deleted)
	}
	if st := h.cond.state("i1"); st.TaskState != "" || st.VMState != "active" {
		t.Errorf("after backup %+v", st)
	}
	up.deleted = nil
	up.listed = []string{"b4", "b3", "b2"}
	h.cond.add("i1", "h1", "active", "image_backup", 1)
	if err := h.a.Backup(ctxReq(), rpc.BackupRequest{InstanceUUID: "i1", ImageID: "b4", BackupType: "daily"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(up.deleted, []string{"b4", "b3", "b2"}) {
		t.Errorf("rotation 0 deleted %v", up.deleted)
	}
}

func TestDiagnostics(t *testing.T) {
	t.Parallel()
	h, _ := built(t, 0)
	d, err := h.a.Diagnostics(ctxReq(), rpc.InstanceRequest{InstanceUUID: "i1"})
	if err != nil || d.State != "running" || len(d.CPUs) != 2 || d.MemoryMaxKB != 2048*1024 || len(d.Disks) != 1 {
		t.Errorf("diagnostics %+v, %v", d, err)
	}
	if _, err := h.a.Diagnostics(ctxReq(), rpc.InstanceRequest{InstanceUUID: "nope"}); !errors.Is(err, rpc.ErrInstanceNotFound) {
		t.Errorf("diagnostics of no instance: %v", err)
	}
}

// TestShelvedOffloadSurvivesRestart: an agent that starts learns from the
// conductor which of its guests are shelved, and offloads them when due.
func TestShelvedOffloadSurvivesRestart(t *testing.T) {
	t.Parallel()
	h, _ := built(t, time.Hour)
	h.cond.add("i1", "h1", "shelved", "", 4)
	h.cond.shelvedAt = time.Now().Add(-2 * time.Hour)
	h.a.recoverShelved(context.Background())
	h.a.offloadShelved(context.Background())
	if r := h.cond.shelved; len(r) != 1 || !r[0].Offloaded {
		t.Fatalf("offload after a restart: %+v", r)
	}
	// An active guest is not taken for a shelved one.
	h2, _ := built(t, time.Hour)
	h2.cond.shelvedAt = time.Now().Add(-2 * time.Hour)
	h2.a.recoverShelved(context.Background())
	h2.a.offloadShelved(context.Background())
	if len(h2.cond.shelved) != 0 {
		t.Errorf("an active guest was offloaded: %+v", h2.cond.shelved)
	}
}
