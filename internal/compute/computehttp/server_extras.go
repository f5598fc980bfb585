package computehttp

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// Schemas of the actions in this file (nova's schemas/rescue.py,
// admin_actions.py, create_backup.py).
var (
	rescueSchema = wrap("rescue", &schema{types: []string{"object", "null"}, props: []prop{
		{"adminPass", anyString}, {"rescue_image_ref", uuidParam}}, additional: no()})
	resetStateSchema = wrap("os-resetState", &schema{types: []string{"object"}, props: []prop{{"state",
		&schema{types: []string{"string"}, enum: []any{"active", "error"}}}}, required: []string{"state"},
		additional: no()})
	nonNegativeInteger = &schema{types: []string{"integer", "string"}, pattern: `^[0-9]*$`, minimum: floatp(0),
		minLength: intp(1)}
	createBackupSchema = wrap("createBackup", &schema{types: []string{"object"}, props: []prop{{"name", nameParam},
		{"backup_type", anyString}, {"rotation", nonNegativeInteger}, {"metadata", metadataParam}},
		required: []string{"name", "backup_type", "rotation"}, additional: no()})
)

// serverExtraRoutes are the server sub-resources of this file:
// diagnostics (api-ref "Servers diagnostics") and os-server-password
// (api-ref "Servers Password").
func (h *Handler) serverExtraRoutes(srv *api.Server) {
	h.route(srv, "GET /v2.1/servers/{server_id}/diagnostics", h.serverDiagnostics)
	h.route(srv, "GET /v2.1/servers/{server_id}/os-server-password", h.showServerPassword)
	h.route(srv, "DELETE /v2.1/servers/{server_id}/os-server-password", h.clearServerPassword)
}

// rescue is the rescue action: 200 with the rescue password when the cloud
// shows passwords, else an empty object.
func (h *Handler) rescue(w http.ResponseWriter, r *http.Request, _ api.Version, id string, body any) error {
	if err := validateBody(rescueSchema, body); err != nil {
		return err
	}
	var pass *string
	ref := ""
	if in, ok := body.(map[string]any)["rescue"].(map[string]any); ok {
		if p, ok := str(in, "adminPass"); ok {
			pass = &p
		}
		ref, _ = str(in, "rescue_image_ref")
	}
	out, err := h.svc.RescueServer(r.Context(), id, pass, ref)
	if err != nil {
		return err
	}
	resp := map[string]any{}
	if out != nil {
		resp["adminPass"] = *out
	}
	api.WriteJSON(w, http.StatusOK, resp)
	return nil
}

func (h *Handler) resetState(w http.ResponseWriter, r *http.Request, _ api.Version, id string, body any) error {
	if err := validateBody(resetStateSchema, body); err != nil {
		return err
	}
	state := body.(map[string]any)["os-resetState"].(map[string]any)["state"].(string)
	if err := h.svc.ResetState(r.Context(), id, compute.VMState(state)); err != nil {
		return err
	}
	noContent(w, http.StatusAccepted)
	return nil
}

// createBackup answers 202 with the image's Location (when rotation is
// not 0) before 2.45, and {"image_id": ...} from 2.45.
func (h *Handler) createBackup(w http.ResponseWriter, r *http.Request, v api.Version, id string, body any) error {
	if err := validateBody(createBackupSchema, body); err != nil {
		return err
	}
	in := body.(map[string]any)["createBackup"].(map[string]any)
	rotation, err := strconv.Atoi(strings.TrimSpace(pyStr(in["rotation"])))
	if err != nil {
		return api.BadRequest("Invalid input for field/attribute rotation. Value: %s. %s is not an integer",
			pyStr(in["rotation"]), pyRepr(in["rotation"]))
	}
	imageID, url, err := h.svc.CreateBackup(r.Context(), id, in["name"].(string), in["backup_type"].(string), rotation,
		stringMap(in["metadata"]), !at(v, 39))
	if err != nil {
		return err
	}
	if at(v, 45) {
		api.WriteJSON(w, http.StatusAccepted, map[string]any{"image_id": imageID})
		return nil
	}
	if rotation > 0 {
		w.Header().Set("Location", url)
	}
	noContent(w, http.StatusAccepted)
	return nil
}

