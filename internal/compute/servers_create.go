package compute

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ServerCreate is the body of POST /servers as the API schema of the
// request's microversion let it through.
type ServerCreate struct {
	Name string
	// Description nil is null (before 2.19 the handler passes the name).
	Description *string
	// Hostname is the guest's host name (2.90); "" derives it from Name.
	Hostname  string
	ImageRef  string
	FlavorRef string
	// AdminPass nil generates a password.
	AdminPass *string
	Metadata  map[string]string
	// NetworkList is set when the request names networks or ports rather
	// than "auto" or "none".
	NetworkList            bool
	AccessIPv4, AccessIPv6 string
	AutoDiskConfig         *bool
	// AvailabilityZone may carry a forced host: "az:host", "az:host:node"
	// or "az::node" (admins).
	AvailabilityZone string
	// BlockDevices are block_device_mapping_v2 as given; LegacyBlockDevices
	// is set when the request used block_device_mapping.
	BlockDevices       []BlockDevice
	LegacyBlockDevices bool
	ConfigDrive        bool
	KeyName            *string
	// MinCount and MaxCount, 0 when not given.
	MinCount, MaxCount int
	SecurityGroups     []string
	UserData           *string
	Tags               []string
	SchedulerHints     map[string][]string
	// Host and HypervisorHostname ask the scheduler for a destination
	// (2.74, admins).
	Host, HypervisorHostname string
	TrustedCerts             []string
	Personality              []InjectedFile
}

// CreatedServers is what POST /servers answers with.
type CreatedServers struct {
	Instances     []Instance
	ReservationID string
	// AdminPass is the password given or generated, "" when the cloud
	// hides passwords.
	AdminPass string
}

// Limits nova hard-codes on servers.
const (
	// MaxTagCount and MaxTagLength are nova's instance tag limits.
	MaxTagCount  = 50
	MaxTagLength = 60
	// giB is a gibibyte, the unit of disk sizes.
	giB = 1 << 30
)

