package identity

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// domainConfigOptions are the options a domain's configuration may set, by
// group (keystone's DomainConfigManager.whitelisted_options): only those that
// shape a domain-specific identity driver.
var domainConfigOptions = map[string][]string{
	"identity": {"driver", "list_limit"},
	"ldap": {"url", "user", "suffix", "query_scope", "page_size", "alias_dereferencing", "debug_level",
		"chase_referrals", "user_tree_dn", "user_filter", "user_objectclass", "user_id_attribute",
		"user_name_attribute", "user_mail_attribute", "user_description_attribute", "user_pass_attribute",
		"user_enabled_attribute", "user_enabled_invert", "user_enabled_mask", "user_enabled_default",
		"user_attribute_ignore", "user_default_project_id_attribute", "user_enabled_emulation",
		"user_enabled_emulation_dn", "user_enabled_emulation_use_group_config",
		"user_additional_attribute_mapping", "group_tree_dn", "group_filter", "group_objectclass",
		"group_id_attribute", "group_name_attribute", "group_members_are_ids", "group_member_attribute",
		"group_desc_attribute", "group_attribute_ignore", "group_additional_attribute_mapping",
		"tls_cacertfile", "tls_cacertdir", "use_tls", "tls_req_cert", "use_pool", "pool_size",
		"pool_retry_max", "pool_retry_delay", "pool_connection_timeout", "pool_connection_lifetime",
		"use_auth_pool", "auth_pool_size", "auth_pool_connection_lifetime"},
}

// domainConfigSensitive are the options stored but never shown
// (keystone's sensitive_options).
var domainConfigSensitive = map[string][]string{"ldap": {"password"}}

// ldapDefaults are the defaults of keystone's [ldap] options that a domain may
// override; the options not listed default to null.
var ldapDefaults = map[string]any{
	"url": "ldap://localhost", "suffix": "cn=example,cn=com", "query_scope": "one", "page_size": 0,
	"alias_dereferencing": "default", "user_objectclass": "inetOrgPerson", "user_id_attribute": "cn",
	"user_name_attribute": "sn", "user_mail_attribute": "mail", "user_description_attribute": "description",
	"user_pass_attribute": "userPassword", "user_enabled_attribute": "enabled", "user_enabled_invert": false,
	"user_enabled_mask": 0, "user_enabled_default": "True", "user_attribute_ignore": []any{"default_project_id"},
	"user_enabled_emulation": false, "user_enabled_emulation_use_group_config": false,
	"user_additional_attribute_mapping": []any{}, "group_objectclass": "groupOfNames", "group_id_attribute": "cn",
	"group_name_attribute": "ou", "group_members_are_ids": false, "group_member_attribute": "member",
	"group_desc_attribute": "description", "group_attribute_ignore": []any{},
	"group_additional_attribute_mapping": []any{}, "use_tls": false, "tls_req_cert": "demand", "use_pool": true,
	"pool_size": 10, "pool_retry_max": 3, "pool_retry_delay": 0.1, "pool_connection_timeout": -1,
	"pool_connection_lifetime": 600, "use_auth_pool": true, "auth_pool_size": 100,
	"auth_pool_connection_lifetime": 60,
}

// securityComplianceGroup is the read-only group that shows the password rules
// of [security_compliance] (GET /v3/domains/{domain_id}/config/security_compliance).
const securityComplianceGroup = "security_compliance"

// securityComplianceOptions are the [security_compliance] options anyone may read.
var securityComplianceOptions = []string{"password_regex", "password_regex_description"}

