package policy

// Check strings of placement's defaults, as placement/policies/base.py
// composes them. Placement enforces its rules with the target
// {project_id, user_id} of the caller, except GET /usages, whose target is
// {project_id: the project asked about}: so project readers see their own
// project's usage and nothing else.
const (
	placementService           = "rule:service_api"
	placementAdminOrService    = "rule:admin_or_service_api"
	placementAdminReaderOrServ = "rule:admin_or_project_reader_or_service_api"
)

// PlacementDefaults returns placement's default policy as of the 2024.1
// release (microversion 1.39): everything for admins and the service role,
// project readers may see their project's total usages. Rule names carry
// placement's "placement:" prefix. Descriptions list the operations each
// rule guards.
func PlacementDefaults() []Default {
	rule := func(name, check, description string) Default {
		return Default{Name: name, Check: check, ScopeTypes: projectOnly(), Description: description}
	}
	ops := func(name, description string) Default { return rule(name, placementAdminOrService, description) }
	const rp = "/resource_providers/{uuid}"
	return []Default{
		rule("admin_api", "role:admin", "Default rule for most placement APIs."),
		rule("service_api", "role:service", "Default rule for service-to-service placement APIs."),
		rule("admin_or_service_api", "role:admin or role:service", "Default rule for most placement APIs."),
		{Name: "project_reader_api", Check: "role:reader and project_id:%(project_id)s",
			Description: "Default rule for project level reader APIs."},
		rule("admin_or_project_reader_or_service_api", "role:admin or rule:project_reader_api or role:service",
			"Default rule for project level reader APIs."),

		ops("placement:resource_providers:list", "List resource providers: GET /resource_providers."),
		ops("placement:resource_providers:create", "Create resource provider: POST /resource_providers."),
		ops("placement:resource_providers:show", "Show resource provider: GET "+rp+"."),
		ops("placement:resource_providers:update", "Update resource provider: PUT "+rp+"."),
		ops("placement:resource_providers:delete", "Delete resource provider: DELETE "+rp+"."),

		ops("placement:resource_providers:inventories:list", "List resource provider inventories: GET "+rp+"/inventories."),
		ops("placement:resource_providers:inventories:create", "Create one resource provider inventory: POST "+rp+"/inventories."),
		ops("placement:resource_providers:inventories:show", "Show resource provider inventory: GET "+rp+"/inventories/{resource_class}."),
		ops("placement:resource_providers:inventories:update", "Update resource provider inventory: PUT "+rp+"/inventories, "+
			"PUT "+rp+"/inventories/{resource_class}."),
		ops("placement:resource_providers:inventories:delete", "Delete resource provider inventory: DELETE "+rp+"/inventories, "+
			"DELETE "+rp+"/inventories/{resource_class}."),

		ops("placement:resource_providers:aggregates:list", "List resource provider aggregates: GET "+rp+"/aggregates."),
		ops("placement:resource_providers:aggregates:update", "Update resource provider aggregates: PUT "+rp+"/aggregates."),

		ops("placement:resource_providers:traits:list", "List resource provider traits: GET "+rp+"/traits."),
		ops("placement:resource_providers:traits:update", "Update resource provider traits: PUT "+rp+"/traits."),
		ops("placement:resource_providers:traits:delete", "Delete resource provider traits: DELETE "+rp+"/traits."),

		ops("placement:resource_classes:list", "List resource classes: GET /resource_classes."),
		ops("placement:resource_classes:create", "Create resource class: POST /resource_classes."),
		ops("placement:resource_classes:show", "Show resource class: GET /resource_classes/{name}."),
		ops("placement:resource_classes:update", "Update resource class: PUT /resource_classes/{name}."),
		ops("placement:resource_classes:delete", "Delete resource class: DELETE /resource_classes/{name}."),

		ops("placement:traits:list", "List traits: GET /traits."),
		ops("placement:traits:show", "Show trait: GET /traits/{name}."),
		ops("placement:traits:update", "Update trait: PUT /traits/{name}."),
		ops("placement:traits:delete", "Delete trait: DELETE /traits/{name}."),

		ops("placement:allocations:manage", "Manage allocations: POST /allocations."),
		ops("placement:allocations:list", "List allocations: GET /allocations/{consumer_uuid}."),
		ops("placement:allocations:update", "Update allocations: PUT /allocations/{consumer_uuid}."),
		ops("placement:allocations:delete", "Delete allocations: DELETE /allocations/{consumer_uuid}."),
		ops("placement:resource_providers:allocations:list", "List resource provider allocations: GET "+rp+"/allocations."),

		ops("placement:resource_providers:usages", "List resource provider usages: GET "+rp+"/usages."),
		rule("placement:usages", placementAdminReaderOrServ, "List total resource usages for a given project: GET /usages."),

		ops("placement:allocation_candidates:list", "List allocation candidates: GET /allocation_candidates."),
		rule("placement:reshaper:reshape", placementService, "Reshape Inventory and Allocations: POST /reshaper."),
	}
}
