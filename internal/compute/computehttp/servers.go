package computehttp

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// serverRoutes are the servers API (api-ref "Servers" and what hangs off
// a server). They exist only when the service can carry servers out.
func (h *Handler) serverRoutes(srv *api.Server) {
	h.route(srv, "GET /v2.1/servers", h.listServers(false))
	h.route(srv, "GET /v2.1/servers/detail", h.listServers(true))
	h.route(srv, "POST /v2.1/servers", h.createServer)
	h.route(srv, "GET /v2.1/servers/{server_id}", h.showServer)
	h.route(srv, "PUT /v2.1/servers/{server_id}", h.updateServer)
	h.route(srv, "DELETE /v2.1/servers/{server_id}", h.deleteServer)
	h.route(srv, "POST /v2.1/servers/{server_id}/action", h.serverAction)
	h.route(srv, "POST /v2.1/servers/{server_id}/remote-consoles", h.createRemoteConsole)
	h.serverPartRoutes(srv)
	h.serverExtraRoutes(srv)
}

// str reads a string property the schema let through.
func str(m map[string]any, key string) (string, bool) {
	v, ok := m[key].(string)
	return v, ok
}

// count reads min_count or max_count: an integer or a string of digits.
func count(m map[string]any, key string) (int, error) {
	raw, ok := m[key]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(pyStr(raw)))
	if err != nil {
		return 0, api.BadRequest("Invalid input for field/attribute %s. Value: %s. %s is not an integer", key,
			pyStr(raw), pyRepr(raw))
	}
	return n, nil
}

// hintValues is a scheduler hint as nova's request spec keeps it: a list
// of strings.
func hintValues(v any) []string {
	if list, ok := v.([]any); ok {
		out := make([]string, len(list))
		for i, e := range list {
			out[i] = pyStr(e)
		}
		return out
	}
	return []string{pyStr(v)}
}

func (h *Handler) createServer(w http.ResponseWriter, r *http.Request, v api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	if err := validateBody(serverCreateSchema(v), body); err != nil {
		return err
	}
	root := body.(map[string]any)
	in := root["server"].(map[string]any)
	sc := compute.ServerCreate{Name: in["name"].(string), FlavorRef: pyStr(in["flavorRef"])}
	sc.Name = strings.TrimSpace(sc.Name)
	if at(v, 19) {
		if d, ok := str(in, "description"); ok {
			sc.Description = &d
		}
	} else {
		name := sc.Name
		sc.Description = &name
	}
	if at(v, 90) {
		sc.Hostname, _ = str(in, "hostname")
	}
	sc.ImageRef, _ = str(in, "imageRef")
	if p, ok := str(in, "adminPass"); ok {
		sc.AdminPass = &p
	}
	sc.Metadata = stringMap(in["metadata"])
	if list, ok := in["networks"].([]any); ok && len(list) > 0 {
		sc.NetworkList = true
	}
	if dc, ok := str(in, "OS-DCF:diskConfig"); ok {
		auto := dc == "AUTO"
		sc.AutoDiskConfig = &auto
	}
	sc.AccessIPv4, _ = accessIP(in, "accessIPv4")
	sc.AccessIPv6, _ = accessIP(in, "accessIPv6")
	sc.Personality = personality(in["personality"])
	sc.AvailabilityZone, _ = str(in, "availability_zone")
	if list, ok := in["block_device_mapping"].([]any); ok && len(list) > 0 {
		sc.LegacyBlockDevices = true
	}
	if sc.BlockDevices, err = blockDevices(in["block_device_mapping_v2"]); err != nil {
		return err
	}
	if raw, ok := in["config_drive"]; ok {
		sc.ConfigDrive = boolValue(raw)
	}
	if k, ok := str(in, "key_name"); ok {
		sc.KeyName = &k
	}
	if sc.MinCount, err = count(in, "min_count"); err != nil {
		return err
	}
	if sc.MaxCount, err = count(in, "max_count"); err != nil {
		return err
	}
	if groups, ok := in["security_groups"].([]any); ok {
		for _, g := range groups {
			if n, _ := g.(map[string]any)["name"].(string); n != "" {
				sc.SecurityGroups = append(sc.SecurityGroups, n)
			}
		}
	}
	if u, ok := str(in, "user_data"); ok {
		sc.UserData = &u
	}
	if at(v, 52) {
		sc.Tags = stringList(in["tags"])
	}
	sc.TrustedCerts = stringList(in["trusted_image_certificates"])
	if at(v, 74) {
		sc.Host, _ = str(in, "host")
		sc.HypervisorHostname, _ = str(in, "hypervisor_hostname")
	}
	hints, _ := root["os:scheduler_hints"].(map[string]any)
	if hints == nil {
		hints, _ = root["OS-SCH-HNT:scheduler_hints"].(map[string]any)
	}
	sc.SchedulerHints = map[string][]string{}
	for k, val := range hints {
		if !strings.HasPrefix(k, "_nova") {
			sc.SchedulerHints[k] = hintValues(val)
		}
	}
	created, err := h.svc.CreateServers(r.Context(), sc)
	if err != nil {
		return err
	}
	if raw, ok := in["return_reservation_id"]; ok && boolValue(raw) {
		api.WriteJSON(w, http.StatusAccepted, map[string]any{"reservation_id": created.ReservationID})
		return nil
	}
	first := created.Instances[0]
	groups, ok := in["security_groups"]
	if !ok {
		groups = []any{map[string]any{"name": "default"}}
	}
	view := map[string]any{"id": first.UUID, "links": links(r, "servers", first.UUID),
		"OS-DCF:diskConfig": diskConfig(first.AutoDiskConfig), "security_groups": groups}
	if created.AdminPass != "" {
		view["adminPass"] = created.AdminPass
	}
	w.Header().Set("Location", links(r, "servers", first.UUID)[0].Href)
	api.WriteJSON(w, http.StatusAccepted, map[string]any{"server": view})
	return nil
}

