package imagehttp_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestImportTasks(t *testing.T) {
	t.Parallel()
	c := startDataCloud(t)
	id := c.create(t, "raw")
	if status, body := c.send(t, "PUT", id, "stage", strings.NewReader("staged bytes")); status != http.StatusNoContent {
		t.Fatalf("stage: %d %s", status, body)
	}
	resp := c.Do(t, "POST", c.ImageURL+"/v2/images/"+id+"/import", c.tok,
		map[string]any{"method": map[string]any{"name": "glance-direct"}})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("import: %d %s", resp.Status, resp.Body)
	}
	reqID := resp.Header.Get("X-Openstack-Request-Id")

	c.waitTask(t, id)
	resp = c.Do(t, "GET", c.ImageURL+"/v2/images/"+id+"/tasks", c.tok, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("image tasks: %d %s", resp.Status, resp.Body)
	}
	tasks, _ := resp.JSON(t)["tasks"].([]any)
	if len(tasks) != 1 {
		t.Fatalf("image tasks = %s; want one", resp.Body)
	}
	task := tasks[0].(map[string]any)
	input, _ := task["input"].(map[string]any)
	req, _ := input["import_req"].(map[string]any)
	method, _ := req["method"].(map[string]any)
	if task["status"] != "success" || task["type"] != "api_image_import" || reqID == "" ||
		task["request_id"] != reqID || task["image_id"] != id || method["name"] != "glance-direct" ||
		task["user_id"] == "" || task["expires_at"] == nil {
		t.Fatalf("task = %s (request id %q)", resp.Body, reqID)
	}

	taskID := task["id"].(string)
	resp = c.Do(t, "GET", c.ImageURL+"/v2/tasks/"+taskID, c.tok, nil)
	if resp.Status != http.StatusOK || resp.JSON(t)["self"] != "/v2/tasks/"+taskID {
		t.Fatalf("get task: %d %s", resp.Status, resp.Body)
	}
	resp = c.Do(t, "GET", c.ImageURL+"/v2/tasks?status=success", c.tok, nil)
	if resp.Status != http.StatusOK || !strings.Contains(string(resp.Body), taskID) {
		t.Fatalf("list tasks: %d %s", resp.Status, resp.Body)
	}
	if resp = c.Do(t, "GET", c.ImageURL+"/v2/tasks/missing", c.tok, nil); resp.Status != http.StatusNotFound {
		t.Errorf("missing task: %d %s", resp.Status, resp.Body)
	}
	if resp = c.Do(t, "GET", c.ImageURL+"/v2/images/"+id+"/tasks", "", nil); resp.Status != http.StatusUnauthorized {
		t.Errorf("image tasks without a token: %d", resp.Status)
	}
}
