package compute_test

import (
	"errors"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// TestHostActionsByDriver takes the fake driver's answers to os-hosts
// updates and power actions and refuses them, nova's 501, for any other
// driver's host.
func TestHostActionsByDriver(t *testing.T) {
	t.Parallel()
	g := hypervisorGroup()
	for i := range g.states {
		if n := g.states[i].Node; n != nil {
			n.Type = map[string]string{"c1": "fake", "c2": "QEMU"}[g.states[i].Host]
		}
	}
	svc := newService(t, func(_ *compute.Config, d *compute.Deps) { d.ServiceAdmin = g })
	if got, err := svc.HostPowerAction(admin, "c1", "reboot"); err != nil || got != "reboot" {
		t.Errorf("fake host reboot = %q, %v", got, err)
	}
	if got, err := svc.SetHostMaintenance(admin, "c1", true); err != nil || got != "on_maintenance" {
		t.Errorf("fake host maintenance = %q, %v", got, err)
	}
	if _, err := svc.SetHostEnabled(admin, "c2", false); !errors.Is(err, compute.ErrHostActionUnsupported) {
		t.Errorf("QEMU host disable = %v; want ErrHostActionUnsupported", err)
	}
	if _, err := svc.HostPowerAction(admin, "c3", "shutdown"); !errors.Is(err, compute.ErrHostActionUnsupported) {
		t.Errorf("host without a node = %v; want ErrHostActionUnsupported", err)
	}
	if _, err := svc.HostPowerAction(admin, "c9", "shutdown"); !errors.Is(err, compute.ErrNotFound) {
		t.Errorf("unknown host = %v; want ErrNotFound", err)
	}
	res, err := svc.HostResources(admin, "c1")
	if err != nil || len(res) != 3 || res[0].CPU != 8 || res[1].MemoryMB != 1024 || res[2].Project != "(used_max)" {
		t.Errorf("resources of an empty host = %+v, %v", res, err)
	}
	if _, err := svc.HostResources(admin, "c3"); !errors.Is(err, compute.ErrNotFound) {
		t.Errorf("resources of a host without a node = %v", err)
	}
}
