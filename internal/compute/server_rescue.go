package compute

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
)

// Policy rules of the actions in this file, as nova names them.
const (
	RuleRescue              = "os_compute_api:os-rescue"
	RuleUnrescue            = "os_compute_api:os-unrescue"
	RuleResetState          = "os_compute_api:os-admin-actions:reset_state"
	RuleInjectNetworkInfo   = "os_compute_api:os-admin-actions:inject_network_info"
	RuleCreateBackup        = "os_compute_api:os-create-backup"
	RuleDiagnostics         = "os_compute_api:os-server-diagnostics"
	RuleServerPasswordShow  = "os_compute_api:os-server-password:show"
	RuleServerPasswordClear = "os_compute_api:os-server-password:clear"
)

// Actions recorded by the operations of this file.
const (
	ActionRescue       = "rescue"
	ActionUnrescue     = "unrescue"
	ActionResetState   = "resetState"
	ActionCreateBackup = "createBackup"
)

// Keys of a shelved instance's system metadata (nova's
// remove_shelved_keys_from_system_metadata).
const (
	SysShelvedAt      = "shelved_at"
	SysShelvedImageID = "shelved_image_id"
	SysShelvedHost    = "shelved_host"
)

// RescueServer boots a server from a rescue image (its own image when
// imageRef is "") with its disk attached second, and returns the rescue
// system's password: the one given (even empty) or a generated one; nil
// when the cloud hides passwords.
func (s *Service) RescueServer(ctx context.Context, id string, adminPass *string, imageRef string) (*string, error) {
	var image Image
	check := func(inst Instance) error {
		if bootFromVolume(inst) {
			return errorf(ErrInvalid, "Instance %s cannot be rescued: Cannot rescue a volume-backed instance", inst.UUID)
		}
		ref := imageRef
		if ref == "" {
			image = imageOf(inst)
			return nil
		}
		if i := strings.LastIndex(ref, "/"); i >= 0 {
			ref = ref[i+1:]
		}
		img, err := s.images.Image(ctx, ref)
		if errors.Is(err, ErrNotFound) {
			return errorf(ErrInvalid, "Requested rescue image '%s' is not supported", imageRef)
		}
		if err != nil {
			return fmt.Errorf("get rescue image %s: %w", ref, err)
		}
		if img.Status != "active" {
			return errorf(ErrInvalid, "Requested rescue image '%s' is not supported", imageRef)
		}
		image = img
		return nil
	}
	var pass string
	if adminPass != nil {
		pass = *adminPass
	} else {
		var err error
		if pass, err = s.password(12); err != nil {
			return nil, err
		}
	}
	_, err := s.run(ctx, id, op{rule: RuleRescue, state: "rescue", record: ActionRescue, task: TaskRescuing,
		check: check,
		cast: func(ctx context.Context, inst Instance) error {
			return s.cond.RescueInstance(ctx, inst, image, pass)
		}})
	if err != nil {
		return nil, err
	}
	if s.cfg.HideInstancePassword {
		return nil, nil
	}
	return &pass, nil
}

// UnrescueServer boots a rescued server from its own disk again.
func (s *Service) UnrescueServer(ctx context.Context, id string) error {
	_, err := s.run(ctx, id, op{rule: RuleUnrescue, target: projectTarget, state: "unrescue", record: ActionUnrescue,
		task: TaskUnrescuing, cast: s.cond.UnrescueInstance})
	return err
}

// ResetState sets a server's vm_state to active or error and clears its
// task, whatever it was (os-resetState, admins); the action is recorded.
func (s *Service) ResetState(ctx context.Context, id string, state VMState) error {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, RuleResetState, projectTarget(inst)); err != nil {
		return err
	}
	now := s.now().UTC()
	a := s.newAction(ctx, inst, ActionResetState)
	a.UpdatedAt = now
	_, err = s.inst.UpdateInstance(ctx, inst.UUID, func(i *Instance) error {
		i.VMState, i.TaskState, i.UpdatedAt = state, TaskNone, now
		return nil
	}, a)
	if errors.Is(err, ErrNotFound) {
		return instanceNotFound(inst.UUID)
	}
	if err == nil {
		s.log.InfoContext(ctx, "server state reset", "instance_uuid", inst.UUID, "vm_state", state)
	}
	return err
}

// InjectNetworkInfo is the admin action that re-writes a server's network
// configuration into its host. Without a network dataplane on the hosts
// there is nothing to inject: it checks policy and the server and
// succeeds, as nova does for a server without ports.
func (s *Service) InjectNetworkInfo(ctx context.Context, id string) error {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return err
	}
	return s.authorize(ctx, RuleInjectNetworkInfo, projectTarget(inst))
}