// CreateServers records servers and hands them to the conductor to build,
// as nova's servers controller and compute.API.create do, in their order of
// checks.
func (s *Service) CreateServers(ctx context.Context, sc ServerCreate) (CreatedServers, error) {
	c, err := caller(ctx)
	if err != nil {
		return CreatedServers{}, err
	}
	if !s.ServesServers() {
		return CreatedServers{}, errorf(ErrNotFound, "The resource could not be found.")
	}
	minCount, maxCount := max(sc.MinCount, 1), sc.MaxCount
	if maxCount == 0 {
		maxCount = minCount
	}
	if minCount > maxCount {
		return CreatedServers{}, errorf(ErrInvalid, "min_count must be <= max_count")
	}
	target := map[string]any{"project_id": c.ProjectID, "user_id": c.UserID, "availability_zone": sc.AvailabilityZone}
	if err := s.authorize(ctx, RuleServersCreate, target); err != nil {
		return CreatedServers{}, err
	}
	if len(sc.TrustedCerts) > 0 {
		if err := s.authorize(ctx, RuleServersCreateTrustedCerts, target); err != nil {
			return CreatedServers{}, err
		}
		return CreatedServers{}, errorf(ErrInvalid,
			"Image signature certificate validation failed: this cloud does not verify image signatures, "+
				"so trusted_image_certificates cannot be honoured.")
	}
	zone, forcedHost, forcedNode, err := parseZone(sc.AvailabilityZone)
	if err != nil {
		return CreatedServers{}, err
	}
	if zone == "" {
		zone = s.cfg.DefaultScheduleZone
	}
	if forcedHost != "" || forcedNode != "" {
		if err := s.authorize(ctx, RuleServersCreateForcedHost, target); err != nil {
			return CreatedServers{}, err
		}
		zone = s.zoneForHost(ctx, zone, forcedHost)
	}
	if sc.Host != "" || sc.HypervisorHostname != "" {
		if err := s.authorize(ctx, RuleServersRequestedDest, target); err != nil {
			return CreatedServers{}, err
		}
		if forcedHost != "" || forcedNode != "" {
			return CreatedServers{}, errorf(ErrInvalid, "One mechanism with host and/or hypervisor_hostname and "+
				"another mechanism with zone:host:node are mutually exclusive.")
		}
	}
	bdms, err := s.checkBlockDevices(ctx, sc, target)
	if err != nil {
		return CreatedServers{}, err
	}
	if sc.ImageRef == "" {
		return CreatedServers{}, errorf(ErrInvalid, "Missing imageRef attribute")
	}
	if sc.NetworkList {
		if err := s.authorize(ctx, RuleServersCreateAttachNet, target); err != nil {
			return CreatedServers{}, err
		}
		return CreatedServers{}, errorf(ErrInvalid, "Networking is not available in this cloud yet, so servers "+
			"cannot be given networks or ports; create them with \"networks\": \"none\" or \"auto\".")
	}
	flavorID := sc.FlavorRef
	if i := strings.LastIndex(flavorID, "/"); i >= 0 {
		flavorID = flavorID[i+1:]
	}
	if i := strings.IndexAny(flavorID, "?#"); i >= 0 {
		flavorID = flavorID[:i]
	}
	sco, err := s.scope(ctx)
	if err != nil {
		return CreatedServers{}, err
	}
	flavor, err := s.store.GetFlavor(ctx, flavorID, sco)
	if errors.Is(err, ErrNotFound) {
		return CreatedServers{}, errorf(ErrInvalid, "Flavor %s could not be found.", flavorID)
	}
	if err != nil {
		return CreatedServers{}, fmt.Errorf("get flavor %s: %w", flavorID, err)
	}
	if sc.Hostname != "" && maxCount > 1 {
		return CreatedServers{}, errorf(ErrInvalid, "Unable to allocate a single hostname to multiple instances")
	}
	if zone != "" && forcedHost == "" {
		zones, err := s.availableZones(ctx)
		if err != nil {
			return CreatedServers{}, err
		}
		if !slices.Contains(zones, zone) {
			return CreatedServers{}, errorf(ErrInvalid, "The requested availability zone is not available")
		}
	}
	image, err := s.bootImage(ctx, sc.ImageRef)
	if err != nil {
		return CreatedServers{}, err
	}
	if flavor.Disabled {
		return CreatedServers{}, errorf(ErrInvalid, "Flavor %s could not be found.", flavorID)
	}
	base, err := s.baseInstance(ctx, c.UserID, sc, flavor, image)
	if err != nil {
		return CreatedServers{}, err
	}
	base.BlockDevices = append(bdms, flavorBlockDevices(flavor)...)
	if zone != "" {
		// The request spec keeps the zone asked for, which moves honour.
		base.PinnedAvailabilityZone = &zone
	}
	if err := s.checkCreateLimits(ctx, c.ProjectID, c.UserID, sc.Metadata, sc.Personality); err != nil {
		return CreatedServers{}, err
	}
	if err := s.checkFlavorImage(ctx, flavor, image); err != nil {
		return CreatedServers{}, err
	}
	for _, h := range []string{sc.Host, sc.HypervisorHostname} {
		if h != "" {
			if err := s.knownHost(ctx, h); err != nil {
				return CreatedServers{}, err
			}
		}
	}
	count, err := s.checkInstanceQuota(ctx, c.ProjectID, c.UserID, flavor, minCount, maxCount)
	if err != nil {
		return CreatedServers{}, err
	}
	password := ""
	if sc.AdminPass != nil {
		password = *sc.AdminPass
	} else if password, err = s.password(12); err != nil {
		return CreatedServers{}, err
	}
	resID, err := s.randomString("r-", 8)
	if err != nil {
		return CreatedServers{}, err
	}
	group, err := s.requestedGroup(ctx, base.SchedulerHints, count)
	if err != nil {
		return CreatedServers{}, err
	}
	insts, err := s.recordInstances(ctx, c.ProjectID, c.UserID, base, count, resID)
	if err != nil {
		return CreatedServers{}, err
	}
	if err := s.joinGroup(ctx, group, insts); err != nil {
		return CreatedServers{}, err
	}
	req := BuildRequest{Instances: insts, Image: image, AvailabilityZone: zone, ForcedHost: forcedHost,
		ForcedNode: forcedNode, RequestedHost: sc.Host, RequestedNode: sc.HypervisorHostname,
		SchedulerHints: base.SchedulerHints, AdminPass: password, InjectedFiles: sc.Personality}
	if err := s.cond.BuildInstances(ctx, req); err != nil {
		uuids := make([]string, len(insts))
		for i, inst := range insts {
			uuids[i] = inst.UUID
		}
		if perr := s.inst.PurgeInstances(ctx, uuids); perr != nil {
			s.log.ErrorContext(ctx, "purge instances the conductor did not take", "reservation_id", resID, "error", perr)
		}
		return CreatedServers{}, fmt.Errorf("hand instances %v to the conductor: %w", uuids, err)
	}
	for _, inst := range insts {
		s.log.InfoContext(ctx, "server created", "instance_uuid", inst.UUID, "project_id", inst.ProjectID,
			"flavor_id", flavor.FlavorID, "image_ref", image.ID)
	}
	out := CreatedServers{Instances: insts, ReservationID: resID}
	if !s.cfg.HideInstancePassword {
		out.AdminPass = password
	}
	return out, nil
}

