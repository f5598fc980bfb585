package compute_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
)

func TestQuotaDefaultsAndClasses(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	d := must(s.QuotaDefaults(bob, "p1"))(t)
	if d["instances"] != 10 || d["floating_ips"] != -1 || d["injected_file_path_bytes"] != 255 || len(d) != 14 {
		t.Errorf("defaults %v", d)
	}
	_, err := s.QuotaDefaults(bob, "ghost")
	wantErr(t, err, compute.ErrInvalid, "Project ID ghost is not a valid project.")

	_, err = s.UpdateClassQuotas(alice, "default", map[string]int{"instances": 5})
	wantErr(t, err, compute.ErrForbidden, "os-quota-class-sets:update")
	c := must(s.UpdateClassQuotas(admin, "default", map[string]int{"instances": 5}))(t)
	if c["instances"] != 5 || c["cores"] != 20 {
		t.Errorf("class after update %v", c)
	}
	// The default class replaces the configured defaults for every project...
	if q := must(s.Quotas(alice, "p1", ""))(t); q["instances"] != 5 {
		t.Errorf("p1 instances = %d, want the default class's 5", q["instances"])
	}
	// ...but another class shows the configured defaults beside its own.
	must(s.UpdateClassQuotas(admin, "gold", map[string]int{"cores": 64}))(t)
	g := must(s.ClassQuotas(admin, "gold"))(t)
	if g["cores"] != 64 || g["instances"] != 10 {
		t.Errorf("gold class %v", g)
	}
	_, err = s.UpdateClassQuotas(admin, "default", map[string]int{"bogus": 1})
	wantErr(t, err, compute.ErrInvalid, "Unknown quota resources [bogus].")
}