// CreateBackup snapshots a server into a backup image of backupType,
// keeping the newest rotation backups of that type, and returns the
// image's id and URL. checkQuota applies the metadata_items limit to the
// image's metadata, as microversions before 2.39 do.
func (s *Service) CreateBackup(ctx context.Context, id, name, backupType string, rotation int, metadata map[string]string, checkQuota bool) (string, string, error) {
	var imageID string
	check := func(inst Instance) error {
		if bootFromVolume(inst) {
			return errorf(ErrInvalid, "It's not supported to backup volume backed instance.")
		}
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
	_, err := s.run(ctx, id, op{rule: RuleCreateBackup, target: projectTarget, state: "createBackup",
		record: ActionCreateBackup, task: TaskImageBackup, check: check,
		cast: func(ctx context.Context, inst Instance) error {
			extra := maps.Clone(metadata)
			if extra == nil {
				extra = map[string]string{}
			}
			extra["image_type"], extra["backup_type"] = "backup", backupType
			img, err := s.snapshotImage(ctx, inst, strings.TrimSpace(name), extra)
			if err != nil {
				return err
			}
			imageID = img.ID
			return s.cond.BackupInstance(ctx, inst, img.ID, backupType, rotation)
		}})
	if err != nil {
		return "", "", err
	}
	return imageID, s.images.ImageURL(imageID), nil
}

// bootFromVolume tells whether an instance's root disk is a volume.
func bootFromVolume(inst Instance) bool {
	for _, b := range inst.BlockDevices {
		if b.BootIndex != nil && *b.BootIndex == 0 {
			return b.DestinationType == "volume"
		}
	}
	return false
}

// passwordChunks is how many system metadata keys (password_0..) hold a
// server's encrypted password, 255 characters each, as nova keeps it.
const passwordChunks = 4

// ServerPassword returns a server's encrypted admin password as the
// metadata service stored it, "" when none.
func (s *Service) ServerPassword(ctx context.Context, id string) (string, error) {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return "", err
	}
	if err := s.authorize(ctx, RuleServerPasswordShow, projectTarget(inst)); err != nil {
		return "", err
	}
	var b strings.Builder
	for i := range passwordChunks {
		b.WriteString(inst.SystemMetadata[fmt.Sprintf("password_%d", i)])
	}
	return b.String(), nil
}

// ClearServerPassword removes a server's stored password, leaving the keys
// empty as nova does.
func (s *Service) ClearServerPassword(ctx context.Context, id string) error {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, RuleServerPasswordClear, projectTarget(inst)); err != nil {
		return err
	}
	now := s.now().UTC()
	_, err = s.inst.UpdateInstance(ctx, inst.UUID, func(i *Instance) error {
		SetPassword(i, "")
		i.UpdatedAt = now
		return nil
	}, nil)
	if errors.Is(err, ErrNotFound) {
		return instanceNotFound(inst.UUID)
	}
	return err
}

// SetPassword stores an encrypted password in an instance's system
// metadata, in chunks of 255 characters (nova's convert_password); ""
// clears it. A password longer than the chunks hold is cut.
func SetPassword(i *Instance, password string) {
	if i.SystemMetadata == nil {
		i.SystemMetadata = map[string]string{}
	}
	for k := range passwordChunks {
		chunk := ""
		if len(password) > 0 {
			n := min(255, len(password))
			chunk, password = password[:n], password[n:]
		}
		i.SystemMetadata[fmt.Sprintf("password_%d", k)] = chunk
	}
}

// Diagnostics is a server as its hypervisor reports it (nova's
// Diagnostics object).
type Diagnostics struct {
	State        string
	Driver       string
	Hypervisor   string
	HypervisorOS string
	Uptime       int64
	ConfigDrive  bool
	CPUs         []CPUDiagnostics
	NICs         []NICDiagnostics
	Disks        []DiskDiagnostics
	MemoryMaxKB  int64
	MemoryUsedKB int64
}

// CPUDiagnostics is one virtual CPU; Utilisation -1 is unknown.
type CPUDiagnostics struct {
	ID          int
	Time        int64
	Utilisation int
}

// NICDiagnostics is one interface's counters.
type NICDiagnostics struct {
	MAC                                   string
	RxOctets, RxErrors, RxDrop, RxPackets int64
	TxOctets, TxErrors, TxDrop, TxPackets int64
}

// DiskDiagnostics is one disk's counters.
type DiskDiagnostics struct {
	Name                      string
	ReadBytes, ReadRequests   int64
	WriteBytes, WriteRequests int64
	ErrorsCount               int64
}

// ServerDiagnostics returns a server's diagnostics from its host (admins).
func (s *Service) ServerDiagnostics(ctx context.Context, id string) (Diagnostics, error) {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return Diagnostics{}, err
	}
	if err := s.authorize(ctx, RuleDiagnostics, projectTarget(inst)); err != nil {
		return Diagnostics{}, err
	}
	if err := checkState("diagnostics", &inst, true, nil); err != nil {
		return Diagnostics{}, err
	}
	return s.cond.Diagnostics(ctx, inst)
}
