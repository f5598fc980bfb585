package compute

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// ServerRebuild is the body of the rebuild action; nil fields keep the
// server's values.
type ServerRebuild struct {
	ImageRef  string
	AdminPass *string
	Name      *string
	// Description (2.19), KeyName (2.54) and UserData (2.57) set to a nil
	// *string clear the value.
	Description       **string
	Metadata          map[string]string
	AccessIPv4        *string
	AccessIPv6        *string
	AutoDiskConfig    *bool
	PreserveEphemeral bool
	KeyName           **string
	UserData          **string
	Hostname          *string
	// TrustedCerts set (2.63) asks for certificate validation, which this
	// cloud cannot do.
	TrustedCerts []string
	Personality  []InjectedFile
}

// RebuildServer re-creates a server's disk from an image, returning the
// server and its admin password ("" when the cloud hides passwords).
func (s *Service) RebuildServer(ctx context.Context, id string, r ServerRebuild) (Instance, string, error) {
	c, err := caller(ctx)
	if err != nil {
		return Instance{}, "", err
	}
	var (
		image       Image
		keyName     string
		keyData     string
		setKey      bool
		originalRef string
	)
	check := func(inst Instance) error {
		if len(r.TrustedCerts) > 0 {
			if err := s.authorize(ctx, RuleServersRebuildTrustedCert, ownerTarget(inst)); err != nil {
				return err
			}
			return errorf(ErrInvalid, "Image signature certificate validation failed: this cloud does not verify "+
				"image signatures, so trusted_image_certificates cannot be honoured.")
		}
		if r.KeyName != nil {
			setKey = true
			if *r.KeyName != nil {
				kp, err := s.store.GetKeyPair(ctx, c.UserID, **r.KeyName)
				if errors.Is(err, ErrNotFound) {
					return errorf(ErrInvalid, "Invalid key_name provided.")
				}
				if err != nil {
					return fmt.Errorf("get key pair: %w", err)
				}
				keyName, keyData = kp.Name, kp.PublicKey
			}
		}
		var err error
		id := r.ImageRef
		if i := strings.LastIndex(id, "/"); i >= 0 {
			id = id[i+1:]
		}
		if image, err = s.images.Image(ctx, id); errors.Is(err, ErrNotFound) {
			return errorf(ErrInvalid, "Cannot find image for rebuild")
		} else if err != nil {
			return fmt.Errorf("get image %s: %w", id, err)
		}
		if err := s.checkCreateLimits(ctx, inst.ProjectID, inst.UserID, r.Metadata, r.Personality); err != nil {
			return err
		}
		if image.Status != "active" {
			return errorf(ErrInvalid, "Image %s is not active.", image.ID)
		}
		if err := s.checkFlavorImage(ctx, inst.Flavor, image); err != nil {
			return err
		}
		originalRef = inst.ImageRef
		return nil
	}
	pass := ""
	if r.AdminPass != nil {
		pass = *r.AdminPass
	} else if pass, err = s.password(12); err != nil {
		return Instance{}, "", err
	}
	inst, err := s.run(ctx, id, op{rule: RuleServersRebuild, state: "rebuild", record: ActionRebuild,
		task: TaskRebuilding, check: check,
		mutate: func(i *Instance) {
			i.ImageRef, i.ImageProperties = image.ID, imageProperties(image, i.Flavor)
			i.KernelID, i.RamdiskID = image.Properties["kernel_id"], image.Properties["ramdisk_id"]
			if i.KernelID == "nokernel" {
				i.KernelID, i.RamdiskID = "", ""
			}
			i.Progress = 0
			if r.Name != nil {
				i.DisplayName = strings.TrimSpace(*r.Name)
			}
			if r.Description != nil {
				i.Description = *r.Description
			}
			if r.Metadata != nil {
				i.Metadata = maps.Clone(r.Metadata)
			}
			if r.AccessIPv4 != nil {
				i.AccessIPv4 = *r.AccessIPv4
			}
			if r.AccessIPv6 != nil {
				i.AccessIPv6 = *r.AccessIPv6
			}
			if r.AutoDiskConfig != nil {
				i.AutoDiskConfig = *r.AutoDiskConfig
			}
			if setKey {
				i.KeyName, i.KeyData = keyName, keyData
			}
			if r.UserData != nil {
				i.UserData = *r.UserData
			}
			if r.Hostname != nil {
				i.Hostname = *r.Hostname
			}
		},
		cast: func(ctx context.Context, inst Instance) error {
			return s.cond.RebuildInstance(ctx, RebuildRequest{Instance: inst, Image: image,
				OriginalImageRef: originalRef, AdminPass: pass, PreserveEphemeral: r.PreserveEphemeral,
				InjectedFiles: r.Personality})
		}})
	if err != nil {
		return Instance{}, "", err
	}
	if s.cfg.HideInstancePassword {
		pass = ""
	}
	return inst, pass, nil
}