// parseZone is nova's parse_availability_zone: "az", "az:host",
// "az:host:node" or "az::node".
func parseZone(v string) (zone, host, node string, err error) {
	if !strings.Contains(v, ":") {
		return v, "", "", nil
	}
	parts := strings.Split(v, ":")
	switch len(parts) {
	case 2:
		return parts[0], parts[1], "", nil
	case 3:
		if strings.Contains(v, "::") {
			zn := strings.SplitN(v, "::", 2)
			return zn[0], "", zn[1], nil
		}
		return parts[0], parts[1], parts[2], nil
	}
	return "", "", "", errorf(ErrInvalid, "Invalid input received: Unable to parse availability_zone")
}

// zoneForHost is nova's _validate_host_availability_zone: the zone asked
// for when the forced host is in it, else none (the host's own zone wins).
func (s *Service) zoneForHost(ctx context.Context, zone, host string) string {
	hostZone := s.cfg.DefaultAvailabilityZone
	if s.services != nil && host != "" {
		if recs, err := s.services.Services(ctx); err == nil {
			for _, r := range recs {
				if r.Host == host && r.Binary == "nova-compute" {
					hostZone = r.Zone
				}
			}
		}
	}
	if zone == hostZone {
		return zone
	}
	return ""
}

// availableZones are the zones of enabled services (nova's
// get_availability_zones with get_only_available).
func (s *Service) availableZones(ctx context.Context) ([]string, error) {
	if s.services == nil {
		return []string{s.cfg.DefaultAvailabilityZone}, nil
	}
	recs, err := s.services.Services(ctx)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	var out []string
	for _, r := range recs {
		if !r.Disabled && !slices.Contains(out, r.Zone) {
			out = append(out, r.Zone)
		}
	}
	return out, nil
}

// bootImage fetches the image a server boots from, refusing one that is
// missing, not active or not bootable.
func (s *Service) bootImage(ctx context.Context, ref string) (Image, error) {
	id := ref
	if i := strings.LastIndex(id, "/"); i >= 0 {
		id = id[i+1:]
	}
	image, err := s.images.Image(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Image{}, errorf(ErrInvalid, "Can not find requested image")
	}
	if err != nil {
		return Image{}, fmt.Errorf("get image %s: %w", id, err)
	}
	if image.Status != "active" {
		return Image{}, errorf(ErrInvalid, "Image %s is not active.", image.ID)
	}
	if image.Properties["cinder_encryption_key_id"] != "" {
		return Image{}, errorf(ErrInvalid, "Image %s is unacceptable: Direct booting of an image uploaded from an "+
			"encrypted volume is unsupported.", image.ID)
	}
	if opt, ok := image.Properties["img_config_drive"]; ok && opt != "optional" && opt != "mandatory" {
		return Image{}, errorf(ErrInvalid, "Image's config drive option '%s' is invalid", opt)
	}
	return image, nil
}