// DomainConfigGroups returns the groups a domain's configuration may hold, sorted.
func DomainConfigGroups() []string {
	out := make([]string, 0, len(domainConfigOptions))
	for g := range domainConfigOptions {
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}

// invalidDomainConfig is keystone's InvalidDomainConfig, a 403.
func invalidDomainConfig(format string, args ...any) error {
	return forbidden("Invalid domain specific configuration: %s.", fmt.Sprintf(format, args...))
}

// domainConfigMissing is keystone's DomainConfigNotFound for what (e.g. "group ldap").
func domainConfigMissing(domainID, what string) error {
	return &Error{Kind: ErrNotFound, Message: fmt.Sprintf("Could not find %s in domain configuration for domain %s.", what, domainID)}
}

// domainConfigWhat names the part of a configuration a request is about, as
// keystone's messages do.
func domainConfigWhat(group, option string) string {
	switch {
	case option != "":
		return fmt.Sprintf("option %s in group %s", option, group)
	case group != "":
		return "group " + group
	}
	return "any options"
}

// checkConfigGroupOption accepts an empty group and option, a supported group,
// and a supported option of a supported group.
func checkConfigGroupOption(group, option string) error {
	if group == "" {
		return nil
	}
	_, known := domainConfigOptions[group]
	if _, sensitive := domainConfigSensitive[group]; !known && !sensitive {
		return invalidDomainConfig("Group %s is not supported for domain specific configurations", group)
	}
	if option != "" && !slices.Contains(domainConfigOptions[group], option) &&
		!slices.Contains(domainConfigSensitive[group], option) {
		return invalidDomainConfig("Option %s in group %s is not supported for domain specific configurations", option, group)
	}
	return nil
}

// configOptions validates a request's configuration, {group: {option: value}},
// and flattens it into options sorted by group and option.
func configOptions(cfg map[string]any) ([]DomainConfigOption, error) {
	if len(cfg) == 0 {
		return nil, invalidDomainConfig("No options specified")
	}
	var out []DomainConfigOption
	for group, v := range cfg {
		opts, ok := v.(map[string]any)
		if !ok || len(opts) == 0 {
			return nil, invalidDomainConfig("The value of group %s specified in the config should be a dictionary of options", group)
		}
		for option, value := range opts {
			if err := checkConfigGroupOption(group, option); err != nil {
				return nil, err
			}
			out = append(out, DomainConfigOption{Group: group, Option: option, Value: value,
				Sensitive: slices.Contains(domainConfigSensitive[group], option)})
		}
	}
	slices.SortFunc(out, func(a, b DomainConfigOption) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Option, b.Option))
	})
	return out, nil
}

// shownConfig nests the options that are not sensitive as {group: {option: value}}.
func shownConfig(opts []DomainConfigOption) map[string]any {
	out := map[string]any{}
	for _, o := range opts {
		if o.Sensitive {
			continue
		}
		g, _ := out[o.Group].(map[string]any)
		if g == nil {
			g = map[string]any{}
			out[o.Group] = g
		}
		g[o.Option] = o.Value
	}
	return out
}

// domainConfigTarget is the policy target of a domain configuration call.
func domainConfigTarget(domainID, group, option string) map[string]any {
	t := map[string]any{"target": map[string]any{}, "domain_id": domainID}
	if group != "" {
		t["group"] = group
	}
	if option != "" {
		t["option"] = option
	}
	return t
}

// configDomain authorizes rule and then checks that the domain exists: keystone
// decides policy before it reveals whether the domain exists.
func (s *Service) configDomain(ctx context.Context, rule, domainID, group, option string) error {
	if _, err := caller(ctx); err != nil {
		return err
	}
	if err := s.authorize(ctx, rule, domainConfigTarget(domainID, group, option)); err != nil {
		return err
	}
	if _, err := s.store.GetDomain(ctx, domainID); err != nil {
		return lookup(err, "domain", domainID)
	}
	return nil
}

// CreateDomainConfig replaces a domain's whole configuration
// (PUT /v3/domains/{domain_id}/config) and returns it without its sensitive
// options; created is false when the domain had a configuration before.
func (s *Service) CreateDomainConfig(ctx context.Context, domainID string, cfg map[string]any) (shown map[string]any, created bool, err error) {
	if err := s.configDomain(ctx, "identity:create_domain_config", domainID, "", ""); err != nil {
		return nil, false, err
	}
	opts, err := configOptions(cfg)
	if err != nil {
		return nil, false, err
	}
	replaced, err := s.store.ReplaceDomainConfig(ctx, domainID, opts)
	if err != nil {
		return nil, false, fmt.Errorf("replace config of domain %s: %w", domainID, err)
	}
	s.changed()
	return shownConfig(opts), !replaced, nil
}

