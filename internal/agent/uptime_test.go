package agent

import (
	"bufio"
	"strings"
	"testing"
	"time"
)

func TestHostBootTime(t *testing.T) {
	t.Parallel()
	driver := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if got := hostBootTime(driver); !got.Equal(driver) {
		t.Errorf("hostBootTime(driver's) = %v", got)
	}
	stat := "cpu  1 2 3\nintr 5\nbtime 1767225600\nprocesses 9\n"
	if got := bootTimeFromStat(bufio.NewScanner(strings.NewReader(stat))); !got.Equal(time.Unix(1767225600, 0)) {
		t.Errorf("boot time from stat = %v", got)
	}
	if got := bootTimeFromStat(bufio.NewScanner(strings.NewReader("cpu 1\n"))); !got.IsZero() {
		t.Errorf("boot time without btime = %v", got)
	}
}
