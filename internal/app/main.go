package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nimbus-cloud/nimbus/internal/compute/computesql"
	"github.com/nimbus-cloud/nimbus/internal/config"
	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/fernet"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
	"github.com/nimbus-cloud/nimbus/internal/image/imagesql"
	"github.com/nimbus-cloud/nimbus/internal/placement/placementsql"
)

// Version is the release of this binary, set at build time.
var Version = "dev"

const usage = `Nimbus: an OpenStack-compatible cloud in one binary.

Usage:
  nimbus up [--state-dir DIR] [--config-file FILE]   start the all-in-one cloud
  nimbus serve [--role all|controller|compute] [--host NAME]
                                                      start the services of a role
  nimbus admin db sync                                create or upgrade the schemas
  nimbus admin bootstrap --bootstrap-password PW      create the first admin and catalog
  nimbus admin fernet setup|rotate                    manage the token keys
  nimbus config show                                  print the effective configuration
  nimbus version

Every command takes --config-file FILE (default /etc/nimbus/nimbus.conf when it
exists), --state-dir DIR, and --set section.option=value to override options.
`

// Main runs the nimbus command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "up", "serve":
		err = runUp(args[0], args[1:], stdout, stderr)
	case "admin":
		err = runAdmin(args[1:], stdout)
	case "config":
		err = runConfig(args[1:], stdout)
	case "version", "--version":
		fmt.Fprintln(stdout, "nimbus", Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "nimbus: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "nimbus:", err)
		return 1
	}
	return 0
}

// commonFlags are the options every command takes.
type commonFlags struct {
	configFile string
	stateDir   string
	set        setFlag
}

type setFlag map[string]string

func (s setFlag) String() string { return "" }

func (s setFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || !strings.Contains(k, ".") {
		return fmt.Errorf("%q is not section.option=value", v)
	}
	s[k] = val
	return nil
}

func newFlagSet(name string) (*flag.FlagSet, *commonFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cf := &commonFlags{set: setFlag{}}
	fs.StringVar(&cf.configFile, "config-file", "", "configuration file (default /etc/nimbus/nimbus.conf if present)")
	fs.StringVar(&cf.stateDir, "state-dir", "", "state directory (default /var/lib/nimbus for root, ~/.local/share/nimbus otherwise)")
	fs.Var(cf.set, "set", "override an option: section.option=value (repeatable)")
	return fs, cf
}

func (cf *commonFlags) load() (*config.Config, error) {
	src := config.Source{File: cf.configFile, Required: cf.configFile != "", Env: os.Environ(), Set: map[string]string{}}
	if src.File == "" {
		src.File = "/etc/nimbus/nimbus.conf"
	}
	for k, v := range cf.set {
		src.Set[k] = v
	}
	if cf.stateDir != "" {
		abs, err := filepath.Abs(cf.stateDir)
		if err != nil {
			return nil, err
		}
		src.Set["DEFAULT.state_path"] = abs
	}
	return config.Load(src)
}

