package compute_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// fakeGroup is a ServiceAdmin over a slice of services.
type fakeGroup struct{ states []compute.ServiceState }

func (g *fakeGroup) ServiceStates(context.Context) ([]compute.ServiceState, error) {
	return append([]compute.ServiceState(nil), g.states...), nil
}

func (g *fakeGroup) find(host, binary string) (*compute.ServiceState, error) {
	for i := range g.states {
		if g.states[i].Host == host && g.states[i].Binary == binary {
			return &g.states[i], nil
		}
	}
	return nil, fmt.Errorf("service %s on %s: %w", binary, host, compute.ErrNotFound)
}

func (g *fakeGroup) SetServiceDisabled(_ context.Context, host, binary string, disabled bool, reason string) error {
	s, err := g.find(host, binary)
	if err == nil {
		s.Disabled, s.DisabledReason = disabled, reason
	}
	return err
}

func (g *fakeGroup) SetServiceForcedDown(_ context.Context, host, binary string, down bool) error {
	s, err := g.find(host, binary)
	if err == nil {
		s.ForcedDown, s.Up = down, !down
	}
	return err
}

func (g *fakeGroup) RemoveService(_ context.Context, host, binary string) error {
	if _, err := g.find(host, binary); err != nil {
		return err
	}
	for i, s := range g.states {
		if s.Host == host && s.Binary == binary {
			g.states = append(g.states[:i], g.states[i+1:]...)
			break
		}
	}
	return nil
}

const (
	computeUUID   = "8e2a4b1c-3d5f-4a6b-9c7d-0e1f2a3b4c5d"
	schedulerUUID = "1b2c3d4e-5f60-4172-8394-a5b6c7d8e9f0"
)

func newGroup() *fakeGroup {
	return &fakeGroup{states: []compute.ServiceState{
		{ID: 1, UUID: computeUUID, Host: "c1", Binary: "nova-compute", Zone: "nova", Up: true},
		{ID: 2, UUID: schedulerUUID, Host: "ctl", Binary: "nova-scheduler", Zone: "internal", Up: true},
		{ID: 3, UUID: "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d", Host: "ctl", Binary: "nova-osapi_compute", Up: true},
	}}
}

func TestServicesWithoutGroup(t *testing.T) {
	t.Parallel()
	if newService(t, nil).ManagesServices() {
		t.Fatal("a service without a service group claims to manage services")
	}
}

func TestListServices(t *testing.T) {
	t.Parallel()
	g := newGroup()
	svc := newService(t, func(_ *compute.Config, d *compute.Deps) { d.ServiceAdmin = g })
	if !svc.ManagesServices() {
		t.Fatal("ManagesServices false with a ServiceAdmin")
	}
	all := must(svc.ListServices(admin, "", ""))(t)
	if len(all) != 2 || all[0].Binary != "nova-compute" || all[1].Binary != "nova-scheduler" {
		t.Fatalf("services %+v, want compute and scheduler without the API", all)
	}
	for _, c := range []struct{ host, binary, want string }{
		{"c1", "", "nova-compute"}, {"", "nova-scheduler", "nova-scheduler"}, {"ctl", "nova-compute", ""},
	} {
		got := must(svc.ListServices(admin, c.host, c.binary))(t)
		if (c.want == "" && len(got) != 0) || (c.want != "" && (len(got) != 1 || got[0].Binary != c.want)) {
			t.Errorf("host %q binary %q: %+v", c.host, c.binary, got)
		}
	}
	_, err := svc.ListServices(alice, "", "")
	wantErr(t, err, compute.ErrForbidden, "os_compute_api:os-services:list")
}

func TestUpdateService(t *testing.T) {
	t.Parallel()
	g := newGroup()
	svc := newService(t, func(_ *compute.Config, d *compute.Deps) { d.ServiceAdmin = g })
	st := must(svc.UpdateService(admin, computeUUID, compute.ServiceUpdate{Status: ptr("disabled"),
		DisabledReason: ptr("maintenance")}))(t)
	if !st.Disabled || st.DisabledReason != "maintenance" {
		t.Fatalf("disabled service %+v", st)
	}
	st = must(svc.UpdateService(admin, computeUUID, compute.ServiceUpdate{Status: ptr("enabled"), ForcedDown: ptr(true)}))(t)
	if st.Disabled || st.DisabledReason != "" || !st.ForcedDown || st.Up {
		t.Fatalf("enabled and forced down service %+v", st)
	}
	cases := []struct {
		name string
		ctx  context.Context
		id   string
		u    compute.ServiceUpdate
		kind error
		msg  string
	}{
		{"bad uuid", admin, "7", compute.ServiceUpdate{Status: ptr("enabled")}, compute.ErrInvalid, "Invalid uuid 7"},
		{"not admin", alice, computeUUID, compute.ServiceUpdate{Status: ptr("enabled")}, compute.ErrForbidden, "os-services:update"},
		{"unknown", admin, "0f0f0f0f-0000-4000-8000-000000000000", compute.ServiceUpdate{Status: ptr("enabled")},
			compute.ErrNotFound, "could not be found"},
		{"scheduler", admin, schedulerUUID, compute.ServiceUpdate{Status: ptr("disabled")}, compute.ErrInvalid,
			"Updating a nova-scheduler service is not supported"},
		{"reason when enabling", admin, computeUUID, compute.ServiceUpdate{Status: ptr("enabled"), DisabledReason: ptr("x")},
			compute.ErrInvalid, "Specifying 'disabled_reason' with status 'enabled' is invalid."},
		{"nothing", admin, computeUUID, compute.ServiceUpdate{}, compute.ErrInvalid, "No updates were requested."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := svc.UpdateService(c.ctx, c.id, c.u)
			wantErr(t, err, c.kind, c.msg)
		})
	}
	err := svc.UpdateServiceByHost(admin, "c9", "nova-compute", compute.ServiceUpdate{Status: ptr("enabled")})
	wantErr(t, err, compute.ErrNotFound, "Could not find binary nova-compute on host c9.")
}

