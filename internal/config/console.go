package config

import (
	"net"
	"strconv"
	"strings"
)

// VNC is the [vnc] section: nova's options of VNC consoles and of the noVNC
// console proxy (nova-novncproxy).
type VNC struct {
	Enabled bool `ini:"enabled" default:"true" help:"Offer VNC consoles (noVNC) of servers."`
	// NovncproxyBaseURL is the URL console URLs start with; empty: the
	// proxy's own address on my_ip.
	NovncproxyBaseURL string `ini:"novncproxy_base_url" help:"URL of the noVNC page that console URLs name (http://controller:6080/vnc_auto.html); empty: http://<my_ip>:<novncproxy_port>/vnc_auto.html."`
	NovncproxyHost    string `ini:"novncproxy_host" default:"0.0.0.0" help:"Address the noVNC console proxy listens on."`
	NovncproxyPort    int    `ini:"novncproxy_port" default:"6080" min:"0" max:"65535" help:"Port of the noVNC console proxy."`
	// ServerListen and ServerProxyclientAddress are a compute host's: where
	// its guests' VNC servers listen, and the address of this host the
	// console proxy connects to.
	ServerListen             string `ini:"server_listen" default:"127.0.0.1" help:"Address the guests' VNC servers listen on (0.0.0.0 where the console proxy runs on another machine)."`
	ServerProxyclientAddress string `ini:"server_proxyclient_address" default:"127.0.0.1" help:"Address of this compute host the console proxy connects to for its guests' consoles."`
}

// ConsoleAuth is the [consoleauth] section.
type ConsoleAuth struct {
	TokenTTL int `ini:"token_ttl" default:"600" min:"1" help:"Seconds a console URL's token is accepted."`
}

// Console is the [console] section.
type Console struct {
	AllowedOrigins string `ini:"allowed_origins" help:"Comma-separated host names that a console websocket's Origin may name besides the proxy's own host (a dashboard's, for example)."`
}

// Origins are the allowed origins as a list.
func (c Console) Origins() []string {
	var out []string
	for o := range strings.SplitSeq(c.AllowedOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// NoVNCBaseURL is the effective novncproxy_base_url for a proxy bound to
// port (the configured one, or the port a listener on 0 got).
func (c *Config) NoVNCBaseURL(port int) string {
	if c.VNC.NovncproxyBaseURL != "" {
		return c.VNC.NovncproxyBaseURL
	}
	return "http://" + net.JoinHostPort(c.Default.MyIP, strconv.Itoa(port)) + "/vnc_auto.html"
}
