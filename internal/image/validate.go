package image

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
)

// Limits glance applies to image metadata (image_property_quota,
// image_tag_quota, image_member_quota and the schema's maxLength).
const (
	MaxProperties = 128
	MaxTags       = 128
	MaxMembers    = 128
	maxLength     = 255
)

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// readOnly are the attributes a client may never set (glance's
// _readonly_properties); setting one is a 403 "Attribute 'x' is read-only.".
var readOnly = []string{"created_at", "updated_at", "status", "checksum", "os_hash_algo", "os_hash_value",
	"size", "virtual_size", "direct_url", "self", "file", "schema", "stores"}

// reserved are the attributes glance keeps for itself (403 "is reserved").
var reserved = []string{"location", "locations", "deleted", "deleted_at"}

// baseAttributes are the image attributes that are not additional properties.
var baseAttributes = []string{"id", "name", "visibility", "protected", "os_hidden", "owner", "disk_format",
	"container_format", "min_disk", "min_ram", "tags", "status", "checksum", "os_hash_algo", "os_hash_value",
	"size", "virtual_size", "created_at", "updated_at"}

// IsBaseAttribute reports whether name is a base image attribute rather than an
// additional property.
func IsBaseAttribute(name string) bool { return slices.Contains(baseAttributes, name) }

// checkWritable refuses read-only and reserved attribute names, as glance.
// onCreate allows id, which only a create may set.
func checkWritable(name string, onCreate bool) error {
	switch {
	case name == "id" && !onCreate:
		return errorf(ErrForbidden, "Attribute 'id' is read-only.")
	case slices.Contains(readOnly, name):
		return errorf(ErrForbidden, "Attribute '%s' is read-only.", name)
	case slices.Contains(reserved, name), strings.HasPrefix(name, "os_glance"):
		return errorf(ErrForbidden, "Attribute '%s' is reserved.", name)
	}
	return nil
}

// schemaError is a 400 in glance's words for a value its image schema refuses.
func schemaError(format string, args ...any) error {
	return errorf(ErrValidation, "Provided object does not match schema 'image': %s", fmt.Sprintf(format, args...))
}

// setAttribute validates value against the image schema and sets attribute (or
// additional property) name on img. The caller has checked that name is writable.
func (s *Service) setAttribute(img *Image, name string, value any) error {
	switch name {
	case "id":
		v, ok := value.(string)
		if !ok || !uuidPattern.MatchString(v) {
			return schemaError("%s does not match the id pattern", quote(value))
		}
		img.ID = strings.ToLower(v)
	case "name":
		v, err := nullableString(name, value)
		if err != nil {
			return err
		}
		img.Name = v
	case "owner":
		v, err := nullableString(name, value)
		if err != nil {
			return err
		}
		img.Owner = v
	case "visibility":
		v, _ := value.(string)
		if !slices.Contains([]Visibility{Public, Private, Shared, Community}, Visibility(v)) {
			return schemaError("%s is not one of ['community', 'public', 'private', 'shared']", quote(value))
		}
		img.Visibility = Visibility(v)
	case "protected", "os_hidden":
		v, ok := value.(bool)
		if !ok {
			return schemaError("%s is not of type 'boolean'", quote(value))
		}
		if name == "protected" {
			img.Protected = v
		} else {
			img.Hidden = v
		}
	case "disk_format", "container_format":
		return s.setFormat(img, name, value)
	case "min_disk", "min_ram":
		n, err := nonNegative(name, value)
		if err != nil {
			return err
		}
		if name == "min_disk" {
			img.MinDisk = n
		} else {
			img.MinRAM = n
		}
	case "tags":
		tags, err := parseTags(value)
		if err != nil {
			return err
		}
		img.Tags = tags
	default:
		return setProperty(img, name, value)
	}
	return nil
}

