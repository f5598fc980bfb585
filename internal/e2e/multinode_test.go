package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/placement/v1/resourceproviders"

	"github.com/nimbus-cloud/nimbus/internal/db"
)

// The servers the processes share; scripts/test-services.sh sets both.
const (
	mysqlEnv  = "NIMBUS_TEST_MYSQL_URL"
	rabbitEnv = "NIMBUS_TEST_RABBIT_URL"
)

const (
	adminPassword   = "e2e-admin"
	servicePassword = "e2e-nova"
)

// TestMultiNode runs a controller and two compute nodes as separate
// processes and checks what an operator relies on: servers spread over the
// hosts, placement accounts for them, a disabled host takes no new server,
// a dead host goes down, and a restarted controller keeps what operators set.
func TestMultiNode(t *testing.T) {
	requireServers(t)
	cl := startCluster(t, clusterOptions{driver: "fake"})
	ctl, computes, c, ids, step, startController := cl.ctl, cl.computes, cl.clients, cl.ids, cl.step, cl.startController
	flavor := c.newFlavor(t)
	image := c.newImage(t)

	// Servers spread over both hosts.
	perHost := map[string]int{}
	for i := range 4 {
		perHost[c.boot(t, fmt.Sprintf("spread-%d", i), flavor, image)]++
	}
	if perHost["cmp1"] == 0 || perHost["cmp2"] == 0 || perHost["cmp1"]+perHost["cmp2"] != 4 {
		t.Fatalf("servers per host %v: want both hosts used", perHost)
	}

	step(fmt.Sprintf("4 servers booted: %v", perHost))
	// Placement has both hosts' providers, each using what its servers use.
	c.checkUsages(t, perHost)

	// A disabled host takes no new server.
	if err := services.Update(context.Background(), c.compute, ids["cmp1"], services.UpdateOpts{
		Status: services.ServiceDisabled, DisabledReason: "maintenance"}).Err; err != nil {
		t.Fatalf("disable cmp1: %v", err)
	}
	for i := range 2 {
		if host := c.boot(t, fmt.Sprintf("disabled-%d", i), flavor, image); host != "cmp2" {
			t.Fatalf("a server landed on %s while cmp1 was disabled", host)
		}
		perHost["cmp2"]++
	}
	c.checkUsages(t, perHost)
	step("2 servers booted with cmp1 disabled")

	// A dead compute node goes down after service_down_time.
	computes["cmp2"].kill(t)
	c.waitComputes(t, map[string]string{"cmp1": "up", "cmp2": "down"})
	step("cmp2 killed and down")

	// A restarted controller keeps the service ids and what operators set,
	// judges the dead host from its last heartbeat, and knows both
	// hypervisors by the same ids.
	hypervisors := c.hypervisors(t)
	if len(hypervisors) != 2 {
		t.Fatalf("hypervisors %v: want cmp1's and cmp2's", hypervisors)
	}
	ctl.stop(t)
	step("controller stopped")
	ctl = startController()
	step("controller restarted")
	c = newClients(t, cl.identityURL)
	after := c.waitComputes(t, map[string]string{"cmp1": "up", "cmp2": "down"})
	for host, id := range ids {
		if after[host] != id {
			t.Errorf("%s's service id %s became %s across the restart", host, id, after[host])
		}
	}
	if after := c.hypervisors(t); fmt.Sprint(after) != fmt.Sprint(hypervisors) {
		t.Errorf("hypervisors %v after the restart; before %v", after, hypervisors)
	}
	svc := c.service(t, "cmp1")
	if svc.Status != "disabled" || svc.DisabledReason != "maintenance" {
		t.Errorf("cmp1 after the restart: status %s, reason %q; want disabled for maintenance", svc.Status, svc.DisabledReason)
	}
	// Enabled again, cmp1 takes the next server.
	if err := services.Update(context.Background(), c.compute, ids["cmp1"], services.UpdateOpts{
		Status: services.ServiceEnabled}).Err; err != nil {
		t.Fatalf("enable cmp1: %v", err)
	}
	if host := c.boot(t, "after-restart", flavor, image); host != "cmp1" {
		t.Errorf("a server landed on %s after the restart; want cmp1, the one live host", host)
	}
	step("a server booted on cmp1 after the restart")
}

