package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/config"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "nimbus.conf")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	file := writeFile(t, `
[DEFAULT]
debug = true
my_ip = 192.0.2.1   ; inline comment

[token]
expiration = 600

[database]
connection = mysql+pymysql://nimbus:s3cret@controller/nimbus

[unknown_section]
whatever = 1
`)
	cfg, err := config.Load(config.Source{File: file, Required: true,
		Env: []string{"NIMBUS_TOKEN_EXPIRATION=900", "NIMBUS_IDENTITY_PASSWORD_HASH_ROUNDS=10", "PATH=/bin"},
		Set: map[string]string{"identity.password_hash_rounds": "11"}})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Default.Debug || cfg.Default.MyIP != "192.0.2.1" {
		t.Errorf("file values not read: %+v", cfg.Default)
	}
	if cfg.Token.Expiration != 900 {
		t.Errorf("expiration = %d, want the environment's 900", cfg.Token.Expiration)
	}
	if cfg.Identity.PasswordHashRounds != 11 {
		t.Errorf("rounds = %d, want the flag's 11", cfg.Identity.PasswordHashRounds)
	}
	if cfg.FernetTokens.MaxActiveKeys != 3 || cfg.Identity.BindPort != 5000 {
		t.Errorf("defaults not applied: %+v %+v", cfg.FernetTokens, cfg.Identity)
	}
	var out bytes.Buffer
	if err := config.Show(&out, cfg); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "s3cret") {
		t.Error("config show prints a secret")
	}
	if !strings.Contains(out.String(), "expiration = 900") {
		t.Errorf("config show lacks the effective value:\n%s", out.String())
	}
}

func TestBadValuesNameTheirOrigin(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		file string
		env  []string
		set  map[string]string
		want string
	}{
		{"not an integer", "[token]\nexpiration = soon\n", nil, nil, `[token] expiration: "soon" is not an integer`},
		{"below minimum", "[identity]\npassword_hash_rounds = 2\n", nil, nil, "[identity] password_hash_rounds: 2 is below the minimum 4"},
		{"not a boolean", "[DEFAULT]\ndebug = maybe\n", nil, nil, `[DEFAULT] debug: "maybe" is not a boolean`},
		{"bad choice", "[DEFAULT]\npublic_scheme = ftp\n", nil, nil, `[DEFAULT] public_scheme: "ftp" is not one of http,https`},
		{"environment", "", []string{"NIMBUS_TOKEN_EXPIRATION=x"}, nil, "environment (NIMBUS_TOKEN_EXPIRATION): [token] expiration"},
		{"flag", "", nil, map[string]string{"token.expiration": "-5"}, "command line: [token] expiration: -5 is below the minimum 1"},
		{"unknown flag", "", nil, map[string]string{"token.nope": "1"}, "unknown option [token] nope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			src := config.Source{Env: c.env, Set: c.set}
			if c.file != "" {
				src.File = writeFile(t, c.file)
			}
			_, err := config.Load(src)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to contain %q", err, c.want)
			}
			if c.file != "" && !strings.Contains(err.Error(), src.File) {
				t.Errorf("error %v does not name the file", err)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	t.Parallel()
	if _, err := config.Load(config.Source{File: "/nonexistent/nimbus.conf"}); err != nil {
		t.Errorf("optional missing file: %v", err)
	}
	if _, err := config.Load(config.Source{File: "/nonexistent/nimbus.conf", Required: true}); err == nil {
		t.Error("required missing file accepted")
	}
}

// Options nova keeps in [DEFAULT] are read from there as well as from the
// section that holds them here; the section wins when both name one, and
// options nova does not keep in [DEFAULT] stay unknown there.
func TestNovaDefaultOptions(t *testing.T) {
	t.Parallel()
	file := writeFile(t, `
[DEFAULT]
compute_driver = libvirt
cpu_allocation_ratio = 8.0
ram_allocation_ratio = 1.5
bind_port = 1

[compute]
ram_allocation_ratio = 2.0
`)
	cfg, err := config.Load(config.Source{File: file, Required: true})
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Compute
	if c.ComputeDriver != "libvirt" || c.CPUAllocationRatio != 8.0 || c.RAMAllocationRatio != 2.0 || c.BindPort != 8774 {
		t.Errorf("compute_driver %q, cpu ratio %v, ram ratio %v, bind_port %d; want libvirt, 8, 2 and 8774",
			c.ComputeDriver, c.CPUAllocationRatio, c.RAMAllocationRatio, c.BindPort)
	}
	bad := writeFile(t, "[DEFAULT]\ncompute_driver = hyperv\n")
	if _, err := config.Load(config.Source{File: bad, Required: true}); err == nil || !strings.Contains(err.Error(), "compute_driver") {
		t.Errorf("an unknown driver in [DEFAULT]: %v, want an error naming compute_driver", err)
	}
}