// setFormat sets disk_format or container_format from the configured lists.
func (s *Service) setFormat(img *Image, name string, value any) error {
	v, err := nullableString(name, value)
	if err != nil {
		return err
	}
	allowed := s.cfg.DiskFormats
	target := &img.DiskFormat
	if name == "container_format" {
		allowed, target = s.cfg.ContainerFormats, &img.ContainerFormat
	}
	if v != "" && !slices.Contains(allowed, v) {
		return schemaError("%s is not one of %s", quote(value), pyList(allowed))
	}
	*target = v
	return nil
}

// setProperty sets an additional property: a string, as the schema's
// additionalProperties says; kernel_id and ramdisk_id must be image ids.
func setProperty(img *Image, name string, value any) error {
	if name == "" || len(name) > maxLength {
		return schemaError("additional property names must be 1 to %d characters", maxLength)
	}
	v, ok := value.(string)
	if !ok {
		return schemaError("%s is not of type 'string'", quote(value))
	}
	if (name == "kernel_id" || name == "ramdisk_id") && !uuidPattern.MatchString(v) {
		return schemaError("%s does not match the %s pattern", quote(value), name)
	}
	if img.Properties == nil {
		img.Properties = map[string]string{}
	}
	if _, exists := img.Properties[name]; !exists && len(img.Properties) >= MaxProperties {
		return errorf(ErrTooLarge, "Maximum number of additional properties (%d) reached.", MaxProperties)
	}
	img.Properties[name] = v
	return nil
}

// parseTags validates a tags array: strings of at most 255 characters; repeats
// collapse, as glance keeps tags as a set.
func parseTags(value any) ([]string, error) {
	list, ok := value.([]any)
	if !ok {
		return nil, schemaError("%s is not of type 'array'", quote(value))
	}
	tags := []string{}
	for _, v := range list {
		t, ok := v.(string)
		if !ok {
			return nil, schemaError("%s is not of type 'string'", quote(v))
		}
		if err := ValidateTag(t); err != nil {
			return nil, err
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if len(tags) > MaxTags {
		return nil, errorf(ErrTooLarge, "Maximum number of tags (%d) reached.", MaxTags)
	}
	return tags, nil
}

// ValidateTag checks one tag against the schema.
func ValidateTag(t string) error {
	if len(t) > maxLength {
		return schemaError("%s is too long", quote(t))
	}
	return nil
}

func nullableString(name string, value any) (string, error) {
	if value == nil {
		return "", nil
	}
	v, ok := value.(string)
	if !ok {
		return "", schemaError("%s is not of type 'string', 'null'", quote(value))
	}
	if len(v) > maxLength {
		return "", schemaError("%s is too long (%s is at most %d characters)", quote(value), name, maxLength)
	}
	return v, nil
}

func nonNegative(name string, value any) (int64, error) {
	var f float64
	switch v := value.(type) {
	case json.Number:
		n, err := v.Int64()
		if err != nil {
			return 0, schemaError("%s is not of type 'integer'", v)
		}
		f = float64(n)
	case float64:
		f = v
	case int:
		f = float64(v)
	case int64:
		f = float64(v)
	default:
		return 0, schemaError("%s is not of type 'integer'", quote(value))
	}
	if f != math.Trunc(f) {
		return 0, schemaError("%v is not of type 'integer'", f)
	}
	if f < 0 || f > math.MaxInt32 {
		return 0, schemaError("%v is out of range for %s (0 to %d)", f, name, math.MaxInt32)
	}
	return int64(f), nil
}

// quote renders a JSON value as glance's messages show it.
func quote(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return "'" + x + "'"
	case json.Number:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func pyList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = "'" + x + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// Formats are the disk and container formats the service accepts.
type Formats struct {
	Disk, Container []string
}

// Formats returns the configured disk and container formats.
func (s *Service) Formats() Formats {
	return Formats{Disk: slices.Clone(s.cfg.DiskFormats), Container: slices.Clone(s.cfg.ContainerFormats)}
}
