package computehttp

import (
	"net/http"
	"strconv"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// Query schemas of GET /os-migrations (nova's migrations index_query):
// before 2.59 anything goes; from 2.59 the names are checked.
var (
	migrationsQueryV259 = (&schema{types: []string{"object"}, props: []prop{{"hidden", anyString}, {"host", anyString},
		{"instance_uuid", anyString}, {"source_compute", anyString}, {"status", anyString},
		{"migration_type", anyString}, {"limit", nonNegative}, {"marker", anyString},
		{"changes-since", dateTimeParam}}, additional: no()}).compile()
	migrationsQueryV266 = migrationsQueryV259.with([]prop{{"changes-before", dateTimeParam}}).compile()
	migrationsQueryV280 = migrationsQueryV266.with([]prop{{"user_id", anyString}, {"project_id", anyString}}).compile()
	forceCompleteBody   = (&schema{types: []string{"object"}, props: []prop{{"force_complete", &schema{types: []string{"null"}}}},
		required: []string{"force_complete"}, additional: no()}).compile()
)

// migrationRoutes are os-migrations, served with or without servers.
func (h *Handler) migrationRoutes(srv *api.Server) {
	h.route(srv, "GET /v2.1/os-migrations", h.listMigrations)
}

// serverMigrationRoutes are a server's live migrations (2.22 and later).
func (h *Handler) serverMigrationRoutes(srv *api.Server) {
	h.route(srv, "GET /v2.1/servers/{server_id}/migrations", h.listServerMigrations)
	h.route(srv, "GET /v2.1/servers/{server_id}/migrations/{migration_id}", h.showServerMigration)
	h.route(srv, "DELETE /v2.1/servers/{server_id}/migrations/{migration_id}", h.abortServerMigration)
	h.route(srv, "POST /v2.1/servers/{server_id}/migrations/{migration_id}/action", h.serverMigrationAction)
}

func (h *Handler) listMigrations(w http.ResponseWriter, r *http.Request, v api.Version) error {
	q := r.URL.Query()
	o := compute.MigrationListOptions{Paged: at(v, 59)}
	if o.Paged {
		s := migrationsQueryV259
		switch {
		case at(v, 80):
			s = migrationsQueryV280
		case at(v, 66):
			s = migrationsQueryV266
		}
		if err := validateQuery(s, q); err != nil {
			return err
		}
		o.ChangesSince, _ = last(q, "changes-since")
		if at(v, 66) {
			o.ChangesBefore, _ = last(q, "changes-before")
		}
		var err error
		if o.Limit, o.Marker, err = page(q); err != nil {
			return err
		}
	}
	o.Host, _ = last(q, "host")
	o.SourceCompute, _ = last(q, "source_compute")
	o.Status, _ = last(q, "status")
	o.InstanceUUID, _ = last(q, "instance_uuid")
	o.MigrationType, _ = last(q, "migration_type")
	if hidden, ok := last(q, "hidden"); ok {
		o.Hidden = &hidden
	}
	// Before 2.59 nova passes every query parameter on as a filter, so the
	// user and project filters 2.80 documents work there too.
	if !o.Paged || at(v, 80) {
		o.UserID, _ = last(q, "user_id")
		o.ProjectID, _ = last(q, "project_id")
	}
	list, err := h.svc.Migrations(r.Context(), o)
	if err != nil {
		return err
	}
	views := make([]map[string]any, len(list.Migrations))
	for i, m := range list.Migrations {
		views[i] = migrationView(r, v, m, list.Hosts)
	}
	body := map[string]any{"migrations": views}
	if o.Paged && len(views) > 0 {
		ms := list.Migrations
		if next := h.nextLink(r, "os-migrations", len(ms), ms[len(ms)-1].UUID); next != nil {
			body["migrations_links"] = next
		}
	}
	api.WriteJSON(w, http.StatusOK, body)
	return nil
}

// migrationView is a record of GET /os-migrations for microversion v:
// migration_type and, for live migrations under way, links from 2.23; uuid
// from 2.59; user_id and project_id from 2.80. Hosts are null unless
// policy shows them.
func migrationView(r *http.Request, v api.Version, m compute.Migration, hosts bool) map[string]any {
	out := map[string]any{
		"id": m.ID, "instance_uuid": m.InstanceUUID, "status": m.Status,
		"old_instance_type_id": intOrNull(m.OldInstanceTypeID), "new_instance_type_id": intOrNull(m.NewInstanceTypeID),
		"created_at": perfectTime(m.CreatedAt), "updated_at": perfectTime(m.UpdatedAt),
	}
	setMigrationHosts(out, m, hosts)
	if at(v, 23) {
		out["migration_type"] = m.MigrationType
		if compute.MigrationInProgress(m) {
			out["links"] = links(r, "servers/"+m.InstanceUUID+"/migrations", strconv.FormatInt(m.ID, 10))
		}
	}
	if at(v, 59) {
		out["uuid"] = m.UUID
	}
	if at(v, 80) {
		out["user_id"], out["project_id"] = m.UserID, m.ProjectID
	}
	return out
}

func setMigrationHosts(out map[string]any, m compute.Migration, hosts bool) {
	for k, val := range map[string]string{"source_compute": m.SourceCompute, "source_node": m.SourceNode,
		"dest_compute": m.DestCompute, "dest_node": m.DestNode, "dest_host": m.DestHost} {
		out[k] = nil
		if hosts {
			out[k] = orNull(val)
		}
	}
}

func intOrNull(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// serverMigrationView is a live migration of GET /servers/{id}/migrations:
// nova shows no progress figures of its own here; the driver's are 0.
func serverMigrationView(v api.Version, m compute.Migration, hosts bool) map[string]any {
	out := map[string]any{
		"id": m.ID, "server_uuid": m.InstanceUUID, "status": m.Status,
		"created_at": perfectTime(m.CreatedAt), "updated_at": perfectTime(m.UpdatedAt),
		"memory_total_bytes": nil, "memory_processed_bytes": nil, "memory_remaining_bytes": nil,
		"disk_total_bytes": nil, "disk_processed_bytes": nil, "disk_remaining_bytes": nil,
	}
	setMigrationHosts(out, m, hosts)
	if at(v, 59) {
		out["uuid"] = m.UUID
	}
	if at(v, 80) {
		out["user_id"], out["project_id"] = m.UserID, m.ProjectID
	}
	return out
}

func (h *Handler) listServerMigrations(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if !at(v, 23) {
		return notFound()
	}
	list, err := h.svc.ServerMigrations(r.Context(), r.PathValue("server_id"))
	if err != nil {
		return err
	}
	views := make([]map[string]any, len(list.Migrations))
	for i, m := range list.Migrations {
		views[i] = serverMigrationView(v, m, list.Hosts)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"migrations": views})
	return nil
}

func (h *Handler) showServerMigration(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if !at(v, 23) {
		return notFound()
	}
	m, err := h.svc.ServerMigration(r.Context(), r.PathValue("server_id"), r.PathValue("migration_id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"migration": serverMigrationView(v, m, true)})
	return nil
}

func (h *Handler) serverMigrationAction(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if !at(v, 22) {
		return notFound()
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	name, err := actionName(body)
	if err != nil {
		return err
	}
	if name != "force_complete" {
		return api.BadRequest("There is no such action: %s", name)
	}
	if err := validateBody(forceCompleteBody, body); err != nil {
		return err
	}
	if err := h.svc.ForceCompleteMigration(r.Context(), r.PathValue("server_id"), r.PathValue("migration_id")); err != nil {
		return err
	}
	noContent(w, http.StatusAccepted)
	return nil
}

func (h *Handler) abortServerMigration(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if !at(v, 24) {
		return notFound()
	}
	if err := h.svc.AbortMigration(r.Context(), r.PathValue("server_id"), r.PathValue("migration_id"), at(v, 65)); err != nil {
		return err
	}
	noContent(w, http.StatusAccepted)
	return nil
}
