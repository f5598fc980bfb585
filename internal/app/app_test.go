package app_test

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"

	"github.com/nimbus-cloud/nimbus/internal/app"
	"github.com/nimbus-cloud/nimbus/internal/config"
	"github.com/nimbus-cloud/nimbus/internal/identity/fernet"
)

// TestMain lets a test run the nimbus command line in a child process, as a
// user would run the binary.
func TestMain(m *testing.M) {
	if args := os.Getenv("NIMBUS_TEST_MAIN_ARGS"); args != "" {
		os.Exit(app.Main(strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

type upProcess struct {
	cmd         *exec.Cmd
	identityURL string
	lines       []string
}

// startUp runs `nimbus up` in a child and waits for its ready line.
func startUp(t *testing.T, args ...string) *upProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// The fake driver and no test image, whatever this machine has; --set wins.
	cmd.Env = append(os.Environ(), "NIMBUS_TEST_MAIN_ARGS="+strings.Join(append([]string{"up"}, args...), "\x1f"),
		"NIMBUS_COMPUTE_COMPUTE_DRIVER=fake", "NIMBUS_COMPUTE_OFFER_TEST_IMAGE=false")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &upProcess{cmd: cmd}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan error, 1)
	sc := bufio.NewScanner(stdout)
	go func() {
		for sc.Scan() {
			line := sc.Text()
			p.lines = append(p.lines, line)
			if m := regexp.MustCompile(`^identity\s+(\S+)`).FindStringSubmatch(line); m != nil {
				p.identityURL = m[1]
			}
			if strings.HasPrefix(line, "Nimbus is ready") {
				ready <- nil
				break
			}
		}
		ready <- sc.Err()
		_, _ = bufio.NewReader(stdout).WriteTo(discard{})
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatalf("nimbus up printed no ready line; got %q", p.lines)
	}
	if p.identityURL == "" {
		t.Fatalf("no identity URL in %q", p.lines)
	}
	return p
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func (p *upProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("nimbus up exited with %v after SIGTERM", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("nimbus up did not stop on SIGTERM")
	}
}

func readOpenRC(t *testing.T, dir string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "admin-openrc"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok {
			env[k] = strings.Trim(v, "'")
		}
	}
	return env
}

func authenticate(t *testing.T, env map[string]string) error {
	t.Helper()
	_, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{
		IdentityEndpoint: env["OS_AUTH_URL"], Username: env["OS_USERNAME"], Password: env["OS_PASSWORD"],
		DomainName: env["OS_USER_DOMAIN_NAME"], TenantName: env["OS_PROJECT_NAME"]})
	return err
}

func TestUpFirstStartAndRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	args := []string{"--state-dir", dir, "--set", "DEFAULT.bind_host=127.0.0.1", "--set", "identity.bind_port=0", "--set", "image.bind_port=0", "--set", "compute.bind_port=0", "--set", "placement.bind_port=0", "--set", "vnc.novncproxy_host=127.0.0.1", "--set", "vnc.novncproxy_port=0",
		"--set", "identity.password_hash_rounds=4"}

	p := startUp(t, args...)
	for _, name := range []string{"clouds.yaml", "admin-openrc"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("first start wrote no %s: %v", name, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", name, fi.Mode().Perm())
		}
	}
	env := readOpenRC(t, dir)
	if env["OS_AUTH_URL"] != p.identityURL || len(env["OS_PASSWORD"]) < 16 {
		t.Fatalf("admin-openrc = %v, printed URL %s", env, p.identityURL)
	}
	if err := authenticate(t, env); err != nil {
		t.Fatalf("authenticate with the written credentials: %v", err)
	}
	if names := flavorNames(t, env); len(names) != 7 || names[0] != "m1.tiny" || names[6] != "m1.micro" {
		t.Errorf("flavors offered on first start = %v, want the m1 set", names)
	}
	p.stop(t)

	// A restart reuses the state: same password, the files follow the new port.
	p = startUp(t, args...)
	env2 := readOpenRC(t, dir)
	if env2["OS_PASSWORD"] != env["OS_PASSWORD"] || env2["OS_AUTH_URL"] != p.identityURL {
		t.Fatalf("after restart admin-openrc = %v, printed %s", env2, p.identityURL)
	}
	if err := authenticate(t, env2); err != nil {
		t.Fatalf("authenticate after restart: %v", err)
	}
	p.stop(t)
}

func TestBadConfigIsRefused(t *testing.T) {
	t.Parallel()
	conf := filepath.Join(t.TempDir(), "nimbus.conf")
	if err := os.WriteFile(conf, []byte("[token]\nexpiration = soon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NIMBUS_TEST_MAIN_ARGS="+strings.Join([]string{"up", "--config-file", conf,
		"--state-dir", t.TempDir()}, "\x1f"))
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("nimbus up started with a bad config")
	}
	if want := conf + `: [token] expiration: "soon" is not an integer`; !strings.Contains(string(out), want) {
		t.Fatalf("output %q does not contain %q", out, want)
	}
}