// GetDomainConfig shows a domain's configuration, one group of it, or one
// option (GET /v3/domains/{domain_id}/config[/{group}[/{option}]]). A group
// is shown as {group: {option: value}}, an option as {option: value}.
// Sensitive options are never shown. The security_compliance group shows the
// default domain's password rules to anyone.
func (s *Service) GetDomainConfig(ctx context.Context, domainID, group, option string) (map[string]any, error) {
	if group == securityComplianceGroup {
		return s.securityComplianceConfig(ctx, domainID, option)
	}
	if err := s.configDomain(ctx, "identity:get_domain_config", domainID, group, option); err != nil {
		return nil, err
	}
	if err := checkConfigGroupOption(group, option); err != nil {
		return nil, err
	}
	return s.shownDomainConfig(ctx, domainID, group, option)
}

// shownDomainConfig reads what GetDomainConfig shows; nothing to show is a 404.
func (s *Service) shownDomainConfig(ctx context.Context, domainID, group, option string) (map[string]any, error) {
	opts, err := s.store.ListDomainConfig(ctx, domainID)
	if err != nil {
		return nil, fmt.Errorf("get config of domain %s: %w", domainID, err)
	}
	opts = slices.DeleteFunc(opts, func(o DomainConfigOption) bool {
		return o.Sensitive || (group != "" && o.Group != group) || (option != "" && o.Option != option)
	})
	if len(opts) == 0 {
		return nil, domainConfigMissing(domainID, domainConfigWhat(group, option))
	}
	if option != "" {
		return map[string]any{option: opts[0].Value}, nil
	}
	return shownConfig(opts), nil
}

// securityComplianceConfig shows the password rules of [security_compliance];
// keystone shows them for the default domain only.
func (s *Service) securityComplianceConfig(ctx context.Context, domainID, option string) (map[string]any, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	_, derr := s.store.GetDomain(ctx, domainID)
	target := domainConfigTarget(domainID, securityComplianceGroup, option)
	if err := s.authorize(ctx, "identity:get_security_compliance_domain_config", target); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, lookup(derr, "domain", domainID)
	}
	if domainID != s.cfg.DefaultDomainID {
		return nil, invalidDomainConfig("Reading security compliance information for any domain other than the default domain is not allowed or supported.")
	}
	if option != "" && !slices.Contains(securityComplianceOptions, option) {
		return nil, invalidDomainConfig("Reading security compliance values other than password_regex and password_regex_description is not allowed.")
	}
	values := map[string]any{"password_regex": nilIfEmpty(s.cfg.Compliance.PasswordRegex),
		"password_regex_description": nilIfEmpty(s.cfg.Compliance.PasswordRegexDescription)}
	if option != "" {
		return map[string]any{option: values[option]}, nil
	}
	return map[string]any{securityComplianceGroup: values}, nil
}

