package config_test

import (
	"slices"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/config"
)

func TestConsoleOptions(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(config.Source{Set: map[string]string{"DEFAULT.my_ip": "192.0.2.1",
		"console.allowed_origins": " dash.example ,, 192.0.2.9"}})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.VNC.Enabled || cfg.VNC.NovncproxyHost != "0.0.0.0" || cfg.VNC.NovncproxyPort != 6080 ||
		cfg.ConsoleAuth.TokenTTL != 600 {
		t.Errorf("defaults %+v %+v", cfg.VNC, cfg.ConsoleAuth)
	}
	if got := cfg.NoVNCBaseURL(6080); got != "http://192.0.2.1:6080/vnc_auto.html" {
		t.Errorf("default base URL %s", got)
	}
	if got := cfg.Console.Origins(); !slices.Equal(got, []string{"dash.example", "192.0.2.9"}) {
		t.Errorf("origins %q", got)
	}
	cfg.VNC.NovncproxyBaseURL = "https://console.example/vnc_lite.html"
	if got := cfg.NoVNCBaseURL(40000); got != cfg.VNC.NovncproxyBaseURL {
		t.Errorf("configured base URL %s", got)
	}
	cfg.Default.MyIP = "2001:db8::1"
	cfg.VNC.NovncproxyBaseURL = ""
	if got := cfg.NoVNCBaseURL(6080); got != "http://[2001:db8::1]:6080/vnc_auto.html" {
		t.Errorf("IPv6 base URL %s", got)
	}
	if _, err := config.Load(config.Source{Set: map[string]string{"consoleauth.token_ttl": "0"}}); err == nil {
		t.Error("token_ttl 0 accepted")
	}
}
