package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"sync"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/instanceactions"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// TestConcurrentActionsAreSerialized fires actions at one server at once:
// the task state taken in one write lets exactly one through (202) and
// refuses every other with nova's 409 naming the state the server is in
// (its task, or the vm_state the first action already reached), and one
// action is recorded.
func TestConcurrentActionsAreSerialized(t *testing.T) {
	t.Parallel()
	p := startPlane(t)
	id := p.boot(t, "racer", p.flavor(t, "m.race", 1, 64, 1))
	p.waitStatus(t, id, "ACTIVE")

	t.Run("stop and pause", func(t *testing.T) {
		// Either may win; neither is allowed once the other started or
		// ended (nova stops only ACTIVE or ERROR servers).
		var stopErr, pauseErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		sc, pc := p.ComputeClient(t, cloudtest.Admin), p.ComputeClient(t, cloudtest.Admin)
		wg.Go(func() { <-start; stopErr = servers.Stop(context.Background(), sc, id).ExtractErr() })
		wg.Go(func() { <-start; pauseErr = servers.Pause(context.Background(), pc, id).ExtractErr() })
		close(start)
		wg.Wait()
		refused, undo := pauseErr, func(ctx context.Context) error { return servers.Start(ctx, p.compute, id).ExtractErr() }
		want := regexp.MustCompile(`^Cannot 'pause' instance ` + id + ` while it is in (task_state powering-off|vm_state stopped)$`)
		status := "SHUTOFF"
		if stopErr != nil {
			refused, status = stopErr, "PAUSED"
			undo = func(ctx context.Context) error { return servers.Unpause(ctx, p.compute, id).ExtractErr() }
			want = regexp.MustCompile(`^Cannot 'stop' instance ` + id + ` while it is in (task_state pausing|vm_state paused)$`)
		}
		var e gophercloud.ErrUnexpectedResponseCode
		switch {
		case stopErr != nil && pauseErr != nil:
			t.Fatalf("both refused: stop %v, pause %v", stopErr, pauseErr)
		case refused == nil:
			t.Fatal("both stop and pause accepted")
		case !errors.As(refused, &e) || e.Actual != http.StatusConflict:
			t.Fatalf("refused with %v, want 409", refused)
		}
		if msg := conflictMessage(t, e.Body); !want.MatchString(msg) {
			t.Errorf("409 %q, want one matching %s", msg, want)
		}
		p.waitStatus(t, id, status)
		if err := undo(context.Background()); err != nil {
			t.Fatal(err)
		}
		p.waitStatus(t, id, "ACTIVE")
	})

	const clients = 8
	for _, tc := range []struct {
		action, status string
		do             func(ctx context.Context, c *gophercloud.ServiceClient) error
		refused        *regexp.Regexp
	}{
		{"stop", "SHUTOFF", func(ctx context.Context, c *gophercloud.ServiceClient) error {
			return servers.Stop(ctx, c, id).ExtractErr()
		}, regexp.MustCompile(`^Cannot 'stop' instance ` + id + ` while it is in (task_state powering-off|vm_state stopped)$`)},
		{"start", "ACTIVE", func(ctx context.Context, c *gophercloud.ServiceClient) error {
			return servers.Start(ctx, c, id).ExtractErr()
		}, regexp.MustCompile(`^Cannot 'start' instance ` + id + ` while it is in (task_state powering-on|vm_state active)$`)},
	} {
		t.Run(tc.action, func(t *testing.T) {
			before := countRecorded(t, p, id, tc.action)
			// Each client its own token, as separate users' requests.
			cs := make([]*gophercloud.ServiceClient, clients)
			for i := range cs {
				cs[i] = p.ComputeClient(t, cloudtest.Admin)
			}
			errs := make([]error, clients)
			var ready, wg sync.WaitGroup
			ready.Add(clients)
			start := make(chan struct{})
			for i := range clients {
				wg.Go(func() {
					ready.Done()
					<-start
					errs[i] = tc.do(context.Background(), cs[i])
				})
			}
			ready.Wait()
			close(start)
			wg.Wait()
			accepted := 0
			for _, err := range errs {
				var e gophercloud.ErrUnexpectedResponseCode
				switch {
				case err == nil:
					accepted++
				case !errors.As(err, &e) || e.Actual != http.StatusConflict:
					t.Errorf("%s: %v, want 202 or 409", tc.action, err)
				default:
					msg := conflictMessage(t, e.Body)
					if !tc.refused.MatchString(msg) {
						t.Errorf("409 %q, want one matching %s", msg, tc.refused)
					}
				}
			}
			if accepted != 1 {
				t.Errorf("%d of %d concurrent %s requests accepted, want exactly 1", accepted, clients, tc.action)
			}
			p.waitStatus(t, id, tc.status)
			if n := countRecorded(t, p, id, tc.action); n != before+1 {
				t.Errorf("%d %s actions recorded, want %d", n, tc.action, before+1)
			}
		})
	}
}

// countRecorded is how many actions named action a server has recorded.
func countRecorded(t *testing.T, p *plane, id, action string) int {
	t.Helper()
	pages, err := instanceactions.List(p.compute, id, nil).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	acts, err := instanceactions.ExtractInstanceActions(pages)
	if err != nil {
		t.Fatal(err)
	}
	return countActions(acts, action)
}

// conflictMessage is the message of nova's 409 body.
func conflictMessage(t *testing.T, body []byte) string {
	t.Helper()
	var b struct {
		ConflictingRequest struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"conflictingRequest"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.ConflictingRequest.Code != http.StatusConflict {
		t.Errorf("409 body is not nova's conflictingRequest: %s", body)
	}
	return b.ConflictingRequest.Message
}
