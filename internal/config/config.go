// Package config reads nimbus.conf: one INI file with upstream OpenStack option
// names, overridden by NIMBUS_<SECTION>_<OPTION> environment variables and then by
// command-line flags. A bad value is refused naming the file, section and option.
package config

import (
	"os"
	"path/filepath"
)

// Config is the whole effective configuration. Each field of a section struct is
// one option: `ini` is its upstream name, `default` its value when unset, `secret`
// masks it in `nimbus config show`, `min`/`max`/`choices` bound it.
type Config struct {
	Default            Default                  `section:"DEFAULT"`
	Database           Database                 `section:"database"`
	Identity           Identity                 `section:"identity"`
	Token              Token                    `section:"token"`
	FernetTokens       FernetTokens             `section:"fernet_tokens"`
	Policy             Policy                   `section:"oslo_policy"`
	AuthToken          AuthToken                `section:"keystone_authtoken"`
	OsloMiddleware     OsloMiddleware           `section:"oslo_middleware"`
	SecurityCompliance SecurityCompliance       `section:"security_compliance"`
	Credential         Credential               `section:"credential"`
	Trust              Trust                    `section:"trust"`
	Image              Image                    `section:"image"`
	GlanceStore        GlanceStore              `section:"glance_store"`
	GlanceDownload     GlanceDownloadProperties `section:"glance_download_properties"`
	Placement          Placement                `section:"placement"`
	Messaging          Messaging                `section:"oslo_messaging_rabbit"`
	Compute            Compute                  `section:"compute"`
	Libvirt            Libvirt                  `section:"libvirt"`
	QEMU               QEMU                     `section:"qemu"`
	Quota              Quota                    `section:"quota"`
	FilterScheduler    FilterScheduler          `section:"filter_scheduler"`
	Scheduler          Scheduler                `section:"scheduler"`
	VNC                VNC                      `section:"vnc"`
	ConsoleAuth        ConsoleAuth              `section:"consoleauth"`
	Console            Console                  `section:"console"`
}

// Default is the [DEFAULT] section.
type Default struct {
	Debug              bool   `ini:"debug" default:"false" help:"Log at debug level."`
	StatePath          string `ini:"state_path" help:"Directory for databases, keys, images and instances."`
	TransportURL       string `ini:"transport_url" secret:"true" help:"Message bus URL (rabbit://user:pass@host:5672/); empty: in-process bus."`
	MyIP               string `ini:"my_ip" default:"127.0.0.1" help:"Address other nodes and clients reach this node at; used in catalog URLs."`
	Host               string `ini:"host" help:"Name of this node; default: the machine's hostname."`
	BindHost           string `ini:"bind_host" default:"0.0.0.0" help:"Address the API services listen on."`
	PublicScheme       string `ini:"public_scheme" default:"http" choices:"http,https" help:"Scheme of the catalog URLs."`
	RPCResponseTimeout int    `ini:"rpc_response_timeout" default:"60" min:"1" help:"Seconds a bus call waits for its answer."`
	ShelvedOffloadTime int    `ini:"shelved_offload_time" default:"0" min:"-1" help:"Seconds a shelved server keeps its host before it is offloaded; 0: at once, -1: never."`
}

// Database is the [database] section.
type Database struct {
	Connection string `ini:"connection" secret:"true" help:"SQLAlchemy-style URL (mysql+pymysql://, postgresql://); empty: SQLite files under state_path."`
}

// Identity is the [identity] section.
type Identity struct {
	BindPort              int    `ini:"bind_port" default:"5000" min:"0" max:"65535" help:"Port of the identity API."`
	DefaultDomainID       string `ini:"default_domain_id" default:"default" help:"Domain of v2-style requests and bootstrap."`
	PasswordHashAlgorithm string `ini:"password_hash_algorithm" default:"bcrypt" choices:"bcrypt" help:"Password hash."`
	PasswordHashRounds    int    `ini:"password_hash_rounds" default:"12" min:"4" max:"31" help:"bcrypt cost."`
	MaxPasswordLength     int    `ini:"max_password_length" default:"4096" min:"1" max:"4096" help:"Longest password accepted."`
	ListLimit             int    `ini:"list_limit" default:"0" min:"0" help:"Most entities a list returns; 0: no limit."`
}