func TestQuotaUpdateRules(t *testing.T) {
	t.Parallel()
	usage := counter{"p1": {"instances": 4, "cores": 8}, "p1/alice": {"instances": 3}}
	s := newService(t, func(_ *compute.Config, d *compute.Deps) { d.Counters = []compute.UsageCounter{usage} })

	_, err := s.UpdateQuotas(alice, "p1", "", map[string]int{"instances": 20}, false)
	wantErr(t, err, compute.ErrForbidden, "os-quota-sets:update")
	_, err = s.Quotas(bob, "p1", "")
	wantErr(t, err, compute.ErrForbidden, "os-quota-sets:show")
	_, err = s.UpdateQuotas(admin, "ghost", "", map[string]int{"instances": 20}, false)
	wantErr(t, err, compute.ErrInvalid, "Project ID ghost is not a valid project.")

	_, err = s.UpdateQuotas(admin, "p1", "", map[string]int{"instances": 3}, false)
	wantErr(t, err, compute.ErrInvalid,
		"Quota limit 3 for instances must be greater than or equal to already used and reserved 4.")
	// Nothing of a refused update is written.
	_, err = s.UpdateQuotas(admin, "p1", "", map[string]int{"cores": 30, "instances": 3}, false)
	if err == nil || must(s.Quotas(admin, "p1", ""))(t)["cores"] != 20 {
		t.Fatalf("partial update: %v", err)
	}
	q := must(s.UpdateQuotas(admin, "p1", "", map[string]int{"instances": 3}, true))(t)
	if q["instances"] != 3 {
		t.Errorf("forced update gave %v", q)
	}
	must(s.UpdateQuotas(admin, "p1", "", map[string]int{"instances": 8}, false))(t)

	// A user's limit is bounded by what the project has not given others.
	must(s.UpdateQuotas(admin, "p1", "bob", map[string]int{"instances": 5}, false))(t)
	_, err = s.UpdateQuotas(admin, "p1", "alice", map[string]int{"instances": 4}, false)
	wantErr(t, err, compute.ErrInvalid, "Quota limit 4 for instances must be less than or equal to 3.")
	_, err = s.UpdateQuotas(admin, "p1", "alice", map[string]int{"instances": 2}, false)
	wantErr(t, err, compute.ErrInvalid, "must be greater than or equal to already used and reserved 3.")
	uq := must(s.UpdateQuotas(admin, "p1", "alice", map[string]int{"instances": 3, "fixed_ips": 7}, false))(t)
	if uq["instances"] != 3 || uq["fixed_ips"] != 7 || uq["cores"] != 20 {
		t.Errorf("alice's limits %v", uq)
	}
	// fixed_ips is never per user: the project's limit took it.
	if q := must(s.Quotas(reader, "p1", ""))(t); q["fixed_ips"] != 7 || q["instances"] != 8 {
		t.Errorf("p1 limits %v", q)
	}
	// The project may not go below what its users were given.
	_, err = s.UpdateQuotas(admin, "p1", "", map[string]int{"instances": 7}, false)
	wantErr(t, err, compute.ErrInvalid, "must be greater than or equal to already used and reserved 8.")

	detail := must(s.QuotaUsage(reader, "p1", ""))(t)
	dbtest.Same(t, detail["instances"], compute.Usage{Limit: 8, InUse: 4})
	dbtest.Same(t, detail["cores"], compute.Usage{Limit: 20, InUse: 8})
	dbtest.Same(t, must(s.QuotaUsage(admin, "p1", "alice"))(t)["instances"], compute.Usage{Limit: 3, InUse: 3})

	if err := s.DeleteQuotas(admin, "p1", ""); err != nil {
		t.Fatal(err)
	}
	if q := must(s.Quotas(admin, "p1", "alice"))(t); q["instances"] != 10 || q["fixed_ips"] != -1 {
		t.Errorf("after delete %v", q)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	usage := counter{"p1": {"ram": 1024, "key_pairs": 3}}
	s := newService(t, func(_ *compute.Config, d *compute.Deps) { d.Counters = []compute.UsageCounter{usage} })
	l := must(s.Limits(alice, nil))(t)
	dbtest.Same(t, l["ram"], compute.Usage{Limit: 51200, InUse: 1024})
	// Key pairs are per user; nova shows no usage for them.
	dbtest.Same(t, l["key_pairs"], compute.Usage{Limit: 100})
	_, err := s.Limits(alice, ptr("p2"))
	wantErr(t, err, compute.ErrForbidden, "os_compute_api:limits:other_project")
	if l := must(s.Limits(admin, ptr("p1")))(t); l["ram"].InUse != 1024 {
		t.Errorf("admin's view of p1 %v", l["ram"])
	}
}

// directory is a fake ServiceDirectory.
type directory []compute.ServiceRecord

func (d directory) Services(context.Context) ([]compute.ServiceRecord, error) { return d, nil }

type brokenDirectory struct{}

func (brokenDirectory) Services(context.Context) ([]compute.ServiceRecord, error) {
	return nil, errors.New("database down")
}

func TestAvailabilityZones(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	zs := must(s.AvailabilityZones(alice, false))(t)
	dbtest.Same(t, zs, []compute.Zone{{Name: "nova", Available: true}})
	_, err := s.AvailabilityZones(alice, true)
	wantErr(t, err, compute.ErrForbidden, "os-availability-zone:detail")

	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	dir := directory{
		{Host: "c1", Binary: "nova-compute", Zone: "nova", Up: true, UpdatedAt: at},
		{Host: "c2", Binary: "nova-compute", Zone: "az2", Disabled: true},
		{Host: "c3", Binary: "nova-compute", Zone: "az3", Up: false},
		{Host: "ctl", Binary: "nova-scheduler", Zone: "internal", Up: true},
		{Host: "ctl", Binary: "nova-osapi_compute", Zone: "internal", Up: true},
	}
	s = newService(t, func(_ *compute.Config, d *compute.Deps) { d.Services = dir })
	dbtest.Same(t, must(s.AvailabilityZones(alice, false))(t), []compute.Zone{
		{Name: "az3", Available: true}, {Name: "nova", Available: true}, {Name: "az2"}})
	detail := must(s.AvailabilityZones(admin, true))(t)
	if len(detail) != 4 || detail[1].Name != "internal" {
		t.Fatalf("detail %+v", detail)
	}
	dbtest.Same(t, detail[1].Hosts, map[string]map[string]compute.ZoneService{
		"ctl": {"nova-scheduler": {Available: true, Active: true}}})
	dbtest.Same(t, detail[2].Hosts["c1"]["nova-compute"], compute.ZoneService{Available: true, Active: true, UpdatedAt: at})
	if detail[3].Hosts != nil || detail[3].Available {
		t.Errorf("unavailable zone %+v", detail[3])
	}

	s = newService(t, func(_ *compute.Config, d *compute.Deps) { d.Services = brokenDirectory{} })
	if _, err := s.AvailabilityZones(alice, false); err == nil {
		t.Error("a failing directory went unreported")
	}
}

func TestCheckDeltas(t *testing.T) {
	t.Parallel()
	usage := counter{"p1": {"instances": 8, "cores": 16, "ram": 4096}, "p1/alice": {"instances": 2, "cores": 4}}
	s := newService(t, func(_ *compute.Config, d *compute.Deps) { d.Counters = []compute.UsageCounter{usage} })
	if err := s.CheckDeltas(alice, "p1", "alice", map[string]int{"instances": 2, "cores": 4, "ram": 1024}); err != nil {
		t.Fatalf("within limits: %v", err)
	}
	err := s.CheckDeltas(alice, "p1", "alice", map[string]int{"instances": 3, "cores": 5, "ram": 1})
	var qe *compute.QuotaExceeded
	if !errors.As(err, &qe) || !errors.Is(err, compute.ErrOverLimit) || qe.Scope != "project" ||
		qe.Error() != "Quota exceeded for resources: ['cores', 'instances']" || qe.Usage["instances"] != 8 {
		t.Fatalf("over the project's limits: %v (%+v)", err, qe)
	}
	must(s.UpdateQuotas(admin, "p1", "alice", map[string]int{"instances": 2}, true))(t)
	err = s.CheckDeltas(alice, "p1", "alice", map[string]int{"instances": 1})
	if !errors.As(err, &qe) || qe.Scope != "user" || qe.Limits["instances"] != 2 || qe.Usage["instances"] != 2 {
		t.Fatalf("over the user's limit: %v (%+v)", err, qe)
	}
	// Per-request limits take the delta alone.
	if err := s.CheckDeltas(alice, "p1", "alice", map[string]int{"metadata_items": 129}); !errors.As(err, &qe) {
		t.Fatalf("129 metadata items passed a limit of 128: %v", err)
	}
	if err := s.CheckDeltas(alice, "p1", "alice", map[string]int{"nonsense": 1}); !errors.Is(err, compute.ErrInvalid) {
		t.Fatalf("unknown resource: %v", err)
	}
}
