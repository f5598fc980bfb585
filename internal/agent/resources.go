package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
)

// Placement is what the agent asks of placement, through its REST API.
type Placement interface {
	// EnsureProvider returns the uuid of the root resource provider named
	// name, creating it when there is none.
	EnsureProvider(ctx context.Context, name string) (string, error)
	// Inventories returns a provider's generation and inventories by
	// resource class; a provider placement does not know is
	// ErrProviderNotFound.
	Inventories(ctx context.Context, uuid string) (int64, map[string]Inventory, error)
	// SetInventories replaces a provider's inventories if its generation
	// is still generation; false with a nil error is a generation conflict.
	SetInventories(ctx context.Context, uuid string, generation int64, inv map[string]Inventory) (bool, error)
}

// ErrProviderNotFound is a resource provider placement does not know: one
// deleted with its compute service while the agent ran on.
var ErrProviderNotFound = errors.New("resource provider not found")

// Inventory is one resource class of a provider, as placement keeps it.
type Inventory struct {
	Total           int64
	Reserved        int64
	MinUnit         int64
	MaxUnit         int64
	StepSize        int64
	AllocationRatio float64
}

// ResourceOptions are nova's overcommit and reserve options. A ratio of 0
// (nova's None) takes the initial ratio for a new inventory and keeps
// placement's value afterwards, so operators may set it there.
type ResourceOptions struct {
	CPUAllocationRatio, RAMAllocationRatio, DiskAllocationRatio                      float64
	InitialCPUAllocationRatio, InitialRAMAllocationRatio, InitialDiskAllocationRatio float64
	ReservedHostCPUs                                                                 int
	ReservedHostMemoryMB                                                             int
	ReservedHostDiskMB                                                               int
}

// desiredInventory is the host's inventory from the driver's resources:
// VCPU, MEMORY_MB and DISK_GB with the reserves (a reserve larger than the
// host is cut to the host) and ratios, as nova's resource tracker reports
// them.
func desiredInventory(o ResourceOptions, vcpus, memoryMB, diskGB int64, current map[string]Inventory) map[string]Inventory {
	ratio := func(class string, set, initial float64) float64 {
		if set > 0 {
			return set
		}
		if cur, ok := current[class]; ok && cur.AllocationRatio > 0 {
			return cur.AllocationRatio
		}
		if initial > 0 {
			return initial
		}
		return 1
	}
	inv := func(class string, total, reserved int64, r float64) Inventory {
		return Inventory{Total: total, Reserved: min(max(reserved, 0), total), MinUnit: 1, MaxUnit: total,
			StepSize: 1, AllocationRatio: r}
	}
	out := map[string]Inventory{}
	if vcpus > 0 {
		out["VCPU"] = inv("VCPU", vcpus, int64(o.ReservedHostCPUs),
			ratio("VCPU", o.CPUAllocationRatio, o.InitialCPUAllocationRatio))
	}
	if memoryMB > 0 {
		out["MEMORY_MB"] = inv("MEMORY_MB", memoryMB, int64(o.ReservedHostMemoryMB),
			ratio("MEMORY_MB", o.RAMAllocationRatio, o.InitialRAMAllocationRatio))
	}
	if diskGB > 0 {
		out["DISK_GB"] = inv("DISK_GB", diskGB, (int64(o.ReservedHostDiskMB)+1023)/1024,
			ratio("DISK_GB", o.DiskAllocationRatio, o.InitialDiskAllocationRatio))
	}
	return out
}

// updateResources makes sure the host's provider exists and holds the
// inventory the driver's resources give. Without force, nothing is asked
// of placement when the inventory is what was last written.
func (a *Agent) updateResources(ctx context.Context, force bool) error {
	res, err := a.driver.HostResources(ctx)
	if err != nil {
		return fmt.Errorf("read host resources: %w", err)
	}
	a.mu.Lock()
	rp, last := a.providerUUID, a.inventory
	a.mu.Unlock()
	if !force && rp != "" && last != nil &&
		maps.Equal(last, desiredInventory(a.cfg.Resources, int64(res.VCPUs), res.MemoryMB, res.DiskGB, last)) {
		return nil
	}
	known := rp != ""
	if !known {
		if rp, err = a.placement.EnsureProvider(ctx, a.cfg.Host); err != nil {
			return fmt.Errorf("resource provider of %s: %w", a.cfg.Host, err)
		}
		a.mu.Lock()
		a.providerUUID = rp
		a.mu.Unlock()
	}
	for range 3 {
		gen, cur, err := a.placement.Inventories(ctx, rp)
		if errors.Is(err, ErrProviderNotFound) && known {
			// The provider went with the host's compute service while
			// this agent ran on (the service comes back with the next
			// heartbeat): forget it and make a new one.
			a.log.InfoContext(ctx, "resource provider gone from placement; making a new one", "provider", rp)
			a.mu.Lock()
			if a.providerUUID == rp {
				a.providerUUID, a.inventory = "", nil
			}
			a.mu.Unlock()
			return a.updateResources(ctx, true)
		}
		if err != nil {
			return fmt.Errorf("read inventory of %s: %w", a.cfg.Host, err)
		}
		want := desiredInventory(a.cfg.Resources, int64(res.VCPUs), res.MemoryMB, res.DiskGB, cur)
		if maps.Equal(cur, want) {
			a.mu.Lock()
			a.inventory = want
			a.mu.Unlock()
			return nil
		}
		ok, err := a.placement.SetInventories(ctx, rp, gen, want)
		if err != nil {
			return fmt.Errorf("write inventory of %s: %w", a.cfg.Host, err)
		}
		if ok {
			a.mu.Lock()
			a.inventory = want
			a.mu.Unlock()
			a.log.InfoContext(ctx, "inventory reported to placement", "provider", rp, "vcpus", res.VCPUs,
				"memory_mb", res.MemoryMB, "disk_gb", res.DiskGB)
			return nil
		}
	}
	return fmt.Errorf("write inventory of %s: the provider kept changing under the update", a.cfg.Host)
}