// Token is the [token] section.
type Token struct {
	Expiration              int  `ini:"expiration" default:"3600" min:"1" help:"Token lifetime in seconds."`
	AllowRescopeScopedToken bool `ini:"allow_rescope_scoped_token" default:"true" help:"Whether a scoped token may be rescoped."`
	AllowExpiredWindow      int  `ini:"allow_expired_window" default:"172800" min:"0" help:"Seconds after expiry that services may still validate a token with allow_expired."`
}

// FernetTokens is the [fernet_tokens] section.
type FernetTokens struct {
	KeyRepository string `ini:"key_repository" help:"Directory of Fernet keys; default: state_path/fernet-keys."`
	MaxActiveKeys int    `ini:"max_active_keys" default:"3" min:"1" help:"Keys kept by rotation (staged + primary + secondaries)."`
}

// Policy is the [oslo_policy] section.
type Policy struct {
	PolicyFile         string `ini:"policy_file" help:"YAML or JSON file overriding default policy rules."`
	EnforceScope       bool   `ini:"enforce_scope" default:"false" help:"Refuse tokens whose scope a rule does not allow."`
	EnforceNewDefaults bool   `ini:"enforce_new_defaults" default:"true" help:"Use the new reader/member/admin defaults."`
}

// AuthToken is the [keystone_authtoken] section: how a service that runs apart
// from identity validates tokens.
type AuthToken struct {
	WWWAuthenticateURI string `ini:"www_authenticate_uri" help:"Identity URL sent to clients in WWW-Authenticate."`
	AuthURL            string `ini:"auth_url" help:"Identity URL this service authenticates to; empty: identity runs in this process."`
	Username           string `ini:"username" help:"Service user."`
	Password           string `ini:"password" secret:"true" help:"Service user's password."`
	ProjectName        string `ini:"project_name" default:"service" help:"Service user's project."`
	UserDomainName     string `ini:"user_domain_name" default:"Default" help:"Service user's domain."`
	ProjectDomainName  string `ini:"project_domain_name" default:"Default" help:"Service project's domain."`
	TokenCacheTime     int    `ini:"token_cache_time" default:"300" min:"0" help:"Seconds a validated token is cached; revocations evict sooner."`
}

// OsloMiddleware is the [oslo_middleware] section.
type OsloMiddleware struct {
	MaxRequestBodySize int64 `ini:"max_request_body_size" default:"114688" min:"1" help:"Largest JSON request body, in bytes."`
}

// DefaultStatePath is /var/lib/nimbus for root and ~/.local/share/nimbus otherwise.
func DefaultStatePath() string {
	if os.Geteuid() == 0 {
		return "/var/lib/nimbus"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "nimbus")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "nimbus")
	}
	return filepath.Join(os.TempDir(), "nimbus")
}

// FernetKeyRepository is the effective Fernet key directory.
func (c *Config) FernetKeyRepository() string {
	if c.FernetTokens.KeyRepository != "" {
		return c.FernetTokens.KeyRepository
	}
	return filepath.Join(c.Default.StatePath, "fernet-keys")
}