// requireServers skips a test without the MariaDB and RabbitMQ its
// processes share.
func requireServers(t *testing.T) {
	t.Helper()
	if os.Getenv(mysqlEnv) == "" || os.Getenv(rabbitEnv) == "" {
		t.Skipf("%s and %s must both be set: the processes share a MariaDB and a RabbitMQ (scripts/test-services.sh starts them)",
			mysqlEnv, rabbitEnv)
	}
}

// clusterOptions shape the compute nodes of a cluster.
type clusterOptions struct {
	// driver is the compute nodes' compute_driver.
	driver string
	// computeConf is more configuration of every compute node.
	computeConf string
	// stateDir is a compute node's state folder; nil: a temporary one.
	stateDir func(host string) string
}

// cluster is a controller and two compute nodes, cmp1 and cmp2, each its
// own process of the binary, on a database and a virtual host of the
// test's own.
type cluster struct {
	ctl             *process
	startController func() *process
	computes        map[string]*process
	clients         *clients
	identityURL     string
	// ids are the compute services' ids by host.
	ids map[string]string
	// step logs what is done, with the time since the start.
	step func(what string)
}

// startCluster builds the binary, starts the controller and both compute
// nodes, and waits until both nodes are up.
func startCluster(t *testing.T, o clusterOptions) *cluster {
	t.Helper()
	mysqlURL, rabbitURL := os.Getenv(mysqlEnv), os.Getenv(rabbitEnv)
	began := time.Now()
	cl := &cluster{computes: map[string]*process{}}
	cl.step = func(what string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), what) }
	bin := buildNimbus(t)
	cl.step("built")
	dbURL := freshDatabase(t, mysqlURL)
	transport := freshVhost(t, rabbitURL)
	ports := freePorts(t, 5)
	identityURL := fmt.Sprintf("http://127.0.0.1:%d/v3", ports[0])
	cl.identityURL = identityURL
	// conf is a node's configuration: what every node shares, then its own.
	// The driver (fake on the controller, which runs no guests) is named
	// where either section may hold the option.
	conf := func(driver, computeOpts, more string) string {
		return fmt.Sprintf(`[DEFAULT]
transport_url = %s
my_ip = 127.0.0.1
bind_host = 127.0.0.1
compute_driver = %s
rpc_response_timeout = 20

[compute]
compute_driver = %s
report_interval = 1
service_down_time = 3
%s
[keystone_authtoken]
auth_url = %s
username = nova
password = %s
%s`, transport, driver, driver, computeOpts, identityURL, servicePassword, more)
	}

	ctlDir := t.TempDir()
	ctlConf := writeFile(t, ctlDir, "nimbus.conf", conf("fake", fmt.Sprintf("bind_port = %d", ports[3]), fmt.Sprintf(`
[database]
connection = %s

[identity]
bind_port = %d
password_hash_rounds = 4

[image]
bind_port = %d

[placement]
bind_port = %d

[vnc]
novncproxy_host = 127.0.0.1
novncproxy_port = %d

[quota]
instances = -1
cores = -1
ram = -1
`, dbURL, ports[0], ports[1], ports[2], ports[4])))
	cl.startController = func() *process {
		p := start(t, bin, "ctl", "serve", "--role", "controller", "--host", "ctl", "--config-file", ctlConf,
			"--state-dir", ctlDir, "--admin-password", adminPassword)
		p.waitReady(t, 90*time.Second)
		return p
	}
	cl.ctl = cl.startController()
	cl.step("controller ready")

	for _, host := range []string{"cmp1", "cmp2"} {
		dir := t.TempDir()
		state := dir
		if o.stateDir != nil {
			state = o.stateDir(host)
		}
		path := writeFile(t, dir, "nimbus.conf", conf(o.driver, "", o.computeConf))
		cl.computes[host] = start(t, bin, host, "serve", "--role", "compute", "--host", host, "--config-file", path,
			"--state-dir", state)
	}

	cl.clients = newClients(t, identityURL)
	cl.ids = cl.clients.waitComputes(t, map[string]string{"cmp1": "up", "cmp2": "up"})
	cl.step("both compute nodes up")
	return cl
}

// buildNimbus builds the binary under test.
func buildNimbus(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nimbus")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/nimbus-cloud/nimbus/cmd/nimbus")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b)
}

