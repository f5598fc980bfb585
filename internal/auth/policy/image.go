package policy

import "slices"

// Check strings of glance's defaults, composed exactly as glance's
// policies/base.py composes them (the text is the contract).
//
// Targets. Glance enforces every image rule against the image the request
// names, rendered as a flat map; the image service builds the same map:
//
//	project_id  the image's owner (glance aliases project_id to owner)
//	owner       the image's owner
//	visibility  public, community, shared or private
//	member_id   the caller's project when the image is shared and the caller
//	            is not its owner (the image was found through a membership),
//	            else nil; never the member_id of the URL
//	image_id, id, name, status, ... and every additional property, for
//	            operators' own rules (none of the defaults read them)
//
// When no image exists yet (add_image, get_images) the target is
// {project_id, owner: the requested owner, else the caller's project;
// visibility: the requested one, else private}. Task and discovery rules
// take an empty target; cache rules the named image's (cache_image,
// cache_delete of one image), else an empty one; metadef rules take
// {project_id: the namespace's owner (the caller's project when there is no
// namespace), visibility: the namespace's visibility}.
//
// Glance hides what a caller cannot see: a denied rule other than get_image
// answers 404 when get_image is denied too, 403 otherwise. get_image lets a
// reader see every shared image: that a caller is a member of it is
// checked by the store's visibility filter, not by the rule.
const (
	glanceAdmin   = "rule:context_is_admin"
	glanceDefault = "rule:default"
	glanceService = "rule:service_api"

	glanceProjectMember = "role:member and project_id:%(project_id)s"
	glanceProjectReader = "role:reader and project_id:%(project_id)s"
	glanceImageMember   = "project_id:%(member_id)s"
	glanceVisible       = "project_id:%(project_id)s or " + glanceImageMember + " or " +
		"'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s"

	glanceAdminOrMember = glanceAdmin + " or (" + glanceProjectMember + ")"
	glanceAdminOrReader = glanceAdmin + " or (" + glanceProjectReader + ")"
	glanceGetImage      = glanceAdmin + " or (role:reader and (" + glanceVisible + "))"
	glanceDownloadImage = glanceAdmin + " or (role:member and (" + glanceVisible + "))"
	glanceCreateImage   = glanceAdmin + " or (" + glanceProjectMember + " and project_id:%(owner)s)"
	glanceSharedMember  = glanceAdmin + " or (role:member and " + glanceImageMember + ")"
	// glanceReaderOrSharedMember has no parentheses upstream: "and" binds
	// tighter than "or", so an admin passes without the reader role.
	glanceReaderOrSharedMember = glanceAdmin + " or role:reader and (project_id:%(project_id)s or " +
		glanceImageMember + ")"
	glanceServiceOrMember = glanceService + " or (" + glanceProjectMember + " and project_id:%(owner)s)"
	glanceGetNamespace    = glanceAdmin + " or (role:reader and (project_id:%(project_id)s or " +
		"'public':%(visibility)s))"
	glanceMetadefAdmin = "rule:metadef_admin"
)

// ImageDefaults returns Glance's default policy for the image v2 API as of
// the 2024.2 release (API v2.17): project-scoped, secure-RBAC defaults under
// which admins do everything, project members manage their project's images
// and shares, readers read, and members of a shared image see and accept
// it. Rule names carry no prefix ("get_image"), as glance's do, so the
// image service runs its own Enforcer. Descriptions list the HTTP
// operations each rule guards; the comment above the check strings lists
// the target keys they read.
func ImageDefaults() []Default {
	return slices.Concat(
		glanceBaseDefaults(),
		glanceImageDefaults(),
		glanceLocationDefaults(),
		glanceMemberDefaults(),
		glanceTaskDefaults(),
		glanceCacheDefaults(),
		glanceMetadefDefaults(),
	)
}

// glanceRule is a project-scoped glance rule, as all of glance's API rules are.
func glanceRule(name, check, description string) Default {
	return Default{Name: name, Check: check, ScopeTypes: projectOnly(), Description: description}
}

// glanceBaseDefaults returns the building blocks the glance rules refer to.
func glanceBaseDefaults() []Default {
	return []Default{
		{Name: "default", Check: checkAnyone,
			Description: "Rules without a check of their own in an old policy file; allows everyone."},
		{Name: "context_is_admin", Check: "role:admin",
			Description: "Holds the admin role: the request context's is_admin."},
		{Name: "service_api", Check: "role:service",
			Description: "Holds the service role, as service users do."},
	}
}

