package compute_test

import (
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/compute"
)

func hypervisorGroup() *fakeGroup {
	g := newGroup()
	g.states[0].Node = &compute.HypervisorNode{UUID: "aaaaaaaa-0000-4000-8000-000000000001", Hostname: "c1",
		VCPUs: 8, VCPUsUsed: 2, MemoryMB: 4096, MemUsed: 1024, LocalGB: 50, DiskUsed: 5}
	g.states = append(g.states, compute.ServiceState{ID: 7, UUID: "bbbbbbbb-0000-4000-8000-000000000002", Host: "c2",
		Binary: "nova-compute", Up: true, Node: &compute.HypervisorNode{UUID: "aaaaaaaa-0000-4000-8000-000000000002",
			Hostname: "c2", VCPUs: 4, MemoryMB: 2048, LocalGB: 20}},
		// A compute service that has not reported its node is no hypervisor.
		compute.ServiceState{ID: 8, UUID: "cccccccc-0000-4000-8000-000000000003", Host: "c3", Binary: "nova-compute"})
	return g
}

func TestListHypervisors(t *testing.T) {
	t.Parallel()
	svc := newService(t, func(_ *compute.Config, d *compute.Deps) { d.ServiceAdmin = hypervisorGroup() })
	all := must(svc.ListHypervisors(admin, compute.HypervisorQuery{Detail: true}))(t)
	if len(all) != 2 || all[0].Node.Hostname != "c1" || all[1].Node.Hostname != "c2" {
		t.Fatalf("hypervisors %+v", all)
	}
	one, marker := 1, "aaaaaaaa-0000-4000-8000-000000000001"
	page := must(svc.ListHypervisors(admin, compute.HypervisorQuery{ByUUID: true, Limit: &one, Marker: &marker}))(t)
	if len(page) != 1 || page[0].Node.Hostname != "c2" {
		t.Errorf("page after c1: %+v", page)
	}
	idMarker := "1"
	page = must(svc.ListHypervisors(admin, compute.HypervisorQuery{Marker: &idMarker}))(t)
	if len(page) != 1 || page[0].Service.ID != 7 {
		t.Errorf("page after id 1: %+v", page)
	}
	capped := newService(t, func(c *compute.Config, d *compute.Deps) { c.MaxLimit = 1; d.ServiceAdmin = hypervisorGroup() })
	if got := must(capped.ListHypervisors(admin, compute.HypervisorQuery{}))(t); len(got) != 1 {
		t.Errorf("a page of max_limit 1 holds %d", len(got))
	}
	if got := must(capped.ListHypervisors(admin, compute.HypervisorQuery{Unpaged: true}))(t); len(got) != 2 {
		t.Errorf("an unpaged list holds %d", len(got))
	}
	pat := "2"
	if got := must(svc.ListHypervisors(admin, compute.HypervisorQuery{Pattern: &pat}))(t); len(got) != 1 || got[0].Node.Hostname != "c2" {
		t.Errorf("pattern %q: %+v", pat, got)
	}
	bad := "zz"
	_, err := svc.ListHypervisors(admin, compute.HypervisorQuery{Pattern: &bad})
	wantErr(t, err, compute.ErrNotFound, "No hypervisor matching 'zz' could be found.")
	_, err = svc.ListHypervisors(admin, compute.HypervisorQuery{Pattern: &pat, Limit: &one})
	wantErr(t, err, compute.ErrInvalid, "Paging over hypervisors")
	_, err = svc.ListHypervisors(admin, compute.HypervisorQuery{Marker: &bad})
	wantErr(t, err, compute.ErrInvalid, "marker [zz] not found")
	_, err = svc.ListHypervisors(alice, compute.HypervisorQuery{Detail: true})
	wantErr(t, err, compute.ErrForbidden, "os-hypervisors:list-detail")
	_, err = svc.SearchHypervisors(reader, "c", true)
	wantErr(t, err, compute.ErrForbidden, "os-hypervisors:servers")
}

func TestGetHypervisorAndStatistics(t *testing.T) {
	t.Parallel()
	svc := newService(t, func(_ *compute.Config, d *compute.Deps) { d.ServiceAdmin = hypervisorGroup() })
	h := must(svc.GetHypervisor(admin, "7", false, true))(t)
	if h.Node.Hostname != "c2" || len(h.Servers) != 0 {
		t.Errorf("hypervisor 7 %+v", h)
	}
	h = must(svc.GetHypervisor(admin, "aaaaaaaa-0000-4000-8000-000000000001", true, false))(t)
	if h.Service.Host != "c1" {
		t.Errorf("hypervisor by uuid %+v", h)
	}
	_, err := svc.GetHypervisor(admin, "x", false, false)
	wantErr(t, err, compute.ErrNotFound, "Hypervisor with ID 'x' could not be found.")
	_, err = svc.GetHypervisor(admin, "x", true, false)
	wantErr(t, err, compute.ErrInvalid, "Invalid uuid x")
	_, err = svc.GetHypervisor(admin, "8", false, false)
	wantErr(t, err, compute.ErrNotFound, "Hypervisor with ID '8' could not be found.")
	st := must(svc.HypervisorStatistics(admin))(t)
	want := compute.HypervisorStats{Count: 2, VCPUs: 12, VCPUsUsed: 2, MemoryMB: 6144, MemoryMBUsed: 1024,
		FreeRAMMB: 5120, LocalGB: 70, LocalGBUsed: 5, FreeDiskGB: 65, DiskAvailableLeast: 65}
	if st != want {
		t.Errorf("statistics %+v, want %+v", st, want)
	}
	_, err = svc.HypervisorStatistics(alice)
	wantErr(t, err, compute.ErrForbidden, "os-hypervisors:statistics")
}
