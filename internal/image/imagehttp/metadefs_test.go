package imagehttp_test

import (
	"net/http"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

func TestMetadefsOverHTTP(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	tok := c.Token(t, cloudtest.Admin)
	base := c.ImageURL + "/v2/metadefs"
	expect := func(method, url string, body any, status int) map[string]any {
		t.Helper()
		resp := c.Do(t, method, url, tok, body)
		if resp.Status != status {
			t.Fatalf("%s %s: %d %s, want %d", method, url, resp.Status, resp.Body, status)
		}
		if status == http.StatusNoContent {
			return nil
		}
		return resp.JSON(t)
	}

	rts := expect("GET", base+"/resource_types", nil, http.StatusOK)["resource_types"].([]any)
	if len(rts) == 0 {
		t.Fatal("no resource types")
	}
	ns := expect("POST", base+"/namespaces", map[string]any{"namespace": "n1", "visibility": "public",
		"protected": true, "resource_type_associations": []any{map[string]any{"name": "OS::Glance::Image"}}},
		http.StatusCreated)
	if ns["self"] != "/v2/metadefs/namespaces/n1" || ns["schema"] != "/v2/schemas/metadefs/namespace" ||
		ns["protected"] != true {
		t.Errorf("created %v", ns)
	}
	expect("POST", base+"/namespaces", map[string]any{"namespace": "n1"}, http.StatusConflict)
	expect("DELETE", base+"/namespaces/n1", nil, http.StatusForbidden)

	obj := expect("POST", base+"/namespaces/n1/objects", map[string]any{"name": "o1",
		"properties": map[string]any{"cores": map[string]any{"title": "Cores", "type": "integer", "minimum": 1}}},
		http.StatusCreated)
	if obj["self"] != "/v2/metadefs/namespaces/n1/objects/o1" {
		t.Errorf("object %v", obj)
	}
	prop := expect("POST", base+"/namespaces/n1/properties", map[string]any{"name": "OS::Glance::Image",
		"title": "T", "type": "string", "enum": []any{"kvm", "qemu"}}, http.StatusCreated)
	if prop["name"] != "OS::Glance::Image" || prop["title"] != "T" {
		t.Errorf("property %v", prop)
	}
	got := expect("GET", base+"/namespaces/n1/properties/OS::Glance::Image", nil, http.StatusOK)
	if got["type"] != "string" || len(got["enum"].([]any)) != 2 {
		t.Errorf("shown property %v", got)
	}
	props := expect("GET", base+"/namespaces/n1/properties", nil, http.StatusOK)["properties"].(map[string]any)
	if _, ok := props["OS::Glance::Image"]; !ok {
		t.Errorf("properties %v", props)
	}
	tags := expect("POST", base+"/namespaces/n1/tags", map[string]any{"tags": []any{
		map[string]any{"name": "a"}, map[string]any{"name": "b"}}}, http.StatusCreated)["tags"].([]any)
	if len(tags) != 2 {
		t.Errorf("tags %v", tags)
	}
	expect("POST", base+"/namespaces/n1/tags/c", nil, http.StatusCreated)
	if tag := expect("PUT", base+"/namespaces/n1/tags/c", map[string]any{"name": "d"}, http.StatusOK); tag["name"] != "d" {
		t.Errorf("renamed tag %v", tag)
	}
	expect("GET", base+"/namespaces/n1/tags/c", nil, http.StatusNotFound)
	expect("DELETE", base+"/namespaces/n1/resource_types/OS::Glance::Image", nil, http.StatusNoContent)
	expect("DELETE", base+"/namespaces/n1/resource_types/OS::Glance::Image", nil, http.StatusNotFound)

	shown := expect("GET", base+"/namespaces/n1", nil, http.StatusOK)
	if len(shown["objects"].([]any)) != 1 || len(shown["tags"].([]any)) != 3 {
		t.Errorf("shown namespace %v", shown)
	}
	expect("PUT", base+"/namespaces/n1", map[string]any{"namespace": "n1", "protected": false}, http.StatusOK)
	expect("DELETE", base+"/namespaces/n1", nil, http.StatusNoContent)
	expect("GET", base+"/namespaces/n1", nil, http.StatusNotFound)

	for _, name := range []string{"namespace", "namespaces", "object", "objects", "property", "properties",
		"tag", "tags"} {
		if doc := expect("GET", c.ImageURL+"/v2/schemas/metadefs/"+name, nil, http.StatusOK); doc["name"] != name {
			t.Errorf("schema %s is named %v", name, doc["name"])
		}
	}
	if doc := expect("GET", c.ImageURL+"/v2/schemas/metadefs/resource_type", nil, http.StatusOK); doc["name"] !=
		"resource_type_association" {
		t.Errorf("resource_type schema named %v", doc["name"])
	}
}
