package computehttp

import (
	"net/http"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// externalEventNames are the event names each microversion accepts, the
// newest first.
var externalEventNames = []struct {
	minor int
	names []string
}{
	{93, []string{compute.EventVolumeReimaged}},
	{82, []string{compute.EventAcceleratorBound}},
	{76, []string{compute.EventPowerUpdate}},
	{51, []string{compute.EventVolumeExtended}},
	{0, []string{compute.EventNetworkChanged, compute.EventNetworkVIFPlugged, compute.EventNetworkVIFUnplugged,
		compute.EventNetworkVIFDeleted}},
}

// externalEventsBody is nova's os-server-external-events create schema of
// a microversion: the event names grow with it.
func externalEventsBody(minor int) *schema {
	var names []string
	for i := len(externalEventNames) - 1; i >= 0; i-- {
		if minor >= externalEventNames[i].minor {
			names = append(names, externalEventNames[i].names...)
		}
	}
	event := &schema{types: []string{"object"}, props: []prop{
		{"server_uuid", &schema{types: []string{"string"}, format: "uuid"}},
		{"name", &schema{types: []string{"string"}, enum: anyList(names)}},
		{"status", &schema{types: []string{"string"}, enum: anyList([]string{compute.EventFailed,
			compute.EventCompleted, compute.EventInProgress})}},
		{"tag", &schema{types: []string{"string"}, maxLength: intp(255)}},
	}, required: []string{"server_uuid", "name"}, additional: no()}
	return (&schema{types: []string{"object"}, props: []prop{
		{"events", &schema{types: []string{"array"}, minItems: intp(1), items: event}},
	}, required: []string{"events"}, additional: no()}).compile()
}

// eventsSchema is the create schema from a microversion on.
type eventsSchema struct {
	minor int
	s     *schema
}

// externalEventsBodies are the create schemas, the newest first.
var externalEventsBodies = func() []eventsSchema {
	var out []eventsSchema
	for _, n := range externalEventNames {
		out = append(out, eventsSchema{n.minor, externalEventsBody(n.minor)})
	}
	return out
}()

// eventAuditRoutes serve os-server-external-events where the cloud runs
// servers and os-instance_usage_audit_log where it manages its services.
func (h *Handler) eventAuditRoutes(srv *api.Server) {
	if h.svc.ServesServers() {
		h.route(srv, "POST /v2.1/os-server-external-events", h.createExternalEvents)
	}
	if h.svc.ManagesServices() {
		h.route(srv, "GET /v2.1/os-instance_usage_audit_log", h.listUsageAuditLogs)
		h.route(srv, "GET /v2.1/os-instance_usage_audit_log/{before_timestamp}", h.showUsageAuditLog)
	}
}

// createExternalEvents answers 200 when every event was handed over, 207
// when some were not, each event echoed with its status and code, and 404
// when none was.
func (h *Handler) createExternalEvents(w http.ResponseWriter, r *http.Request, v api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	for _, b := range externalEventsBodies {
		if at(v, b.minor) {
			if err := validateBody(b.s, body); err != nil {
				return err
			}
			break
		}
	}
	raw := body.(map[string]any)["events"].([]any)
	events := make([]compute.ExternalEvent, len(raw))
	for i, x := range raw {
		m := x.(map[string]any)
		e := compute.ExternalEvent{Name: m["name"].(string), ServerUUID: m["server_uuid"].(string),
			Status: compute.EventCompleted}
		if s, ok := m["status"].(string); ok {
			e.Status = s
		}
		if t, ok := m["tag"].(string); ok {
			e.Tag = &t
		}
		events[i] = e
	}
	outcomes, err := h.svc.ExternalInstanceEvents(r.Context(), events)
	if err != nil {
		return err
	}
	status := http.StatusOK
	for i, o := range outcomes {
		m := raw[i].(map[string]any)
		m["status"], m["code"] = o.Status, o.Code
		if o.Code != http.StatusOK {
			status = http.StatusMultiStatus
		}
	}
	api.WriteJSON(w, status, map[string]any{"events": raw})
	return nil
}

func (h *Handler) listUsageAuditLogs(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	l, err := h.svc.UsageAuditLogs(r.Context())
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"instance_usage_audit_logs": usageAuditLogView(l)})
	return nil
}

func (h *Handler) showUsageAuditLog(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	l, err := h.svc.UsageAuditLog(r.Context(), r.PathValue("before_timestamp"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"instance_usage_audit_log": usageAuditLogView(l)})
	return nil
}

// auditTime is how nova writes the period's bounds: Python's str of a
// naive datetime.
func auditTime(t time.Time) string {
	if t.Nanosecond() != 0 {
		return t.UTC().Format("2006-01-02 15:04:05.000000")
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func usageAuditLogView(l compute.UsageAuditLog) map[string]any {
	log := map[string]any{}
	for host, t := range l.Log {
		log[host] = map[string]any{"state": t.State, "instances": t.Instances, "errors": t.Errors, "message": t.Message}
	}
	return map[string]any{
		"period_beginning":  auditTime(l.PeriodBeginning),
		"period_ending":     auditTime(l.PeriodEnding),
		"num_hosts":         len(l.Hosts),
		"num_hosts_done":    l.HostsDone,
		"num_hosts_running": l.HostsRunning,
		"num_hosts_not_run": len(l.HostsNotRun),
		"hosts_not_run":     l.HostsNotRun,
		"total_instances":   l.TotalInstances,
		"total_errors":      l.TotalErrors,
		"overall_status":    l.OverallStatus(),
		"log":               log,
	}
}
