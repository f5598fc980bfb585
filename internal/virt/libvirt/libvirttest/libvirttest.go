// Package libvirttest gives tests a libvirtd: $NIMBUS_TEST_LIBVIRT_URI, or
// the system libvirtd when its socket answers, or else (as root) a
// virtlogd and a libvirtd of their own in a private mount namespace, where
// libvirt's state folders are fresh and its socket is in a temporary
// folder.
package libvirttest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// SystemSocket is the system libvirtd's socket.
const SystemSocket = "/run/libvirt/libvirt-sock"

// Require returns the URI of a libvirtd for t, or skips t, saying why,
// where none can be had: QEMU or libvirt is not installed, or a private
// daemon would need root. A private daemon (of host uuid hostUUID, its
// guests' VNC servers on ports from vncPort on) is stopped when t ends,
// with the domains left in it.
func Require(t testing.TB, hostUUID string, vncPort int) string {
	t.Helper()
	RequireQEMU(t)
	uri, stop, err := Shared(hostUUID, vncPort)
	if err != nil {
		t.Skipf("no libvirtd: %v", err)
	}
	t.Cleanup(stop)
	return uri
}

// Shared is the URI of $NIMBUS_TEST_LIBVIRT_URI or the system libvirtd
// where there is one (stop does nothing), or else of a private daemon
// that stop ends.
func Shared(hostUUID string, vncPort int) (uri string, stop func(), err error) {
	switch {
	case os.Getenv("NIMBUS_TEST_LIBVIRT_URI") != "":
		return os.Getenv("NIMBUS_TEST_LIBVIRT_URI"), func() {}, nil
	case SocketAnswers(SystemSocket):
		return "qemu:///system", func() {}, nil
	}
	return Private(hostUUID, vncPort)
}

// RequireQEMU skips a test on a machine without QEMU.
func RequireQEMU(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"qemu-system-x86_64", "qemu-img"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (scripts/test-services.sh installs qemu-system-x86 and qemu-utils)", bin)
		}
	}
}

// SocketAnswers tells whether a unix socket takes connections.
func SocketAnswers(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Private starts virtlogd and libvirtd in a mount namespace of their own,
// with libvirt's run, lib and log folders fresh, and returns the
// libvirtd's URI and a stop function that destroys the domains left in
// it, stops both daemons and removes their folder. Its guests' VNC
// servers take ports from vncPort on (500 of them), apart from other
// daemons' and from the QEMU driver's guests (5900 and up), which a
// libvirtd cannot see when it picks a port.
func Private(hostUUID string, vncPort int) (uri string, stop func(), err error) {
	for _, bin := range []string{"libvirtd", "virtlogd", "unshare"} {
		if _, err := exec.LookPath(bin); err != nil {
			return "", nil, fmt.Errorf("%s is not installed (scripts/test-services.sh installs libvirt-daemon-system)", bin)
		}
	}
	if os.Geteuid() != 0 {
		return "", nil, errors.New("starting a system libvirtd needs root (or set NIMBUS_TEST_LIBVIRT_URI)")
	}
	dir, err := os.MkdirTemp("", "nlv")
	if err != nil {
		return "", nil, err
	}
	uri = "qemu+unix:///system?socket=" + filepath.Join(dir, "libvirt-sock")
	stop = func() {
		destroyDomains(uri)
		for _, f := range []string{"libvirtd.pid", "virtlogd.pid"} {
			data, err := os.ReadFile(filepath.Join(dir, f))
			var pid int
			if err == nil {
				_, err = fmt.Sscanf(strings.TrimSpace(string(data)), "%d", &pid)
			}
			if err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
		}
		os.RemoveAll(dir)
	}
	if err := start(dir, hostUUID, vncPort); err != nil {
		stop()
		return "", nil, err
	}
	return uri, stop, nil
}

func start(dir, hostUUID string, vncPort int) error {
	conf := filepath.Join(dir, "libvirtd.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "unix_sock_dir = %q\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\nhost_uuid = %q\nlog_outputs = \"3:file:%s\"\n",
		dir, hostUUID, filepath.Join(dir, "libvirtd.log")), 0o600); err != nil {
		return err
	}
	qemuConf := filepath.Join(dir, "qemu.conf")
	if err := os.WriteFile(qemuConf, fmt.Appendf(nil, "remote_display_port_min = %d\nremote_display_port_max = %d\n",
		vncPort, vncPort+499), 0o644); err != nil {
		return err
	}
	script := `set -e
for d in /run/libvirt /var/lib/libvirt /var/log/libvirt; do mkdir -p $d; mount -t tmpfs tmpfs $d; done
mkdir -p /etc/libvirt && touch /etc/libvirt/qemu.conf && mount --bind "$1/qemu.conf" /etc/libvirt/qemu.conf
mkdir -p /var/lib/libvirt/qemu /var/log/libvirt/qemu
virtlogd -d -p "$1/virtlogd.pid"
libvirtd -d --config "$1/libvirtd.conf" --pid-file "$1/libvirtd.pid"`
	out, err := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("start libvirtd in a mount namespace: %w: %s", err, out)
	}
	if err := waitSocket(filepath.Join(dir, "libvirt-sock")); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "libvirtd.log"))
		return fmt.Errorf("libvirtd: %w: %s", err, log)
	}
	return nil
}

// waitSocket waits for a daemon's socket; the bound guards against a
// daemon that never comes up and measures nothing.
func waitSocket(path string) error {
	for range 200 {
		if SocketAnswers(path) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s does not answer", path)
}

// destroyDomains destroys and undefines every domain of a private
// libvirtd, which would otherwise run on once it stops.
func destroyDomains(uri string) {
	u, err := url.Parse(uri)
	if err != nil {
		return
	}
	l, err := golibvirt.ConnectToURI(u)
	if err != nil {
		return
	}
	defer l.Disconnect()
	doms, _, err := l.ConnectListAllDomains(1, 0)
	if err != nil {
		return
	}
	for _, d := range doms {
		_ = l.DomainDestroy(d)
		_ = l.DomainUndefineFlags(d, golibvirt.DomainUndefineManagedSave|golibvirt.DomainUndefineNvram)
	}
}
