// Command nimbus-profile runs `nimbus` in process with the Go profilers on, so a
// benchmark's hot spots can be read with `go tool pprof`:
//
//	nimbus-profile -cpuprofile cpu.pprof -- up --state-dir DIR --set identity.bind_port=15000
//
// Profiling starts before the command and stops when it returns (SIGTERM or
// Ctrl-C stop `nimbus up` cleanly); -memprofile, -mutexprofile and -blockprofile
// are written at the end too. To profile a window of a run instead, serve the
// profiles over HTTP on a loopback port:
//
//	nimbus-profile -pprof 127.0.0.1:6060 -- up ...
//	go tool pprof 'http://127.0.0.1:6060/debug/pprof/profile?seconds=10'
package main

import (
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof" // the -pprof listener
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/nimbus-cloud/nimbus/internal/app"
)

func main() {
	cpu := flag.String("cpuprofile", "", "write a CPU profile to this file")
	heap := flag.String("memprofile", "", "write an allocation profile to this file at the end")
	mutex := flag.String("mutexprofile", "", "write a mutex contention profile to this file at the end")
	block := flag.String("blockprofile", "", "write a blocking profile to this file at the end")
	listen := flag.String("pprof", "", "serve /debug/pprof/ on this address (keep it on loopback)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: nimbus-profile [-cpuprofile F] [-memprofile F] [-mutexprofile F] [-blockprofile F] [-pprof ADDR] -- NIMBUS-ARGS...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *mutex != "" {
		runtime.SetMutexProfileFraction(5)
	}
	if *block != "" {
		runtime.SetBlockProfileRate(10_000) // one sample per 10 µs blocked
	}
	if *listen != "" {
		go func() {
			// DefaultServeMux holds only the pprof handlers: nimbus uses its own muxes.
			if err := http.ListenAndServe(*listen, nil); err != nil {
				fmt.Fprintln(os.Stderr, "nimbus-profile: pprof listener:", err)
			}
		}()
	}
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal(err)
		}
	}
	code := app.Main(flag.Args(), os.Stdout, os.Stderr)
	if *cpu != "" {
		pprof.StopCPUProfile()
	}
	for name, path := range map[string]string{"allocs": *heap, "mutex": *mutex, "block": *block} {
		if path == "" {
			continue
		}
		f, err := os.Create(path)
		if err != nil {
			fatal(err)
		}
		if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
			fatal(err)
		}
		f.Close()
	}
	os.Exit(code)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "nimbus-profile:", err)
	os.Exit(1)
}