// checkBlockDevices applies nova's BlockDeviceDict.from_api to
// block_device_mapping_v2. Until block storage exists the only mapping a
// server may have is its root disk from its image.
func (s *Service) checkBlockDevices(ctx context.Context, sc ServerCreate, target map[string]any) ([]BlockDevice, error) {
	if sc.LegacyBlockDevices && len(sc.BlockDevices) > 0 {
		return nil, errorf(ErrInvalid, "Using different block_device_mapping syntaxes is not allowed in the same request.")
	}
	if sc.LegacyBlockDevices {
		if err := s.authorize(ctx, RuleServersCreateAttachVolume, target); err != nil {
			return nil, err
		}
		return nil, errorf(ErrInvalid, "Block Device Mapping is Invalid: volumes are not available, this cloud has "+
			"no block storage service.")
	}
	if len(sc.BlockDevices) == 0 {
		zero := 0
		return []BlockDevice{{SourceType: "image", DestinationType: "local", BootIndex: &zero, ImageID: sc.ImageRef,
			DeleteOnTermination: true}}, nil
	}
	out := slices.Clone(sc.BlockDevices)
	for i := range out {
		b := &out[i]
		switch {
		case b.SourceType == "blank" && b.ImageID != "":
			return nil, errorf(ErrInvalid, "Block Device Mapping is Invalid: Invalid device UUID.")
		case b.SourceType != "blank" && b.ImageID == "" && b.VolumeID == "":
			return nil, errorf(ErrInvalid, "Block Device Mapping is Invalid: Missing device UUID.")
		}
		if b.SourceType == "image" && b.DestinationType == "local" &&
			!(sc.ImageRef != "" && b.BootIndex != nil && *b.BootIndex == 0) {
			return nil, errorf(ErrInvalid, "Block Device Mapping is Invalid: Mapping image to local is not supported.")
		}
	}
	if err := s.authorize(ctx, RuleServersCreateAttachVolume, target); err != nil {
		return nil, err
	}
	for _, b := range out {
		if b.SourceType != "image" || b.DestinationType != "local" {
			return nil, errorf(ErrInvalid, "Block Device Mapping is Invalid: only the root disk from the server's "+
				"image (source_type image, destination_type local, boot_index 0) is available; this cloud has no "+
				"block storage service.")
		}
		if _, err := s.images.Image(ctx, b.ImageID); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, errorf(ErrInvalid, "Block Device Mapping is Invalid: failed to get image %s.", b.ImageID)
			}
			return nil, fmt.Errorf("get image %s: %w", b.ImageID, err)
		}
	}
	return out, nil
}

// flavorBlockDevices are the ephemeral and swap disks a flavor gives
// (nova's _get_flavor_defined_bdms).
func flavorBlockDevices(f Flavor) []BlockDevice {
	var out []BlockDevice
	none := -1
	if f.EphemeralGB > 0 {
		size := f.EphemeralGB
		out = append(out, BlockDevice{SourceType: "blank", DestinationType: "local", BootIndex: &none,
			VolumeSize: &size, DeleteOnTermination: true, DeviceType: "disk"})
	}
	if f.Swap > 0 {
		size := f.Swap
		out = append(out, BlockDevice{SourceType: "blank", DestinationType: "local", BootIndex: &none,
			VolumeSize: &size, DeleteOnTermination: true, GuestFormat: "swap", DeviceType: "disk"})
	}
	return out
}

// skippedImageProps are image properties nova keeps no copy of.
var skippedImageProps = []string{"mappings", "block_device_mapping", "img_mappings", "img_block_device_mapping"}

