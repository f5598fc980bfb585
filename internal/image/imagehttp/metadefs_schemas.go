package imagehttp

import (
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
)

// The metadefs schema documents of /v2/schemas/metadefs/* (api-ref "Metadata
// definition schemas"), in glance's shapes.

func (h *Handler) metadefSchemaRoutes(srv *api.Server) {
	docs := map[string]func() obj{
		"namespace": namespaceSchema, "namespaces": namespacesSchema,
		"resource_type": associationSchema, "resource_types": associationsSchema,
		"object": objectSchema, "objects": objectsSchema,
		"property": propertySchema, "properties": propertiesSchema,
		"tag": tagSchema, "tags": tagsSchema,
	}
	for path, doc := range docs {
		srv.Handle("GET /v2/schemas/metadefs/"+path, h.mw.RequireFunc(func(w http.ResponseWriter, r *http.Request) {
			api.WriteJSON(w, http.StatusOK, doc())
		}))
	}
}

// collection is a list schema named name whose key holds items.
func collection(name, key string, items obj) obj {
	return obj{
		"name": name,
		"properties": obj{
			key: obj{"type": "array", "items": items}, "first": obj{"type": "string"},
			"next": obj{"type": "string"}, "schema": obj{"type": "string"},
		},
		"links": []any{obj{"rel": "first", "href": "{first}"}, obj{"rel": "next", "href": "{next}"},
			obj{"rel": "describedby", "href": "{schema}"}},
	}
}

// timestamps are the read-only created_at and updated_at of a metadef.
func timestamps(o obj) obj {
	o["created_at"] = readOnlyOf(obj{"type": "string", "format": "date-time",
		"description": "Date and time of creation"})
	o["updated_at"] = readOnlyOf(obj{"type": "string", "format": "date-time",
		"description": "Date and time of the last modification"})
	return o
}

// propertyDefinition is the schema of one property definition's fields.
func propertyDefinition() obj {
	return obj{
		"name":        obj{"type": "string", "maxLength": 80},
		"title":       obj{"type": "string"},
		"description": obj{"type": "string"},
		"operators":   obj{"type": "array", "items": obj{"type": "string"}},
		"type": obj{"type": "string",
			"enum": []any{"array", "boolean", "integer", "number", "object", "string", nil}},
		"readonly":        obj{"type": "boolean"},
		"default":         obj{},
		"enum":            obj{"type": "array"},
		"minimum":         obj{"type": "number"},
		"maximum":         obj{"type": "number"},
		"maxLength":       obj{"type": "integer", "minimum": 0},
		"minLength":       obj{"type": "integer", "minimum": 0, "default": 0},
		"pattern":         obj{"type": "string", "format": "regex"},
		"items":           obj{"type": "object", "properties": obj{"type": obj{"type": "string"}, "enum": obj{"type": "array"}}},
		"minItems":        obj{"type": "integer", "minimum": 0, "default": 0},
		"maxItems":        obj{"type": "integer", "minimum": 0},
		"uniqueItems":     obj{"type": "boolean", "default": false},
		"additionalItems": obj{"type": "boolean"},
	}
}

// propertySchema is GET /v2/schemas/metadefs/property.
func propertySchema() obj {
	return obj{"name": "property", "additionalProperties": false, "required": []any{"name", "title", "type"},
		"properties": propertyDefinition()}
}

// propertiesSchema is GET /v2/schemas/metadefs/properties.
func propertiesSchema() obj {
	return obj{"name": "properties",
		"properties": obj{
			"properties": obj{"type": "object",
				"additionalProperties": obj{"type": "object", "required": []any{"title", "type"},
					"properties": propertyDefinition()}},
			"first": obj{"type": "string"}, "next": obj{"type": "string"}, "schema": obj{"type": "string"},
		},
		"links": []any{obj{"rel": "first", "href": "{first}"}, obj{"rel": "next", "href": "{next}"},
			obj{"rel": "describedby", "href": "{schema}"}},
	}
}

