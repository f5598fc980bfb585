package libvirt

import (
	"fmt"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// BenchmarkSpawnToRunning is the time Spawn takes to have a guest running
// through libvirtd: base image, overlay, domain defined and started. The
// guest is the boot sector one, so its boot costs nothing after; compare
// the QEMU driver's benchmark of the same name.
func BenchmarkSpawnToRunning(b *testing.B) {
	uri := requireLibvirt(b)
	d := newDriver(b, uri, "bench")
	img := bootSectorImage(b)
	ctx := b.Context()
	for i := 0; b.Loop(); i++ {
		spec := &virt.InstanceSpec{UUID: fmt.Sprintf("b1000000-0000-4000-8000-%012d", i), Name: fmt.Sprintf("instance-b1%06d", i),
			ProjectID: "p", Flavor: virt.Flavor{VCPUs: 1, MemoryMB: 64, RootGB: 1}, Image: img}
		if err := d.Spawn(ctx, spec); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := d.Destroy(ctx, spec.UUID, false); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