// freshDatabase creates a database of the test's own on the server of
// admin (a MySQL URL) and drops it afterwards.
func freshDatabase(t *testing.T, admin string) string {
	t.Helper()
	ctx := context.Background()
	root, err := db.Open(ctx, admin)
	if err != nil {
		t.Fatalf("connect to %s: %v", mysqlEnv, err)
	}
	defer root.Close()
	name := randomName("nimbus_e2e_")
	if _, err := root.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		root, err := db.Open(context.Background(), admin)
		if err != nil {
			t.Logf("drop database %s: %v", name, err)
			return
		}
		defer root.Close()
		if _, err := root.ExecContext(context.Background(), "DROP DATABASE "+name); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", mysqlEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

// freshVhost creates a RabbitMQ virtual host of the test's own, so that
// runs at the same time never share a queue, and deletes it afterwards. It
// needs the broker's rabbitmqctl on this machine.
func freshVhost(t *testing.T, admin string) string {
	t.Helper()
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		t.Fatalf("%s is set but rabbitmqctl is not on PATH: this test makes a virtual host of its own with it", rabbitEnv)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", rabbitEnv, err)
	}
	vhost := randomName("nimbus-e2e-")
	user := u.User.Username()
	ctl := func(args ...string) error {
		out, err := exec.Command("rabbitmqctl", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("rabbitmqctl %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := ctl("-q", "add_vhost", vhost); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ctl("-q", "delete_vhost", vhost); err != nil {
			t.Log(err)
		}
	})
	if err := ctl("-q", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"); err != nil {
		t.Fatal(err)
	}
	u.Scheme = "rabbit"
	u.Path = "/" + vhost
	return u.String()
}

// freePorts finds n ports free on the loopback now.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var out []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	return out
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// process is one running nimbus; its output is kept and shown when the
// test fails.
type process struct {
	name  string
	cmd   *exec.Cmd
	out   *lockedBuffer
	ready chan struct{}
	done  chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func start(t *testing.T, bin, name string, args ...string) *process {
	t.Helper()
	p := &process{name: name, out: &lockedBuffer{}, ready: make(chan struct{}), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), "NIMBUS_ADMIN_PASSWORD=")
	p.cmd.Stderr = p.out
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.out, line)
			if strings.HasPrefix(line, "Nimbus is ready") {
				once.Do(func() { close(p.ready) })
			}
		}
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("output of %s:\n%s", name, tail(p.out.String(), 60))
		}
	})
	return p
}

// waitReady waits until the process says it is ready.
func (p *process) waitReady(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-p.ready:
	case <-p.done:
		t.Fatalf("%s exited before it was ready:\n%s", p.name, tail(p.out.String(), 60))
	case <-time.After(timeout):
		t.Fatalf("%s not ready within %s:\n%s", p.name, timeout, tail(p.out.String(), 60))
	}
}

// stop asks the process to stop and waits for it; one that does not stop
// is killed.
func (p *process) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Errorf("%s did not stop within 20s of SIGTERM", p.name)
		p.kill(t)
	}
}

// kill ends the process at once, as a host that dies.
func (p *process) kill(t *testing.T) {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clients are the admin's clients of the cloud.
type clients struct {
	compute, placement, image *gophercloud.ServiceClient
}

func newClients(t *testing.T, identityURL string) *clients {
	t.Helper()
	ctx := context.Background()
	pc, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: identityURL,
		Username: "admin", Password: adminPassword, DomainName: "Default", AllowReauth: true,
		Scope: &gophercloud.AuthScope{ProjectName: "admin", DomainName: "Default"}})
	if err != nil {
		t.Fatalf("authenticate as admin: %v", err)
	}
	c := &clients{}
	if c.compute, err = openstack.NewComputeV2(pc, gophercloud.EndpointOpts{}); err != nil {
		t.Fatal(err)
	}
	if c.placement, err = openstack.NewPlacementV1(pc, gophercloud.EndpointOpts{}); err != nil {
		t.Fatal(err)
	}
	if c.image, err = openstack.NewImageV2(pc, gophercloud.EndpointOpts{}); err != nil {
		t.Fatal(err)
	}
	c.compute.Microversion = "2.53"
	c.placement.Microversion = "1.9"
	return c
}