// ResizeServer moves a server to another flavor; confirmResize or
// revertResize finish the move.
func (s *Service) ResizeServer(ctx context.Context, id, flavorRef string, autoDiskConfig *bool) error {
	var target Flavor
	check := func(inst Instance) error {
		if err := checkAutoDiskConfig(inst, autoDiskConfig); err != nil {
			return err
		}
		sc, err := s.scope(ctx)
		if err != nil {
			return err
		}
		if target, err = s.store.GetFlavor(ctx, flavorRef, sc); errors.Is(err, ErrNotFound) {
			return errorf(ErrInvalid, "Flavor %s could not be found.", flavorRef)
		} else if err != nil {
			return fmt.Errorf("get flavor %s: %w", flavorRef, err)
		}
		current := inst.Flavor
		if target.RootGB == 0 && current.RootGB != 0 {
			return errorf(ErrInvalid, "Server disk was unable to be resized because: Resize to zero disk flavor is "+
				"not allowed.")
		}
		if target.ID == current.ID {
			return errorf(ErrInvalid, "When resizing, instances must change flavor!")
		}
		if target.Disabled {
			return errorf(ErrInvalid, "Flavor %s could not be found.", flavorRef)
		}
		if err := s.checkUpsizeQuota(ctx, inst, current, target); err != nil {
			return err
		}
		return s.checkFlavorImage(ctx, target, imageOf(inst))
	}
	_, err := s.run(ctx, id, op{rule: RuleServersResize, state: "resize", record: ActionResize, task: TaskResizePrep,
		check: check,
		mutate: func(i *Instance) {
			i.Progress = 0
			i.AutoDiskConfig = autoDiskConfig != nil && *autoDiskConfig
		},
		cast: func(ctx context.Context, inst Instance) error {
			return s.cond.ResizeInstance(ctx, ResizeRequest{Instance: inst, Flavor: target})
		}})
	return err
}

// checkAutoDiskConfig refuses automatic disk configuration for an image
// that disables it (nova's _check_auto_disk_config).
func checkAutoDiskConfig(inst Instance, auto *bool) error {
	if auto == nil || !*auto {
		return nil
	}
	v := inst.ImageProperties["auto_disk_config"]
	if v == "" {
		v = inst.ImageProperties["hw_auto_disk_config"]
	}
	if strings.EqualFold(v, "disabled") {
		return errorf(ErrInvalid, "Requested image %s has automatic disk resize disabled.", inst.ImageRef)
	}
	return nil
}

// imageOf is the image an instance booted from, as its copy of the image's
// properties knows it (nova's get_image_from_system_metadata).
func imageOf(inst Instance) Image {
	img := Image{ID: inst.ImageRef, Properties: inst.ImageProperties}
	img.MinRAM, _ = strconv.Atoi(inst.ImageProperties["min_ram"])
	img.MinDisk, _ = strconv.Atoi(inst.ImageProperties["min_disk"])
	return img
}

// MigrateServer moves a server to another host with its flavor (a cold
// migration); host "" lets the scheduler choose.
func (s *Service) MigrateServer(ctx context.Context, id, host string) error {
	rule := RuleMigrate
	if host != "" {
		rule = RuleMigrateHost
	}
	check := func(inst Instance) error {
		if host == "" {
			return nil
		}
		if host == inst.Host {
			return errorf(ErrInvalid, "Cannot migrate to the host where the server exists.")
		}
		return s.knownHost(ctx, host)
	}
	_, err := s.run(ctx, id, op{rule: rule, target: projectTarget, state: "migrate", record: ActionMigrate,
		task: TaskResizePrep, check: check, mutate: func(i *Instance) { i.Progress = 0 },
		cast: func(ctx context.Context, inst Instance) error {
			return s.cond.ResizeInstance(ctx, ResizeRequest{Instance: inst, Flavor: inst.Flavor, Migrate: true, Host: host})
		}})
	return err
}

// knownHost refuses a host the cloud has no compute service on.
func (s *Service) knownHost(ctx context.Context, host string) error {
	_, ok, err := s.computeHost(ctx, host)
	if err != nil {
		return err
	}
	if !ok {
		return errorf(ErrInvalid, "Compute host %s could not be found.", host)
	}
	return nil
}

// ConfirmResize keeps a resized server on its new flavor. The task state
// resize_confirming, which nova leaves to the compute service, keeps a
// second confirmation from racing the first.
func (s *Service) ConfirmResize(ctx context.Context, id string) error {
	_, err := s.run(ctx, id, op{rule: RuleServersConfirmResize, target: projectTarget, state: "confirmResize",
		record: ActionConfirmResize, task: TaskResizeConfirming, cast: s.cond.ConfirmResize})
	return err
}

