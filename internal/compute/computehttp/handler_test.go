package computehttp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/compute"
)

func TestWriteError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err    error
		status int
		name   string
		msg    string
	}{
		{&compute.Error{Kind: compute.ErrNotFound, Message: "gone"}, 404, "itemNotFound", "gone"},
		{&compute.Error{Kind: compute.ErrConflict, Message: "dup"}, 409, "conflictingRequest", "dup"},
		{&compute.Error{Kind: compute.ErrForbidden, Message: "no"}, 403, "forbidden", "no"},
		{fmt.Errorf("wrapped: %w", &compute.Error{Kind: compute.ErrInvalid, Message: "bad"}), 400, "badRequest", "bad"},
		{&compute.QuotaExceeded{Overs: []string{"cores"}}, 413, "overLimit", "Quota exceeded for resources: ['cores']"},
		{errors.New("disk on fire"), 500, "computeFault", "An unexpected error prevented the server"},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		writeError(rec, httptest.NewRequest("GET", "/", nil), tc.err)
		var body map[string]map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		f := body[tc.name]
		if rec.Code != tc.status || f == nil || f["code"] != float64(tc.status) {
			t.Errorf("%v: %d %s", tc.err, rec.Code, rec.Body)
			continue
		}
		if m, _ := f["message"].(string); len(m) < len(tc.msg) || m[:len(tc.msg)] != tc.msg {
			t.Errorf("%v: message %q", tc.err, m)
		}
		if rec.Code == http.StatusInternalServerError && f["message"] == "disk on fire" {
			t.Error("an internal error leaked to the client")
		}
	}
}
