// Package archtest fails the build when a package imports across a boundary that
// ARCHITECTURE.md forbids, so the layering stays true as the code grows.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/nimbus-cloud/nimbus"

// rule forbids packages matching From (a prefix; "*" inside matches one path
// segment) from importing any of Forbidden (prefixes).
type rule struct {
	name      string
	from      func(pkg string) bool
	forbidden []string
}

// isServiceCore matches internal/<svc> itself, not its http/sql subpackages.
func isServiceCore(pkg string) bool {
	for _, svc := range []string{"identity", "image", "compute", "placement"} {
		if pkg == module+"/internal/"+svc {
			return true
		}
	}
	return false
}

// isControlPlane matches the compute control plane's services.
func isControlPlane(pkg string) bool {
	for _, p := range []string{"conductor", "schedulerd", "agent"} {
		if pkg == module+"/internal/"+p || strings.HasPrefix(pkg, module+"/internal/"+p+"/") {
			return true
		}
	}
	return false
}

var rules = []rule{
	{"service packages hold rules, not transports or SQL", isServiceCore,
		[]string{"net/http", "database/sql", module + "/internal/db", module + "/internal/api"}},
	{"http layers never touch SQL", func(p string) bool { return strings.HasSuffix(p, "http") && strings.HasPrefix(p, module+"/internal/") },
		[]string{"database/sql", module + "/internal/db", module + "/internal/identity/identitysql", module + "/internal/image/imagesql", module + "/internal/compute/computesql", module + "/internal/placement/placementsql"}},
	{"sql stores know no HTTP", func(p string) bool { return strings.HasSuffix(p, "sql") && strings.HasPrefix(p, module+"/internal/") },
		[]string{"net/http", module + "/internal/api"}},
	{"auth knows no service", func(p string) bool { return strings.HasPrefix(p, module+"/internal/auth") },
		[]string{module + "/internal/identity", module + "/internal/db"}},
	{"plumbing knows no service", func(p string) bool {
		return strings.HasPrefix(p, module+"/internal/api") || strings.HasPrefix(p, module+"/internal/db") || strings.HasPrefix(p, module+"/internal/config")
	}, []string{module + "/internal/identity", module + "/internal/auth", module + "/internal/app"}},
	{"the image cache is files, not transports or SQL", func(p string) bool { return p == module+"/internal/image/imagecache" },
		[]string{"net/http", "database/sql", module + "/internal/db", module + "/internal/api"}},
	{"compute talks to other services only through app's adapters", func(p string) bool { return strings.HasPrefix(p, module+"/internal/compute") },
		[]string{module + "/internal/identity", module + "/internal/image", module + "/internal/placement", module + "/internal/bus", module + "/internal/rpc", module + "/internal/scheduler"}},
	{"compute's extra spec table is pure", func(p string) bool { return p == module+"/internal/compute/extraspecs" },
		[]string{"net/http", "database/sql", module + "/internal/db", module + "/internal/api", module + "/internal/auth"}},
	{"the bus and its contracts know no service, HTTP, SQL or broker library", func(p string) bool {
		return p == module+"/internal/bus" || strings.HasPrefix(p, module+"/internal/rpc")
	}, []string{"net/http", "database/sql", module + "/internal/db", module + "/internal/api", module + "/internal/identity",
		module + "/internal/image", module + "/internal/compute", module + "/internal/placement", module + "/internal/scheduler",
		module + "/internal/conductor", module + "/internal/app", module + "/internal/bus/amqp", module + "/internal/bus/inproc",
		"github.com/rabbitmq/amqp091-go"}},
	{"rpc contracts are data, not transport", func(p string) bool { return strings.HasPrefix(p, module+"/internal/rpc") },
		[]string{module + "/internal/bus"}},
	{"bus transports move bytes, not envelopes", func(p string) bool {
		return strings.HasPrefix(p, module+"/internal/bus/amqp") || strings.HasPrefix(p, module+"/internal/bus/inproc")
	}, []string{module + "/internal/rpc"}},
	{"only the composition root picks a bus transport", func(p string) bool {
		return !strings.HasPrefix(p, module+"/internal/app") && !strings.HasPrefix(p, module+"/bench") && !strings.HasPrefix(p, module+"/internal/bus")
	}, []string{module + "/internal/bus/amqp", module + "/internal/bus/inproc", "github.com/rabbitmq/amqp091-go"}},
	{"placement talks to no other service", func(p string) bool { return strings.HasPrefix(p, module+"/internal/placement") },
		[]string{module + "/internal/identity", module + "/internal/image", module + "/internal/compute"}},
	{"the scheduler is pure: no other Nimbus package, no I/O", func(p string) bool {
		return p == module+"/internal/scheduler" || strings.HasPrefix(p, module+"/internal/scheduler/")
	},
		[]string{module + "/internal", "net", "net/http", "database/sql", "os", "os/exec"}},
	{"virt drivers know nothing of the database, the bus, HTTP or the services", func(p string) bool { return strings.HasPrefix(p, module+"/internal/virt") },
		[]string{"net/http", "database/sql", module + "/internal/db", module + "/internal/bus", module + "/internal/rpc", module + "/internal/api",
			module + "/internal/auth", module + "/internal/identity", module + "/internal/image", module + "/internal/compute",
			module + "/internal/placement", module + "/internal/scheduler", module + "/internal/app", module + "/internal/config"}},
	{"the QMP client is a protocol, not a driver", func(p string) bool { return strings.HasPrefix(p, module+"/internal/virt/qemu/qmp") },
		[]string{module + "/internal"}},
	{"the conductor, scheduler service and compute agents talk over the bus and REST, never SQL or HTTP themselves", func(p string) bool {
		return isControlPlane(p)
	}, []string{"net/http", "database/sql", module + "/internal/db", module + "/internal/api", module + "/internal/identity",
		module + "/internal/image", module + "/internal/placement"}},
	{"compute agents never touch the database: they report to the conductor", func(p string) bool { return strings.HasPrefix(p, module+"/internal/agent") },
		[]string{module + "/internal/compute", module + "/internal/conductor", module + "/internal/schedulerd", module + "/internal/scheduler"}},
	{"the conductor reaches hosts and the scheduler only over the bus", func(p string) bool { return strings.HasPrefix(p, module+"/internal/conductor") },
		[]string{module + "/internal/agent", module + "/internal/virt", module + "/internal/schedulerd", module + "/internal/scheduler"}},
	{"the scheduler service knows no instance records and no hypervisor", func(p string) bool { return strings.HasPrefix(p, module+"/internal/schedulerd") },
		[]string{module + "/internal/compute", module + "/internal/conductor", module + "/internal/agent", module + "/internal/virt"}},
	{"only cmd imports app", func(p string) bool {
		return !strings.HasPrefix(p, module+"/cmd/") && p != module+"/internal/cloudtest" && !strings.HasPrefix(p, module+"/bench")
	}, []string{module + "/internal/app"}},
}

func TestImportBoundaries(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		for _, r := range rules {
			if !r.from(pkg) {
				continue
			}
			checked++
			for _, imp := range imports {
				for _, f := range r.forbidden {
					if (imp == f || strings.HasPrefix(imp, f+"/")) && imp != pkg && !strings.HasPrefix(imp, pkg+"/") {
						t.Errorf("%s imports %s: %s", pkg, imp, r.name)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no package was checked: the module path or rules are wrong")
	}
}
