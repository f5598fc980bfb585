package computehttp

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// isoTime is nova's utils.isotime: seconds, "Z".
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// perfectTime is a time as nova's JSON serializer writes a datetime
// (oslo's PERFECT_TIME_FORMAT), null when zero.
func perfectTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000")
}

// orNull is nil for "", as nova shows a None column.
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func ptrOrNull(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// hostID is nova's generate_hostid: sha224 of project and host, "" without
// a host.
func hostID(host, project string) string {
	if host == "" {
		return ""
	}
	sum := sha256.Sum224([]byte(project + host))
	return hex.EncodeToString(sum[:])
}

// progressStatuses show progress; faultStatuses show the latest fault.
var (
	progressStatuses = []string{"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"}
	faultStatuses    = []string{"ERROR", "DELETED"}
)

// stdImageProps are the image properties microversion 2.98 shows: nova's
// ImageMetaProps fields and their legacy names.
var stdImageProps = []string{
	"hw_architecture", "hw_auto_disk_config", "hw_boot_menu", "hw_cdrom_bus", "hw_cpu_cores", "hw_cpu_max_cores",
	"hw_cpu_max_sockets", "hw_cpu_max_threads", "hw_cpu_policy", "hw_cpu_realtime_mask", "hw_cpu_sockets",
	"hw_cpu_thread_policy", "hw_cpu_threads", "hw_device_id", "hw_disk_bus", "hw_disk_type",
	"hw_emulation_architecture", "hw_ephemeral_encryption", "hw_ephemeral_encryption_format",
	"hw_ephemeral_encryption_secret_uuid", "hw_firmware_stateless", "hw_firmware_type", "hw_floppy_bus",
	"hw_input_bus", "hw_ipxe_boot", "hw_locked_memory", "hw_machine_type", "hw_maxphysaddr_bits",
	"hw_maxphysaddr_mode", "hw_mem_encryption", "hw_mem_encryption_model", "hw_mem_page_size", "hw_numa_cpus",
	"hw_numa_mem", "hw_numa_nodes", "hw_pci_numa_affinity_policy", "hw_pmu", "hw_pointer_model",
	"hw_qemu_guest_agent", "hw_redirected_usb_ports", "hw_rescue_bus", "hw_rescue_device", "hw_rng_model",
	"hw_scsi_model", "hw_serial_port_count", "hw_sound_model", "hw_time_hpet", "hw_tpm_model", "hw_tpm_version",
	"hw_usb_model", "hw_video_model", "hw_video_ram", "hw_vif_model", "hw_vif_multiqueue_enabled", "hw_viommu_model",
	"hw_virtio_packed_ring", "hw_vm_mode", "hw_watchdog_action", "img_bdm_v2", "img_bittorrent",
	"img_block_device_mapping", "img_cache_in_nova", "img_compression_level", "img_config_drive",
	"img_hide_hypervisor_id", "img_hv_requested_version", "img_hv_type", "img_linked_clone", "img_mappings",
	"img_owner_id", "img_root_device_name", "img_signature", "img_signature_certificate_uuid",
	"img_signature_hash_method", "img_signature_key_type", "img_use_agent", "img_version", "os_admin_user",
	"os_command_line", "os_distro", "os_require_quiesce", "os_secure_boot", "os_skip_agent_inject_files_at_boot",
	"os_skip_agent_inject_ssh", "os_type", "traits_required",
	// Legacy names.
	"architecture", "owner_id", "vmware_disktype", "vmware_image_version", "vmware_ostype", "auto_disk_config",
	"ipxe_boot", "xenapi_device_id", "xenapi_image_compression_level", "vmware_linked_clone", "xenapi_use_agent",
	"xenapi_skip_agent_inject_ssh", "xenapi_skip_agent_inject_files_at_boot", "cache_in_nova", "vm_mode",
	"bittorrent", "mappings", "block_device_mapping", "bdm_v2", "root_device_name", "hypervisor_version_requires",
	"hypervisor_type",
}

// showOpts are the parts of nova's servers view builder's show() a
// response has; which depends on the method and microversion.
type showOpts struct {
	az, configDrive, keypair, srvUsg, extendedStatus, extendedVolumes bool
	// extendedAttrs and hostStatus are what policy allows; hostStatus ""
	// leaves the field out.
	extendedAttrs bool
	serverGroups  bool
	userData      bool
}

// fullShow is show() with every part, as GET /servers/{id} and the detail
// list render it.
func fullShow() showOpts {
	return showOpts{az: true, configDrive: true, keypair: true, srvUsg: true, extendedStatus: true,
		extendedVolumes: true, userData: true}
}

// serverView renders one server (api-ref "Show Server Details") for the
// microversion. hostStatus is the host_status to show ("-" for none).
func serverView(r *http.Request, v api.Version, inst compute.Instance, o showOpts, pol compute.ViewPolicy, hostStatus string) map[string]any {
	status := inst.Status()
	s := map[string]any{
		"accessIPv4":        inst.AccessIPv4,
		"accessIPv6":        inst.AccessIPv6,
		"addresses":         map[string]any{},
		"created":           isoTime(inst.CreatedAt),
		"flavor":            flavorOfServer(r, v, inst.Flavor, pol.FlavorExtraSpecs),
		"hostId":            hostID(inst.Host, inst.ProjectID),
		"id":                inst.UUID,
		"image":             imageOfServer(r, v, inst),
		"links":             links(r, "servers", inst.UUID),
		"metadata":          nonNilMeta(inst.Metadata),
		"name":              inst.DisplayName,
		"status":            status,
		"tenant_id":         inst.ProjectID,
		"user_id":           inst.UserID,
		"updated":           isoTime(inst.UpdatedAt),
		"OS-DCF:diskConfig": diskConfig(inst.AutoDiskConfig),
	}
	if slices.Contains(faultStatuses, status) && inst.Fault != nil {
		f := map[string]any{"code": inst.Fault.Code, "created": isoTime(inst.Fault.Created), "message": inst.Fault.Message}
		if inst.Fault.Details != "" && (pol.Admin || inst.Fault.Code != 500) {
			f["details"] = inst.Fault.Details
		}
		s["fault"] = f
	}
	if slices.Contains(progressStatuses, status) {
		s["progress"] = inst.Progress
	}
	if o.az {
		s["OS-EXT-AZ:availability_zone"] = inst.AvailabilityZone
	}
	if o.configDrive {
		s["config_drive"] = inst.ConfigDrive
	}
	if o.keypair {
		s["key_name"] = orNull(inst.KeyName)
	}
	if o.srvUsg {
		s["OS-SRV-USG:launched_at"] = perfectTime(inst.LaunchedAt)
		s["OS-SRV-USG:terminated_at"] = perfectTime(inst.TerminatedAt)
	}
	if o.extendedAttrs {
		s["OS-EXT-SRV-ATTR:host"] = orNull(inst.Host)
		s["OS-EXT-SRV-ATTR:instance_name"] = inst.Name()
		s["OS-EXT-SRV-ATTR:hypervisor_hostname"] = orNull(inst.Node)
		if at(v, 3) {
			s["OS-EXT-SRV-ATTR:hostname"] = inst.Hostname
			s["OS-EXT-SRV-ATTR:kernel_id"] = inst.KernelID
			s["OS-EXT-SRV-ATTR:launch_index"] = inst.LaunchIndex
			s["OS-EXT-SRV-ATTR:ramdisk_id"] = inst.RamdiskID
			s["OS-EXT-SRV-ATTR:reservation_id"] = inst.ReservationID
			s["OS-EXT-SRV-ATTR:root_device_name"] = orNull(inst.RootDeviceName)
			if o.userData {
				s["OS-EXT-SRV-ATTR:user_data"] = ptrOrNull(inst.UserData)
			}
		}
	}
	if o.extendedStatus {
		s["OS-EXT-STS:task_state"] = orNull(string(inst.TaskState))
		s["OS-EXT-STS:vm_state"] = string(inst.VMState)
		s["OS-EXT-STS:power_state"] = int(inst.PowerState)
	}
	if o.extendedVolumes {
		s["os-extended-volumes:volumes_attached"] = volumesAttached(v, inst)
	}
	if at(v, 9) {
		s["locked"] = inst.LockedBy != ""
	}
	if at(v, 16) && hostStatus != "-" {
		s["host_status"] = hostStatus
	}
	if at(v, 19) {
		s["description"] = ptrOrNull(inst.Description)
	}
	if at(v, 26) {
		s["tags"] = nonNilTags(inst.Tags)
	}
	if at(v, 63) {
		s["trusted_image_certificates"] = nil
	}
	if o.serverGroups {
		groups := []string{}
		if g := inst.SchedulerHints["group"]; len(g) > 0 {
			groups = append(groups, g[0])
		}
		s["server_groups"] = groups
	}
	if at(v, 73) {
		s["locked_reason"] = ptrOrNull(inst.LockedReason)
	}
	if at(v, 90) && !o.extendedAttrs {
		s["OS-EXT-SRV-ATTR:hostname"] = inst.Hostname
	}
	if o.az && at(v, 96) {
		s["pinned_availability_zone"] = ptrOrNull(inst.PinnedAvailabilityZone)
	}
	if at(v, 100) {
		hints := inst.SchedulerHints
		if hints == nil {
			hints = map[string][]string{}
		}
		s["scheduler_hints"] = hints
	}
	return s
}

func nonNilMeta(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilTags(t []string) []string {
	if t == nil {
		return []string{}
	}
	return t
}

func diskConfig(auto bool) string {
	if auto {
		return "AUTO"
	}
	return "MANUAL"
}

// volumesAttached lists the volumes of a server's block devices.
func volumesAttached(v api.Version, inst compute.Instance) []map[string]any {
	out := []map[string]any{}
	for _, b := range inst.BlockDevices {
		if b.VolumeID == "" {
			continue
		}
		a := map[string]any{"id": b.VolumeID}
		if at(v, 3) {
			a["delete_on_termination"] = b.DeleteOnTermination
		}
		out = append(out, a)
	}
	return out
}

// bookmark is nova's unversioned link to a resource of the compute API.
func bookmark(r *http.Request, collection, id string) []linkView {
	return []linkView{{Rel: "bookmark", Href: api.BaseURL(r) + "/" + collection + "/" + url.PathEscape(id)}}
}

// flavorOfServer is the flavor of a server: a link to the flavor before
// 2.47, its embedded copy since.
func flavorOfServer(r *http.Request, v api.Version, f compute.Flavor, extraSpecs bool) map[string]any {
	if !at(v, 47) {
		return map[string]any{"id": f.FlavorID, "links": bookmark(r, "flavors", f.FlavorID)}
	}
	out := map[string]any{"vcpus": f.VCPUs, "ram": f.MemoryMB, "disk": f.RootGB, "ephemeral": f.EphemeralGB,
		"swap": f.Swap, "original_name": f.Name}
	if extraSpecs {
		specs := f.ExtraSpecs
		if specs == nil {
			specs = map[string]string{}
		}
		out["extra_specs"] = specs
	}
	return out
}

// imageOfServer is the image of a server, "" when it has none; from 2.98
// with the image's standard properties.
func imageOfServer(r *http.Request, v api.Version, inst compute.Instance) any {
	if inst.ImageRef == "" {
		return ""
	}
	out := map[string]any{"id": inst.ImageRef, "links": bookmark(r, "images", inst.ImageRef)}
	if at(v, 98) {
		props := map[string]string{}
		for k, val := range inst.ImageProperties {
			if slices.Contains(stdImageProps, k) {
				props[k] = val
			}
		}
		out["properties"] = props
	}
	return out
}

// hostStatusFor is the host_status a caller sees of a server: all of it,
// only UNKNOWN, or none ("-").
func (h *Handler) hostStatusFor(r *http.Request, v api.Version, pol compute.ViewPolicy, inst compute.Instance) string {
	if !at(v, 16) || (!pol.HostStatus && !pol.HostStatusUnknown) {
		return "-"
	}
	st := h.svc.HostStatus(r.Context(), inst)
	if pol.HostStatusUnknown && st != compute.HostUnknown {
		return "-"
	}
	return st
}

// showServer renders GET /servers/{id}: everything, with policy checked
// against the server's project.
func (h *Handler) showServerView(r *http.Request, v api.Version, inst compute.Instance) map[string]any {
	pol := h.svc.ServerViewPolicy(r.Context(), inst.ProjectID)
	o := fullShow()
	o.extendedAttrs = pol.ExtendedAttrs
	o.serverGroups = at(v, 71)
	if !at(v, 47) {
		pol.FlavorExtraSpecs = false
	}
	return serverView(r, v, inst, o, pol, h.hostStatusFor(r, v, pol, inst))
}

// changedServerView renders the server after PUT or rebuild: before 2.75
// without the parts nova leaves out of those responses.
func (h *Handler) changedServerView(r *http.Request, v api.Version, inst compute.Instance, rebuild bool) map[string]any {
	pol := h.svc.ServerViewPolicy(r.Context(), inst.ProjectID)
	all := at(v, 75)
	o := showOpts{az: all, configDrive: all, keypair: all || (rebuild && at(v, 54)), srvUsg: all,
		extendedStatus: all, extendedVolumes: all, serverGroups: at(v, 71), userData: !rebuild}
	o.extendedAttrs = all && pol.ExtendedAttrs
	if !at(v, 47) {
		pol.FlavorExtraSpecs = false
	}
	hs := "-"
	if all {
		hs = h.hostStatusFor(r, v, pol, inst)
	}
	return serverView(r, v, inst, o, pol, hs)
}

// actionView is an instance action (api-ref "List Actions For Server").
func actionView(v api.Version, a compute.InstanceAction) map[string]any {
	out := map[string]any{"action": a.Action, "instance_uuid": a.InstanceUUID, "request_id": a.RequestID,
		"user_id": orNull(a.UserID), "project_id": orNull(a.ProjectID), "start_time": perfectTime(a.StartTime),
		"message": ptrOrNull(a.Message)}
	if at(v, 58) {
		out["updated_at"] = perfectTime(a.UpdatedAt)
	}
	return out
}

// eventView is an event of an action as the caller may see it.
func eventView(v api.Version, e compute.InstanceActionEvent, av compute.ActionView, project string) map[string]any {
	out := map[string]any{"event": e.Event, "start_time": perfectTime(e.StartTime),
		"finish_time": perfectTime(e.FinishTime), "result": orNull(e.Result)}
	if av.Traceback {
		out["traceback"] = orNull(e.Traceback)
	}
	if av.Host {
		out["host"] = e.Host
	}
	if at(v, 62) {
		out["hostId"] = hostID(e.Host, project)
	}
	if av.Details {
		out["details"] = orNull(e.Details)
	}
	return out
}
