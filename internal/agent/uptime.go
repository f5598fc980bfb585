package agent

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"time"
)

// hostBootTime is when the host came up: the driver's answer when it has
// one, else the machine's boot time from /proc/stat (zero where there is
// none).
func hostBootTime(driver time.Time) time.Time {
	if !driver.IsZero() {
		return driver
	}
	f, err := os.Open("/proc/stat")
	if err != nil {
		return time.Time{}
	}
	defer f.Close()
	return bootTimeFromStat(bufio.NewScanner(f))
}

// bootTimeFromStat reads the btime line of /proc/stat.
func bootTimeFromStat(sc *bufio.Scanner) time.Time {
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
			if secs, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64); err == nil {
				return time.Unix(secs, 0).UTC()
			}
		}
	}
	return time.Time{}
}
