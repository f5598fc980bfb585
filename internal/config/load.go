package config

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/ini.v1"
)

// Source says where Load reads from. Every part is optional.
type Source struct {
	// File is the INI file; "" reads none. A missing file is an error only when
	// Required is set.
	File     string
	Required bool
	// Env is the environment, as os.Environ returns it; NIMBUS_SECTION_OPTION
	// variables override the file.
	Env []string
	// Set overrides everything: "section.option" -> value (flags).
	Set map[string]string
}

// Error names where a bad value came from.
type Error struct {
	Origin  string // file path, "environment" or "command line"
	Section string
	Option  string
	Msg     string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: [%s] %s: %s", e.Origin, e.Section, e.Option, e.Msg)
}

// Load builds the effective configuration: defaults < file < environment < flags.
func Load(src Source) (*Config, error) {
	c := &Config{}
	if err := walk(c, func(o option) error { return o.set(o.def, "default") }); err != nil {
		return nil, err
	}
	if src.File != "" {
		if err := loadFile(c, src.File, src.Required); err != nil {
			return nil, err
		}
	}
	if err := loadEnv(c, src.Env); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(src.Set))
	for k := range src.Set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		section, name, ok := strings.Cut(k, ".")
		if !ok {
			return nil, fmt.Errorf("command line: %q is not of the form section.option", k)
		}
		if err := setOption(c, "command line", section, name, src.Set[k]); err != nil {
			return nil, err
		}
	}
	if c.Default.StatePath == "" {
		c.Default.StatePath = DefaultStatePath()
	}
	return c, nil
}

func loadFile(c *Config, path string, required bool) error {
	if _, err := os.Stat(path); err != nil {
		if os.IsNotExist(err) && !required {
			return nil
		}
		return fmt.Errorf("read config: %w", err)
	}
	f, err := ini.LoadSources(ini.LoadOptions{Insensitive: false, AllowShadows: false,
		IgnoreInlineComment: false, SpaceBeforeInlineComment: true}, path)
	if err != nil {
		return fmt.Errorf("read config %s: %w", path, err)
	}
	for _, sec := range f.Sections() {
		for _, key := range sec.Keys() {
			err := setOption(c, path, sec.Name(), key.Name(), key.Value())
			if err != nil && !isUnknown(err) {
				return err
			}
		}
	}
	return nil
}

func loadEnv(c *Config, env []string) error {
	byEnv := map[string]option{}
	_ = walk(c, func(o option) error {
		byEnv["NIMBUS_"+strings.ToUpper(o.section+"_"+o.name)] = o
		return nil
	})
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if o, known := byEnv[k]; known {
			if err := o.set(v, "environment ("+k+")"); err != nil {
				return err
			}
		}
	}
	return nil
}

var errUnknown = fmt.Errorf("unknown option")

func isUnknown(err error) bool { return err == errUnknown }

func setOption(c *Config, origin, section, name, value string) error {
	var found *option
	_ = walk(c, func(o option) error {
		if strings.EqualFold(o.section, section) && o.name == name {
			found = &o
		}
		return nil
	})
	if found == nil && strings.EqualFold(section, "DEFAULT") {
		// Options nova keeps in [DEFAULT] and this project in a service's
		// section are taken from [DEFAULT] too, so nova's files work.
		_ = walk(c, func(o option) error {
			if o.nova == "DEFAULT" && o.name == name {
				found = &o
			}
			return nil
		})
	}
	if found == nil {
		if origin == "command line" {
			return fmt.Errorf("command line: unknown option [%s] %s", section, name)
		}
		return errUnknown
	}
	return found.set(value, origin)
}

// option is one settable field.
type option struct {
	section, name, def, help string
	// nova is nova's section of the option where it differs.
	nova              string
	secret            bool
	min, max, choices string
	field             reflect.Value
}

func walk(c *Config, fn func(option) error) error {
	cv := reflect.ValueOf(c).Elem()
	ct := cv.Type()
	for i := 0; i < ct.NumField(); i++ {
		sf := ct.Field(i)
		section := sf.Tag.Get("section")
		sv := cv.Field(i)
		for j := 0; j < sv.NumField(); j++ {
			f := sv.Type().Field(j)
			o := option{section: section, name: f.Tag.Get("ini"), def: f.Tag.Get("default"),
				help: f.Tag.Get("help"), nova: f.Tag.Get("nova"), secret: f.Tag.Get("secret") == "true",
				min: f.Tag.Get("min"), max: f.Tag.Get("max"), choices: f.Tag.Get("choices"), field: sv.Field(j)}
			if err := fn(o); err != nil {
				return err
			}
		}
	}
	return nil
}

func (o option) set(value, origin string) error {
	bad := func(format string, args ...any) error {
		return &Error{Origin: origin, Section: o.section, Option: o.name, Msg: fmt.Sprintf(format, args...)}
	}
	value = strings.TrimSpace(value)
	switch o.field.Kind() {
	case reflect.String:
		if o.choices != "" && value != "" && !contains(strings.Split(o.choices, ","), value) {
			return bad("%q is not one of %s", value, o.choices)
		}
		o.field.SetString(value)
	case reflect.Bool:
		b, err := parseBool(value)
		if err != nil {
			return bad("%q is not a boolean (true/false)", value)
		}
		o.field.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return bad("%q is not an integer", value)
		}
		if o.min != "" {
			if m, _ := strconv.ParseInt(o.min, 10, 64); n < m {
				return bad("%d is below the minimum %d", n, m)
			}
		}
		if o.max != "" {
			if m, _ := strconv.ParseInt(o.max, 10, 64); n > m {
				return bad("%d is above the maximum %d", n, m)
			}
		}
		o.field.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return bad("%q is not a number", value)
		}
		if o.min != "" {
			if m, _ := strconv.ParseFloat(o.min, 64); f < m {
				return bad("%g is below the minimum %g", f, m)
			}
		}
		o.field.SetFloat(f)
	default:
		return bad("unsupported option type %s", o.field.Kind())
	}
	return nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Show writes the effective configuration as INI, with secrets masked.
func Show(w io.Writer, c *Config) error {
	last := ""
	return walk(c, func(o option) error {
		if o.section != last {
			if last != "" {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "[%s]\n", o.section)
			last = o.section
		}
		v := fmt.Sprint(o.field.Interface())
		if o.secret && v != "" {
			v = "****"
		}
		if o.help != "" {
			fmt.Fprintf(w, "# %s\n", o.help)
		}
		_, err := fmt.Fprintf(w, "%s = %s\n", o.name, v)
		return err
	})
}
