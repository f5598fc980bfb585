package conductor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/bus"
	"github.com/nimbus-cloud/nimbus/internal/bus/inproc"
	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// consoleAuth records the consoles it authorizes.
type consoleAuth struct{ got []string }

func (a *consoleAuth) AuthorizeConsole(_ context.Context, uuid, kind, host string, port int) (string, error) {
	a.got = append(a.got, fmt.Sprintf("%s %s %s:%d", uuid, kind, host, port))
	return "http://proxy:6080/vnc_auto.html?path=%3Ftoken%3Dt-" + uuid, nil
}

func TestRemoteConsole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := bus.New(inproc.New(inproc.Options{}), bus.Options{Timeout: 5 * time.Second})
	t.Cleanup(func() { b.Close(context.Background()) })
	ep := bus.NewEndpoint(rpc.NamespaceCompute, rpc.ComputeVersion)
	bus.Handle(ep, rpc.GetVNCConsole, func(_ context.Context, r rpc.InstanceRequest) (rpc.VNCConsoleReply, error) {
		switch r.InstanceUUID {
		case "gone", "building":
			return rpc.VNCConsoleReply{}, rpc.Errorf(rpc.KindInstanceNotFound, "instance %s not found", r.InstanceUUID)
		case "off":
			return rpc.VNCConsoleReply{}, rpc.Errorf(rpc.KindInvalidState, "instance is shut off")
		case "novnc":
			return rpc.VNCConsoleReply{}, rpc.Errorf(rpc.KindNotSupported, "no display")
		}
		return rpc.VNCConsoleReply{Host: "192.0.2.9", Port: 5907}, nil
	})
	if _, err := b.Serve(ctx, rpc.TopicCompute, "a", ep); err != nil {
		t.Fatal(err)
	}
	auth := &consoleAuth{}
	c := NewClient(b, hostsUp{"a": true}, nil)
	inst := func(uuid string, state compute.VMState) compute.Instance {
		return compute.Instance{UUID: uuid, Host: "a", VMState: state}
	}

	if _, err := c.RemoteConsole(ctx, inst("ok", compute.VMActive), "vnc", "novnc"); !errors.Is(err, compute.ErrInvalid) ||
		err.Error() != "Unavailable console type novnc." {
		t.Errorf("without console auth: %v", err)
	}
	c.ConsolesWith(auth)
	url, err := c.RemoteConsole(ctx, inst("ok", compute.VMActive), "vnc", "novnc")
	if err != nil || url != "http://proxy:6080/vnc_auto.html?path=%3Ftoken%3Dt-ok" {
		t.Fatalf("RemoteConsole = %q, %v", url, err)
	}
	if len(auth.got) != 1 || auth.got[0] != "ok novnc 192.0.2.9:5907" {
		t.Errorf("authorized %q, want the host's VNC address", auth.got)
	}

	for _, tc := range []struct {
		name, uuid, protocol, kind string
		state                      compute.VMState
		host                       string
		kindErr                    error
		msg                        string
	}{
		{"xvpvnc", "ok", "vnc", "xvpvnc", compute.VMActive, "a", compute.ErrInvalid, "Invalid console type xvpvnc"},
		{"spice", "ok", "spice", "spice-html5", compute.VMActive, "a", compute.ErrInvalid, "Unavailable console type spice-html5."},
		{"serial", "ok", "serial", "serial", compute.VMActive, "a", compute.ErrInvalid, "Unavailable console type serial."},
		{"mks", "ok", "mks", "webmks", compute.VMActive, "a", compute.ErrInvalid, "Unavailable console type webmks."},
		{"gone", "gone", "vnc", "novnc", compute.VMActive, "a", compute.ErrNotFound, "Instance gone could not be found."},
		{"building", "building", "vnc", "novnc", compute.VMBuilding, "a", compute.ErrConflict, "Instance building is not ready."},
		{"shut off", "off", "vnc", "novnc", compute.VMStopped, "a", compute.ErrConflict,
			"Cannot 'get_vnc_console' instance off while it is in vm_state stopped: its guest is not running."},
		{"no display", "novnc", "vnc", "novnc", compute.VMActive, "a", compute.ErrInvalid, "Unavailable console type novnc."},
		{"host down", "ok", "vnc", "novnc", compute.VMActive, "b", compute.ErrConflict,
			"Compute service of b is unavailable at this time."},
	} {
		i := inst(tc.uuid, tc.state)
		i.Host = tc.host
		_, err := c.RemoteConsole(ctx, i, tc.protocol, tc.kind)
		if !errors.Is(err, tc.kindErr) || err.Error() != tc.msg {
			t.Errorf("%s: %v, want %v %q", tc.name, err, tc.kindErr, tc.msg)
		}
	}
	if len(auth.got) != 1 {
		t.Errorf("refused consoles were authorized: %q", auth.got)
	}

	for _, tc := range []struct {
		name, uuid, host string
		port             int
		want             bool
	}{
		{"same port", "ok", "192.0.2.9", 5907, true},
		{"other port", "ok", "192.0.2.9", 5908, false},
		{"other host", "ok", "192.0.2.10", 5907, false},
		{"gone", "gone", "192.0.2.9", 5907, false},
		{"shut off", "off", "192.0.2.9", 5907, false},
	} {
		ok, err := c.ValidateConsolePort(ctx, inst(tc.uuid, compute.VMActive), tc.host, tc.port)
		if err != nil || ok != tc.want {
			t.Errorf("ValidateConsolePort %s = %v, %v; want %v", tc.name, ok, err, tc.want)
		}
	}
	if ok, err := c.ValidateConsolePort(ctx, compute.Instance{UUID: "ok"}, "192.0.2.9", 5907); ok || err != nil {
		t.Errorf("an instance on no host: %v, %v", ok, err)
	}
	if ok, err := c.ValidateConsolePort(ctx, compute.Instance{UUID: "ok", Host: "b"}, "192.0.2.9", 5907); ok ||
		err == nil || !strings.Contains(err.Error(), "Compute service of b is unavailable") {
		t.Errorf("an instance of a down host: %v, %v; want an error", ok, err)
	}
}
