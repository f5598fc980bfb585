package computehttp_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// BenchmarkFlavorDetail measures GET /flavors/detail of 100 flavors with
// their extra specs (microversion 2.61) through the whole stack: token
// validation, policy, the SQLite store and the JSON view.
func BenchmarkFlavorDetail(b *testing.B) {
	c := cloudtest.Start(b)
	token := c.Token(b, cloudtest.Admin)
	for i := range 100 {
		resp := c.Do(b, "POST", c.ComputeURL+"/flavors", token, map[string]any{"flavor": map[string]any{
			"name": fmt.Sprintf("f%03d", i), "ram": 512, "vcpus": 1, "disk": 1}})
		if resp.Status != http.StatusOK {
			b.Fatalf("create: %d %s", resp.Status, resp.Body)
		}
		id := resp.JSON(b)["flavor"].(map[string]any)["id"].(string)
		c.Do(b, "POST", c.ComputeURL+"/flavors/"+id+"/os-extra_specs", token,
			map[string]any{"extra_specs": map[string]any{"hw:cpu_policy": "dedicated", "hw:numa_nodes": "1"}})
	}
	benchGet(b, c, token, "/flavors/detail", "2.61")
}

// BenchmarkLimits measures GET /limits: policy, the quota engine's reads and
// the view.
func BenchmarkLimits(b *testing.B) {
	c := cloudtest.Start(b)
	benchGet(b, c, c.Token(b, cloudtest.Admin), "/limits", "2.100")
}

func benchGet(b *testing.B, c *cloudtest.Cloud, token, path, mv string) {
	b.Helper()
	client := &http.Client{}
	req, err := http.NewRequest("GET", c.ComputeURL+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("OpenStack-API-Version", "compute "+mv)
	b.ResetTimer()
	for b.Loop() {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
