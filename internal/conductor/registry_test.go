package conductor

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

func TestRegistryOperatorState(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	r := NewRegistry(RegistryOptions{ServiceDownTime: time.Minute, Now: func() time.Time { return now }})
	r.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute, Node: &rpc.ComputeNode{Node: "c1", ProviderUUID: "rp"}})
	r.Report(rpc.ServiceReport{Host: "ctl", Binary: rpc.BinaryScheduler})

	s, ok := r.Compute("c1")
	if !ok || !s.Up || s.Disabled || s.Zone != "nova" || s.ID != 1 {
		t.Fatalf("compute %+v", s)
	}
	if uuid.Validate(s.UUID) != nil || s.UUID != ServiceUUID("c1", rpc.BinaryCompute) {
		t.Errorf("uuid %q, want the stable one of host and binary", s.UUID)
	}
	if ServiceUUID("c1", rpc.BinaryCompute) == ServiceUUID("c1", rpc.BinaryScheduler) {
		t.Error("two services of a host share a uuid")
	}

	if !r.SetDisabled("c1", rpc.BinaryCompute, true, "maintenance") {
		t.Fatal("SetDisabled of a known service failed")
	}
	if s, _ := r.Compute("c1"); !s.Disabled || s.DisabledReason != "maintenance" {
		t.Errorf("disabled %+v", s)
	}
	r.SetDisabled("c1", rpc.BinaryCompute, false, "ignored")
	if s, _ := r.Compute("c1"); s.Disabled || s.DisabledReason != "" {
		t.Errorf("enabled %+v", s)
	}

	r.SetForcedDown("c1", rpc.BinaryCompute, true)
	if r.HostUp("c1") {
		t.Error("a forced down host is up")
	}
	r.Report(rpc.ServiceReport{Host: "c1", Binary: rpc.BinaryCompute})
	if r.HostUp("c1") {
		t.Error("a heartbeat brought a forced down host up")
	}
	r.SetForcedDown("c1", rpc.BinaryCompute, false)
	if !r.HostUp("c1") {
		t.Error("a host is down after forced_down was cleared")
	}
	now = now.Add(2 * time.Minute)
	if r.HostUp("c1") {
		t.Error("a silent host is up")
	}

	for _, f := range []func() bool{
		func() bool { return r.SetDisabled("c9", rpc.BinaryCompute, true, "") },
		func() bool { return r.SetForcedDown("c9", rpc.BinaryCompute, true) },
		func() bool { return r.Remove("c9", rpc.BinaryCompute) },
	} {
		if f() {
			t.Error("an unknown service was changed")
		}
	}
	if !r.Remove("ctl", rpc.BinaryScheduler) || len(r.Services()) != 1 {
		t.Errorf("remove: %+v", r.Services())
	}
	r.Report(rpc.ServiceReport{Host: "ctl", Binary: rpc.BinaryScheduler})
	if ss := r.Services(); len(ss) != 2 || ss[1].ID != 3 || ss[1].UUID != ServiceUUID("ctl", rpc.BinaryScheduler) {
		t.Errorf("re-registered %+v", ss)
	}
}