// associationSchema is GET /v2/schemas/metadefs/resource_type.
func associationSchema() obj {
	return obj{"name": "resource_type_association", "additionalProperties": false, "required": []any{"name"},
		"properties": timestamps(obj{
			"name": obj{"type": "string", "maxLength": 80,
				"description": "Resource type names should be aligned with Heat resource types whenever possible"},
			"prefix": obj{"type": "string", "maxLength": 80,
				"description": "Specifies the prefix to use for the given resource type."},
			"properties_target": obj{"type": "string", "maxLength": 80,
				"description": "Some resource types allow more than one key / value pair per instance."},
		})}
}

// associationsSchema is GET /v2/schemas/metadefs/resource_types.
func associationsSchema() obj {
	return collection("resource_type_associations", "resource_type_associations", associationSchema())
}

// objectSchema is GET /v2/schemas/metadefs/object.
func objectSchema() obj {
	return obj{"name": "object", "additionalProperties": false, "required": []any{"name"},
		"properties": timestamps(obj{
			"name":        obj{"type": "string", "maxLength": 80},
			"description": obj{"type": "string"},
			"required":    obj{"type": "array", "items": obj{"type": "string"}},
			"properties": obj{"type": "object",
				"additionalProperties": obj{"type": "object", "properties": propertyDefinition()}},
			"schema": readOnlyOf(obj{"type": "string"}),
			"self":   readOnlyOf(obj{"type": "string"}),
		})}
}

// objectsSchema is GET /v2/schemas/metadefs/objects.
func objectsSchema() obj { return collection("objects", "objects", objectSchema()) }

// tagSchema is GET /v2/schemas/metadefs/tag.
func tagSchema() obj {
	return obj{"name": "tag", "additionalProperties": false, "required": []any{"name"},
		"properties": timestamps(obj{"name": obj{"type": "string", "maxLength": 255}})}
}

// tagsSchema is GET /v2/schemas/metadefs/tags.
func tagsSchema() obj { return collection("tags", "tags", tagSchema()) }

// namespaceSchema is GET /v2/schemas/metadefs/namespace.
func namespaceSchema() obj {
	return obj{"name": "namespace", "additionalProperties": false, "required": []any{"namespace"},
		"properties": timestamps(obj{
			"namespace": obj{"type": "string", "maxLength": 80,
				"description": "The unique namespace text."},
			"display_name": obj{"type": "string", "maxLength": 80,
				"description": "The user friendly name for the namespace. Used by UI if available."},
			"description": obj{"type": "string", "maxLength": 500,
				"description": "Provides a user friendly description of the namespace."},
			"visibility": obj{"type": "string", "enum": []any{"public", "private"},
				"description": "Scope of namespace accessibility."},
			"protected": obj{"type": "boolean",
				"description": "If true, namespace will not be deletable."},
			"owner": obj{"type": "string", "maxLength": 255, "description": "Owner of the namespace."},
			"resource_type_associations": obj{"type": "array", "items": obj{"type": "object",
				"properties": obj{"name": obj{"type": "string"}, "prefix": obj{"type": "string"},
					"properties_target": obj{"type": "string"}}}},
			"properties": obj{"type": "object",
				"additionalProperties": obj{"type": "object", "properties": propertyDefinition()}},
			"objects": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
				"name": obj{"type": "string"}, "description": obj{"type": "string"},
				"required":   obj{"type": "array", "items": obj{"type": "string"}},
				"properties": obj{"type": "object"}}}},
			"tags": obj{"type": "array", "items": obj{"type": "object",
				"properties": obj{"name": obj{"type": "string"}}}},
			"schema": readOnlyOf(obj{"type": "string"}),
			"self":   readOnlyOf(obj{"type": "string"}),
		})}
}

// namespacesSchema is GET /v2/schemas/metadefs/namespaces.
func namespacesSchema() obj { return collection("namespaces", "namespaces", namespaceSchema()) }