// glanceImageDefaults returns the rules of images, their data and actions,
// and of store discovery.
func glanceImageDefaults() []Default {
	return []Default{
		glanceRule("add_image", glanceCreateImage, "Create an image: POST /v2/images."),
		glanceRule("delete_image", glanceAdminOrMember, "Delete an image: DELETE /v2/images/{image_id}."),
		glanceRule("get_image", glanceGetImage, "Show an image or its tasks: GET /v2/images/{image_id}, GET /v2/images/{image_id}/tasks; "+
			"checked before every other rule on an existing image."),
		glanceRule("get_images", glanceAdminOrReader, "List images: GET /v2/images."),
		glanceRule("modify_image", glanceAdminOrMember, "Update an image, stage its data or import it: PATCH /v2/images/{image_id}, "+
			"PUT /v2/images/{image_id}/stage, POST /v2/images/{image_id}/import (but copy-image)."),
		glanceRule("publicize_image", glanceAdmin,
			"Make an image public: POST /v2/images, PATCH /v2/images/{image_id} with visibility public."),
		glanceRule("communitize_image", glanceAdminOrMember,
			"Make an image community: POST /v2/images, PATCH /v2/images/{image_id} with visibility community."),
		glanceRule("download_image", glanceDownloadImage,
			"Download image data: GET /v2/images/{image_id}/file."),
		glanceRule("download_from_store", glanceDownloadImage,
			"Download image data from a chosen store: GET /v2/images/{image_id}/file."),
		glanceRule("upload_image", glanceAdminOrMember,
			"Upload image data: PUT /v2/images/{image_id}/file."),
		glanceRule("deactivate", glanceAdminOrMember,
			"Deactivate an image: POST /v2/images/{image_id}/actions/deactivate."),
		glanceRule("reactivate", glanceAdminOrMember,
			"Reactivate an image: POST /v2/images/{image_id}/actions/reactivate."),
		glanceRule("copy_image", glanceAdmin,
			"Copy an existing image to other stores: POST /v2/images/{image_id}/import (copy-image)."),
		{Name: "stores_info_detail", Check: glanceAdmin, ScopeTypes: projectOnly(),
			Description: "Show stores with their properties: GET /v2/info/stores/detail."},
	}
}

// glanceLocationDefaults returns the rules of image locations.
func glanceLocationDefaults() []Default {
	return []Default{
		glanceRule("delete_image_location", glanceAdmin,
			"Remove a location: PATCH /v2/images/{image_id} on /locations."),
		glanceRule("get_image_location", glanceAdminOrReader,
			"Show locations in an image: GET /v2/images/{image_id}."),
		glanceRule("set_image_location", glanceAdminOrMember,
			"Set locations: PATCH /v2/images/{image_id} on /locations."),
		glanceRule("add_image_location", glanceServiceOrMember,
			"Add a location: POST /v2/images/{image_id}/locations."),
		glanceRule("fetch_image_location", glanceService,
			"List locations: GET /v2/images/{image_id}/locations."),
	}
}

// glanceMemberDefaults returns the rules of image members (sharing).
func glanceMemberDefaults() []Default {
	return []Default{
		glanceRule("add_member", glanceAdminOrMember, "Share an image: POST /v2/images/{image_id}/members."),
		glanceRule("delete_member", glanceAdminOrMember,
			"Stop sharing an image: DELETE /v2/images/{image_id}/members/{member_id}."),
		glanceRule("get_member", glanceReaderOrSharedMember,
			"Show a member: GET /v2/images/{image_id}/members/{member_id}."),
		glanceRule("get_members", glanceReaderOrSharedMember,
			"List members: GET /v2/images/{image_id}/members."),
		glanceRule("modify_member", glanceSharedMember,
			"Accept or reject a share: PUT /v2/images/{image_id}/members/{member_id}."),
	}
}

// glanceTaskDefaults returns the rules of the tasks API; tasks_api_access
// guards every call, the others are checked inside glance only.
func glanceTaskDefaults() []Default {
	return []Default{
		glanceRule("get_task", glanceDefault, "Show a task: GET /v2/tasks/{task_id}."),
		glanceRule("get_tasks", glanceDefault, "List tasks: GET /v2/tasks."),
		glanceRule("add_task", glanceDefault, "Create a task: POST /v2/tasks."),
		glanceRule("modify_task", glanceDefault, "Not enforced; kept for old policy files."),
		glanceRule("tasks_api_access", glanceAdmin,
			"Any tasks API call: GET, POST /v2/tasks, GET, DELETE /v2/tasks/{task_id}."),
	}
}

