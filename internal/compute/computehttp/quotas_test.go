package computehttp_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/availabilityzones"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/limits"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/quotasets"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

func TestQuotasWithGophercloud(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	ctx := context.Background()
	token := c.Token(t, cloudtest.Admin)
	bobCreds, _, bobProject := newUser(t, c, token, "bob")
	admin := c.ComputeClient(t, cloudtest.Admin)
	bob := c.ComputeClient(t, bobCreds)

	q, err := quotasets.Get(ctx, bob, bobProject).Extract()
	if err != nil || q.ID != bobProject || q.Instances != 10 || q.Cores != 20 || q.RAM != 51200 || q.KeyPairs != 100 ||
		q.FloatingIPs != -1 || q.InjectedFilePathBytes != 255 || q.ServerGroupMembers != 10 {
		t.Fatalf("bob's quotas: %+v %v", q, err)
	}
	if _, err := quotasets.Get(ctx, bob, "some-other-project").Extract(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("bob read another project's quotas: %v", err)
	}
	if _, err := quotasets.Update(ctx, bob, bobProject, quotasets.UpdateOpts{Instances: intp(50)}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("bob raised his own quota: %v", err)
	}
	upd, err := quotasets.Update(ctx, admin, bobProject, quotasets.UpdateOpts{Instances: intp(50), KeyPairs: intp(1),
		Cores: intp(-1)}).Extract()
	if err != nil || upd.Instances != 50 || upd.KeyPairs != 1 || upd.Cores != -1 || upd.ID != "" {
		t.Fatalf("update: %+v %v", upd, err)
	}
	detail, err := quotasets.GetDetail(ctx, admin, bobProject).Extract()
	if err != nil || detail.Instances.Limit != 50 || detail.Instances.InUse != 0 || detail.KeyPairs.Limit != 1 {
		t.Fatalf("detail: %+v %v", detail, err)
	}

	// The key pair quota holds.
	bob.Microversion = "2.2"
	if _, err := keypairs.Create(ctx, bob, keypairs.CreateOpts{Name: "one", PublicKey: ed25519Key}).Extract(); err != nil {
		t.Fatal(err)
	}
	_, err = keypairs.Create(ctx, bob, keypairs.CreateOpts{Name: "two", PublicKey: ed25519Key}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("second key pair over a quota of one: %v", err)
	}
	fault(t, api(t, c, c.Token(t, bobCreds), "2.2", "POST", "/os-keypairs", map[string]any{"keypair": map[string]any{
		"name": "three", "public_key": ed25519Key}}), 403, "forbidden", "Quota exceeded, too many key pairs.")

	l, err := limits.Get(ctx, bob, nil).Extract()
	if err != nil || l.Absolute.MaxTotalInstances != 50 || l.Absolute.MaxTotalKeypairs != 1 || l.Absolute.MaxTotalCores != -1 ||
		l.Absolute.TotalInstancesUsed != 0 || l.Absolute.MaxServerMeta != 128 {
		t.Fatalf("limits: %+v %v", l, err)
	}
	if _, err := limits.Get(ctx, bob, limits.GetOpts{TenantID: "admin"}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("bob read another project's limits: %v", err)
	}
	if l, err := limits.Get(ctx, admin, limits.GetOpts{TenantID: bobProject}).Extract(); err != nil || l.Absolute.MaxTotalInstances != 50 {
		t.Fatalf("admin's view of bob's limits: %+v %v", l, err)
	}

	if _, err := quotasets.Delete(ctx, admin, bobProject).Extract(); err != nil {
		t.Fatal(err)
	}
	if q, err := quotasets.Get(ctx, admin, bobProject).Extract(); err != nil || q.Instances != 10 {
		t.Fatalf("after delete: %+v %v", q, err)
	}
	if _, err := quotasets.Get(ctx, admin, "no-such-project").Extract(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("quotas of a missing project: %v", err)
	}
}

