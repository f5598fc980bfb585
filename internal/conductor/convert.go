package conductor

import (
	"maps"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

// The wire forms of compute's records, for messages.

func wireFlavor(f compute.Flavor) rpc.Flavor {
	return rpc.Flavor{ID: f.ID, FlavorID: f.FlavorID, Name: f.Name, VCPUs: f.VCPUs, MemoryMB: f.MemoryMB,
		RootGB: f.RootGB, EphemeralGB: f.EphemeralGB, Swap: f.Swap, ExtraSpecs: maps.Clone(f.ExtraSpecs),
		RxTxFactor: f.RxTxFactor, VCPUWeight: f.VCPUWeight, Disabled: f.Disabled, IsPublic: f.IsPublic,
		Description: f.Description}
}

// computeFlavor is the instance's copy of a flavor from its wire form.
func computeFlavor(f rpc.Flavor) compute.Flavor {
	specs := maps.Clone(f.ExtraSpecs)
	if specs == nil {
		specs = map[string]string{}
	}
	return compute.Flavor{ID: f.ID, FlavorID: f.FlavorID, Name: f.Name, VCPUs: f.VCPUs, MemoryMB: f.MemoryMB,
		RootGB: f.RootGB, EphemeralGB: f.EphemeralGB, Swap: f.Swap, ExtraSpecs: specs, RxTxFactor: f.RxTxFactor,
		VCPUWeight: f.VCPUWeight, Disabled: f.Disabled, IsPublic: f.IsPublic, Description: f.Description}
}

func wireImage(i compute.Image) rpc.ImageMeta {
	return rpc.ImageMeta{ID: i.ID, Name: i.Name, DiskFormat: i.DiskFormat, ContainerFormat: i.ContainerFormat,
		Size: i.Size, MinDisk: i.MinDisk, MinRAM: i.MinRAM, Properties: maps.Clone(i.Properties)}
}

// instanceImage is the image an instance booted from as the instance keeps
// it: its id and the properties copied at boot (nova's image_* system
// metadata), which is all a host needs to fetch it.
func instanceImage(inst *compute.Instance) rpc.ImageMeta {
	props := map[string]string{}
	meta := rpc.ImageMeta{ID: inst.ImageRef}
	for k, v := range inst.ImageProperties {
		switch k {
		case "disk_format":
			meta.DiskFormat = v
		case "container_format":
			meta.ContainerFormat = v
		default:
			props[k] = v
		}
	}
	if len(props) > 0 {
		meta.Properties = props
	}
	return meta
}

func wireBlockDevices(bds []compute.BlockDevice) []rpc.BlockDevice {
	if len(bds) == 0 {
		return nil
	}
	out := make([]rpc.BlockDevice, len(bds))
	for i, b := range bds {
		out[i] = rpc.BlockDevice{BootIndex: b.BootIndex, SourceType: b.SourceType, DestinationType: b.DestinationType,
			ImageID: b.ImageID, VolumeSize: b.VolumeSize, GuestFormat: b.GuestFormat, DeviceType: b.DeviceType,
			DiskBus: b.DiskBus, DeleteOnTermination: b.DeleteOnTermination}
	}
	return out
}

// instanceSpec is what a host needs to build inst from image.
func instanceSpec(inst *compute.Instance, image rpc.ImageMeta) rpc.InstanceSpec {
	s := rpc.InstanceSpec{UUID: inst.UUID, Name: inst.Name(), DisplayName: inst.DisplayName, Hostname: inst.Hostname,
		ProjectID: inst.ProjectID, UserID: inst.UserID, Flavor: wireFlavor(inst.Flavor), Image: image,
		BlockDevices: wireBlockDevices(inst.BlockDevices), Metadata: maps.Clone(inst.Metadata),
		KeyName: inst.KeyName, KeyData: inst.KeyData, ConfigDrive: inst.ConfigDrive != ""}
	if inst.UserData != nil {
		s.UserData = *inst.UserData
	}
	return s
}

func wireFiles(files []compute.InjectedFile) []rpc.InjectedFile {
	if len(files) == 0 {
		return nil
	}
	out := make([]rpc.InjectedFile, len(files))
	for i, f := range files {
		out[i] = rpc.InjectedFile{Path: f.Path, Contents: f.Contents}
	}
	return out
}

// bootFromVolume tells whether the root disk is a volume, which takes no
// DISK_GB of the host.
func bootFromVolume(inst *compute.Instance) bool {
	for _, b := range inst.BlockDevices {
		if b.BootIndex != nil && *b.BootIndex == 0 {
			return b.DestinationType == "volume"
		}
	}
	return false
}
