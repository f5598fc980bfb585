package compute

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// MaxInt is the largest integer nova stores in an integer column (db
// constants' MAX_INT), the upper bound of flavor sizes and quota limits.
const MaxInt = 0x7FFFFFFF

// MaxRxTxFactor is nova's SQL_SP_FLOAT_MAX, the largest rxtx_factor.
const MaxRxTxFactor = 3.40282e+38

// FlavorCreate is a new flavor as POST /flavors describes it.
type FlavorCreate struct {
	// ID is the flavor's API id; "" generates a UUID.
	ID          string
	Name        string
	MemoryMB    int
	VCPUs       int
	RootGB      int
	EphemeralGB int
	Swap        int
	RxTxFactor  float64
	IsPublic    bool
	Description *string
}

// flavorNotFound is nova's FlavorNotFound.
func flavorNotFound(id string) error {
	return errorf(ErrNotFound, "Flavor %s could not be found.", id)
}

// CreateFlavor creates a flavor (os-flavor-manage:create). As in nova, a
// private flavor gives its creator's project no access of its own.
func (s *Service) CreateFlavor(ctx context.Context, fc FlavorCreate) (Flavor, error) {
	if err := s.authorize(ctx, RuleFlavorCreate, map[string]any{}); err != nil {
		return Flavor{}, err
	}
	fc.Name = strings.TrimSpace(fc.Name)
	if err := validateFlavor(fc); err != nil {
		return Flavor{}, err
	}
	if fc.ID == "" {
		fc.ID = s.newID()
	}
	now := s.now().UTC()
	f, err := s.store.CreateFlavor(ctx, Flavor{
		FlavorID: fc.ID, Name: fc.Name, MemoryMB: fc.MemoryMB, VCPUs: fc.VCPUs, RootGB: fc.RootGB,
		EphemeralGB: fc.EphemeralGB, Swap: fc.Swap, RxTxFactor: fc.RxTxFactor, IsPublic: fc.IsPublic,
		Description: fc.Description, ExtraSpecs: map[string]string{}, CreatedAt: now,
	})
	switch {
	case errors.Is(err, ErrFlavorIDExists):
		return Flavor{}, errorf(ErrConflict, "Flavor with ID %s already exists.", fc.ID)
	case errors.Is(err, ErrFlavorNameExists), errors.Is(err, ErrConflict):
		return Flavor{}, errorf(ErrConflict, "Flavor with name %s already exists.", fc.Name)
	case err != nil:
		return Flavor{}, fmt.Errorf("create flavor %s: %w", fc.ID, err)
	}
	s.log.InfoContext(ctx, "flavor created", "flavor_id", f.FlavorID, "name", f.Name)
	return f, nil
}

// validateFlavor applies nova's flavors.create checks: ram and vcpus
// positive, disk, ephemeral and swap non-negative, all at most MaxInt, and a
// positive rxtx_factor.
func validateFlavor(fc FlavorCreate) error {
	if fc.Name == "" {
		return errorf(ErrInvalid, "Invalid input received: name must be a non-empty string.")
	}
	for _, v := range []struct {
		name       string
		value, min int
	}{
		{"ram", fc.MemoryMB, 1}, {"vcpus", fc.VCPUs, 1}, {"disk", fc.RootGB, 0},
		{"ephemeral", fc.EphemeralGB, 0}, {"swap", fc.Swap, 0},
	} {
		if v.value < v.min {
			return errorf(ErrInvalid, "Invalid input received: %s must be >= %d", v.name, v.min)
		}
		if v.value > MaxInt {
			return errorf(ErrInvalid, "Invalid input received: %s must be <= %d", v.name, MaxInt)
		}
	}
	if !(fc.RxTxFactor > 0 && fc.RxTxFactor <= MaxRxTxFactor) {
		return errorf(ErrInvalid, "Invalid input received: 'rxtx_factor' argument must be a float between 0 and %g",
			MaxRxTxFactor)
	}
	return nil
}

// scope is the flavors the caller sees: all for admins, else public ones and
// those its project may use.
func (s *Service) scope(ctx context.Context) (FlavorScope, error) {
	c, err := caller(ctx)
	if err != nil {
		return FlavorScope{}, err
	}
	if s.isAdmin(ctx) {
		return FlavorScope{All: true, Project: c.ProjectID}, nil
	}
	return FlavorScope{Project: c.ProjectID}, nil
}

// Flavor returns the flavor with API id id, if the caller sees it; anyone may
// read flavors, as in nova.
func (s *Service) Flavor(ctx context.Context, id string) (Flavor, error) {
	sc, err := s.scope(ctx)
	if err != nil {
		return Flavor{}, err
	}
	return s.getFlavor(ctx, id, sc)
}

func (s *Service) getFlavor(ctx context.Context, id string, sc FlavorScope) (Flavor, error) {
	f, err := s.store.GetFlavor(ctx, id, sc)
	if errors.Is(err, ErrNotFound) {
		return Flavor{}, flavorNotFound(id)
	}
	if err != nil {
		return Flavor{}, fmt.Errorf("get flavor %s: %w", id, err)
	}
	return f, nil
}

