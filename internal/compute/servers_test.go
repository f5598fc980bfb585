package compute_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/auth/policy"
	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/computetest"
)

// Images of the server fixtures.
const (
	cirros   = "11111111-1111-4111-8111-111111111111"
	queued   = "22222222-2222-4222-8222-222222222222"
	bigImage = "33333333-3333-4333-8333-333333333333"
	other    = "44444444-4444-4444-8444-444444444444"
	wide     = "66666666-6666-4666-8666-666666666666"
)

// cloud is a compute service with servers: a fake conductor and image
// service, two compute hosts in zone "nova", flavors "small" (1 vCPU,
// 512 MiB, 1 GiB) and "large" (4, 4096, 20), "zero" (no disk) and a
// private "secret".
type cloud struct {
	svc    *compute.Service
	cond   *computetest.Conductor
	images *computetest.Images
}

func newCloud(t *testing.T, mod func(*compute.Config, *compute.Deps)) *cloud {
	t.Helper()
	c := &cloud{cond: computetest.NewConductor(), images: computetest.NewImages(
		compute.Image{ID: cirros, Name: "cirros", Status: "active", Size: 16 << 20, DiskFormat: "qcow2",
			ContainerFormat: "bare", Properties: map[string]string{"os_distro": "cirros", "hw_disk_bus": "virtio"}},
		compute.Image{ID: queued, Name: "queued", Status: "queued"},
		compute.Image{ID: bigImage, Name: "big", Status: "active", Size: 2 << 30, MinRAM: 1024, MinDisk: 30},
		compute.Image{ID: other, Name: "other", Status: "active", Size: 1 << 20},
		compute.Image{ID: wide, Name: "wide", Status: "active", Size: 2 << 30},
	)}
	c.svc = newService(t, func(cfg *compute.Config, d *compute.Deps) {
		d.Conductor, d.Images = c.cond, c.images
		d.Services = computetest.Services{
			{Host: "compute1", Binary: "nova-compute", Zone: "nova", Up: true},
			{Host: "compute2", Binary: "nova-compute", Zone: "nova", Up: true},
			{Host: "compute3", Binary: "nova-compute", Zone: "az2", Up: false},
		}
		if mod != nil {
			mod(cfg, d)
		}
	})
	c.cond.Svc = c.svc
	for _, f := range []compute.FlavorCreate{
		{ID: "small", Name: "m1.small", MemoryMB: 512, VCPUs: 1, RootGB: 1, RxTxFactor: 1, IsPublic: true},
		{ID: "large", Name: "m1.large", MemoryMB: 4096, VCPUs: 4, RootGB: 20, EphemeralGB: 1, RxTxFactor: 1, IsPublic: true},
		{ID: "zero", Name: "zero", MemoryMB: 512, VCPUs: 1, RxTxFactor: 1, IsPublic: true},
		{ID: "secret", Name: "secret", MemoryMB: 512, VCPUs: 1, RootGB: 1, RxTxFactor: 1},
	} {
		must(c.svc.CreateFlavor(admin, f))(t)
	}
	return c
}

// boot creates one server of small/cirros as ctx and returns it as built.
func (c *cloud) boot(t *testing.T, ctx context.Context, name string) compute.Instance {
	t.Helper()
	out, err := c.svc.CreateServers(ctx, compute.ServerCreate{Name: name, ImageRef: cirros, FlavorRef: "small"})
	if err != nil {
		t.Fatalf("boot %s: %v", name, err)
	}
	return c.get(t, ctx, out.Instances[0].UUID)
}

func (c *cloud) get(t *testing.T, ctx context.Context, id string) compute.Instance {
	t.Helper()
	return must(c.svc.Server(ctx, id))(t)
}