func runUp(name string, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet(name)
	fs.SetOutput(stderr)
	adminPassword := fs.String("admin-password", "", "admin password for a new cloud (default: generated)")
	role := RoleAll
	if name == "serve" {
		fs.StringVar(&role, "role", RoleAll, "what this process runs: all (every service), controller (the APIs, conductor and scheduler) or compute (this host's compute agents)")
		fs.Func("host", "name of this node (overrides [DEFAULT] host)", func(v string) error {
			if strings.TrimSpace(v) == "" {
				return errors.New("host is empty")
			}
			cf.set["DEFAULT.host"] = v
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch role {
	case RoleAll, RoleController, RoleCompute:
	default:
		return fmt.Errorf("unknown role %q: want %s, %s or %s", role, RoleAll, RoleController, RoleCompute)
	}
	started := time.Now()
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	cloudsFile := filepath.Join(cfg.Default.StatePath, "clouds.yaml")
	first := name == "up" && !fileExists(cloudsFile)
	password := *adminPassword
	if password == "" {
		password = os.Getenv("NIMBUS_ADMIN_PASSWORD")
	}
	if first && password == "" {
		password = randomPassword()
	}
	// Only a new password goes to bootstrap: checking an unchanged one would
	// cost a bcrypt round on every start.
	cloud, err := Start(ctx, cfg, StartOptions{AdminPassword: password, Role: role})
	if err != nil {
		return err
	}
	if first {
		if err := cloud.offerDefaults(ctx); err != nil {
			cloud.Close(context.Background())
			return err
		}
	}
	if name == "up" {
		if password == "" {
			// Keep clouds.yaml and admin-openrc pointing at this start's endpoint.
			password = readCloudsPassword(cloudsFile)
		}
		if password != "" {
			if err := writeCredentials(cfg.Default.StatePath, cloud.IdentityURL, password); err != nil {
				cloud.Close(context.Background())
				return err
			}
		}
	}
	if cloud.IdentityURL != "" {
		fmt.Fprintf(stdout, "identity   %s\n", cloud.IdentityURL)
	}
	if cloud.ImageURL != "" {
		fmt.Fprintf(stdout, "image      %s\n", cloud.ImageURL)
	}
	if cloud.PlacementURL != "" {
		fmt.Fprintf(stdout, "placement  %s\n", cloud.PlacementURL)
	}
	if cloud.ComputeURL != "" {
		fmt.Fprintf(stdout, "compute    %s\n", cloud.ComputeURL)
	}
	if hosts := cloud.ComputeHosts(); len(hosts) > 0 {
		list := strings.Join(hosts, ", ")
		if len(hosts) > 4 {
			list = fmt.Sprintf("%s ... %s (%d hosts)", hosts[0], hosts[len(hosts)-1], len(hosts))
		}
		fmt.Fprintf(stdout, "agents     %s\n", list)
	}
	if u := cloud.ConsoleURL(); u != "" {
		fmt.Fprintf(stdout, "console    %s (noVNC proxy)\n", u)
	}
	if name == "up" {
		fmt.Fprintf(stdout, "state      %s\n", cfg.Default.StatePath)
		fmt.Fprintf(stdout, "admin      credentials in %s and %s\n", cloudsFile,
			filepath.Join(cfg.Default.StatePath, "admin-openrc"))
		fmt.Fprintf(stdout, "           try: OS_CLIENT_CONFIG_FILE=%s openstack --os-cloud nimbus token issue\n", cloudsFile)
	}
	fmt.Fprintf(stdout, "Nimbus is ready (started in %d ms). Press Ctrl-C to stop.\n", time.Since(started).Milliseconds())

	select {
	case <-ctx.Done():
	case err = <-cloud.Err():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if cerr := cloud.Close(shutdownCtx); cerr != nil && err == nil {
		err = cerr
	}
	if err == nil {
		fmt.Fprintln(stdout, "Nimbus stopped.")
	}
	return err
}

// readCloudsPassword returns the admin password an earlier start wrote, or "".
func readCloudsPassword(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var doc struct {
		Clouds map[string]struct {
			Auth struct {
				Password string `yaml:"password"`
			} `yaml:"auth"`
		} `yaml:"clouds"`
	}
	if yaml.Unmarshal(raw, &doc) != nil {
		return ""
	}
	return doc.Clouds["nimbus"].Auth.Password
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func randomPassword() string {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// writeCredentials writes clouds.yaml and admin-openrc (mode 0600) for the admin.
func writeCredentials(dir, authURL, password string) error {
	clouds := fmt.Sprintf(`clouds:
  nimbus:
    auth:
      auth_url: %s
      username: admin
      password: %q
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
`, authURL, password)
	openrc := fmt.Sprintf(`export OS_AUTH_URL=%s
export OS_USERNAME=admin
export OS_PASSWORD='%s'
export OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_REGION_NAME=RegionOne
export OS_IDENTITY_API_VERSION=3
`, authURL, password)
	for name, body := range map[string]string{"clouds.yaml": clouds, "admin-openrc": openrc} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

func runAdmin(args []string, stdout io.Writer) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: nimbus admin db sync | bootstrap | fernet setup|rotate")
	}
	switch args[0] + " " + args[1] {
	case "db sync":
		return adminDBSync(args[2:], stdout)
	case "fernet setup", "fernet rotate":
		return adminFernet(args[1], args[2:], stdout)
	}
	if args[0] == "bootstrap" {
		return adminBootstrap(args[1:], stdout)
	}
	return fmt.Errorf("unknown admin command %q", strings.Join(args, " "))
}

func adminDBSync(args []string, stdout io.Writer) error {
	fs, cf := newFlagSet("admin db sync")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	for _, schema := range schemas {
		ms, err := schema.migrations()
		if err != nil {
			return err
		}
		d, err := OpenDB(context.Background(), cfg, schema.service, ms)
		if err != nil {
			return err
		}
		v, err := db.Version(context.Background(), d, schema.service)
		d.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s schema at version %d\n", schema.service, v)
	}
	return nil
}

// schemas are the services' databases, in the order db sync migrates them.
var schemas = []struct {
	service    string
	migrations func() ([]db.Migration, error)
}{
	{"identity", identitysql.Migrations},
	{"image", imagesql.Migrations},
	{placementsql.ServiceName, placementsql.Migrations},
	{computesql.ServiceName, computesql.Migrations},
}

func adminFernet(verb string, args []string, stdout io.Writer) error {
	fs, cf := newFlagSet("admin fernet " + verb)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	repo, err := fernet.NewKeyRepository(cfg.FernetKeyRepository(), cfg.FernetTokens.MaxActiveKeys)
	if err != nil {
		return err
	}
	if verb == "setup" {
		if err := repo.Setup(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "fernet keys ready in %s\n", repo.Dir())
		return nil
	}
	rot, err := repo.Rotate()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rotated fernet keys in %s: key %d is primary; removed %v\n", repo.Dir(), rot.Primary, rot.Removed)
	return nil
}

func adminBootstrap(args []string, stdout io.Writer) error {
	fs, cf := newFlagSet("admin bootstrap")
	password := fs.String("bootstrap-password", "", "admin password (default: $OS_BOOTSTRAP_PASSWORD)")
	username := fs.String("bootstrap-username", "admin", "admin user name")
	project := fs.String("bootstrap-project-name", "admin", "admin project name")
	region := fs.String("bootstrap-region-id", "RegionOne", "region of the identity endpoints")
	publicURL := fs.String("bootstrap-public-url", "", "public identity URL (default http://my_ip:bind_port/v3)")
	internalURL := fs.String("bootstrap-internal-url", "", "internal identity URL (default: the public one)")
	adminURL := fs.String("bootstrap-admin-url", "", "admin identity URL (default: the public one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	if *password == "" {
		*password = os.Getenv("OS_BOOTSTRAP_PASSWORD")
	}
	if *publicURL == "" {
		*publicURL = fmt.Sprintf("%s://%s:%d/v3", cfg.Default.PublicScheme, cfg.Default.MyIP, cfg.Identity.BindPort)
	}
	or := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	ctx := context.Background()
	ms, err := identitysql.Migrations()
	if err != nil {
		return err
	}
	d, err := OpenDB(ctx, cfg, "identity", ms)
	if err != nil {
		return err
	}
	defer d.Close()
	svc, err := NewIdentity(cfg, d, discardLogger())
	if err != nil {
		return err
	}
	res, err := svc.Bootstrap(ctx, identity.BootstrapOptions{AdminUsername: *username, AdminPassword: *password,
		AdminProjectName: *project, RegionID: *region, IdentityURLs: map[string]string{
			"public": *publicURL, "internal": or(*internalURL, *publicURL), "admin": or(*adminURL, *publicURL)}})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bootstrapped: admin user %s, admin project %s, identity at %s\n", res.AdminUserID, res.AdminProjectID, *publicURL)
	return nil
}

func runConfig(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "show" {
		return fmt.Errorf("usage: nimbus config show")
	}
	fs, cf := newFlagSet("config show")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	return config.Show(stdout, cfg)
}
