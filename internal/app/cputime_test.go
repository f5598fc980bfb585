package app

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time the process has used, user and system, garbage
// collection included.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU runs loop and reports the CPU time per operation as cpu-ns/op
// beside the wall time: on a machine other work keeps busy, it is the
// steadier measure of what a decision costs.
func reportCPU(b *testing.B, loop func() int) {
	start := cpuTime(b)
	n := loop()
	if n > 0 {
		b.ReportMetric(float64(cpuTime(b)-start)/float64(n), "cpu-ns/op")
	}
}