// glanceCacheDefaults returns the rules of the image cache API.
func glanceCacheDefaults() []Default {
	return []Default{
		glanceRule("manage_image_cache", glanceAdmin, "Manage the image cache (legacy cache middleware)."),
		glanceRule("cache_image", glanceAdmin, "Queue an image for caching: PUT /v2/cache/{image_id}."),
		glanceRule("cache_list", glanceAdmin, "List cache status: GET /v2/cache."),
		glanceRule("cache_delete", glanceAdmin,
			"Delete images from the cache or queue: DELETE /v2/cache, DELETE /v2/cache/{image_id}."),
	}
}

// glanceMetadefDefaults returns the rules of metadata definitions.
func glanceMetadefDefaults() []Default {
	const ns = "/v2/metadefs/namespaces"
	read := func(name, ops string) Default { return glanceRule(name, glanceGetNamespace, ops) }
	write := func(name, ops string) Default { return glanceRule(name, glanceMetadefAdmin, ops) }
	return []Default{
		{Name: "metadef_default", Check: checkAnyone, Description: "Base of the metadef rules; allows everyone."},
		{Name: "metadef_admin", Check: glanceAdmin, Description: "Administers metadata definitions."},
		read("get_metadef_namespace", "Show a namespace: GET "+ns+"/{namespace_name}."),
		glanceRule("get_metadef_namespaces", glanceAdminOrReader, "List namespaces: GET "+ns+"."),
		write("modify_metadef_namespace", "Update a namespace: PUT "+ns+"/{namespace_name}."),
		write("add_metadef_namespace", "Create a namespace: POST "+ns+"."),
		write("delete_metadef_namespace", "Delete a namespace: DELETE "+ns+"/{namespace_name}."),
		read("get_metadef_object", "Show an object: GET "+ns+"/{namespace_name}/objects/{object_name}."),
		read("get_metadef_objects", "List objects: GET "+ns+"/{namespace_name}/objects."),
		write("modify_metadef_object", "Update an object: PUT "+ns+"/{namespace_name}/objects/{object_name}."),
		write("add_metadef_object", "Create an object: POST "+ns+"/{namespace_name}/objects."),
		write("delete_metadef_object", "Delete an object: DELETE "+ns+"/{namespace_name}/objects/{object_name}."),
		read("list_metadef_resource_types", "List resource types: GET /v2/metadefs/resource_types."),
		read("get_metadef_resource_type", "List associations: GET "+ns+"/{namespace_name}/resource_types."),
		write("add_metadef_resource_type_association",
			"Associate a resource type: POST "+ns+"/{namespace_name}/resource_types."),
		write("remove_metadef_resource_type_association",
			"Remove an association: DELETE "+ns+"/{namespace_name}/resource_types/{name}."),
		read("get_metadef_property", "Show a property: GET "+ns+"/{namespace_name}/properties/{property_name}."),
		read("get_metadef_properties", "List properties: GET "+ns+"/{namespace_name}/properties."),
		write("modify_metadef_property",
			"Update a property: PUT "+ns+"/{namespace_name}/properties/{property_name}."),
		write("add_metadef_property", "Create a property: POST "+ns+"/{namespace_name}/properties."),
		write("remove_metadef_property",
			"Delete a property: DELETE "+ns+"/{namespace_name}/properties/{property_name}."),
		read("get_metadef_tag", "Show a tag: GET "+ns+"/{namespace_name}/tags/{tag_name}."),
		read("get_metadef_tags", "List tags: GET "+ns+"/{namespace_name}/tags."),
		write("modify_metadef_tag", "Update a tag: PUT "+ns+"/{namespace_name}/tags/{tag_name}."),
		write("add_metadef_tag", "Create a tag: POST "+ns+"/{namespace_name}/tags/{tag_name}."),
		write("add_metadef_tags", "Create tags: POST "+ns+"/{namespace_name}/tags."),
		write("delete_metadef_tag", "Delete a tag: DELETE "+ns+"/{namespace_name}/tags/{tag_name}."),
		write("delete_metadef_tags", "Delete all tags: DELETE "+ns+"/{namespace_name}/tags."),
	}
}
