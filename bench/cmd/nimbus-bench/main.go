// Command nimbus-bench measures a running Nimbus, or any keystone, through its
// public API only, and prints one JSON object per measurement on stdout.
//
//	nimbus-bench token-issue    -n 100 -c 8      POST /v3/auth/tokens (password, project scope)
//	nimbus-bench token-validate -n 5000 -c 8     GET /v3/auth/tokens (X-Subject-Token)
//	nimbus-bench bcrypt-bound   -c 2 -cost 12    in-process bcrypt checks/s: the ceiling of token issue
//	nimbus-bench revocations    -events 10000    make revocation events, then measure validation
//	nimbus-bench startup        -bin bin/nimbus  first start, idle memory, stop, warm restart
//	nimbus-bench memory         -pid PID         RSS/PSS of a running cloud's process group
//	nimbus-bench report         results.jsonl    medians of repeated runs as a markdown table
//	nimbus-bench image          -size 512MiB     create, upload, download and delete an image
//	nimbus-bench hash-bound     -size 512MiB     in-process md5+sha512 MB/s: the ceiling of upload
//	nimbus-bench bus            [-url rabbit://] call round trips and cast throughput of the message bus
//	nimbus-bench placement      -providers 10000 seed providers, time allocation candidates and claims
//
// Credentials come from the usual OS_* variables (source the cloud's admin-openrc).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

const usage = `usage: nimbus-bench COMMAND [flags]

commands:
  token-issue     token issue by password, project scope (-n requests, -c concurrency)
  token-validate  token validation with an admin token (-n, -c)
  bcrypt-bound    bcrypt checks per second in this process (-c, -cost, -n)
  revocations     make -events revocation events, then measure validation at c=1 and c=8
  startup         start, idle memory, stop and warm restart of bin/nimbus (-bin)
  memory          RSS and PSS of a process group (-pid)
  report          medians of a results file as a markdown table
  image           create, upload, wait active, download, delete an image (-size, -n, -pid)
  hash-bound      md5 and sha512 MB/s in this process: the ceiling of image upload (-size)
  bus             bus call p50 and casts/s, in process or over RabbitMQ (-url, -calls, -casts, -c)
  placement       seed -providers (api or direct), time allocation candidates, concurrent claims

Each command takes -h for its flags. Credentials come from OS_AUTH_URL,
OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, OS_USER_DOMAIN_NAME and
OS_PROJECT_DOMAIN_NAME.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	commands := map[string]func([]string) error{
		"token-issue":    cmdTokenIssue,
		"token-validate": cmdTokenValidate,
		"bcrypt-bound":   cmdBcryptBound,
		"revocations":    cmdRevocations,
		"startup":        cmdStartup,
		"memory":         cmdMemory,
		"report":         cmdReport,
		"image":          cmdImage,
		"hash-bound":     cmdHashBound,
		"bus":            cmdBus,
		"placement":      cmdPlacement,
	}
	name := os.Args[1]
	run, ok := commands[name]
	if !ok {
		if name == "help" || name == "-h" || name == "--help" {
			fmt.Print(usage)
			return
		}
		fmt.Fprintf(os.Stderr, "nimbus-bench: unknown command %q\n\n%s", name, usage)
		os.Exit(2)
	}
	if err := run(os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "nimbus-bench %s: %v\n", name, err)
		os.Exit(1)
	}
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("nimbus-bench "+name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}
