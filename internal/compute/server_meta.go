package compute

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// ServerMetadata returns a server's metadata.
func (s *Service) ServerMetadata(ctx context.Context, id string) (map[string]string, error) {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, RuleServerMetadataIndex, projectTarget(inst)); err != nil {
		return nil, err
	}
	return inst.Metadata, nil
}

// ServerMetadataItem returns one metadata item of a server.
func (s *Service) ServerMetadataItem(ctx context.Context, id, key string) (string, error) {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return "", err
	}
	if err := s.authorize(ctx, RuleServerMetadataShow, projectTarget(inst)); err != nil {
		return "", err
	}
	v, ok := inst.Metadata[key]
	if !ok {
		return "", errorf(ErrNotFound, "Metadata item was not found")
	}
	return v, nil
}

// Metadata writes, by their policy rules.
const (
	// MetadataMerge adds items to a server's metadata (POST .../metadata).
	MetadataMerge = iota
	// MetadataReplace replaces it (PUT .../metadata).
	MetadataReplace
	// MetadataItem sets one item (PUT .../metadata/{key}).
	MetadataItem
)

// UpdateServerMetadata merges md into a server's metadata, or replaces it
// (nova's update_instance_metadata), and returns the metadata afterwards.
func (s *Service) UpdateServerMetadata(ctx context.Context, id string, md map[string]string, mode int) (map[string]string, error) {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return nil, err
	}
	rule := map[int]string{MetadataMerge: RuleServerMetadataCreate, MetadataReplace: RuleServerMetadataUpdateAll,
		MetadataItem: RuleServerMetadataUpdate}[mode]
	if err := s.authorize(ctx, rule, projectTarget(inst)); err != nil {
		return nil, err
	}
	limits, err := s.limitsOf(ctx, inst.ProjectID, "")
	if err != nil {
		return nil, err
	}
	admin := s.isAdmin(ctx)
	now := s.now().UTC()
	out, err := s.inst.UpdateInstance(ctx, id, func(i *Instance) error {
		if err := checkState("update metadata", i, admin, nil); err != nil {
			return err
		}
		next := maps.Clone(md)
		if mode != MetadataReplace {
			next = maps.Clone(i.Metadata)
			maps.Copy(next, md)
		}
		if l := limits[ResourceMetadataItems]; l >= 0 && len(next) > l {
			return errorf(ErrForbidden, "Maximum number of metadata items exceeds %d", l)
		}
		i.Metadata, i.UpdatedAt = next, now
		return nil
	}, nil)
	if errors.Is(err, ErrNotFound) {
		return nil, instanceNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	return out.Metadata, nil
}

// DeleteServerMetadataItem removes one metadata item of a server.
func (s *Service) DeleteServerMetadataItem(ctx context.Context, id, key string) error {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, RuleServerMetadataDelete, projectTarget(inst)); err != nil {
		return err
	}
	if _, ok := inst.Metadata[key]; !ok {
		return errorf(ErrNotFound, "Metadata item was not found")
	}
	admin := s.isAdmin(ctx)
	now := s.now().UTC()
	_, err = s.inst.UpdateInstance(ctx, id, func(i *Instance) error {
		if err := checkState("delete metadata", i, admin, nil); err != nil {
			return err
		}
		i.Metadata = maps.Clone(i.Metadata)
		delete(i.Metadata, key)
		i.UpdatedAt = now
		return nil
	}, nil)
	if errors.Is(err, ErrNotFound) {
		return instanceNotFound(id)
	}
	return err
}

// ServerTags returns a server's tags, sorted.
func (s *Service) ServerTags(ctx context.Context, id string) ([]string, error) {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, RuleServerTagsIndex, projectTarget(inst)); err != nil {
		return nil, err
	}
	return inst.Tags, nil
}

// CheckServerTag succeeds when the server has the tag.
func (s *Service) CheckServerTag(ctx context.Context, id, tag string) error {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, RuleServerTagsShow, projectTarget(inst)); err != nil {
		return err
	}
	if !slices.Contains(inst.Tags, tag) {
		return errorf(ErrNotFound, "Server %s has no tag '%s'", id, tag)
	}
	return nil
}

// tagTarget looks a server up for a tag write, checking policy and that
// its vm_state allows tag changes.
func (s *Service) tagTarget(ctx context.Context, id, rule, op string) (Instance, error) {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return Instance{}, err
	}
	if err := s.authorize(ctx, rule, projectTarget(inst)); err != nil {
		return Instance{}, err
	}
	if err := checkState(op, &inst, true, nil); err != nil {
		return Instance{}, err
	}
	return inst, nil
}

// AddServerTag adds a tag to a server and reports whether it was new.
func (s *Service) AddServerTag(ctx context.Context, id, tag string) (bool, error) {
	if _, err := s.tagTarget(ctx, id, RuleServerTagsUpdate, "update tag"); err != nil {
		return false, err
	}
	added, err := s.inst.AddInstanceTag(ctx, id, tag, MaxTagCount, s.now().UTC())
	switch {
	case errors.Is(err, ErrOverQuota):
		return false, errorf(ErrInvalid, "The number of tags exceeded the per-server limit %d", MaxTagCount)
	case errors.Is(err, ErrNotFound):
		return false, instanceNotFound(id)
	case err != nil:
		return false, fmt.Errorf("tag instance %s: %w", id, err)
	}
	return added, nil
}

// SetServerTags replaces a server's tags.
func (s *Service) SetServerTags(ctx context.Context, id string, tags []string) ([]string, error) {
	if _, err := s.tagTarget(ctx, id, RuleServerTagsUpdateAll, "update tags"); err != nil {
		return nil, err
	}
	out, err := s.inst.SetInstanceTags(ctx, id, dedupe(tags), s.now().UTC())
	if errors.Is(err, ErrNotFound) {
		return nil, instanceNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("set tags of instance %s: %w", id, err)
	}
	return out, nil
}

// DeleteServerTag removes a tag of a server.
func (s *Service) DeleteServerTag(ctx context.Context, id, tag string) error {
	if _, err := s.tagTarget(ctx, id, RuleServerTagsDelete, "delete tag"); err != nil {
		return err
	}
	err := s.inst.DeleteInstanceTag(ctx, id, tag, s.now().UTC())
	if errors.Is(err, ErrNotFound) {
		return errorf(ErrNotFound, "Instance %s has no tag '%s'", id, tag)
	}
	return err
}

// DeleteServerTags removes all tags of a server.
func (s *Service) DeleteServerTags(ctx context.Context, id string) error {
	if _, err := s.tagTarget(ctx, id, RuleServerTagsDeleteAll, "delete tags"); err != nil {
		return err
	}
	_, err := s.inst.SetInstanceTags(ctx, id, nil, s.now().UTC())
	if errors.Is(err, ErrNotFound) {
		return instanceNotFound(id)
	}
	return err
}

// Address is one address of a server on a network.
type Address struct {
	Version int
	Addr    string
	Type    string // fixed or floating
	MAC     string
}

// ServerAddresses returns a server's addresses by network label. Until the
// network service exists servers have no ports, so none.
func (s *Service) ServerAddresses(ctx context.Context, id string) (map[string][]Address, error) {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, RuleIPsIndex, projectTarget(inst)); err != nil {
		return nil, err
	}
	return map[string][]Address{}, nil
}

// ServerNetworkAddresses returns a server's addresses on one network.
func (s *Service) ServerNetworkAddresses(ctx context.Context, id, network string) ([]Address, error) {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, RuleIPsShow, projectTarget(inst)); err != nil {
		return nil, err
	}
	return nil, errorf(ErrNotFound, "Instance is not a member of specified network")
}
