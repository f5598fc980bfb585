package computehttp

import (
	"slices"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// Parameter types of nova's server schemas (parameter_types.py).
var (
	nameWSParam      = &schema{types: []string{"string"}, format: "name_ws", minLength: intp(1), maxLength: intp(255)}
	serverDesc       = &schema{types: []string{"string", "null"}, format: "description", minLength: intp(0), maxLength: intp(255)}
	uuidParam        = &schema{types: []string{"string"}, format: "uuid"}
	imageIDOrEmpty   = &schema{oneOf: []*schema{{types: []string{"string"}, format: "uuid"}, {types: []string{"string"}, maxLength: intp(0)}}}
	flavorRefParam   = &schema{types: []string{"string", "integer"}, minLength: intp(1)}
	positiveInteger  = &schema{types: []string{"integer", "string"}, pattern: `^[0-9]*$`, minimum: floatp(1), minLength: intp(1)}
	ipAddressParam   = &schema{types: []string{"string"}, oneOf: []*schema{{format: "ipv4"}, {format: "ipv6"}}}
	ipv4Param        = &schema{types: []string{"string"}, format: "ipv4"}
	ipv6Param        = &schema{types: []string{"string"}, format: "ipv6"}
	diskConfigParam  = &schema{types: []string{"string"}, enum: []any{"AUTO", "MANUAL"}}
	tagParam         = &schema{types: []string{"string"}, pattern: `^[^,/]*$`, minLength: intp(1), maxLength: intp(compute.MaxTagLength)}
	hostnameParam    = &schema{types: []string{"string"}, pattern: `^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$`, minLength: intp(2), maxLength: intp(63)}
	fqdnParam        = &schema{types: []string{"string"}, pattern: `^[a-zA-Z0-9-._]*$`, minLength: intp(1), maxLength: intp(255)}
	nameOrNone       = &schema{oneOf: []*schema{{types: []string{"string"}, minLength: intp(1), maxLength: intp(255)}, {types: []string{"null"}}}}
	userDataParam    = &schema{types: []string{"string"}, format: "base64", maxLength: intp(65535)}
	userDataOrNull   = &schema{types: []string{"string", "null"}, format: "base64", maxLength: intp(65535)}
	trustedCertParam = &schema{types: []string{"array", "null"}, minItems: intp(1), maxItems: intp(50),
		items: &schema{types: []string{"string"}, minLength: intp(1)}}
	anything = &schema{}
	// metadataParam is parameter_types.metadata: keys of up to 255
	// characters, string values of up to 255.
	metadataParam = &schema{types: []string{"object"}, patternKey: `^[a-zA-Z0-9-_:. ]{1,255}$`,
		patternProps: &schema{types: []string{"string"}, maxLength: intp(255)}, additional: no()}
	personalityParam = &schema{types: []string{"array"}, items: &schema{types: []string{"object"}, props: []prop{
		{"path", anyString}, {"contents", &schema{types: []string{"string"}, format: "base64"}}}, additional: no()}}
)

// Block device mapping schemas (_legacy_block_device_mapping and
// _block_device_mapping_v2).
var (
	legacyBDM = &schema{types: []string{"object"}, props: []prop{
		{"virtual_name", &schema{types: []string{"string"}, maxLength: intp(255)}},
		{"volume_id", uuidParam},
		{"snapshot_id", uuidParam},
		{"volume_size", &schema{types: []string{"integer", "string"}, pattern: `^[0-9]+$`, minimum: floatp(1), maximum: floatp(compute.MaxInt)}},
		{"device_name", &schema{types: []string{"string"}, minLength: intp(1), maxLength: intp(255), pattern: `^[a-zA-Z0-9._/-]*$`}},
		{"delete_on_termination", booleanParam},
		{"no_device", anything},
		{"connection_info", &schema{types: []string{"string"}, maxLength: intp(16777215)}},
	}, additional: no()}
	bdmV2 = legacyBDM.with([]prop{
		{"source_type", &schema{types: []string{"string"}, enum: []any{"volume", "image", "snapshot", "blank"}}},
		{"uuid", &schema{types: []string{"string"}, minLength: intp(1), maxLength: intp(255), pattern: `^[a-zA-Z0-9._-]*$`}},
		{"image_id", uuidParam},
		{"destination_type", &schema{types: []string{"string"}, enum: []any{"local", "volume"}}},
		{"guest_format", &schema{types: []string{"string"}, maxLength: intp(255)}},
		{"device_type", &schema{types: []string{"string"}, maxLength: intp(255)}},
		{"disk_bus", &schema{types: []string{"string"}, maxLength: intp(255)}},
		{"boot_index", &schema{types: []string{"integer", "string", "null"}, pattern: `^-?[0-9]+$`}},
	})
	bdmV2Tag        = bdmV2.with([]prop{{"tag", tagParam}})
	bdmV2VolumeType = bdmV2Tag.with([]prop{{"volume_type", &schema{types: []string{"string", "null"}, minLength: intp(0), maxLength: intp(255)}}})
)

// schedulerHints is nova's _hints: a few known hints checked, others let
// through.
var schedulerHints = &schema{types: []string{"object"}, props: []prop{
	{"group", &schema{oneOf: []*schema{{types: []string{"array"}, items: uuidParam}, uuidParam}}},
	{"different_host", &schema{oneOf: []*schema{uuidParam, {types: []string{"array"}, items: uuidParam}}}},
	{"same_host", &schema{types: []string{"string", "array"}, items: uuidParam}},
	{"query", &schema{types: []string{"string", "object"}}},
	{"target_cell", nameParam},
	{"different_cell", &schema{types: []string{"string", "array"}, items: anyString}},
	{"build_near_host_ip", ipAddressParam},
	{"cidr", &schema{types: []string{"string"}, pattern: `^/[0-9a-f.:]+$`}},
}}

// networkItem is one entry of a list of networks.
func networkItem(uuidFormat bool, tag bool) *schema {
	u := anyString
	if uuidFormat {
		u = uuidParam
	}
	ps := []prop{{"fixed_ip", ipAddressParam}, {"port", &schema{types: []string{"string", "null"}, format: "uuid"}},
		{"uuid", u}}
	if tag {
		ps = append(ps, prop{"tag", tagParam})
	}
	return &schema{types: []string{"object"}, props: ps, additional: no()}
}

// wrap is {"<key>": inner} with the key required and nothing else.
func wrap(key string, inner *schema) *schema {
	return (&schema{types: []string{"object"}, props: []prop{{key, inner}}, required: []string{key},
		additional: no()}).compile()
}

// Server create schemas (schemas/servers.py create, create_v219, ...).
var (
	serverCreateProps = &schema{types: []string{"object"}, props: []prop{
		{"name", nameParam},
		{"imageRef", imageIDOrEmpty},
		{"flavorRef", flavorRefParam},
		{"adminPass", anyString},
		{"metadata", metadataParam},
		{"networks", &schema{types: []string{"array"}, items: networkItem(false, false)}},
		{"OS-DCF:diskConfig", diskConfigParam},
		{"accessIPv4", ipv4Param},
		{"accessIPv6", ipv6Param},
		{"personality", personalityParam},
		{"availability_zone", nameParam},
		{"block_device_mapping", &schema{types: []string{"array"}, items: legacyBDM}},
		{"block_device_mapping_v2", &schema{types: []string{"array"}, items: bdmV2}},
		{"config_drive", booleanParam},
		{"key_name", nameParam},
		{"min_count", positiveInteger},
		{"max_count", positiveInteger},
		{"return_reservation_id", booleanParam},
		{"security_groups", &schema{types: []string{"array"}, items: &schema{types: []string{"object"},
			props: []prop{{"name", nameParam}}, additional: no()}}},
		{"user_data", userDataParam},
	}, required: []string{"name", "flavorRef"}, additional: no()}

	serverCreateV21  = createBody(serverCreateProps)
	serverCreateV219 = createBody(serverCreateProps.with([]prop{{"description", serverDesc}}))
	serverCreateV232 = createBody(serverCreateProps.with([]prop{{"description", serverDesc},
		{"networks", &schema{types: []string{"array"}, items: networkItem(false, true)}},
		{"block_device_mapping_v2", &schema{types: []string{"array"}, items: bdmV2Tag}}}))
	serverCreateV233 = createBody(serverCreateProps.with([]prop{{"description", serverDesc},
		{"networks", &schema{types: []string{"array"}, items: networkItem(false, true)}}}))
	serverCreateV237 = createBody(required(serverCreateProps.with([]prop{{"description", serverDesc},
		{"networks", networksV237(false)}}), "networks"))
	serverCreateV242 = createBody(required(serverCreateProps.with([]prop{{"description", serverDesc},
		{"networks", networksV237(true)}, {"block_device_mapping_v2", &schema{types: []string{"array"}, items: bdmV2Tag}}}), "networks"))
	serverCreateV252 = createBody(required(serverCreateProps.with([]prop{{"description", serverDesc},
		{"networks", networksV237(true)}, {"block_device_mapping_v2", &schema{types: []string{"array"}, items: bdmV2Tag}},
		{"tags", tagsParam}}), "networks"))
	createV257Props = required(serverCreateProps.with([]prop{{"description", serverDesc},
		{"networks", networksV237(true)}, {"block_device_mapping_v2", &schema{types: []string{"array"}, items: bdmV2Tag}},
		{"tags", tagsParam}}, "personality"), "networks")
	serverCreateV257 = createBody(createV257Props)
	serverCreateV263 = createBody(createV257Props.with([]prop{{"trusted_image_certificates", trustedCertParam}}))
	createV267Props  = createV257Props.with([]prop{{"trusted_image_certificates", trustedCertParam},
		{"block_device_mapping_v2", &schema{types: []string{"array"}, items: bdmV2VolumeType}}})
	serverCreateV267 = createBody(createV267Props)
	serverCreateV274 = createBody(createV267Props.with([]prop{{"host", fqdnParam}, {"hypervisor_hostname", fqdnParam}}))
	serverCreateV290 = createBody(createV267Props.with([]prop{{"host", fqdnParam}, {"hypervisor_hostname", fqdnParam},
		{"hostname", hostnameParam}}))
	serverCreateV294 = createBody(createV267Props.with([]prop{{"host", fqdnParam}, {"hypervisor_hostname", fqdnParam},
		{"hostname", fqdnParam}}))

	tagsParam = &schema{types: []string{"array"}, items: tagParam, maxItems: intp(compute.MaxTagCount)}
)

func networksV237(tag bool) *schema {
	return &schema{oneOf: []*schema{{types: []string{"array"}, items: networkItem(true, tag)},
		{types: []string{"string"}, enum: []any{"none", "auto"}}}}
}

// required returns s with more required properties.
func required(s *schema, names ...string) *schema {
	c := *s
	c.required = slices.Concat(s.required, names)
	return &c
}

func createBody(server *schema) *schema {
	return (&schema{types: []string{"object"}, props: []prop{{"server", server},
		{"os:scheduler_hints", schedulerHints}, {"OS-SCH-HNT:scheduler_hints", schedulerHints}},
		required: []string{"server"}, additional: no()}).compile()
}

// serverCreateSchema is the create schema of microversion v.
func serverCreateSchema(v api.Version) *schema {
	for _, c := range []struct {
		minor int
		s     *schema
	}{{94, serverCreateV294}, {90, serverCreateV290}, {74, serverCreateV274}, {67, serverCreateV267},
		{63, serverCreateV263}, {57, serverCreateV257}, {52, serverCreateV252}, {42, serverCreateV242},
		{37, serverCreateV237}, {33, serverCreateV233}, {32, serverCreateV232}, {19, serverCreateV219}} {
		if at(v, c.minor) {
			return c.s
		}
	}
	return serverCreateV21
}

// Server update schemas.
var (
	serverUpdateProps = &schema{types: []string{"object"}, props: []prop{{"name", nameParam},
		{"OS-DCF:diskConfig", diskConfigParam}, {"accessIPv4", ipv4Param}, {"accessIPv6", ipv6Param}}, additional: no()}
	serverUpdateV21  = wrap("server", serverUpdateProps)
	serverUpdateV219 = wrap("server", serverUpdateProps.with([]prop{{"description", serverDesc}}))
	serverUpdateV290 = wrap("server", serverUpdateProps.with([]prop{{"description", serverDesc}, {"hostname", hostnameParam}}))
	serverUpdateV294 = wrap("server", serverUpdateProps.with([]prop{{"description", serverDesc}, {"hostname", fqdnParam}}))
)

func serverUpdateSchema(v api.Version) *schema {
	switch {
	case at(v, 94):
		return serverUpdateV294
	case at(v, 90):
		return serverUpdateV290
	case at(v, 19):
		return serverUpdateV219
	}
	return serverUpdateV21
}

// Rebuild schemas.
var (
	rebuildProps = &schema{types: []string{"object"}, props: []prop{{"name", nameParam}, {"imageRef", uuidParam},
		{"adminPass", anyString}, {"metadata", metadataParam}, {"preserve_ephemeral", booleanParam},
		{"OS-DCF:diskConfig", diskConfigParam}, {"accessIPv4", ipv4Param}, {"accessIPv6", ipv6Param},
		{"personality", personalityParam}}, required: []string{"imageRef"}, additional: no()}
	rebuildV21      = wrap("rebuild", rebuildProps)
	rebuildV219     = wrap("rebuild", rebuildProps.with([]prop{{"description", serverDesc}}))
	rebuildV254     = wrap("rebuild", rebuildProps.with([]prop{{"description", serverDesc}, {"key_name", nameOrNone}}))
	rebuildV257Prop = rebuildProps.with([]prop{{"description", serverDesc}, {"key_name", nameOrNone},
		{"user_data", userDataOrNull}}, "personality")
	rebuildV257 = wrap("rebuild", rebuildV257Prop)
	rebuildV263 = wrap("rebuild", rebuildV257Prop.with([]prop{{"trusted_image_certificates", trustedCertParam}}))
	rebuildV290 = wrap("rebuild", rebuildV257Prop.with([]prop{{"trusted_image_certificates", trustedCertParam},
		{"hostname", hostnameParam}}))
	rebuildV294 = wrap("rebuild", rebuildV257Prop.with([]prop{{"trusted_image_certificates", trustedCertParam},
		{"hostname", fqdnParam}}))
)

func rebuildSchema(v api.Version) *schema {
	for _, c := range []struct {
		minor int
		s     *schema
	}{{94, rebuildV294}, {90, rebuildV290}, {63, rebuildV263}, {57, rebuildV257}, {54, rebuildV254}, {19, rebuildV219}} {
		if at(v, c.minor) {
			return c.s
		}
	}
	return rebuildV21
}

// Schemas of the other actions.
var (
	resizeSchema = wrap("resize", &schema{types: []string{"object"}, props: []prop{{"flavorRef", flavorRefParam},
		{"OS-DCF:diskConfig", diskConfigParam}}, required: []string{"flavorRef"}, additional: no()})
	createImageSchema = wrap("createImage", &schema{types: []string{"object"}, props: []prop{{"name", nameParam},
		{"metadata", metadataParam}}, required: []string{"name"}, additional: no()})
	rebootSchema = wrap("reboot", &schema{types: []string{"object"}, props: []prop{{"type", &schema{
		types: []string{"string"}, enum: []any{"HARD", "Hard", "hard", "SOFT", "Soft", "soft"}}}},
		required: []string{"type"}, additional: no()})
	lockV273 = wrap("lock", &schema{types: []string{"object", "null"}, props: []prop{{"locked_reason",
		&schema{types: []string{"string"}, minLength: intp(1), maxLength: intp(255)}}}, additional: no()})
	unshelveV277 = wrap("unshelve", &schema{types: []string{"object", "null"}, props: []prop{{"availability_zone", nameParam}},
		required: []string{"availability_zone"}, additional: no()})
	unshelveV291 = wrap("unshelve", &schema{types: []string{"object", "null"}, props: []prop{
		{"availability_zone", &schema{types: []string{"string", "null"}}}, {"host", anyString}}, additional: no()})
	hostOrNull  = &schema{types: []string{"string", "null"}, pattern: `^[a-zA-Z0-9-._]*$`, minLength: intp(1), maxLength: intp(255)}
	migrateV256 = wrap("migrate", &schema{types: []string{"object", "null"}, props: []prop{{"host", hostOrNull}},
		additional: no()})
	liveProps = &schema{types: []string{"object"}, props: []prop{{"block_migration", booleanParam},
		{"disk_over_commit", booleanParam}, {"host", hostOrNull}},
		required: []string{"block_migration", "disk_over_commit", "host"}, additional: no()}
	liveV225Props = func() *schema {
		s := liveProps.with([]prop{{"block_migration", &schema{types: []string{"boolean", "string"},
			enum: append(slices.Clone(booleanParam.enum), "auto")}}}, "disk_over_commit")
		s.required = []string{"block_migration", "host"}
		return s
	}()
	migrateLiveV21  = wrap("os-migrateLive", liveProps)
	migrateLiveV225 = wrap("os-migrateLive", liveV225Props)
	migrateLiveV230 = wrap("os-migrateLive", liveV225Props.with([]prop{{"force", booleanParam}}))
	evacuateProps   = &schema{types: []string{"object"}, props: []prop{{"host", fqdnParam}, {"onSharedStorage", booleanParam},
		{"adminPass", anyString}}, required: []string{"onSharedStorage"}, additional: no()}
	evacuateV21   = wrap("evacuate", evacuateProps)
	evacuateV214  = wrap("evacuate", notRequired(evacuateProps.with(nil, "onSharedStorage")))
	evacuateV229  = wrap("evacuate", notRequired(evacuateProps.with([]prop{{"force", booleanParam}}, "onSharedStorage")))
	consoleOutput = wrap("os-getConsoleOutput", &schema{types: []string{"object"}, props: []prop{{"length",
		&schema{types: []string{"integer", "string", "null"}, pattern: `^-?[0-9]+$`, minimum: floatp(-1)}}},
		additional: no()})
	remoteConsoleV26 = remoteConsole([]any{"vnc", "spice", "serial", "rdp"},
		[]any{"novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5"})
	remoteConsoleV28 = remoteConsole([]any{"vnc", "spice", "serial", "rdp", "mks"},
		[]any{"novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5", "webmks"})
	remoteConsoleV299 = remoteConsole([]any{"vnc", "spice", "serial", "rdp", "mks"},
		[]any{"novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5", "webmks", "spice-direct"})
)

// notRequired drops an object schema's required properties.
func notRequired(s *schema) *schema {
	c := *s
	c.required = nil
	return &c
}

func remoteConsole(protocols, types []any) *schema {
	return wrap("remote_console", &schema{types: []string{"object"}, props: []prop{
		{"protocol", &schema{types: []string{"string"}, enum: protocols}},
		{"type", &schema{types: []string{"string"}, enum: types}}},
		required: []string{"protocol", "type"}, additional: no()})
}

// legacyConsoles are the console actions of microversions before 2.6:
// action, protocol and the types it accepts.
var legacyConsoles = map[string]struct {
	protocol string
	types    []any
}{
	"os-getVNCConsole":    {"vnc", []any{"novnc", "xvpvnc"}},
	"os-getSPICEConsole":  {"spice", []any{"spice-html5"}},
	"os-getSerialConsole": {"serial", []any{"serial"}},
}

// Metadata and tag schemas.
var (
	metadataBody   = wrap("metadata", metadataParam)
	metadataUpdate = wrap("meta", func() *schema {
		c := *metadataParam
		c.minProps, c.maxProps = intp(1), intp(1)
		return &c
	}())
	tagsBody = wrap("tags", tagsParam)
)

// Server list query schemas (index_query ...): every value a string, with
// sort keys checked, date-times for changes-since and -before, and
// regular expressions where nova matches them.
var (
	regexParam     = &schema{types: []string{"string"}, format: "regex"}
	dateTimeParam  = &schema{types: []string{"string"}, format: "date-time"}
	serverListBase = []string{"user_id", "project_id", "tenant_id", "launch_index", "image_ref", "image", "vm_state",
		"task_state", "host", "uuid", "sort_dir", "all_tenants", "soft_deleted", "deleted", "status", "marker",
		"block_device_mapping", "services", "metadata", "system_metadata", "info_cache", "security_groups", "pci_devices"}
	serverListRegex = []string{"kernel_id", "ramdisk_id", "hostname", "key_name", "power_state", "node", "flavor",
		"reservation_id", "launched_at", "terminated_at", "availability_zone", "name", "display_name", "description",
		"display_description", "locked_by", "root_device_name", "config_drive", "access_ip_v4", "access_ip_v6",
		"auto_disk_config", "progress", "ip", "ip6", "created_at"}
	// Before 2.75 the sort keys nova ignores are accepted too.
	sortKeysV21    = slices.Concat(compute.InstanceSortKeys, ignoredSortKeys)
	serverListV21  = serverListQuery(sortKeysV21, false, false, false)
	serverListV226 = serverListQuery(sortKeysV21, true, false, false)
	serverListV266 = serverListQuery(sortKeysV21, true, true, false)
	serverListV273 = serverListQuery(sortKeysV21, true, true, true)
	serverListV275 = strict(serverListQuery(compute.InstanceSortKeys, true, true, true))
)

// ignoredSortKeys are nova's SERVER_LIST_IGNORE_SORT_KEY: sort keys it
// accepts and ignores; locked is one until 2.73.
var ignoredSortKeys = []string{"architecture", "cell_name", "cleaned", "default_ephemeral_device",
	"default_swap_device", "deleted", "deleted_at", "disable_terminate", "ephemeral_gb", "ephemeral_key_uuid", "id",
	"key_data", "launched_on", "memory_mb", "os_type", "reservation_id", "root_gb", "shutdown_terminate", "user_data",
	"vcpus", "vm_mode"}

func serverListQuery(sortKeys []string, tags, before, locked bool) *schema {
	s := &schema{types: []string{"object"}}
	for _, n := range serverListBase {
		s.props = append(s.props, prop{n, anyString})
	}
	for _, n := range serverListRegex {
		s.props = append(s.props, prop{n, regexParam})
	}
	keys := slices.Sorted(slices.Values(sortKeys))
	s.props = append(s.props, prop{"sort_key", &schema{types: []string{"string"}, enum: anyList(slices.Compact(keys))}},
		prop{"changes-since", dateTimeParam}, prop{"limit", nonNegative})
	if tags {
		for _, n := range []string{"tags", "tags-any", "not-tags", "not-tags-any"} {
			s.props = append(s.props, prop{n, regexParam})
		}
	}
	if before {
		s.props = append(s.props, prop{"changes-before", dateTimeParam})
	}
	if locked {
		s.props = append(s.props, prop{"locked", anyString})
	}
	return s.compile()
}

func serverListSchema(v api.Version) *schema {
	switch {
	case at(v, 75):
		return serverListV275
	case at(v, 73):
		return serverListV273
	case at(v, 66):
		return serverListV266
	case at(v, 26):
		return serverListV226
	}
	return serverListV21
}

// Instance action list query schemas.
var (
	actionsQueryV258 = (&schema{types: []string{"object"}, props: []prop{{"limit", nonNegative},
		{"marker", anyString}, {"changes-since", dateTimeParam}}, additional: no()}).compile()
	actionsQueryV266 = actionsQueryV258.with([]prop{{"changes-before", dateTimeParam}}).compile()
)
