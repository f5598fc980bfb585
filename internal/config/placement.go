package config

// Placement is the [placement] section.
type Placement struct {
	BindPort int `ini:"bind_port" default:"8778" min:"0" max:"65535" help:"Port of the placement API."`
}
