package imagehttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// The schema documents of glance's /v2/schemas/* (api-ref "Schemas"): the
// `openstack` client validates images and --property input against them.

func (h *Handler) schemaRoutes(srv *api.Server) {
	srv.Handle("GET /v2/schemas/image", h.mw.RequireFunc(func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusOK, imageSchema(h.svc.Formats()))
	}))
	srv.Handle("GET /v2/schemas/images", h.mw.RequireFunc(func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusOK, imagesSchema(h.svc.Formats()))
	}))
	srv.Handle("GET /v2/schemas/member", h.mw.RequireFunc(func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusOK, memberSchema())
	}))
	srv.Handle("GET /v2/schemas/members", h.mw.RequireFunc(func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusOK, membersSchema())
	}))
}

type obj = map[string]any

const uuidRegex = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"

func str(desc string) obj { return obj{"type": "string", "description": desc} }

func readOnlyOf(o obj) obj { o["readOnly"] = true; return o }

func nullable(types, desc string) obj {
	return obj{"type": []any{"null", types}, "description": desc}
}

// formatEnum is a nullable enum of formats, as glance lists disk_format and
// container_format.
func formatEnum(formats []string, desc string) obj {
	enum := []any{nil}
	for _, f := range formats {
		enum = append(enum, f)
	}
	return obj{"type": []any{"null", "string"}, "description": desc, "enum": enum}
}

// imageProperties are the image schema's properties.
func imageProperties(f image.Formats) obj {
	return obj{
		"id": readOnlyOf(obj{"type": "string", "description": "An identifier for the image", "pattern": uuidRegex}),
		"name": obj{"type": []any{"null", "string"}, "description": "Descriptive name for the image",
			"maxLength": 255},
		"status": readOnlyOf(obj{"type": "string", "description": "Status of the image",
			"enum": []any{"queued", "saving", "active", "killed", "deleted", "uploading", "importing",
				"pending_delete", "deactivated"}}),
		"visibility": obj{"type": "string", "description": "Scope of image accessibility",
			"enum": []any{"community", "public", "private", "shared"}},
		"protected": obj{"type": "boolean", "description": "If true, image will not be deletable."},
		"os_hidden": obj{"type": "boolean", "description": "If true, image will not appear in default image list response."},
		"checksum": readOnlyOf(obj{"type": []any{"null", "string"}, "maxLength": 32,
			"description": "md5 hash of image contents."}),
		"os_hash_algo": readOnlyOf(obj{"type": []any{"null", "string"}, "maxLength": 64,
			"description": "Algorithm to calculate the os_hash_value"}),
		"os_hash_value": readOnlyOf(obj{"type": []any{"null", "string"}, "maxLength": 128,
			"description": "Hexdigest of the image contents using the algorithm specified by the os_hash_algo"}),
		"owner":            obj{"type": []any{"null", "string"}, "description": "Owner of the image", "maxLength": 255},
		"size":             readOnlyOf(nullable("integer", "Size of image file in bytes")),
		"virtual_size":     readOnlyOf(nullable("integer", "Virtual size of image in bytes")),
		"container_format": formatEnum(f.Container, "Format of the container"),
		"disk_format":      formatEnum(f.Disk, "Format of the disk"),
		"created_at":       readOnlyOf(str("Date and time of image registration")),
		"updated_at":       readOnlyOf(str("Date and time of the last image modification")),
		"tags": obj{"type": "array", "description": "List of strings related to the image",
			"items": obj{"type": "string", "maxLength": 255}},
		"direct_url": readOnlyOf(str("URL to access the image file kept in external store")),
		"min_ram":    obj{"type": "integer", "description": "Amount of ram (in MB) required to boot image."},
		"min_disk":   obj{"type": "integer", "description": "Amount of disk space (in GB) required to boot image."},
		"self":       readOnlyOf(str("An image self url")),
		"file":       readOnlyOf(str("An image file url")),
		"stores":     readOnlyOf(str("Store in which image data resides.  Only present when the operator has enabled multiple stores.  May be a comma-separated list of store identifiers.")),
		"schema":     readOnlyOf(str("An image schema url")),
		"locations": obj{"type": "array", "description": "A set of URLs to access the image file kept in external store",
			"items": obj{"type": "object", "required": []any{"url", "metadata"},
				"properties": obj{"url": obj{"type": "string", "maxLength": 255}, "metadata": obj{"type": "object"},
					"validation_data": obj{"type": "object"}}}},
		"kernel_id": obj{"type": []any{"null", "string"}, "pattern": uuidRegex, "is_base": false,
			"description": "ID of image stored in Glance that should be used as the kernel when booting an AMI-style image."},
		"ramdisk_id": obj{"type": []any{"null", "string"}, "pattern": uuidRegex, "is_base": false,
			"description": "ID of image stored in Glance that should be used as the ramdisk when booting an AMI-style image."},
		"instance_uuid": obj{"type": "string", "is_base": false,
			"description": "Metadata which can be used to record which instance this image is associated with. (Informational only, does not create an instance snapshot.)"},
		"architecture": obj{"type": "string", "is_base": false,
			"description": "Operating system architecture as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html"},
		"os_distro": obj{"type": "string", "is_base": false,
			"description": "Common name of operating system distribution as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html"},
		"os_version": obj{"type": "string", "is_base": false,
			"description": "Operating system version as specified by the distributor."},
		"description": obj{"type": "string", "is_base": false, "description": "A human-readable string describing this image."},
		"cinder_encryption_key_id": obj{"type": "string", "is_base": false,
			"description": "Identifier in the OpenStack Key Management Service for the encryption key for the Block Storage Service to use when mounting a volume created from this image"},
		"cinder_encryption_key_deletion_policy": obj{"type": "string", "is_base": false,
			"enum":        []any{"on_image_deletion", "do_not_delete"},
			"description": "States the condition under which the Image Service will delete the object associated with the 'cinder_encryption_key_id' image property."},
	}
}