// baseInstance builds what every instance of the request shares, as nova's
// _validate_and_build_base_options does.
func (s *Service) baseInstance(ctx context.Context, userID string, sc ServerCreate, flavor Flavor, image Image) (Instance, error) {
	if sc.UserData != nil {
		if !ValidBase64(*sc.UserData) {
			return Instance{}, errorf(ErrInvalid, "User data needs to be valid base 64.")
		}
	}
	inst := Instance{
		DisplayName: strings.TrimSpace(sc.Name), Description: sc.Description, Hostname: sc.Hostname,
		Flavor: flavor, ImageRef: image.ID, ImageProperties: imageProperties(image, flavor),
		SchedulerHints: sc.SchedulerHints, UserData: sc.UserData, Metadata: sc.Metadata,
		AccessIPv4: sc.AccessIPv4, AccessIPv6: sc.AccessIPv6, VMState: VMBuilding, TaskState: TaskScheduling,
		PowerState: PowerNoState, SecurityGroups: dedupe(sc.SecurityGroups), Tags: dedupe(sc.Tags),
	}
	if inst.Metadata == nil {
		inst.Metadata = map[string]string{}
	}
	if len(inst.SecurityGroups) == 0 {
		inst.SecurityGroups = []string{"default"}
	}
	slices.Sort(inst.Tags)
	if sc.ConfigDrive {
		inst.ConfigDrive = "True"
	}
	if sc.KeyName != nil {
		kp, err := s.store.GetKeyPair(ctx, userID, *sc.KeyName)
		if errors.Is(err, ErrNotFound) {
			return Instance{}, errorf(ErrInvalid, "Invalid key_name provided.")
		}
		if err != nil {
			return Instance{}, fmt.Errorf("get key pair %s: %w", *sc.KeyName, err)
		}
		inst.KeyName, inst.KeyData = kp.Name, kp.PublicKey
	}
	inst.KernelID, inst.RamdiskID = image.Properties["kernel_id"], image.Properties["ramdisk_id"]
	if inst.KernelID == "nokernel" {
		inst.KernelID, inst.RamdiskID = "", ""
	}
	if root := image.Properties["root_device_name"]; root != "" {
		if !strings.HasPrefix(root, "/dev/") {
			root = "/dev/" + root
		}
		inst.RootDeviceName = root
	}
	imgAuto := strings.ToLower(image.Properties["auto_disk_config"])
	if imgAuto == "" {
		imgAuto = strings.ToLower(image.Properties["hw_auto_disk_config"])
	}
	if imgAuto == "disabled" && sc.AutoDiskConfig != nil && *sc.AutoDiskConfig {
		return Instance{}, errorf(ErrInvalid, "Requested image %s has automatic disk resize disabled.", image.ID)
	}
	if sc.AutoDiskConfig != nil {
		inst.AutoDiskConfig = *sc.AutoDiskConfig
	} else {
		inst.AutoDiskConfig = boolDefault(imgAuto, false)
	}
	return inst, nil
}

// imageProperties are the image's properties as nova copies them into the
// instance's system metadata: each truncated to 255 characters, with the
// image's min_ram, min_disk (at least the flavor's disk) and formats.
func imageProperties(image Image, flavor Flavor) map[string]string {
	out := map[string]string{}
	for k, v := range image.Properties {
		if slices.Contains(skippedImageProps, k) {
			continue
		}
		out[k] = truncate(v, 255)
	}
	out["min_ram"] = strconv.Itoa(image.MinRAM)
	minDisk := image.MinDisk
	if image.DiskFormat == "vhd" {
		minDisk = flavor.RootGB
	} else {
		minDisk = max(minDisk, flavor.RootGB)
	}
	out["min_disk"] = strconv.Itoa(minDisk)
	if image.DiskFormat != "" {
		out["disk_format"] = image.DiskFormat
	}
	if image.ContainerFormat != "" {
		out["container_format"] = image.ContainerFormat
	}
	return out
}

// ValidBase64 reports what Python's b64decode, which oslo's decode_as_bytes
// calls, accepts:
// characters outside the alphabet (line breaks of wrapped user data) are
// dropped, the padding must be right.
func ValidBase64(s string) bool {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '+', r == '/', r == '=':
			return r
		}
		return -1
	}, s)
	_, err := base64.StdEncoding.DecodeString(clean)
	return err == nil
}