func TestServersNeedConductorAndImages(t *testing.T) {
	t.Parallel()
	if newService(t, nil).ServesServers() {
		t.Fatal("a service without a conductor offers servers")
	}
	c := newCloud(t, nil)
	if !c.svc.ServesServers() {
		t.Fatal("a service with a conductor and images offers no servers")
	}
	plain := newService(t, nil)
	_, err := plain.CreateServers(alice, compute.ServerCreate{Name: "x", ImageRef: cirros, FlavorRef: "small"})
	wantErr(t, err, compute.ErrNotFound, "could not be found")
}

func TestCreateServer(t *testing.T) {
	t.Parallel()
	c := newCloud(t, nil)
	ctx := compute.WithRequestID(alice, "req-create")
	desc := "web tier"
	out, err := c.svc.CreateServers(ctx, compute.ServerCreate{Name: " web ", Description: &desc, ImageRef: cirros,
		FlavorRef: "http://cloud/flavors/small", Metadata: map[string]string{"role": "web"}, Tags: []string{"b", "a", "b"},
		ConfigDrive: true, UserData: ptr("aGVsbG8=\n"), SchedulerHints: map[string][]string{"same_host": {cirros}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Instances) != 1 || len(out.AdminPass) != 12 || !strings.HasPrefix(out.ReservationID, "r-") {
		t.Fatalf("created %+v", out)
	}
	inst := c.get(t, alice, out.Instances[0].UUID)
	if inst.Status() != "ACTIVE" || inst.Host != "compute1" || inst.LaunchedAt.IsZero() || inst.PowerState != compute.PowerRunning {
		t.Errorf("built instance: status %s host %q launched %v", inst.Status(), inst.Host, inst.LaunchedAt)
	}
	if inst.DisplayName != "web" || inst.Hostname != "web" || inst.Flavor.FlavorID != "small" || inst.ConfigDrive != "True" ||
		!slices.Equal(inst.Tags, []string{"a", "b"}) || inst.Metadata["role"] != "web" || *inst.Description != desc ||
		!slices.Equal(inst.SecurityGroups, []string{"default"}) || inst.ImageProperties["os_distro"] != "cirros" ||
		inst.ImageProperties["min_disk"] != "1" || len(inst.BlockDevices) != 1 || inst.BlockDevices[0].ImageID != cirros {
		t.Errorf("recorded %+v", inst)
	}
	a, _, _, err := c.svc.ServerAction(alice, inst.UUID, "req-create", true, true, true, true)
	if err != nil || a.Action != "create" || a.UserID != "alice" || len(a.Events) != 1 || a.Events[0].Result != "Success" {
		t.Fatalf("create action %+v: %v", a, err)
	}

	// Several at once get numbered names and one reservation.
	out, err = c.svc.CreateServers(alice, compute.ServerCreate{Name: "node", ImageRef: cirros, FlavorRef: "small",
		MinCount: 2, MaxCount: 3})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range out.Instances {
		names = append(names, i.DisplayName+"/"+i.Hostname)
		if i.ReservationID != out.ReservationID {
			t.Error("instances of one request differ in reservation id")
		}
	}
	if !slices.Equal(names, []string{"node-1/node-1", "node-2/node-2", "node-3/node-3"}) {
		t.Errorf("names %v", names)
	}

	// Others do not see the server; admins do.
	_, err = c.svc.Server(bob, inst.UUID)
	wantErr(t, err, compute.ErrNotFound, "Instance "+inst.UUID+" could not be found.")
	must(c.svc.Server(admin, inst.UUID))(t)
}

func TestCreateServerRefusals(t *testing.T) {
	t.Parallel()
	c := newCloud(t, func(cfg *compute.Config, _ *compute.Deps) {
		cfg.Quota = maps.Clone(cfg.Quota)
		cfg.Quota["metadata_items"] = 2
	})
	if _, _, err := c.svc.CreateKeyPair(alice, compute.KeyPairCreate{Name: "mine", PublicKey: ptr(
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1Hm35VTHzPJd4/SjfGYj8hrcSjVe/xkFCBw2GAWMqJ alice")}); err != nil {
		t.Fatal(err)
	}
	base := func() compute.ServerCreate {
		return compute.ServerCreate{Name: "x", ImageRef: cirros, FlavorRef: "small"}
	}
	cases := []struct {
		name   string
		ctx    context.Context
		change func(*compute.ServerCreate)
		kind   error
		msg    string
	}{
		{"reader", reader, nil, compute.ErrForbidden, "os_compute_api:servers:create"},
		{"counts", alice, func(s *compute.ServerCreate) { s.MinCount, s.MaxCount = 3, 2 }, compute.ErrInvalid,
			"min_count must be <= max_count"},
		{"no image", alice, func(s *compute.ServerCreate) { s.ImageRef = "" }, compute.ErrInvalid, "Missing imageRef attribute"},
		{"unknown image", alice, func(s *compute.ServerCreate) { s.ImageRef = "55555555-5555-4555-8555-555555555555" },
			compute.ErrInvalid, "Can not find requested image"},
		{"queued image", alice, func(s *compute.ServerCreate) { s.ImageRef = queued }, compute.ErrInvalid,
			"Image " + queued + " is not active."},
		{"unknown flavor", alice, func(s *compute.ServerCreate) { s.FlavorRef = "huge" }, compute.ErrInvalid,
			"Flavor huge could not be found."},
		{"private flavor", alice, func(s *compute.ServerCreate) { s.FlavorRef = "secret" }, compute.ErrInvalid,
			"Flavor secret could not be found."},
		{"image needs more ram", alice, func(s *compute.ServerCreate) { s.ImageRef = bigImage }, compute.ErrInvalid,
			"Flavor's memory is too small for requested image."},
		{"image bigger than disk", alice, func(s *compute.ServerCreate) { s.ImageRef = wide },
			compute.ErrInvalid, "Flavor's disk is too small for requested image. Flavor disk is 1073741824 bytes, image is 2147483648 bytes."},
		{"image min disk", alice, func(s *compute.ServerCreate) { s.ImageRef, s.FlavorRef = bigImage, "large" },
			compute.ErrInvalid, "Flavor's disk is smaller than the minimum size"},
		{"zero disk", alice, func(s *compute.ServerCreate) { s.FlavorRef = "zero" }, compute.ErrForbidden,
			"Only volume-backed servers are allowed for flavors with zero disk."},
		{"key pair", alice, func(s *compute.ServerCreate) { s.KeyName = ptr("theirs") }, compute.ErrInvalid,
			"Invalid key_name provided."},
		{"networks", alice, func(s *compute.ServerCreate) { s.NetworkList = true }, compute.ErrInvalid,
			"Networking is not available"},
		{"hostname for many", alice, func(s *compute.ServerCreate) { s.Hostname, s.MaxCount = "h", 2 }, compute.ErrInvalid,
			"Unable to allocate a single hostname to multiple instances"},
		{"zone", alice, func(s *compute.ServerCreate) { s.AvailabilityZone = "mars" }, compute.ErrInvalid,
			"The requested availability zone is not available"},
		{"zone form", alice, func(s *compute.ServerCreate) { s.AvailabilityZone = "a:b:c:d" }, compute.ErrInvalid,
			"Unable to parse availability_zone"},
		{"forced host", alice, func(s *compute.ServerCreate) { s.AvailabilityZone = "nova:compute2" }, compute.ErrForbidden,
			"os_compute_api:servers:create:forced_host"},
		{"requested host", alice, func(s *compute.ServerCreate) { s.Host = "compute2" }, compute.ErrForbidden,
			"compute:servers:create:requested_destination"},
		{"both hosts", admin, func(s *compute.ServerCreate) { s.Host, s.AvailabilityZone = "compute2", "nova:compute1" },
			compute.ErrInvalid, "mutually exclusive"},
		{"unknown requested host", admin, func(s *compute.ServerCreate) { s.Host = "nowhere" }, compute.ErrInvalid,
			"Compute host nowhere could not be found."},
		{"metadata", alice, func(s *compute.ServerCreate) { s.Metadata = map[string]string{"a": "1", "b": "2", "c": "3"} },
			compute.ErrForbidden, "Maximum number of metadata items exceeds 2"},
		{"user data", alice, func(s *compute.ServerCreate) { s.UserData = ptr("not base64!") }, compute.ErrInvalid,
			"User data needs to be valid base 64."},
		{"trusted certs", alice, func(s *compute.ServerCreate) { s.TrustedCerts = []string{"c1"} }, compute.ErrInvalid,
			"trusted_image_certificates"},
		{"legacy bdm", alice, func(s *compute.ServerCreate) { s.LegacyBlockDevices = true }, compute.ErrInvalid,
			"no block storage service"},
		{"volume bdm", alice, func(s *compute.ServerCreate) {
			s.BlockDevices = []compute.BlockDevice{{SourceType: "volume", DestinationType: "volume", VolumeID: other}}
		}, compute.ErrInvalid, "no block storage service"},
		{"image bdm not root", alice, func(s *compute.ServerCreate) {
			s.BlockDevices = []compute.BlockDevice{{SourceType: "image", DestinationType: "local", ImageID: cirros, BootIndex: ptr(1)}}
		}, compute.ErrInvalid, "Mapping image to local is not supported."},
		{"blank with uuid", alice, func(s *compute.ServerCreate) {
			s.BlockDevices = []compute.BlockDevice{{SourceType: "blank", DestinationType: "local", ImageID: cirros}}
		}, compute.ErrInvalid, "Invalid device UUID."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := base()
			if tc.change != nil {
				tc.change(&sc)
			}
			_, err := c.svc.CreateServers(tc.ctx, sc)
			wantErr(t, err, tc.kind, tc.msg)
		})
	}
	list := must(c.svc.Servers(admin, compute.ServerListOptions{Params: map[string]string{"all_tenants": ""}}))(t)
	if len(list) != 0 {
		t.Errorf("refused creates left %d servers", len(list))
	}

	// What is allowed: an image mapping for the root disk, a key pair, a
	// host for admins, zero disk for admins.
	sc := base()
	sc.KeyName = ptr("mine")
	sc.BlockDevices = []compute.BlockDevice{{SourceType: "image", DestinationType: "local", ImageID: cirros, BootIndex: ptr(0)}}
	out := must(c.svc.CreateServers(alice, sc))(t)
	if inst := c.get(t, alice, out.Instances[0].UUID); inst.KeyName != "mine" || !strings.HasPrefix(inst.KeyData, "ssh-ed25519") {
		t.Errorf("key %q %q", inst.KeyName, inst.KeyData)
	}
	sc = base()
	sc.AvailabilityZone, sc.FlavorRef = "nova:compute2", "zero"
	out = must(c.svc.CreateServers(admin, sc))(t)
	if inst := c.get(t, admin, out.Instances[0].UUID); inst.Host != "compute2" || inst.AvailabilityZone != "nova" {
		t.Errorf("forced host: %q in %q", inst.Host, inst.AvailabilityZone)
	}
}

func TestServerQuota(t *testing.T) {
	t.Parallel()
	c := newCloud(t, func(cfg *compute.Config, _ *compute.Deps) {
		cfg.Quota = maps.Clone(cfg.Quota)
		cfg.Quota["instances"], cfg.Quota["cores"] = 3, 6
	})
	// max_count is lowered to what the quota allows when min_count fits.
	out := must(c.svc.CreateServers(alice, compute.ServerCreate{Name: "a", ImageRef: cirros, FlavorRef: "small",
		MinCount: 1, MaxCount: 5}))(t)
	if len(out.Instances) != 3 {
		t.Fatalf("created %d servers under a limit of 3", len(out.Instances))
	}
	_, err := c.svc.CreateServers(alice, compute.ServerCreate{Name: "b", ImageRef: cirros, FlavorRef: "small"})
	wantErr(t, err, compute.ErrForbidden, "Quota exceeded for instances: Requested 1, but already used 3 of 3 instances")
	// The project's other user is held by the project's limit too.
	other := as("ann", "p1", "member", "reader")
	_, err = c.svc.CreateServers(other, compute.ServerCreate{Name: "b", ImageRef: cirros, FlavorRef: "small"})
	wantErr(t, err, compute.ErrForbidden, "Quota exceeded for instances")
	usage := must(c.svc.QuotaUsage(admin, "p1", ""))(t)
	if usage["instances"].InUse != 3 || usage["cores"].InUse != 3 || usage["ram"].InUse != 1536 {
		t.Errorf("usage %+v", usage)
	}
	// Deleting frees the quota; bob's project has its own.
	must(0, c.svc.DeleteServer(alice, out.Instances[0].UUID, false))(t)
	must(c.svc.CreateServers(alice, compute.ServerCreate{Name: "c", ImageRef: cirros, FlavorRef: "small"}))(t)
	_, err = c.svc.CreateServers(bob, compute.ServerCreate{Name: "d", ImageRef: cirros, FlavorRef: "large", MinCount: 2})
	wantErr(t, err, compute.ErrForbidden, "Quota exceeded for cores: Requested 8, but already used 0 of 6 cores")
}

func TestCreateFailures(t *testing.T) {
	t.Parallel()
	c := newCloud(t, nil)
	// A conductor that never gets the request leaves nothing behind.
	c.cond.FailCast("BuildInstances", errors.New("bus down"))
	_, err := c.svc.CreateServers(alice, compute.ServerCreate{Name: "x", ImageRef: cirros, FlavorRef: "small", MaxCount: 2})
	if err == nil || !strings.Contains(err.Error(), "bus down") {
		t.Fatalf("create with the conductor away: %v", err)
	}
	if list := must(c.svc.Servers(alice, compute.ServerListOptions{}))(t); len(list) != 0 {
		t.Fatalf("%d servers left after a failed cast", len(list))
	}
	if n := must(c.svc.QuotaUsage(alice, "p1", ""))(t)["instances"].InUse; n != 0 {
		t.Fatalf("%d instances of quota left in use", n)
	}
	c.cond.FailCast("BuildInstances", nil)

	// A build that fails ends in ERROR with a fault people can act on.
	c.cond.FailBuilds("No valid host was found. There are not enough hosts available.")
	out := must(c.svc.CreateServers(alice, compute.ServerCreate{Name: "y", ImageRef: cirros, FlavorRef: "small"}))(t)
	inst := c.get(t, alice, out.Instances[0].UUID)
	if inst.Status() != "ERROR" || inst.Fault == nil || inst.Fault.Code != 500 || !strings.Contains(inst.Fault.Message, "No valid host") {
		t.Fatalf("failed build: %s %+v", inst.Status(), inst.Fault)
	}
	// It can still be deleted, and frees its quota.
	must(0, c.svc.DeleteServer(alice, inst.UUID, false))(t)
	if n := must(c.svc.QuotaUsage(alice, "p1", ""))(t)["instances"].InUse; n != 0 {
		t.Fatalf("%d instances in use after deleting the failed build", n)
	}
}

func TestListServers(t *testing.T) {
	t.Parallel()
	c := newCloud(t, nil)
	web := c.boot(t, alice, "web-1")
	c.boot(t, alice, "db-1")
	c.boot(t, bob, "web-2")
	must(c.svc.AddServerTag(alice, web.UUID, "prod"))(t)
	must(0, c.svc.StopServer(alice, web.UUID))(t)
	names := func(ctx context.Context, o compute.ServerListOptions) []string {
		t.Helper()
		if o.Params == nil {
			o.Params = map[string]string{}
		}
		if o.UserFilters == nil {
			o.UserFilters = []string{"name", "status", "all_tenants", "tags", "changes-since", "ip"}
		}
		list, err := c.svc.Servers(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, i := range list {
			out = append(out, i.DisplayName)
		}
		slices.Sort(out)
		return out
	}
	cases := []struct {
		name string
		ctx  context.Context
		o    compute.ServerListOptions
		want []string
	}{
		{"own project", alice, compute.ServerListOptions{}, []string{"db-1", "web-1"}},
		{"name regex", alice, compute.ServerListOptions{Params: map[string]string{"name": "^web"}}, []string{"web-1"}},
		{"status", alice, compute.ServerListOptions{Params: map[string]string{"status": "shutoff"}, Statuses: []string{"shutoff"}},
			[]string{"web-1"}},
		{"tags", alice, compute.ServerListOptions{Params: map[string]string{"tags": "prod"}, TagLists: true}, []string{"web-1"}},
		{"ip matches nothing", alice, compute.ServerListOptions{Params: map[string]string{"ip": "10\\."}}, nil},
		{"all tenants as admin", admin, compute.ServerListOptions{Params: map[string]string{"all_tenants": "1",
			"name": "web"}}, []string{"web-1", "web-2"}},
		{"admin's own project", admin, compute.ServerListOptions{}, nil},
		{"tenant of all", admin, compute.ServerListOptions{Params: map[string]string{"all_tenants": "true",
			"tenant_id": "p2"}}, []string{"web-2"}},
		{"admin filter host", admin, compute.ServerListOptions{Params: map[string]string{"all_tenants": "",
			"host": "compute1"}}, []string{"db-1", "web-1", "web-2"}},
		{"unknown filter dropped for users", alice, compute.ServerListOptions{Params: map[string]string{"host": "x"}},
			[]string{"db-1", "web-1"}},
		{"unknown status", alice, compute.ServerListOptions{Params: map[string]string{"status": "nap"},
			Statuses: []string{"nap"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(tc.ctx, tc.o); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	refusals := []struct {
		name string
		ctx  context.Context
		o    compute.ServerListOptions
		kind error
		msg  string
	}{
		{"all tenants", alice, compute.ServerListOptions{Params: map[string]string{"all_tenants": "1"}},
			compute.ErrForbidden, "get_all_tenants"},
		{"bad all tenants", admin, compute.ServerListOptions{Params: map[string]string{"all_tenants": "maybe"}},
			compute.ErrInvalid, "Unrecognized value 'maybe'"},
		{"strict status", alice, compute.ServerListOptions{Params: map[string]string{"status": "nap"},
			Statuses: []string{"nap"}, StrictStatus: true}, compute.ErrInvalid, "Invalid status value"},
		{"deleted", alice, compute.ServerListOptions{Params: map[string]string{"status": "DELETED"},
			Statuses: []string{"DELETED"}}, compute.ErrForbidden, "Only administrators may list deleted instances"},
		{"sort by host", alice, compute.ServerListOptions{SortKeys: []string{"host"}}, compute.ErrForbidden,
			"Only administrators can sort servers by host"},
		{"sort dir", alice, compute.ServerListOptions{SortKeys: []string{"display_name"}, SortDirs: []string{"up"}},
			compute.ErrInvalid, "Unknown sort direction"},
		{"joined", admin, compute.ServerListOptions{Params: map[string]string{"metadata": "x"}}, compute.ErrInvalid,
			"Invalid filter field: metadata."},
		{"marker", alice, compute.ServerListOptions{Marker: ptr("nope")}, compute.ErrInvalid, "marker [nope] not found"},
		{"changes", alice, compute.ServerListOptions{Params: map[string]string{"changes-since": "2030-01-02T00:00:00Z",
			"changes-before": "2030-01-01T00:00:00Z"}}, compute.ErrInvalid, "changes-since must be less than or equal"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			if tc.o.Params == nil {
				tc.o.Params = map[string]string{}
			}
			if tc.o.UserFilters == nil {
				tc.o.UserFilters = []string{"name", "status", "all_tenants", "changes-since", "changes-before"}
			}
			_, err := c.svc.Servers(tc.ctx, tc.o)
			wantErr(t, err, tc.kind, tc.msg)
		})
	}
	// Deleted servers show to changes-since and to admins asking for them.
	db := must(c.svc.Servers(alice, compute.ServerListOptions{Params: map[string]string{"name": "db"},
		UserFilters: []string{"name"}}))(t)[0]
	must(0, c.svc.DeleteServer(alice, db.UUID, false))(t)
	got := names(alice, compute.ServerListOptions{Params: map[string]string{"changes-since": "2000-01-01T00:00:00Z"}})
	if !slices.Equal(got, []string{"db-1", "web-1"}) {
		t.Errorf("changes-since lists %v", got)
	}
	got = names(admin, compute.ServerListOptions{Params: map[string]string{"status": "deleted", "all_tenants": ""},
		Statuses: []string{"deleted"}})
	if !slices.Equal(got, []string{"db-1"}) {
		t.Errorf("deleted lists %v", got)
	}
}

// TestComputeRulesRegistered checks that every rule the compute service
// enforces is one of nova's defaults.
func TestComputeRulesRegistered(t *testing.T) {
	t.Parallel()
	e := must(policy.New(policy.ComputeDefaults(), policy.Options{}))(t)
	creds := policy.Credentials{UserID: "root", ProjectID: "admin", Roles: []string{"admin"}}
	for _, rule := range []string{
		compute.RuleServersIndex, compute.RuleServersDetail, compute.RuleServersIndexAllTenants,
		compute.RuleServersDetailAllTenants, compute.RuleServersAllowAllFilters, compute.RuleServersShow,
		compute.RuleServersShowExtraSpecs, compute.RuleServersShowHostStatus, compute.RuleServersShowHostStatusUnkn,
		compute.RuleServersCreate, compute.RuleServersCreateForcedHost, compute.RuleServersRequestedDest,
		compute.RuleServersCreateAttachVolume, compute.RuleServersCreateAttachNet, compute.RuleServersCreateTrustedCerts,
		compute.RuleServersZeroDiskFlavor, compute.RuleServersDelete, compute.RuleServersUpdate,
		compute.RuleServersConfirmResize, compute.RuleServersRevertResize, compute.RuleServersReboot,
		compute.RuleServersResize, compute.RuleServersRebuild, compute.RuleServersRebuildTrustedCert,
		compute.RuleServersCreateImage, compute.RuleServersStart, compute.RuleServersStop,
		compute.RuleExtendedServerAttributes, compute.RuleServerMetadataIndex, compute.RuleServerMetadataShow,
		compute.RuleServerMetadataCreate, compute.RuleServerMetadataUpdateAll, compute.RuleServerMetadataUpdate,
		compute.RuleServerMetadataDelete, compute.RuleServerTagsIndex, compute.RuleServerTagsShow,
		compute.RuleServerTagsUpdate, compute.RuleServerTagsUpdateAll, compute.RuleServerTagsDelete,
		compute.RuleServerTagsDeleteAll, compute.RuleIPsIndex, compute.RuleIPsShow, compute.RuleActionsList,
		compute.RuleActionsShow, compute.RuleActionsEvents, compute.RuleActionsEventsDetails, compute.RuleLock,
		compute.RuleUnlock, compute.RuleUnlockOverride, compute.RulePause, compute.RuleUnpause, compute.RuleSuspend,
		compute.RuleResume, compute.RuleShelve, compute.RuleShelveOffload, compute.RuleUnshelve,
		compute.RuleUnshelveToHost, compute.RuleMigrate, compute.RuleMigrateHost, compute.RuleMigrateLive,
		compute.RuleMigrateLiveHost, compute.RuleEvacuate, compute.RuleForceDelete, compute.RuleRestore, compute.RuleConsoleOutput,
		compute.RuleRemoteConsoles,
	} {
		if err := e.Enforce(rule, policy.Target{"project_id": "admin"}, creds); err != nil {
			t.Errorf("%s: %v", rule, err)
		}
	}
}

func ExampleStatesForStatus() {
	vms, tasks, anyTask := compute.StatesForStatus([]string{"reboot"})
	fmt.Println(vms, tasks, anyTask)
	// Output: [active] [reboot_pending reboot_started rebooting] false
}