// FlavorListOptions are the query parameters of GET /flavors.
type FlavorListOptions struct {
	// IsPublic is the raw is_public parameter, which only admins may use:
	// "none" lists every flavor, a boolean public or private ones. Absent,
	// and always for other callers, public flavors and the private ones the
	// caller's project may use are listed.
	IsPublic *string
	// MinMemoryMB and MinRootGB are minRam and minDisk.
	MinMemoryMB, MinRootGB *int
	// SortKey is one of FlavorSortKeys ("" is flavorid); SortDir asc or desc.
	SortKey, SortDir string
	// Limit nil is MaxLimit; larger values are lowered to it. Marker nil
	// starts at the first flavor.
	Limit  *int
	Marker *string
}

// Flavors lists the flavors the caller may see, as GET /flavors does.
func (s *Service) Flavors(ctx context.Context, o FlavorListOptions) ([]Flavor, error) {
	sc, err := s.scope(ctx)
	if err != nil {
		return nil, err
	}
	f := FlavorFilter{Scope: sc, SortKey: o.SortKey, SortDesc: o.SortDir == "desc",
		MinMemoryMB: o.MinMemoryMB, MinRootGB: o.MinRootGB, Limit: s.limit(o.Limit)}
	if f.SortKey == "" {
		f.SortKey = "flavorid"
	}
	if !slices.Contains(FlavorSortKeys, f.SortKey) {
		return nil, errorf(ErrInvalid, "Invalid sort_key %s.", f.SortKey)
	}
	if o.SortDir != "" && o.SortDir != "asc" && o.SortDir != "desc" {
		return nil, errorf(ErrInvalid, "Invalid sort_dir %s.", o.SortDir)
	}
	public := true
	f.IsPublic = &public
	if sc.All {
		if f.IsPublic, err = parseIsPublic(o.IsPublic); err != nil {
			return nil, err
		}
	} else {
		enabled := false
		f.Disabled = &enabled
	}
	if o.Marker != nil {
		f.Marker = *o.Marker
		if f.Marker == "" {
			return nil, errorf(ErrInvalid, "marker [] not found")
		}
	}
	if f.Limit == 0 {
		return []Flavor{}, nil
	}
	out, err := s.store.ListFlavors(ctx, f)
	if errors.Is(err, ErrMarkerNotFound) {
		return nil, errorf(ErrInvalid, "marker [%s] not found", f.Marker)
	}
	if err != nil {
		return nil, fmt.Errorf("list flavors: %w", err)
	}
	return out, nil
}

// limit turns a requested page size into the one used: MaxLimit when none,
// never more than MaxLimit; 0 stays 0 (an empty page), as in nova.
func (s *Service) limit(l *int) int {
	if l == nil || *l > s.cfg.MaxLimit {
		return s.cfg.MaxLimit
	}
	return *l
}

// parseIsPublic reads an admin's is_public filter: absent lists public
// flavors (and the project's private ones), "none" lists all.
func parseIsPublic(v *string) (*bool, error) {
	t := true
	if v == nil {
		return &t, nil
	}
	if strings.EqualFold(*v, "none") {
		return nil, nil
	}
	var b bool
	switch strings.ToLower(strings.TrimSpace(*v)) {
	case "1", "t", "true", "on", "y", "yes":
		b = true
	case "0", "f", "false", "off", "n", "no":
	default:
		return nil, errorf(ErrInvalid, "Invalid is_public filter [%s]", *v)
	}
	return &b, nil
}

// CanSeeExtraSpecs reports whether flavors shown to the caller carry their
// extra specs (microversion 2.61 and later): os-flavor-extra-specs:index
// decides.
func (s *Service) CanSeeExtraSpecs(ctx context.Context) bool {
	c, err := caller(ctx)
	if err != nil {
		return false
	}
	return s.authorize(ctx, RuleExtraSpecsIndex, callerTarget(c)) == nil
}

// UpdateFlavor sets a flavor's description (microversion 2.55); nil clears it.
func (s *Service) UpdateFlavor(ctx context.Context, id string, description *string) (Flavor, error) {
	if err := s.authorize(ctx, RuleFlavorUpdate, map[string]any{}); err != nil {
		return Flavor{}, err
	}
	f, err := s.store.UpdateFlavorDescription(ctx, id, description, s.now().UTC())
	if errors.Is(err, ErrNotFound) {
		return Flavor{}, flavorNotFound(id)
	}
	if err != nil {
		return Flavor{}, fmt.Errorf("update flavor %s: %w", id, err)
	}
	return f, nil
}

// DeleteFlavor deletes a flavor with its extra specs and access list.
// Servers keep a copy of their flavor, so a flavor in use may go.
func (s *Service) DeleteFlavor(ctx context.Context, id string) error {
	if err := s.authorize(ctx, RuleFlavorDelete, map[string]any{}); err != nil {
		return err
	}
	err := s.store.DeleteFlavor(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return flavorNotFound(id)
	}
	if err != nil {
		return fmt.Errorf("delete flavor %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "flavor deleted", "flavor_id", id)
	return nil
}