// serverDiagnostics renders nova's standard diagnostics from 2.48 and,
// before, the libvirt driver's free-form dictionary.
func (h *Handler) serverDiagnostics(w http.ResponseWriter, r *http.Request, v api.Version) error {
	d, err := h.svc.ServerDiagnostics(r.Context(), r.PathValue("server_id"))
	if err != nil {
		return err
	}
	if !at(v, 48) {
		api.WriteJSON(w, http.StatusOK, legacyDiagnostics(d))
		return nil
	}
	cpus := make([]map[string]any, 0, len(d.CPUs))
	for _, c := range d.CPUs {
		cpu := map[string]any{"id": c.ID, "time": c.Time, "utilisation": nil}
		if c.Utilisation >= 0 {
			cpu["utilisation"] = c.Utilisation
		}
		cpus = append(cpus, cpu)
	}
	nics := make([]map[string]any, 0, len(d.NICs))
	for _, n := range d.NICs {
		nics = append(nics, map[string]any{"mac_address": n.MAC, "rx_octets": n.RxOctets, "rx_errors": n.RxErrors,
			"rx_drop": n.RxDrop, "rx_packets": n.RxPackets, "rx_rate": nil, "tx_octets": n.TxOctets,
			"tx_errors": n.TxErrors, "tx_drop": n.TxDrop, "tx_packets": n.TxPackets, "tx_rate": nil})
	}
	disks := make([]map[string]any, 0, len(d.Disks))
	for _, k := range d.Disks {
		disks = append(disks, map[string]any{"read_bytes": k.ReadBytes, "read_requests": k.ReadRequests,
			"write_bytes": k.WriteBytes, "write_requests": k.WriteRequests, "errors_count": k.ErrorsCount})
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"state": d.State, "driver": d.Driver, "hypervisor": d.Hypervisor,
		"hypervisor_os": d.HypervisorOS, "uptime": d.Uptime, "config_drive": d.ConfigDrive, "num_cpus": len(d.CPUs),
		"num_nics": len(d.NICs), "num_disks": len(d.Disks), "cpu_details": cpus, "nic_details": nics,
		"disk_details": disks, "memory_details": map[string]any{"maximum": d.MemoryMaxKB / 1024,
			"used": d.MemoryUsedKB / 1024}})
	return nil
}

// legacyDiagnostics is the free-form shape of microversions before 2.48,
// as nova's libvirt driver words it: cpuN_time, memory (KiB), per disk
// <dev>_read/_read_req/_write/_write_req/_errors, per interface
// vnetN_rx/_rx_packets/... .
func legacyDiagnostics(d compute.Diagnostics) map[string]any {
	out := map[string]any{"memory": d.MemoryMaxKB}
	if d.MemoryUsedKB > 0 {
		out["memory-actual"] = d.MemoryMaxKB
		out["memory-rss"] = d.MemoryUsedKB
	}
	for _, c := range d.CPUs {
		out["cpu"+strconv.Itoa(c.ID)+"_time"] = c.Time
	}
	for _, k := range d.Disks {
		out[k.Name+"_read"], out[k.Name+"_read_req"] = k.ReadBytes, k.ReadRequests
		out[k.Name+"_write"], out[k.Name+"_write_req"] = k.WriteBytes, k.WriteRequests
		out[k.Name+"_errors"] = k.ErrorsCount
	}
	for i, n := range d.NICs {
		p := "vnet" + strconv.Itoa(i)
		out[p+"_rx"], out[p+"_rx_packets"], out[p+"_rx_errors"], out[p+"_rx_drop"] = n.RxOctets, n.RxPackets, n.RxErrors, n.RxDrop
		out[p+"_tx"], out[p+"_tx_packets"], out[p+"_tx_errors"], out[p+"_tx_drop"] = n.TxOctets, n.TxPackets, n.TxErrors, n.TxDrop
	}
	return out
}

func (h *Handler) showServerPassword(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	pass, err := h.svc.ServerPassword(r.Context(), r.PathValue("server_id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"password": pass})
	return nil
}

func (h *Handler) clearServerPassword(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	if err := h.svc.ClearServerPassword(r.Context(), r.PathValue("server_id")); err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}