// HostName is the effective node name.
func (c *Config) HostName() string {
	if c.Default.Host != "" {
		return c.Default.Host
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "localhost"
}

// SecurityCompliance is the [security_compliance] section (keystone's PCI-DSS options).
type SecurityCompliance struct {
	LockoutFailureAttempts     int    `ini:"lockout_failure_attempts" default:"0" min:"0" help:"Failed password checks before a user is locked out; 0: never."`
	LockoutDuration            int    `ini:"lockout_duration" default:"1800" min:"1" help:"Seconds a locked-out user stays locked."`
	UniqueLastPasswordCount    int    `ini:"unique_last_password_count" default:"0" min:"0" help:"New passwords must differ from this many previous ones; 0 or 1: no history."`
	MinimumPasswordAge         int    `ini:"minimum_password_age" default:"0" min:"0" help:"Days a password must be kept before the user may change it."`
	PasswordExpiresDays        int    `ini:"password_expires_days" default:"0" min:"0" help:"Days until a password expires; 0: never."`
	ChangePasswordUponFirstUse bool   `ini:"change_password_upon_first_use" default:"false" help:"Users must change a password an administrator set before using it."`
	PasswordRegex              string `ini:"password_regex" help:"Regular expression every new password must match."`
	PasswordRegexDescription   string `ini:"password_regex_description" help:"What password_regex requires, in words, for error messages."`
}

// Credential is the [credential] section.
type Credential struct {
	KeyRepository string `ini:"key_repository" help:"Directory of the keys that encrypt stored credentials; default: state_path/credential-keys."`
}

// Trust is the [trust] section.
type Trust struct {
	AllowRedelegation    bool `ini:"allow_redelegation" default:"false" help:"Whether a trustee may pass a trust on."`
	MaxRedelegationCount int  `ini:"max_redelegation_count" default:"3" min:"0" help:"Longest chain of redelegated trusts."`
}

// CredentialKeyRepository is the effective credential key directory.
func (c *Config) CredentialKeyRepository() string {
	if c.Credential.KeyRepository != "" {
		return c.Credential.KeyRepository
	}
	return filepath.Join(c.Default.StatePath, "credential-keys")
}

// Image is the [image] section: glance's API options.
type Image struct {
	BindPort                int    `ini:"bind_port" default:"9292" min:"0" max:"65535" help:"Port of the image API."`
	ImageSizeCap            int64  `ini:"image_size_cap" default:"1099511627776" min:"1" help:"Largest image accepted, in bytes."`
	UserStorageQuota        int64  `ini:"user_storage_quota" default:"0" min:"0" help:"Most image bytes a project may store; 0: unlimited."`
	ImageCountQuota         int64  `ini:"image_count_total" default:"0" min:"0" help:"Most images a project may own; 0: unlimited."`
	HashingAlgorithm        string `ini:"hashing_algorithm" default:"sha512" choices:"sha256,sha384,sha512" help:"Algorithm of os_hash_value."`
	EnabledImportMethods    string `ini:"enabled_import_methods" default:"glance-direct" help:"Comma-separated import methods: glance-direct, web-download, glance-download, copy-image."`
	WebDownloadAllowedHosts string `ini:"web_download_allowed_hosts" help:"Comma-separated hosts web-download may fetch from; empty: none."`
	LimitParamDefault       int    `ini:"limit_param_default" default:"25" min:"1" help:"Default page size of image lists."`
	RequireImageFormatMatch bool   `ini:"require_image_format_match" default:"true" help:"Refuse image data that is not in its declared disk_format. When false, data of no known format is still accepted under any declared format; data of another known format, and unsafe images, are always refused."`
	APILimitMax             int    `ini:"api_limit_max" default:"1000" min:"1" help:"Largest page size of image lists."`
	ShowMultipleLocations   bool   `ini:"show_multiple_locations" default:"false" help:"Show images' locations and let clients add, replace and remove them (http and https URLs only)."`
	ShowImageDirectURL      bool   `ini:"show_image_direct_url" default:"false" help:"Show an image's first location as direct_url."`
	EnabledBackends         string `ini:"enabled_backends" help:"Several image stores, as glance's enabled_backends: comma-separated id:type pairs, e.g. fast:file,cheap:file,web:http. file stores keep data (the default one in filesystem_store_datadir, the others in subdirectories named by their id); an http store is read-only and serves images whose locations are http(s) URLs on web_download_allowed_hosts. Empty: one store, file."`
	ImageCacheDir           string `ini:"image_cache_dir" help:"Directory of the local image cache (the /v2/cache API and cached downloads); empty: no cache."`
	ImageCacheMaxSize       int64  `ini:"image_cache_max_size" default:"10737418240" min:"0" help:"Bytes the image cache may hold; the least recently used images are pruned beyond it."`
}

// GlanceDownloadProperties is the [glance_download_properties] section.
type GlanceDownloadProperties struct {
	ExtraProperties string `ini:"extra_properties" default:"hw_,trait:,os_distro,os_secure_boot,os_type" help:"Comma-separated property names and prefixes that glance-download copies from the source image."`
}

// GlanceStore is the [glance_store] section.
type GlanceStore struct {
	FilesystemStoreDatadir string `ini:"filesystem_store_datadir" help:"Directory of image data; default: state_path/images."`
	DefaultBackend         string `ini:"default_backend" help:"With [image] enabled_backends: the store images go to when a request names none; default: the first."`
}

// ImageDataDir is the effective image data directory.
func (c *Config) ImageDataDir() string {
	if c.GlanceStore.FilesystemStoreDatadir != "" {
		return c.GlanceStore.FilesystemStoreDatadir
	}
	return filepath.Join(c.Default.StatePath, "images")
}