// RevertResize moves a resized server back to its old flavor and host.
func (s *Service) RevertResize(ctx context.Context, id string) error {
	check := func(inst Instance) error {
		if inst.OldFlavor == nil || inst.NewFlavor == nil {
			return nil
		}
		return s.checkUpsizeQuota(ctx, inst, *inst.NewFlavor, *inst.OldFlavor)
	}
	_, err := s.run(ctx, id, op{rule: RuleServersRevertResize, target: projectTarget, state: "revertResize",
		record: ActionRevertResize, task: TaskResizeReverting, check: check, cast: s.cond.RevertResize})
	return err
}

// CreateImage snapshots a server into a new image and returns the image's
// id and URL. checkQuota applies the metadata_items limit to the image's
// metadata, as microversions before 2.39 do.
func (s *Service) CreateImage(ctx context.Context, id, name string, metadata map[string]string, checkQuota bool) (string, string, error) {
	var imageID string
	check := func(inst Instance) error {
		if !checkQuota || len(metadata) == 0 {
			return nil
		}
		limits, err := s.limitsOf(ctx, inst.ProjectID, "")
		if err != nil {
			return err
		}
		if l := limits[ResourceMetadataItems]; l >= 0 && len(metadata) > l {
			return errorf(ErrForbidden, "Image metadata limit exceeded")
		}
		return nil
	}
	_, err := s.run(ctx, id, op{rule: RuleServersCreateImage, target: projectTarget, state: "createImage",
		record: ActionCreateImage, task: TaskImageSnapshotPending, check: check,
		cast: func(ctx context.Context, inst Instance) error {
			img, err := s.snapshotImage(ctx, inst, strings.TrimSpace(name), metadata)
			if err != nil {
				return err
			}
			imageID = img.ID
			return s.cond.SnapshotInstance(ctx, inst, img.ID)
		}})
	if err != nil {
		return "", "", err
	}
	return imageID, s.images.ImageURL(imageID), nil
}

// snapshotImage creates the image a snapshot of inst goes into, with the
// properties nova gives snapshots: the instance's image properties, who
// made it, and the caller's; min_ram and min_disk are the instance's image's
// (min_disk at least the flavor's root disk, as the instance keeps it).
func (s *Service) snapshotImage(ctx context.Context, inst Instance, name string, extra map[string]string) (Image, error) {
	c, err := caller(ctx)
	if err != nil {
		return Image{}, err
	}
	props := map[string]string{}
	for k, v := range inst.ImageProperties {
		if !slices.Contains([]string{"disk_format", "container_format"}, k) {
			props[k] = v
		}
	}
	props["instance_uuid"], props["user_id"], props["image_type"] = inst.UUID, c.UserID, "snapshot"
	props["base_image_ref"] = inst.ImageRef
	maps.Copy(props, extra)
	img, err := s.images.CreateSnapshot(ctx, name, props)
	if err != nil {
		return Image{}, fmt.Errorf("create snapshot image of %s: %w", inst.UUID, err)
	}
	return img, nil
}

// ShelveServer stops a server and snapshots it, so its host can be freed.
func (s *Service) ShelveServer(ctx context.Context, id string) error {
	_, err := s.run(ctx, id, op{rule: RuleShelve, state: "shelve", record: ActionShelve, task: TaskShelving,
		cast: func(ctx context.Context, inst Instance) error {
			img, err := s.snapshotImage(ctx, inst, inst.DisplayName+"-shelved", nil)
			if err != nil {
				return err
			}
			return s.cond.ShelveInstance(ctx, inst, img.ID)
		}})
	return err
}

// ShelveOffloadServer frees the host of a shelved server.
func (s *Service) ShelveOffloadServer(ctx context.Context, id string) error {
	_, err := s.run(ctx, id, op{rule: RuleShelveOffload, state: "shelveOffload", record: ActionShelveOffload,
		task: TaskShelvingOffloading, cast: s.cond.ShelveOffloadInstance})
	return err
}

// UnshelveOptions are the body of the unshelve action: a new availability
// zone (2.77; nil unpins the server) and a host (2.91, admins).
type UnshelveOptions struct {
	ZoneSet bool
	Zone    *string
	Host    string
}

