package cloudtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// RequireQEMU skips a test that needs QEMU on a machine without it.
func RequireQEMU(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"qemu-system-x86_64", "qemu-img"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (scripts/test-services.sh installs qemu-system-x86 and qemu-utils)", bin)
		}
	}
}

// qemuStateDir is a short state folder that outlives the cloud: once the
// test ends, QEMU processes of instances in it are killed, then it goes.
func qemuStateDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nct")
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the cloud's own cleanup, so it runs after it.
	t.Cleanup(func() {
		for _, pid := range leftQEMUs(dir) {
			t.Logf("killing QEMU %d the cloud left running", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		os.RemoveAll(dir)
	})
	return dir
}

// leftQEMUs are the running processes of pid files under dir whose command
// line names dir.
func leftQEMUs(dir string) []int {
	var out []int
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "qemu.pid" {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil || pid <= 1 {
			return nil
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && bytes.Contains(cmdline, []byte(dir)) {
			out = append(out, pid)
		}
		return nil
	})
	return out
}

var (
	testImageOnce sync.Once
	testImageDir  string
	testImageErr  error
)

// TestImage builds the tiny test guest with scripts/build-test-image.sh
// (quick when it is built) and returns its folder: vmlinuz, initrd.img and
// disk.qcow2. On its serial console the guest prints "NIMBUS-GUEST: banner"
// first and "NIMBUS-GUEST: ready" once booted.
func TestImage(t testing.TB) string {
	t.Helper()
	RequireQEMU(t)
	testImageOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			testImageErr = err
			return
		}
		out, err := exec.Command(filepath.Join(root, "scripts", "build-test-image.sh")).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				err = fmt.Errorf("%w: %s", err, ee.Stderr)
			}
			testImageErr = fmt.Errorf("build the test image: %w", err)
			return
		}
		testImageDir = strings.TrimSpace(string(out))
	})
	if testImageErr != nil {
		t.Fatal(testImageErr)
	}
	return testImageDir
}

// moduleRoot is the folder of go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