// nilIfEmpty is a configuration string as keystone shows it: an unset option is null.
func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// UpdateDomainConfig merges options into a domain's configuration
// (PATCH /v3/domains/{domain_id}/config[/{group}[/{option}]]) and returns the
// whole configuration without its sensitive options. With a group, cfg holds
// just that group, which must exist; with an option, cfg is {option: value}
// and the option must exist.
func (s *Service) UpdateDomainConfig(ctx context.Context, domainID, group, option string, cfg map[string]any) (map[string]any, error) {
	if err := s.configDomain(ctx, "identity:update_domain_config", domainID, group, option); err != nil {
		return nil, err
	}
	if group != "" && option != "" {
		cfg = map[string]any{group: cfg}
	}
	opts, err := configOptions(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkConfigGroupOption(group, option); err != nil {
		return nil, err
	}
	if err := s.checkPartialUpdate(ctx, domainID, group, option, cfg); err != nil {
		return nil, err
	}
	if err := s.store.UpdateDomainConfig(ctx, domainID, opts); err != nil {
		return nil, fmt.Errorf("update config of domain %s: %w", domainID, err)
	}
	s.changed()
	return s.shownDomainConfig(ctx, domainID, "", "")
}

// checkPartialUpdate applies keystone's rules to an update of one group or
// option: the request names that group (and option) only, and it exists.
func (s *Service) checkPartialUpdate(ctx context.Context, domainID, group, option string, cfg map[string]any) error {
	if group == "" {
		return nil
	}
	opts, named := cfg[group].(map[string]any)
	if len(cfg) != 1 || (option != "" && len(opts) != 1) {
		if option != "" {
			return invalidDomainConfig("Trying to update option %s in group %s, so that, and only that, option must be specified  in the config", option, group)
		}
		return invalidDomainConfig("Trying to update group %s, so that, and only that, group must be specified in the config", group)
	}
	if !named {
		for other := range cfg {
			return invalidDomainConfig("request to update group %s, but config provided contains group %s instead", group, other)
		}
	}
	if _, ok := opts[option]; option != "" && !ok {
		for other := range opts {
			return invalidDomainConfig("Trying to update option %s in group %s, but config provided contains option %s instead", option, group, other)
		}
	}
	stored, err := s.store.ListDomainConfig(ctx, domainID)
	if err != nil {
		return fmt.Errorf("get config of domain %s: %w", domainID, err)
	}
	if !slices.ContainsFunc(stored, func(o DomainConfigOption) bool {
		return o.Group == group && (option == "" || o.Option == option)
	}) {
		return domainConfigMissing(domainID, domainConfigWhat(group, option))
	}
	return nil
}

// DeleteDomainConfig deletes a domain's configuration, one group of it, or one
// option (DELETE /v3/domains/{domain_id}/config[/{group}[/{option}]]). A group
// or option that is not set is a 404; a domain without configuration is not.
func (s *Service) DeleteDomainConfig(ctx context.Context, domainID, group, option string) error {
	if err := s.configDomain(ctx, "identity:delete_domain_config", domainID, group, option); err != nil {
		return err
	}
	if err := checkConfigGroupOption(group, option); err != nil {
		return err
	}
	if group != "" {
		stored, err := s.store.ListDomainConfig(ctx, domainID)
		if err != nil {
			return fmt.Errorf("get config of domain %s: %w", domainID, err)
		}
		if !slices.ContainsFunc(stored, func(o DomainConfigOption) bool { return o.Group == group }) {
			return domainConfigMissing(domainID, domainConfigWhat(group, ""))
		}
		if option != "" && !slices.ContainsFunc(stored, func(o DomainConfigOption) bool {
			return o.Group == group && o.Option == option
		}) {
			return domainConfigMissing(domainID, domainConfigWhat(group, option))
		}
	}
	if err := s.store.DeleteDomainConfig(ctx, domainID, group, option); err != nil {
		return fmt.Errorf("delete config of domain %s: %w", domainID, err)
	}
	s.changed()
	return nil
}

// DefaultDomainConfig shows the defaults a domain's configuration overrides:
// every supported option, one group's, or one option
// (GET /v3/domains/config/default, /v3/domains/config/{group}/default,
// /v3/domains/config/{group}/{option}/default). Sensitive options have no
// default to show.
func (s *Service) DefaultDomainConfig(ctx context.Context, group, option string) (map[string]any, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	target := map[string]any{"target": map[string]any{}}
	if err := s.authorize(ctx, "identity:get_domain_config_default", target); err != nil {
		return nil, err
	}
	if err := checkConfigGroupOption(group, option); err != nil {
		return nil, err
	}
	if option != "" && !slices.Contains(domainConfigOptions[group], option) {
		return nil, invalidDomainConfig("Reading the default for option %s in group %s is not supported", option, group)
	}
	defaults := s.configDefaults()
	if option != "" {
		return map[string]any{option: defaults[group][option]}, nil
	}
	out := map[string]any{}
	for g, opts := range defaults {
		if group == "" || g == group {
			out[g] = opts
		}
	}
	return out, nil
}

// configDefaults are this cloud's values of every supported option.
func (s *Service) configDefaults() map[string]map[string]any {
	var listLimit any
	if s.cfg.ListLimit > 0 {
		listLimit = s.cfg.ListLimit
	}
	out := map[string]map[string]any{"identity": {"driver": "sql", "list_limit": listLimit}}
	ldap := make(map[string]any, len(domainConfigOptions["ldap"]))
	for _, o := range domainConfigOptions["ldap"] {
		ldap[o] = ldapDefaults[o]
	}
	out["ldap"] = ldap
	return out
}