func TestQuotaMicroversionsRaw(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	token := c.Token(t, cloudtest.Admin)
	_, userID, project := newUser(t, c, token, "carol")
	path := "/os-quota-sets/" + project

	keys := func(m map[string]any) int { return len(m) }
	for _, tc := range []struct {
		mv              string
		show, class     int
		hasFloating     bool
		hasPersonality  bool
		classHasGroups  bool
		limitsAbsolutes int
	}{
		{"2.1", 15, 13, true, true, false, 19},
		{"2.36", 11, 13, false, true, false, 14},
		{"2.50", 11, 11, false, true, true, 13},
		{"2.57", 8, 8, false, false, true, 11},
	} {
		show := obj(t, api(t, c, token, tc.mv, "GET", path, nil).JSON(t), "quota_set")
		_, floating := show["floating_ips"]
		_, personality := show["injected_files"]
		if keys(show) != tc.show || floating != tc.hasFloating || personality != tc.hasPersonality || show["id"] != project {
			t.Errorf("%s: quota set %v", tc.mv, show)
		}
		class := obj(t, api(t, c, token, tc.mv, "GET", "/os-quota-class-sets/default", nil).JSON(t), "quota_class_set")
		_, groups := class["server_groups"]
		if keys(class) != tc.class || groups != tc.classHasGroups || class["id"] != "default" {
			t.Errorf("%s: quota class %v", tc.mv, class)
		}
		abs := obj(t, api(t, c, token, tc.mv, "GET", "/limits", nil).JSON(t), "limits", "absolute")
		if keys(abs) != tc.limitsAbsolutes {
			t.Errorf("%s: %d absolute limits: %v", tc.mv, keys(abs), abs)
		}
	}
	if abs := obj(t, api(t, c, token, "2.39", "GET", "/limits", nil).JSON(t), "limits", "absolute"); abs["maxImageMeta"] != nil {
		t.Errorf("maxImageMeta at 2.39: %v", abs)
	}
	if rate := api(t, c, token, "2.1", "GET", "/limits", nil).JSON(t)["limits"].(map[string]any)["rate"].([]any); len(rate) != 0 {
		t.Errorf("rate limits %v", rate)
	}
	detail := obj(t, api(t, c, token, "2.57", "GET", path+"/detail", nil).JSON(t), "quota_set")
	if ram := detail["ram"].(map[string]any); ram["limit"] != float64(51200) || ram["in_use"] != float64(0) || ram["reserved"] != float64(0) {
		t.Errorf("detail ram %v", ram)
	}

	// Per-user limits: bounded by what the project has left.
	resp := api(t, c, token, "2.57", "PUT", path, map[string]any{"quota_set": map[string]any{"instances": "4"}})
	if resp.Status != http.StatusOK || obj(t, resp.JSON(t), "quota_set")["instances"] != float64(4) {
		t.Fatalf("update with a string value: %d %s", resp.Status, resp.Body)
	}
	fault(t, api(t, c, token, "2.57", "PUT", path+"?user_id="+userID, map[string]any{"quota_set": map[string]any{"instances": 5}}),
		400, "badRequest", "Quota limit 5 for instances must be less than or equal to 4.")
	resp = api(t, c, token, "2.57", "PUT", path+"?user_id="+userID, map[string]any{"quota_set": map[string]any{"instances": 3}})
	if resp.Status != http.StatusOK {
		t.Fatalf("user update: %d %s", resp.Status, resp.Body)
	}
	if got := obj(t, api(t, c, token, "2.57", "GET", path+"?user_id="+userID, nil).JSON(t), "quota_set"); got["instances"] != float64(3) {
		t.Errorf("user's limits %v", got)
	}
	fault(t, api(t, c, token, "2.57", "PUT", path, map[string]any{"quota_set": map[string]any{"instances": 2}}), 400,
		"badRequest", "Quota limit 2 for instances must be greater than or equal to already used and reserved 3.")
	if resp := api(t, c, token, "2.57", "PUT", path, map[string]any{"quota_set": map[string]any{"instances": 2, "force": "True"}}); resp.Status != http.StatusOK {
		t.Fatalf("forced update: %d %s", resp.Status, resp.Body)
	}
	if resp := api(t, c, token, "2.57", "DELETE", path+"?user_id="+userID, nil); resp.Status != http.StatusAccepted {
		t.Fatalf("delete user quotas: %d %s", resp.Status, resp.Body)
	}

	for _, tc := range []struct{ mv, body, msg string }{
		{"2.36", `{"quota_set": {"floating_ips": 1}}`, "Additional properties are not allowed ('floating_ips' was unexpected)"},
		{"2.57", `{"quota_set": {"injected_files": 1}}`, "Additional properties are not allowed ('injected_files' was unexpected)"},
		{"2.1", `{"quota_set": {"cores": -2}}`, "Invalid input for field/attribute cores. Value: -2. -2 is less than the minimum of -1"},
		{"2.1", `{"quota_set": {"cores": "many"}}`, `'many' does not match '^-?[0-9]+$'`},
		{"2.1", `{"quota_set": {"cores": 1, "force": "perhaps"}}`, "'perhaps' is not one of"},
		{"2.1", `{"quota_set": {"networks": 1}}`, "Additional properties are not allowed ('networks' was unexpected)"},
	} {
		fault(t, api(t, c, token, tc.mv, "PUT", path, tc.body), 400, "badRequest", tc.msg)
	}
	fault(t, api(t, c, token, "2.75", "GET", path+"?color=red", nil), 400, "badRequest",
		"Additional properties are not allowed ('color' was unexpected)")

	// Quota classes: the default class changes every project's defaults.
	resp = api(t, c, token, "2.57", "PUT", "/os-quota-class-sets/default",
		map[string]any{"quota_class_set": map[string]any{"instances": 7}})
	if resp.Status != http.StatusOK || obj(t, resp.JSON(t), "quota_class_set")["instances"] != float64(7) {
		t.Fatalf("class update: %d %s", resp.Status, resp.Body)
	}
	if _, ok := obj(t, resp.JSON(t), "quota_class_set")["id"]; ok {
		t.Error("class update answer has an id")
	}
	if d := obj(t, api(t, c, token, "2.57", "GET", path+"/defaults", nil).JSON(t), "quota_set"); d["instances"] != float64(7) {
		t.Errorf("defaults after the class update %v", d)
	}
	fault(t, api(t, c, token, "2.50", "PUT", "/os-quota-class-sets/default",
		map[string]any{"quota_class_set": map[string]any{"fixed_ips": 7}}), 400, "badRequest", "'fixed_ips' was unexpected")
}

func TestAvailabilityZonesWithGophercloud(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	ctx := context.Background()
	token := c.Token(t, cloudtest.Admin)
	daveCreds, _, _ := newUser(t, c, token, "dave")
	dave := c.ComputeClient(t, daveCreds)
	page, err := availabilityzones.List(dave).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	zones, err := availabilityzones.ExtractAvailabilityZones(page)
	if err != nil || len(zones) != 1 || zones[0].ZoneName != "nova" || !zones[0].ZoneState.Available || zones[0].Hosts != nil {
		t.Fatalf("zones %+v %v", zones, err)
	}
	if _, err := availabilityzones.ListDetail(dave).AllPages(ctx); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("member listed zone details: %v", err)
	}
	page, err = availabilityzones.ListDetail(c.ComputeClient(t, cloudtest.Admin)).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if zones, _ := availabilityzones.ExtractAvailabilityZones(page); len(zones) != 1 || zones[0].Hosts == nil {
		t.Fatalf("detail %+v", zones)
	}
}
