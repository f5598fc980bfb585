package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// defaultFlavors are the flavors a new cloud offers: nova's classic m1 set
// with its historic ids, and the two small ones devstack adds for tiny test
// guests.
var defaultFlavors = []compute.FlavorCreate{
	{ID: "1", Name: "m1.tiny", MemoryMB: 512, VCPUs: 1, RootGB: 1},
	{ID: "2", Name: "m1.small", MemoryMB: 2048, VCPUs: 1, RootGB: 20},
	{ID: "3", Name: "m1.medium", MemoryMB: 4096, VCPUs: 2, RootGB: 40},
	{ID: "4", Name: "m1.large", MemoryMB: 8192, VCPUs: 4, RootGB: 80},
	{ID: "5", Name: "m1.xlarge", MemoryMB: 16384, VCPUs: 8, RootGB: 160},
	{ID: "42", Name: "m1.nano", MemoryMB: 128, VCPUs: 1, RootGB: 1},
	{ID: "84", Name: "m1.micro", MemoryMB: 192, VCPUs: 1, RootGB: 1},
}

// offerDefaults gives a new cloud the usual public flavors, so a newcomer
// can boot at once. A flavor that exists already is left as it is.
func (c *Cloud) offerDefaults(ctx context.Context) error {
	if c.Compute == nil {
		return nil
	}
	// The cloud acts as its own administrator here, as bootstrap does.
	ctx = auth.WithCaller(ctx, &auth.Caller{UserName: "admin", ProjectName: "admin", IsAdminProject: true,
		Roles: []auth.Role{{Name: "admin"}, {Name: "member"}, {Name: "reader"}}})
	for _, f := range defaultFlavors {
		f.IsPublic, f.RxTxFactor = true, 1
		if _, err := c.Compute.CreateFlavor(ctx, f); err != nil && !errors.Is(err, compute.ErrConflict) {
			return fmt.Errorf("create flavor %s: %w", f.Name, err)
		}
	}
	return nil
}