// stringMap reads a metadata object the schema let through.
func stringMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, val := range m {
		out[k], _ = val.(string)
	}
	return out
}

// stringList reads an array of strings.
func stringList(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func personality(v any) []compute.InjectedFile {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	var out []compute.InjectedFile
	for _, e := range list {
		m := e.(map[string]any)
		p, _ := m["path"].(string)
		c, _ := m["contents"].(string)
		out = append(out, compute.InjectedFile{Path: p, Contents: c})
	}
	return out
}

// blockDevices reads block_device_mapping_v2 as nova's from_api does.
func blockDevices(v any) ([]compute.BlockDevice, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, nil
	}
	var out []compute.BlockDevice
	for _, e := range list {
		m := e.(map[string]any)
		b := compute.BlockDevice{}
		b.SourceType, _ = str(m, "source_type")
		b.DestinationType, _ = str(m, "destination_type")
		if b.DestinationType == "" {
			b.DestinationType = "volume"
		}
		b.DeviceName, _ = str(m, "device_name")
		b.GuestFormat, _ = str(m, "guest_format")
		b.DeviceType, _ = str(m, "device_type")
		b.DiskBus, _ = str(m, "disk_bus")
		b.Tag, _ = str(m, "tag")
		id, _ := str(m, "uuid")
		if img, ok := str(m, "image_id"); ok && id == "" {
			id = img
		}
		switch b.SourceType {
		case "volume", "snapshot":
			b.VolumeID = id
		default:
			b.ImageID = id
		}
		if raw, ok := m["boot_index"]; ok && raw != nil {
			n, err := strconv.Atoi(pyStr(raw))
			if err != nil {
				return nil, api.BadRequest("Block Device Mapping is Invalid: Boot index is invalid.")
			}
			b.BootIndex = &n
		}
		if raw, ok := m["volume_size"]; ok {
			n, err := strconv.Atoi(pyStr(raw))
			if err != nil {
				return nil, api.BadRequest("Block Device Mapping is Invalid: Invalid volume_size.")
			}
			b.VolumeSize = &n
		}
		if raw, ok := m["delete_on_termination"]; ok {
			b.DeleteOnTermination = boolValue(raw)
		}
		out = append(out, b)
	}
	return out, nil
}

// userFilters are the list filters every caller may use at microversion v
// (nova's _get_server_search_options).
func userFilters(v api.Version) []string {
	out := []string{"reservation_id", "name", "status", "image", "flavor", "ip", "changes-since", "all_tenants"}
	if at(v, 5) {
		out = append(out, "ip6")
	}
	if at(v, 26) {
		out = append(out, "tags", "tags-any", "not-tags", "not-tags-any")
	}
	if at(v, 66) {
		out = append(out, "changes-before")
	}
	if at(v, 73) {
		out = append(out, "locked")
	}
	if at(v, 83) {
		out = append(out, "availability_zone", "config_drive", "key_name", "created_at", "launched_at",
			"terminated_at", "power_state", "task_state", "vm_state", "progress", "user_id")
	}
	if at(v, 90) {
		out = append(out, "hostname")
	}
	return out
}