// imageSchema is GET /v2/schemas/image.
func imageSchema(f image.Formats) obj {
	return obj{
		"name":                 "image",
		"properties":           imageProperties(f),
		"additionalProperties": obj{"type": "string"},
		"links": []any{
			obj{"rel": "self", "href": "{self}"},
			obj{"rel": "enclosure", "href": "{file}"},
			obj{"rel": "describedby", "href": "{schema}"},
		},
	}
}

// imagesSchema is GET /v2/schemas/images.
func imagesSchema(f image.Formats) obj {
	return obj{
		"name": "images",
		"properties": obj{
			"images": obj{"type": "array", "items": imageSchema(f)},
			"schema": obj{"type": "string"},
			"first":  obj{"type": "string"},
			"next":   obj{"type": "string"},
		},
		"links": []any{
			obj{"rel": "first", "href": "{first}"},
			obj{"rel": "next", "href": "{next}"},
			obj{"rel": "describedby", "href": "{schema}"},
		},
	}
}

// memberSchema is GET /v2/schemas/member.
func memberSchema() obj {
	return obj{
		"name": "member",
		"properties": obj{
			"created_at": str("Date and time of image member creation"),
			"image_id":   obj{"type": "string", "description": "An identifier for the image", "pattern": uuidRegex},
			"member_id":  str("An identifier for the image member (tenantId)"),
			"schema":     readOnlyOf(obj{"type": "string"}),
			"status": obj{"type": "string", "description": "The status of this image member",
				"enum": []any{"pending", "accepted", "rejected"}},
			"updated_at": str("Date and time of last modification of image member"),
		},
	}
}

// membersSchema is GET /v2/schemas/members.
func membersSchema() obj {
	return obj{
		"name": "members",
		"properties": obj{
			"members": obj{"type": "array", "items": memberSchema()},
			"schema":  obj{"type": "string"},
		},
		"links": []any{obj{"rel": "describedby", "href": "{schema}"}},
	}
}
