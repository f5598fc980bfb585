package app_test

import (
	"net/http"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/app"
	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/config"
)

func TestComputeConfig(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(config.Source{Set: map[string]string{
		"quota.injected_file_path_length":   "100",
		"quota.key_pairs":                   "-1",
		"compute.default_availability_zone": "az1",
		"compute.max_limit":                 "50",
	}})
	if err != nil {
		t.Fatal(err)
	}
	cc := app.ComputeConfig(cfg)
	if cc.DefaultAvailabilityZone != "az1" || cc.InternalAvailabilityZone != "internal" || cc.MaxLimit != 50 {
		t.Errorf("compute config %+v", cc)
	}
	want := map[string]int{
		compute.ResourceInstances: 10, compute.ResourceCores: 20, compute.ResourceRAM: 51200,
		compute.ResourceMetadataItems: 128, compute.ResourceInjectedFiles: 5,
		compute.ResourceInjectedFileContentBytes: 10240, compute.ResourceInjectedFilePathBytes: 100,
		compute.ResourceKeyPairs: -1, compute.ResourceServerGroups: 10, compute.ResourceServerGroupMembers: 10,
	}
	for r, v := range want {
		if cc.Quota[r] != v {
			t.Errorf("quota %s = %d, want %d", r, cc.Quota[r], v)
		}
	}
	if _, err := config.Load(config.Source{Set: map[string]string{"quota.cores": "-2"}}); err == nil {
		t.Error("a quota below -1 was accepted")
	}
}

// TestComputeInCatalog checks that the compute endpoint is registered as
// modern nova's: type compute, name nova, <base>/v2.1 without a project id,
// and that the endpoint answers.
func TestComputeInCatalog(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	token := c.Token(t, cloudtest.Admin)
	resp := c.Do(t, "GET", c.IdentityURL+"/auth/catalog", token, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("catalog: %d %s", resp.Status, resp.Body)
	}
	found := false
	for _, e := range resp.JSON(t)["catalog"].([]any) {
		svc := e.(map[string]any)
		if svc["type"] != "compute" {
			continue
		}
		found = true
		if svc["name"] != "nova" {
			t.Errorf("compute service named %v", svc["name"])
		}
		eps := svc["endpoints"].([]any)
		if len(eps) != 3 {
			t.Errorf("compute endpoints %v", eps)
		}
		for _, ep := range eps {
			if u := ep.(map[string]any)["url"]; u != c.ComputeURL {
				t.Errorf("endpoint %v, want %s", u, c.ComputeURL)
			}
		}
	}
	if !found {
		t.Fatal("no compute service in the catalog")
	}
	if resp := c.Do(t, "GET", c.ComputeURL+"/flavors", token, nil); resp.Status != http.StatusOK {
		t.Fatalf("compute endpoint: %d %s", resp.Status, resp.Body)
	}
}
