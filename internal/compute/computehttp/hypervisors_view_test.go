package computehttp

import (
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

func TestHypervisorViewShapes(t *testing.T) {
	t.Parallel()
	hv := compute.Hypervisor{
		Node: compute.HypervisorNode{UUID: "node-uuid", Hostname: "c1", Type: "fake", Version: 1000, HostIP: "10.0.0.5",
			VCPUs: 8, VCPUsUsed: 2, MemoryMB: 8192, MemUsed: 1536, LocalGB: 100, DiskUsed: 10,
			CPUInfo: map[string]any{"arch": "x86_64"}},
		Service:    compute.ServiceState{ID: 4, UUID: "svc-uuid", Host: "c1", Disabled: true, DisabledReason: "patching"},
		RunningVMs: 1,
		Servers:    []compute.Instance{{UUID: "i-1", DisplayName: "busy"}},
	}
	v := func(minor int) api.Version { return api.Version{Major: 2, Minor: minor} }
	cases := []struct {
		name    string
		minor   int
		detail  bool
		has     []string
		hasNot  []string
		id      any
		cpuJSON bool
	}{
		{"2.1 detail", 1, true, []string{"vcpus", "free_ram_mb", "cpu_info", "service", "servers"}, []string{"uptime"}, 4, true},
		{"2.28 detail", 28, true, []string{"cpu_info", "running_vms"}, []string{"uptime"}, 4, false},
		{"2.53 summary", 53, false, []string{"state", "status", "servers"}, []string{"vcpus", "service"}, "node-uuid", false},
		{"2.88 detail", 88, true, []string{"uptime", "host_ip", "hypervisor_type"}, []string{"vcpus", "cpu_info", "free_disk_gb"}, "node-uuid", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := hypervisorView(v(c.minor), hv, c.detail, false, nil)
			for _, k := range c.has {
				if _, ok := out[k]; !ok {
					t.Errorf("%s missing: %v", k, out)
				}
			}
			for _, k := range c.hasNot {
				if _, ok := out[k]; ok {
					t.Errorf("%s shown: %v", k, out)
				}
			}
			if out["id"] != c.id || out["status"] != "disabled" || out["state"] != "down" {
				t.Errorf("id, status, state %v %v %v", out["id"], out["status"], out["state"])
			}
			if _, isString := out["cpu_info"].(string); c.detail && c.minor < 88 && isString != c.cpuJSON {
				t.Errorf("cpu_info %#v", out["cpu_info"])
			}
			if c.detail && c.minor < 88 && (out["free_ram_mb"] != int64(6656) || out["free_disk_gb"] != int64(90)) {
				t.Errorf("free %v %v", out["free_ram_mb"], out["free_disk_gb"])
			}
		})
	}
	idle := hv
	idle.Servers = nil
	if _, ok := hypervisorView(v(74), idle, false, true, nil)["servers"]; ok {
		t.Error("an empty servers list shown before 2.75")
	}
	if s, ok := hypervisorView(v(75), idle, false, true, nil)["servers"].([]hypervisorServerView); !ok || len(s) != 0 {
		t.Errorf("servers at 2.75: %#v", s)
	}
}

func TestServiceViewShapes(t *testing.T) {
	t.Parallel()
	st := compute.ServiceState{ID: 3, UUID: "svc-uuid", Binary: "nova-compute", Host: "c1", Zone: "nova", Up: true}
	old := newServiceView(api.Version{Major: 2, Minor: 10}, st)
	if old.ID != 3 || old.ForcedDown != nil || old.DisabledReason != nil || old.UpdatedAt != nil || old.State != "up" {
		t.Errorf("2.10 view %+v", old)
	}
	st.Disabled, st.DisabledReason, st.ForcedDown, st.Up = true, "why", true, false
	nv := newServiceView(api.Version{Major: 2, Minor: 53}, st)
	if nv.ID != "svc-uuid" || nv.ForcedDown == nil || !*nv.ForcedDown || *nv.DisabledReason != "why" ||
		nv.Status != "disabled" || nv.State != "down" {
		t.Errorf("2.53 view %+v", nv)
	}
}