func (h *Handler) listServers(detail bool) versioned {
	return func(w http.ResponseWriter, r *http.Request, v api.Version) error {
		q := r.URL.Query()
		if err := validateQuery(serverListSchema(v), q); err != nil {
			return err
		}
		o := compute.ServerListOptions{Detail: detail, Params: map[string]string{}, Statuses: q["status"],
			SortKeys: q["sort_key"], SortDirs: q["sort_dir"], UserFilters: userFilters(v), StrictStatus: at(v, 38),
			TagLists: at(v, 26), IgnoredSortKeys: ignoredSortKeys}
		if !at(v, 73) {
			o.IgnoredSortKeys = append(slices.Clone(ignoredSortKeys), "locked")
		}
		for k := range q {
			o.Params[k], _ = last(q, k)
		}
		var err error
		if o.Limit, o.Marker, err = page(q); err != nil {
			return err
		}
		insts, err := h.svc.Servers(r.Context(), o)
		if err != nil {
			return err
		}
		collection := "servers"
		views := make([]map[string]any, len(insts))
		if detail {
			collection = "servers/detail"
			pol := h.svc.ServerViewPolicy(r.Context(), "")
			if !at(v, 47) {
				pol.FlavorExtraSpecs = false
			}
			opts := fullShow()
			opts.extendedAttrs = pol.ExtendedAttrs
			for i, inst := range insts {
				views[i] = serverView(r, v, inst, opts, pol, h.hostStatusFor(r, v, pol, inst))
			}
		} else {
			for i, inst := range insts {
				views[i] = map[string]any{"id": inst.UUID, "name": inst.DisplayName, "links": links(r, "servers", inst.UUID)}
			}
		}
		body := map[string]any{"servers": views}
		if len(insts) > 0 {
			if next := h.nextLink(r, collection, len(insts), insts[len(insts)-1].UUID); next != nil {
				body["servers_links"] = next
			}
		}
		api.WriteJSON(w, http.StatusOK, body)
		return nil
	}
}

func (h *Handler) showServer(w http.ResponseWriter, r *http.Request, v api.Version) error {
	inst, err := h.svc.Server(r.Context(), r.PathValue("server_id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"server": h.showServerView(r, v, inst)})
	return nil
}

func (h *Handler) updateServer(w http.ResponseWriter, r *http.Request, v api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	if err := validateBody(serverUpdateSchema(v), body); err != nil {
		return err
	}
	in := body.(map[string]any)["server"].(map[string]any)
	var u compute.ServerUpdate
	if n, ok := str(in, "name"); ok {
		u.Name = &n
	}
	if raw, ok := in["description"]; ok {
		d, isStr := raw.(string)
		var p *string
		if isStr {
			p = &d
		}
		u.Description = &p
	}
	if hn, ok := str(in, "hostname"); ok {
		u.Hostname = &hn
	}
	if ip, ok := accessIP(in, "accessIPv4"); ok {
		u.AccessIPv4 = &ip
	}
	if ip, ok := accessIP(in, "accessIPv6"); ok {
		u.AccessIPv6 = &ip
	}
	if dc, ok := str(in, "OS-DCF:diskConfig"); ok {
		auto := dc == "AUTO"
		u.AutoDiskConfig = &auto
	}
	inst, err := h.svc.UpdateServer(r.Context(), r.PathValue("server_id"), u)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"server": h.changedServerView(r, v, inst, false)})
	return nil
}

func (h *Handler) deleteServer(w http.ResponseWriter, r *http.Request, _ api.Version) error {
	err := h.svc.DeleteServer(r.Context(), r.PathValue("server_id"), false)
	if err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}

// consoleLength reads the length of a console output request; nil is all.
func consoleLength(raw any) (*int, error) {
	if raw == nil {
		return nil, nil
	}
	var s string
	switch x := raw.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = x
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return nil, api.BadRequest("Invalid input for field/attribute length. Value: %s. %s is not an integer", pyStr(raw),
			pyRepr(raw))
	}
	return &n, nil
}

// accessIP is an accessIPv4 or accessIPv6 of a request body (validated by
// its schema) in its canonical form, as nova stores it after reading it
// as an address: 0000:0000:0000:0000:0000:babe:220.12.22.2 becomes
// ::babe:dc0c:1602.
func accessIP(in map[string]any, key string) (string, bool) {
	ip, ok := str(in, key)
	if a, err := netip.ParseAddr(ip); err == nil {
		ip = a.String()
	}
	return ip, ok
}