func TestDeleteService(t *testing.T) {
	t.Parallel()
	g := newGroup()
	svc := newService(t, func(_ *compute.Config, d *compute.Deps) { d.ServiceAdmin = g })
	wantErr(t, svc.DeleteService(admin, "x", false), compute.ErrInvalid, "id must be an integer")
	wantErr(t, svc.DeleteService(admin, "x", true), compute.ErrInvalid, "Invalid uuid x")
	wantErr(t, svc.DeleteService(admin, "9", false), compute.ErrNotFound, "Service 9 not found.")
	wantErr(t, svc.DeleteService(alice, "2", false), compute.ErrForbidden, "os-services:delete")
	if err := svc.DeleteService(admin, "2", false); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteService(admin, computeUUID, true); err != nil {
		t.Fatal(err)
	}
	if all := must(svc.ListServices(admin, "", ""))(t); len(all) != 0 {
		t.Fatalf("services left %+v", all)
	}
}

// providerDeleter records the providers DeleteComputeProvider was asked to
// remove, failing while err is set.
type providerDeleter struct {
	deleted []string
	err     error
}

func (p *providerDeleter) DeleteComputeProvider(_ context.Context, uuid string) error {
	p.deleted = append(p.deleted, uuid)
	return p.err
}

// Deleting a compute service waits for its moves to be over, takes the
// host out of its aggregates and removes its resource provider, as nova
// does; a placement failure is logged and the service goes anyway.
func TestDeleteComputeServiceRetiresHost(t *testing.T) {
	t.Parallel()
	g := newGroup()
	g.states[0].Node = &compute.HypervisorNode{UUID: "rp-c1", Hostname: "c1"}
	g.states = append(g.states, compute.ServiceState{ID: 4, UUID: "6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e", Host: "c2",
		Binary: "nova-compute", Zone: "nova", Up: true, Node: &compute.HypervisorNode{UUID: "rp-c2", Hostname: "c2"}})
	pp, pa := &providerDeleter{}, &placementAggregates{}
	var logs bytes.Buffer
	svc := newService(t, func(_ *compute.Config, d *compute.Deps) {
		d.ServiceAdmin, d.PlacementProviders, d.PlacementAggregates = g, pp, pa
		d.Services = directory{{Host: "c1", Binary: "nova-compute"}, {Host: "c2", Binary: "nova-compute"}}
		d.Log = slog.New(slog.NewTextHandler(&logs, nil))
	})
	zone := "az1"
	rack := must(svc.CreateAggregate(admin, "rack", &zone))(t)
	rackID := strconv.FormatInt(rack.ID, 10)
	must(svc.AddAggregateHost(admin, rackID, "c1"))(t)
	must(svc.AddAggregateHost(admin, rackID, "c2"))(t)
	pa.took()

	// A resize from c1 waits for its confirmation; c1 stays.
	m := must(svc.RecordMigration(admin, compute.Migration{InstanceUUID: "f0000000-0000-4000-8000-000000000001",
		SourceCompute: "c2", DestCompute: "c1", MigrationType: compute.MigrationTypeResize,
		Status: compute.MigrationFinished, ProjectID: "p1", UserID: "alice"}))(t)
	wantErr(t, svc.DeleteService(admin, computeUUID, true), compute.ErrConflict,
		"Unable to delete compute service that has in-progress migrations. Complete the migrations or delete the instances first.")
	if len(pp.deleted) != 0 || len(g.states) != 4 {
		t.Fatalf("refused delete removed providers %v, services %d", pp.deleted, len(g.states))
	}
	must(svc.UpdateMigration(admin, m.InstanceUUID, func(m *compute.Migration) error {
		m.Status = compute.MigrationConfirmed
		return nil
	}))(t)

	if err := svc.DeleteService(admin, computeUUID, true); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pp.deleted, []string{"rp-c1"}) {
		t.Errorf("providers deleted %v; want rp-c1", pp.deleted)
	}
	if got := must(svc.Aggregate(admin, rackID))(t); !slices.Equal(got.Hosts, []string{"c2"}) {
		t.Errorf("aggregate hosts %v; want c2 alone", got.Hosts)
	}
	if got, want := pa.took(), []string{"remove " + rack.UUID + " c1"}; !slices.Equal(got, want) {
		t.Errorf("placement membership changes %q; want %q", got, want)
	}

	pp.err = errors.New("placement unreachable")
	if err := svc.DeleteService(admin, "4", false); err != nil {
		t.Fatalf("delete with placement down: %v", err)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "provider=rp-c2") {
		t.Errorf("placement failure logged as %q", logs.String())
	}
	if all := must(svc.ListServices(admin, "", "nova-compute"))(t); len(all) != 0 {
		t.Errorf("compute services left %+v", all)
	}
}
