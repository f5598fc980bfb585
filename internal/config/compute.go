package config

// Compute is the [compute] section: the compute API's listener and nova's
// compute options. Options nova keeps in [DEFAULT] or [api] live here, under
// nova's names, so that all of compute's settings are in one section.
type Compute struct {
	BindPort int `ini:"bind_port" default:"8774" min:"0" max:"65535" help:"Port of the compute API."`
	// DefaultAvailabilityZone is nova's [DEFAULT] default_availability_zone.
	DefaultAvailabilityZone string `ini:"default_availability_zone" default:"nova" help:"Availability zone of compute hosts that no aggregate places in another zone."`
	// InternalServiceAvailabilityZone is nova's [DEFAULT]
	// internal_service_availability_zone.
	InternalServiceAvailabilityZone string `ini:"internal_service_availability_zone" default:"internal" help:"Availability zone of the control services (scheduler, conductor); never listed to users."`
	// MaxLimit is nova's [api] max_limit.
	MaxLimit int `ini:"max_limit" default:"1000" min:"1" help:"Most items one list response of the compute API returns."`
}

// Quota is the [quota] section: nova's default per-project limits (-1: unlimited).
// An operator's os-quota-class-sets entries for the default class take
// precedence over these, and per-project or per-user entries over both.
type Quota struct {
	Instances                int `ini:"instances" default:"10" min:"-1" help:"Servers per project."`
	Cores                    int `ini:"cores" default:"20" min:"-1" help:"Server cores (VCPUs) per project."`
	RAM                      int `ini:"ram" default:"51200" min:"-1" help:"Megabytes of server RAM per project."`
	MetadataItems            int `ini:"metadata_items" default:"128" min:"-1" help:"Metadata items per server."`
	InjectedFiles            int `ini:"injected_files" default:"5" min:"-1" help:"Injected (personality) files per server."`
	InjectedFileContentBytes int `ini:"injected_file_content_bytes" default:"10240" min:"-1" help:"Bytes of one injected file."`
	InjectedFilePathLength   int `ini:"injected_file_path_length" default:"255" min:"-1" help:"Characters of an injected file's path."`
	KeyPairs                 int `ini:"key_pairs" default:"100" min:"-1" help:"Key pairs per user."`
	ServerGroups             int `ini:"server_groups" default:"10" min:"-1" help:"Server groups per project."`
	ServerGroupMembers       int `ini:"server_group_members" default:"10" min:"-1" help:"Servers per server group."`
}