func TestStartFailureIsAnError(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	cfg, err := config.Load(config.Source{Set: map[string]string{
		"DEFAULT.state_path": t.TempDir(), "DEFAULT.bind_host": "127.0.0.1",
		"identity.bind_port": strconv.Itoa(port), "identity.password_hash_rounds": "4"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = app.Start(context.Background(), cfg, app.StartOptions{AdminPassword: "pw", Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "listen on 127.0.0.1:"+strconv.Itoa(port)) {
		t.Fatalf("Start on a taken port = %v, want a listen error", err)
	}
}

func TestFernetRotateWhileServing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	p := startUp(t, "--state-dir", dir, "--set", "DEFAULT.bind_host=127.0.0.1", "--set", "identity.bind_port=0", "--set", "image.bind_port=0", "--set", "compute.bind_port=0", "--set", "placement.bind_port=0", "--set", "vnc.novncproxy_host=127.0.0.1", "--set", "vnc.novncproxy_port=0",
		"--set", "identity.password_hash_rounds=4")
	defer p.stop(t)
	env := readOpenRC(t, dir)
	before := issue(t, env)
	for i := 0; i < 3; i++ { // rotate past max_active_keys: the old primary stays a secondary once
		var out strings.Builder
		if code := app.Main([]string{"admin", "fernet", "rotate", "--state-dir", dir}, &out, &out); code != 0 {
			t.Fatalf("rotate: exit %d: %s", code, out.String())
		}
		// Let the server load the new keys (it looks once a second), as
		// operators rotate far apart: a server still signing with a key the
		// next rotation prunes would issue tokens it then refuses.
		time.Sleep(fernet.DefaultReloadInterval + 500*time.Millisecond)
		after := issue(t, env)
		if !valid(t, env, after, after) {
			t.Fatalf("a token signed with the new primary key is refused after rotation %d", i+1)
		}
		if i == 0 && !valid(t, env, after, before) {
			t.Fatal("a token of the previous primary key is refused after one rotation")
		}
	}
	// Three rotations with max_active_keys 3 pruned the key that signed it; the
	// server notices within its key reload interval (a second).
	fresh := issue(t, env)
	deadline := time.Now().Add(5 * time.Second)
	for valid(t, env, fresh, before) {
		if time.Now().After(deadline) {
			t.Fatal("a token signed with a pruned key is still accepted")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func issue(t *testing.T, env map[string]string) string {
	t.Helper()
	pc, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{
		IdentityEndpoint: env["OS_AUTH_URL"], Username: env["OS_USERNAME"], Password: env["OS_PASSWORD"],
		DomainName: env["OS_USER_DOMAIN_NAME"], TenantName: env["OS_PROJECT_NAME"]})
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return pc.Token()
}

// valid reports whether identity accepts subject, asking with token.
func valid(t *testing.T, env map[string]string, token, subject string) bool {
	t.Helper()
	req, _ := http.NewRequest("GET", env["OS_AUTH_URL"]+"/auth/tokens", nil)
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("X-Subject-Token", subject)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

func TestAdminDBSync(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out strings.Builder
	for i := 0; i < 2; i++ { // the second run finds nothing to do
		out.Reset()
		if code := app.Main([]string{"admin", "db", "sync", "--state-dir", dir}, &out, &out); code != 0 {
			t.Fatalf("db sync: exit %d: %s", code, out.String())
		}
	}
	for _, want := range []string{"identity schema at version", "image schema at version"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("db sync said %q, want it to contain %q", out.String(), want)
		}
	}
	for _, f := range []string{"identity.db", "image.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("db sync made no %s: %v", f, err)
		}
	}
}

// flavorNames lists the public flavors' names, in id order, as the admin.
func flavorNames(t *testing.T, env map[string]string) []string {
	t.Helper()
	pc, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{
		IdentityEndpoint: env["OS_AUTH_URL"], Username: env["OS_USERNAME"], Password: env["OS_PASSWORD"],
		DomainName: env["OS_USER_DOMAIN_NAME"], TenantName: env["OS_PROJECT_NAME"]})
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	sc, err := openstack.NewComputeV2(pc, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := flavors.ListDetail(sc, nil).AllPages(context.Background())
	if err != nil {
		t.Fatalf("list flavors: %v", err)
	}
	all, err := flavors.ExtractFlavors(pages)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range all {
		names = append(names, f.Name)
	}
	return names
}

func TestServeRoleRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown role", []string{"--role", "storage"}, `unknown role "storage"`},
		{"empty host", []string{"--role", "compute", "--host", ""}, "host is empty"},
		{"compute without a bus", []string{"--role", "compute", "--host", "cmp1"}, "compute role needs a shared transport_url"},
		{"compute without credentials", []string{"--role", "compute", "--host", "cmp1",
			"--set", "DEFAULT.transport_url=rabbit://guest:guest@127.0.0.1:1/"},
			"compute role needs [keystone_authtoken] auth_url and password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conf := filepath.Join(t.TempDir(), "nimbus.conf")
			if err := os.WriteFile(conf, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"serve", "--state-dir", t.TempDir(), "--config-file", conf}, tc.args...)
			var out strings.Builder
			code := app.Main(args, &out, &out)
			if code == 0 || !strings.Contains(out.String(), tc.want) {
				t.Errorf("serve %v: exit %d, %q; want a failure saying %q", tc.args, code, out.String(), tc.want)
			}
		})
	}
}
