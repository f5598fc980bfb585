package config

// Compute is the [compute] section: the compute API's listener and nova's
// compute options.
type Compute struct {
	BindPort int `ini:"bind_port" default:"8774" min:"0" max:"65535" help:"Port of the compute API."`
}

// Quota is the [quota] section: nova's default per-project limits (-1: unlimited).
type Quota struct {
	Instances int `ini:"instances" default:"10" min:"-1" help:"Servers per project."`
}