// UnshelveServer brings a shelved server back.
func (s *Service) UnshelveServer(ctx context.Context, id string, u UnshelveOptions) error {
	var pinned *string
	check := func(inst Instance) error {
		pinned = inst.PinnedAvailabilityZone
		if (u.ZoneSet || u.Host != "") && inst.VMState != VMShelvedOffloaded {
			return errorf(ErrConflict, "Specifying an availability zone or a host when unshelving server \"%s\" with "+
				"status \"%s\" is not supported. The server status must be SHELVED_OFFLOADED.", inst.UUID, inst.VMState)
		}
		if u.ZoneSet && u.Zone != nil {
			zones, err := s.availableZones(ctx)
			if err != nil {
				return err
			}
			if !slices.Contains(zones, *u.Zone) {
				return errorf(ErrInvalid, "The requested availability zone is not available")
			}
		}
		if u.ZoneSet {
			pinned = u.Zone
		}
		if u.Host == "" {
			return nil
		}
		if err := s.authorize(ctx, RuleUnshelveToHost, ownerTarget(inst)); err != nil {
			return err
		}
		rec, ok, err := s.computeHost(ctx, u.Host)
		if err != nil {
			return err
		}
		if !ok {
			return errorf(ErrInvalid, "Compute host %s could not be found.", u.Host)
		}
		if pinned != nil && rec.Zone != *pinned {
			return errorf(ErrConflict, "Host \"%s\" is not in the availability zone \"%s\".", u.Host, *pinned)
		}
		return nil
	}
	_, err := s.run(ctx, id, op{rule: RuleUnshelve, target: projectTarget, state: "unshelve", record: ActionUnshelve,
		task: TaskUnshelving, check: check,
		mutate: func(i *Instance) { i.PinnedAvailabilityZone = pinned },
		cast: func(ctx context.Context, inst Instance) error {
			req := UnshelveRequest{Instance: inst, Host: u.Host}
			if u.ZoneSet {
				req.ZoneSet, req.AvailabilityZone = true, u.Zone
			}
			return s.cond.UnshelveInstance(ctx, req)
		}})
	return err
}

// LiveMigrateServer moves a running server to another host without
// stopping it.
func (s *Service) LiveMigrateServer(ctx context.Context, id, host string, blockMigration *bool, force bool) error {
	rule := RuleMigrateLive
	if host != "" {
		rule = RuleMigrateLiveHost
	}
	precheck := func(Instance) error {
		if force && host == "" {
			return errorf(ErrInvalid, "Can't force to a non-provided destination")
		}
		return nil
	}
	check := func(Instance) error {
		if host == "" {
			return nil
		}
		return s.knownHost(ctx, host)
	}
	_, err := s.run(ctx, id, op{rule: rule, target: projectTarget, state: "os-migrateLive",
		record: ActionLiveMigration, task: TaskMigrating, precheck: precheck, check: check,
		cast: func(ctx context.Context, inst Instance) error {
			return s.cond.LiveMigrateInstance(ctx, LiveMigrateRequest{Instance: inst, Host: host, Force: force,
				BlockMigration: blockMigration})
		}})
	return err
}

// EvacuateOptions are the body of the evacuate action.
type EvacuateOptions struct {
	Host      string
	Force     bool
	AdminPass *string
	// TargetStopped leaves the server stopped (2.95).
	TargetStopped bool
}

// EvacuateServer rebuilds a server whose host is down on another host and
// returns its admin password ("" when the cloud hides passwords).
func (s *Service) EvacuateServer(ctx context.Context, id string, e EvacuateOptions) (string, error) {
	pass := ""
	var err error
	if e.AdminPass != nil {
		pass = *e.AdminPass
	} else if pass, err = s.password(12); err != nil {
		return "", err
	}
	precheck := func(inst Instance) error {
		if e.Force && e.Host == "" {
			return errorf(ErrInvalid, "Can't force to a non-provided destination")
		}
		if e.Host != "" {
			if _, ok, err := s.computeHost(ctx, e.Host); err != nil {
				return err
			} else if !ok {
				return errorf(ErrNotFound, "Compute host %s not found.", e.Host)
			}
		}
		if inst.Host == e.Host {
			return errorf(ErrInvalid, "The target host can't be the same one.")
		}
		return nil
	}
	check := func(inst Instance) error {
		rec, ok, err := s.computeHost(ctx, inst.Host)
		if err != nil {
			return err
		}
		if ok && rec.Up && !rec.ForcedDown {
			return errorf(ErrInvalid, "Compute service of %s is still in use.", inst.Host)
		}
		return nil
	}
	_, err = s.run(ctx, id, op{rule: RuleEvacuate, state: "evacuate", record: ActionEvacuate, task: TaskRebuilding,
		precheck: precheck, check: check,
		cast: func(ctx context.Context, inst Instance) error {
			return s.cond.EvacuateInstance(ctx, EvacuateRequest{Instance: inst, Host: e.Host, Force: e.Force,
				AdminPass: pass, TargetStopped: e.TargetStopped})
		}})
	if err != nil {
		return "", err
	}
	if s.cfg.HideInstancePassword {
		pass = ""
	}
	return pass, nil
}