func (c *clients) computeServices(t *testing.T) []services.Service {
	t.Helper()
	pages, err := services.List(c.compute, services.ListOpts{Binary: "nova-compute"}).AllPages(context.Background())
	if err != nil {
		t.Fatalf("list services: %v", err)
	}
	all, err := services.ExtractServices(pages)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func (c *clients) service(t *testing.T, host string) services.Service {
	t.Helper()
	for _, s := range c.computeServices(t) {
		if s.Host == host {
			return s
		}
	}
	t.Fatalf("no compute service on %s", host)
	return services.Service{}
}

// waitComputes waits until the compute services of the hosts are in the
// states given, and returns their ids.
func (c *clients) waitComputes(t *testing.T, want map[string]string) map[string]string {
	t.Helper()
	ids := map[string]string{}
	var last []services.Service
	eventually(t, 30*time.Second, func() bool {
		last = c.computeServices(t)
		got := map[string]string{}
		for _, s := range last {
			got[s.Host] = s.State
			ids[s.Host] = s.ID
		}
		for host, state := range want {
			if got[host] != state {
				return false
			}
		}
		return true
	}, fmt.Sprintf("compute services %v", want))
	return ids
}

// hypervisors maps each hypervisor's name to its id.
func (c *clients) hypervisors(t *testing.T) map[string]string {
	t.Helper()
	var body struct {
		Hypervisors []struct {
			ID       string `json:"id"`
			Hostname string `json:"hypervisor_hostname"`
		} `json:"hypervisors"`
	}
	if _, err := c.compute.Get(context.Background(), c.compute.ServiceURL("os-hypervisors"), &body, nil); err != nil {
		t.Fatalf("list hypervisors: %v", err)
	}
	out := map[string]string{}
	for _, h := range body.Hypervisors {
		out[h.Hostname] = h.ID
	}
	return out
}

func (c *clients) newFlavor(t *testing.T) string {
	t.Helper()
	disk := 1
	f, err := flavors.Create(context.Background(), c.compute, flavors.CreateOpts{Name: "e2e.tiny", VCPUs: 1, RAM: 64,
		Disk: &disk}).Extract()
	if err != nil {
		t.Fatalf("create flavor: %v", err)
	}
	return f.ID
}

func (c *clients) newImage(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	vis := images.ImageVisibilityPublic
	img, err := images.Create(ctx, c.image, images.CreateOpts{Name: "e2e", DiskFormat: "raw", ContainerFormat: "bare",
		Visibility: &vis}).Extract()
	if err != nil {
		t.Fatalf("create image: %v", err)
	}
	if err := imagedata.Upload(ctx, c.image, img.ID, bytes.NewReader(bytes.Repeat([]byte("disk"), 256))).ExtractErr(); err != nil {
		t.Fatalf("upload image: %v", err)
	}
	return img.ID
}

// boot creates a server, waits until it is active and returns its host.
func (c *clients) boot(t *testing.T, name, flavor, image string) string {
	t.Helper()
	ctx := context.Background()
	s, err := servers.Create(ctx, c.compute, servers.CreateOpts{Name: name, ImageRef: image, FlavorRef: flavor,
		Networks: "none"}, nil).Extract()
	if err != nil {
		t.Fatalf("create server %s: %v", name, err)
	}
	eventually(t, 30*time.Second, func() bool {
		s, err = servers.Get(ctx, c.compute, s.ID).Extract()
		if err != nil {
			t.Fatalf("get server %s: %v", name, err)
		}
		if s.Status == "ERROR" {
			t.Fatalf("server %s failed: %+v", name, s.Fault)
		}
		return s.Status == "ACTIVE" && s.TaskState == ""
	}, "server "+name+" active")
	return s.Host
}

// checkUsages checks that placement has a provider for each host, using
// what the host's servers use.
func (c *clients) checkUsages(t *testing.T, perHost map[string]int) {
	t.Helper()
	ctx := context.Background()
	pages, err := resourceproviders.List(c.placement, nil).AllPages(ctx)
	if err != nil {
		t.Fatalf("list resource providers: %v", err)
	}
	rps, err := resourceproviders.ExtractResourceProviders(pages)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{}
	for _, rp := range rps {
		byName[rp.Name] = rp.UUID
	}
	for host, n := range perHost {
		id, ok := byName[host]
		if !ok {
			t.Fatalf("no resource provider of %s among %v", host, byName)
		}
		u, err := resourceproviders.GetUsages(ctx, c.placement, id).Extract()
		if err != nil {
			t.Fatalf("usages of %s: %v", host, err)
		}
		if u.Usages["VCPU"] != n || u.Usages["MEMORY_MB"] != 64*n || u.Usages["DISK_GB"] != n {
			t.Errorf("usages of %s %v: want %d servers' (1 VCPU, 64 MB, 1 GB each)", host, u.Usages, n)
		}
	}
}