// truncate cuts s to at most n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// dedupe keeps the first of each value, in order.
func dedupe(vs []string) []string {
	var out []string
	for _, v := range vs {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// checkCreateLimits applies the per-request quotas: metadata items and
// personality files (nova's _check_metadata_properties_quota and
// _check_injected_file_quota), answered 403.
func (s *Service) checkCreateLimits(ctx context.Context, projectID, userID string, metadata map[string]string, files []InjectedFile) error {
	limits, err := s.limitsOf(ctx, projectID, userID)
	if err != nil {
		return err
	}
	if l := limits[ResourceMetadataItems]; l >= 0 && len(metadata) > l {
		return errorf(ErrForbidden, "Maximum number of metadata items exceeds %d", l)
	}
	if len(files) == 0 {
		return nil
	}
	if l := limits[ResourceInjectedFiles]; l >= 0 && len(files) > l {
		return errorf(ErrForbidden, "Personality file limit exceeded")
	}
	maxPath, maxContent := 0, 0
	for _, f := range files {
		maxPath, maxContent = max(maxPath, len(f.Path)), max(maxContent, len(f.Contents))
	}
	if l := limits[ResourceInjectedFilePathBytes]; l >= 0 && maxPath > l {
		return errorf(ErrForbidden, "Personality file path exceeds maximum %d", l)
	}
	if l := limits[ResourceInjectedFileContentBytes]; l >= 0 && maxContent > l {
		return errorf(ErrForbidden, "Personality file content exceeds maximum %d", l)
	}
	return nil
}

// checkFlavorImage is nova's _validate_flavor_image_nostatus for a local
// root disk: enough memory for the image's min_ram, a disk no smaller than
// the image or its min_disk, and a zero-disk flavor only where policy
// allows it.
func (s *Service) checkFlavorImage(ctx context.Context, flavor Flavor, image Image) error {
	if flavor.MemoryMB < image.MinRAM {
		return errorf(ErrInvalid, "Flavor's memory is too small for requested image.")
	}
	dest := int64(flavor.RootGB) * giB
	minDisk := int64(image.MinDisk) * giB
	if dest == 0 {
		if !s.allowed(ctx, RuleServersZeroDiskFlavor) {
			return errorf(ErrForbidden, "Only volume-backed servers are allowed for flavors with zero disk.")
		}
		return nil
	}
	if image.Size > dest {
		return errorf(ErrInvalid, "Flavor's disk is too small for requested image. Flavor disk is %d bytes, "+
			"image is %d bytes.", dest, image.Size)
	}
	if minDisk > dest {
		return errorf(ErrInvalid, "Flavor's disk is smaller than the minimum size specified in image metadata. "+
			"Flavor disk is %d bytes, minimum size is %d bytes.", dest, minDisk)
	}
	return nil
}

// hostnameSep and hostnameDrop are the characters nova's sanitize_hostname
// turns into hyphens and drops; Python's \w is any letter or digit.
var (
	hostnameSep  = regexp.MustCompile(`[ _.]`)
	hostnameDrop = regexp.MustCompile(`[^\p{L}\p{N}_.-]+`)
)

// sanitizeHostname is nova's sanitize_hostname: Latin-1 only, at most 63
// characters, separators as hyphens, lower case.
func sanitizeHostname(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r <= 0xFF {
			b.WriteRune(r)
		}
	}
	h := b.String()
	if utf8.RuneCountInString(h) > 63 {
		h = string([]rune(h)[:63])
	}
	h = hostnameSep.ReplaceAllString(h, "-")
	h = hostnameDrop.ReplaceAllString(h, "")
	h = strings.ToLower(h)
	return strings.Trim(h, ".-")
}

// recordInstances writes count instances built from base, each with its
// create action, within the quota.
func (s *Service) recordInstances(ctx context.Context, projectID, userID string, base Instance, count int, resID string) ([]Instance, error) {
	now := s.now().UTC()
	reqID := RequestID(ctx)
	insts := make([]Instance, count)
	actions := make([]InstanceAction, count)
	for i := range insts {
		inst := base.Clone()
		inst.UUID = s.newID()
		inst.ProjectID, inst.UserID = projectID, userID
		inst.ReservationID, inst.LaunchIndex = resID, i
		if inst.DisplayName == "" {
			inst.DisplayName = "Server " + inst.UUID
		}
		if inst.Hostname == "" {
			h := sanitizeHostname(inst.DisplayName)
			switch {
			case h == "":
				h = "Server-" + inst.UUID
			case count > 1:
				h = fmt.Sprintf("%s-%d", h, i+1)
			}
			inst.Hostname = h
		}
		if count > 1 {
			inst.DisplayName = fmt.Sprintf("%s-%d", inst.DisplayName, i+1)
		}
		inst.CreatedAt, inst.UpdatedAt = now, now
		insts[i] = inst
		actions[i] = InstanceAction{InstanceUUID: inst.UUID, Action: ActionCreate, RequestID: reqID, UserID: userID,
			ProjectID: projectID, StartTime: now, UpdatedAt: now}
	}
	q, err := s.instanceQuota(ctx, projectID, userID)
	if err != nil {
		return nil, err
	}
	out, err := s.inst.CreateInstances(ctx, insts, actions, q)
	if errors.Is(err, ErrOverQuota) {
		// Another request took the quota between the check and the write.
		if _, qerr := s.checkInstanceQuota(ctx, projectID, userID, base.Flavor, count, count); qerr != nil {
			return nil, qerr
		}
		return nil, errorf(ErrForbidden, "Quota exceeded for instances: Requested %d", count)
	}
	if err != nil {
		return nil, fmt.Errorf("create instances: %w", err)
	}
	return out, nil
}
