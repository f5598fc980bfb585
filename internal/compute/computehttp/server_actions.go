package computehttp

import (
	"net/http"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// serverActionFunc handles one action of POST /servers/{id}/action; in is
// the action's value.
type serverActionFunc func(w http.ResponseWriter, r *http.Request, v api.Version, id string, body any) error

// simpleAction is an action whose body only names it: it is validated as
// {"<name>": anything} and answered 202 (or status) without a body.
func simpleAction(name string, status int, do func(h *Handler, r *http.Request, id string) error) func(h *Handler) serverActionFunc {
	s := wrap(name, anything)
	return func(h *Handler) serverActionFunc {
		return func(w http.ResponseWriter, r *http.Request, _ api.Version, id string, body any) error {
			if err := validateBody(s, body); err != nil {
				return err
			}
			if err := do(h, r, id); err != nil {
				return err
			}
			noContent(w, status)
			return nil
		}
	}
}

// serverActions are the actions of POST /servers/{server_id}/action.
var serverActions = map[string]func(h *Handler) serverActionFunc{
	"os-start": simpleAction("os-start", http.StatusAccepted, func(h *Handler, r *http.Request, id string) error {
		return h.svc.StartServer(r.Context(), id)
	}),
	"os-stop": simpleAction("os-stop", http.StatusAccepted, func(h *Handler, r *http.Request, id string) error {
		return h.svc.StopServer(r.Context(), id)
	}),
	"pause": simpleAction("pause", http.StatusAccepted, func(h *Handler, r *http.Request, id string) error {
		return h.svc.PauseServer(r.Context(), id)
	}),
	"unpause": simpleAction("unpause", http.StatusAccepted, func(h *Handler, r *http.Request, id string) error {
		return h.svc.UnpauseServer(r.Context(), id)
	}),
	"suspend": simpleAction("suspend", http.StatusAccepted, func(h *Handler, r *http.Request, id string) error {
		return h.svc.SuspendServer(r.Context(), id)
	}),
	"resume": simpleAction("resume", http.StatusAccepted, func(h *Handler, r *http.Request, id string) error {
		return h.svc.ResumeServer(r.Context(), id)
	}),
	"confirmResize": simpleAction("confirmResize", http.StatusNoContent, func(h *Handler, r *http.Request, id string) error {
		return h.svc.ConfirmResize(r.Context(), id)
	}),
	"revertResize": simpleAction("revertResize", http.StatusAccepted, func(h *Handler, r *http.Request, id string) error {
		return h.svc.RevertResize(r.Context(), id)
	}),
	"shelve": simpleAction("shelve", http.StatusAccepted, func(h *Handler, r *http.Request, id string) error {
		return h.svc.ShelveServer(r.Context(), id)
	}),
	"shelveOffload": simpleAction("shelveOffload", http.StatusAccepted, func(h *Handler, r *http.Request, id string) error {
		return h.svc.ShelveOffloadServer(r.Context(), id)
	}),
	"forceDelete": simpleAction("forceDelete", http.StatusAccepted, func(h *Handler, r *http.Request, id string) error {
		return h.svc.DeleteServer(r.Context(), id, true)
	}),
	"restore": simpleAction("restore", http.StatusAccepted, func(h *Handler, r *http.Request, id string) error {
		return h.svc.RestoreServer(r.Context(), id)
	}),
	"unlock": simpleAction("unlock", http.StatusAccepted, func(h *Handler, r *http.Request, id string) error {
		return h.svc.UnlockServer(r.Context(), id)
	}),
	"unrescue": simpleAction("unrescue", http.StatusAccepted, func(h *Handler, r *http.Request, id string) error {
		return h.svc.UnrescueServer(r.Context(), id)
	}),
	"injectNetworkInfo": simpleAction("injectNetworkInfo", http.StatusAccepted, func(h *Handler, r *http.Request, id string) error {
		return h.svc.InjectNetworkInfo(r.Context(), id)
	}),
	"rescue":              func(h *Handler) serverActionFunc { return h.rescue },
	"os-resetState":       func(h *Handler) serverActionFunc { return h.resetState },
	"createBackup":        func(h *Handler) serverActionFunc { return h.createBackup },
	"reboot":              func(h *Handler) serverActionFunc { return h.reboot },
	"lock":                func(h *Handler) serverActionFunc { return h.lock },
	"rebuild":             func(h *Handler) serverActionFunc { return h.rebuild },
	"resize":              func(h *Handler) serverActionFunc { return h.resize },
	"createImage":         func(h *Handler) serverActionFunc { return h.createImage },
	"unshelve":            func(h *Handler) serverActionFunc { return h.unshelve },
	"migrate":             func(h *Handler) serverActionFunc { return h.migrate },
	"os-migrateLive":      func(h *Handler) serverActionFunc { return h.migrateLive },
	"evacuate":            func(h *Handler) serverActionFunc { return h.evacuate },
	"os-getConsoleOutput": func(h *Handler) serverActionFunc { return h.consoleOutput },
	"os-getVNCConsole":    func(h *Handler) serverActionFunc { return h.legacyConsole("os-getVNCConsole") },
	"os-getSPICEConsole":  func(h *Handler) serverActionFunc { return h.legacyConsole("os-getSPICEConsole") },
	"os-getSerialConsole": func(h *Handler) serverActionFunc { return h.legacyConsole("os-getSerialConsole") },
}

func (h *Handler) serverAction(w http.ResponseWriter, r *http.Request, v api.Version) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	name, err := actionName(body)
	if err != nil {
		return err
	}
	build, ok := serverActions[name]
	if !ok {
		return api.BadRequest("There is no such action: %s", name)
	}
	return build(h)(w, r, v, r.PathValue("server_id"), body)
}

func (h *Handler) reboot(w http.ResponseWriter, r *http.Request, _ api.Version, id string, body any) error {
	if err := validateBody(rebootSchema, body); err != nil {
		return err
	}
	kind := body.(map[string]any)["reboot"].(map[string]any)["type"].(string)
	if err := h.svc.RebootServer(r.Context(), id, strings.EqualFold(kind, "HARD")); err != nil {
		return err
	}
	noContent(w, http.StatusAccepted)
	return nil
}

func (h *Handler) lock(w http.ResponseWriter, r *http.Request, v api.Version, id string, body any) error {
	s := wrap("lock", anything)
	if at(v, 73) {
		s = lockV273
	}
	if err := validateBody(s, body); err != nil {
		return err
	}
	var reason *string
	if at(v, 73) {
		if in, ok := body.(map[string]any)["lock"].(map[string]any); ok {
			if rs, ok := str(in, "locked_reason"); ok {
				reason = &rs
			}
		}
	}
	if err := h.svc.LockServer(r.Context(), id, reason); err != nil {
		return err
	}
	noContent(w, http.StatusAccepted)
	return nil
}

func (h *Handler) rebuild(w http.ResponseWriter, r *http.Request, v api.Version, id string, body any) error {
	if err := validateBody(rebuildSchema(v), body); err != nil {
		return err
	}
	in := body.(map[string]any)["rebuild"].(map[string]any)
	rb := compute.ServerRebuild{ImageRef: in["imageRef"].(string), Metadata: stringMap(in["metadata"]),
		Personality: personality(in["personality"])}
	if p, ok := str(in, "adminPass"); ok {
		rb.AdminPass = &p
	}
	if n, ok := str(in, "name"); ok {
		n = strings.TrimSpace(n)
		rb.Name = &n
	}
	if at(v, 19) {
		rb.Description = nullable(in, "description")
	}
	if ip, ok := accessIP(in, "accessIPv4"); ok {
		rb.AccessIPv4 = &ip
	}
	if ip, ok := accessIP(in, "accessIPv6"); ok {
		rb.AccessIPv6 = &ip
	}
	if dc, ok := str(in, "OS-DCF:diskConfig"); ok {
		auto := dc == "AUTO"
		rb.AutoDiskConfig = &auto
	}
	if raw, ok := in["preserve_ephemeral"]; ok {
		rb.PreserveEphemeral = boolValue(raw)
	}
	if at(v, 54) {
		rb.KeyName = nullable(in, "key_name")
	}
	if at(v, 57) {
		rb.UserData = nullable(in, "user_data")
	}
	if at(v, 63) {
		rb.TrustedCerts = stringList(in["trusted_image_certificates"])
	}
	if at(v, 90) {
		if hn, ok := str(in, "hostname"); ok {
			rb.Hostname = &hn
		}
	}
	inst, pass, err := h.svc.RebuildServer(r.Context(), id, rb)
	if err != nil {
		return err
	}
	view := h.changedServerView(r, v, inst, true)
	if pass != "" {
		view["adminPass"] = pass
	}
	if at(v, 57) {
		view["user_data"] = ptrOrNull(inst.UserData)
	}
	w.Header().Set("Location", links(r, "servers", inst.UUID)[0].Href)
	api.WriteJSON(w, http.StatusAccepted, map[string]any{"server": view})
	return nil
}

// nullable reads a property that may be null: nil when absent, a pointer
// to nil when null.
func nullable(m map[string]any, key string) **string {
	raw, ok := m[key]
	if !ok {
		return nil
	}
	var p *string
	if s, isStr := raw.(string); isStr {
		p = &s
	}
	return &p
}

func (h *Handler) resize(w http.ResponseWriter, r *http.Request, _ api.Version, id string, body any) error {
	if err := validateBody(resizeSchema, body); err != nil {
		return err
	}
	in := body.(map[string]any)["resize"].(map[string]any)
	var auto *bool
	if dc, ok := str(in, "OS-DCF:diskConfig"); ok {
		a := dc == "AUTO"
		auto = &a
	}
	if err := h.svc.ResizeServer(r.Context(), id, pyStr(in["flavorRef"]), auto); err != nil {
		return err
	}
	noContent(w, http.StatusAccepted)
	return nil
}

func (h *Handler) createImage(w http.ResponseWriter, r *http.Request, v api.Version, id string, body any) error {
	if err := validateBody(createImageSchema, body); err != nil {
		return err
	}
	in := body.(map[string]any)["createImage"].(map[string]any)
	imageID, url, err := h.svc.CreateImage(r.Context(), id, in["name"].(string), stringMap(in["metadata"]), !at(v, 39))
	if err != nil {
		return err
	}
	if at(v, 45) {
		api.WriteJSON(w, http.StatusAccepted, map[string]any{"image_id": imageID})
		return nil
	}
	w.Header().Set("Location", url)
	noContent(w, http.StatusAccepted)
	return nil
}

func (h *Handler) unshelve(w http.ResponseWriter, r *http.Request, v api.Version, id string, body any) error {
	s := wrap("unshelve", anything)
	switch {
	case at(v, 91):
		s = unshelveV291
	case at(v, 77):
		s = unshelveV277
	}
	if err := validateBody(s, body); err != nil {
		return err
	}
	var u compute.UnshelveOptions
	if in, ok := body.(map[string]any)["unshelve"].(map[string]any); ok {
		if raw, present := in["availability_zone"]; present && at(v, 77) {
			u.ZoneSet = true
			if z, ok := raw.(string); ok {
				u.Zone = &z
			}
		}
		if at(v, 91) {
			u.Host, _ = str(in, "host")
		}
	}
	if err := h.svc.UnshelveServer(r.Context(), id, u); err != nil {
		return err
	}
	noContent(w, http.StatusAccepted)
	return nil
}

func (h *Handler) migrate(w http.ResponseWriter, r *http.Request, v api.Version, id string, body any) error {
	host := ""
	if at(v, 56) {
		if err := validateBody(migrateV256, body); err != nil {
			return err
		}
		if in, ok := body.(map[string]any)["migrate"].(map[string]any); ok {
			host, _ = str(in, "host")
		}
	}
	if err := h.svc.MigrateServer(r.Context(), id, host); err != nil {
		return err
	}
	noContent(w, http.StatusAccepted)
	return nil
}

func (h *Handler) migrateLive(w http.ResponseWriter, r *http.Request, v api.Version, id string, body any) error {
	s := migrateLiveV21
	switch {
	case at(v, 68):
		s = migrateLiveV225
	case at(v, 30):
		s = migrateLiveV230
	case at(v, 25):
		s = migrateLiveV225
	}
	if err := validateBody(s, body); err != nil {
		return err
	}
	in := body.(map[string]any)["os-migrateLive"].(map[string]any)
	host, _ := str(in, "host")
	var block *bool
	raw := in["block_migration"]
	if !(at(v, 25) && raw == "auto") {
		b := boolValue(raw)
		block = &b
	}
	force := false
	if at(v, 30) && !at(v, 68) {
		if f, ok := in["force"]; ok {
			force = boolValue(f)
		}
	}
	if err := h.svc.LiveMigrateServer(r.Context(), id, host, block, force); err != nil {
		return err
	}
	noContent(w, http.StatusAccepted)
	return nil
}

func (h *Handler) evacuate(w http.ResponseWriter, r *http.Request, v api.Version, id string, body any) error {
	s := evacuateV21
	switch {
	case at(v, 68):
		s = evacuateV214
	case at(v, 29):
		s = evacuateV229
	case at(v, 14):
		s = evacuateV214
	}
	if err := validateBody(s, body); err != nil {
		return err
	}
	in := body.(map[string]any)["evacuate"].(map[string]any)
	e := compute.EvacuateOptions{TargetStopped: at(v, 95)}
	e.Host, _ = str(in, "host")
	if at(v, 29) && !at(v, 68) {
		if f, ok := in["force"]; ok {
			e.Force = boolValue(f)
		}
	}
	if p, ok := str(in, "adminPass"); ok {
		if !at(v, 14) && boolValue(in["onSharedStorage"]) {
			return api.BadRequest("admin password can't be changed on existing disk")
		}
		e.AdminPass = &p
	}
	pass, err := h.svc.EvacuateServer(r.Context(), id, e)
	if err != nil {
		return err
	}
	if !at(v, 14) && pass != "" && !boolValue(in["onSharedStorage"]) {
		api.WriteJSON(w, http.StatusOK, map[string]any{"adminPass": pass})
		return nil
	}
	noContent(w, http.StatusOK)
	return nil
}

func (h *Handler) consoleOutput(w http.ResponseWriter, r *http.Request, _ api.Version, id string, body any) error {
	if err := validateBody(consoleOutput, body); err != nil {
		return err
	}
	length, err := consoleLength(body.(map[string]any)["os-getConsoleOutput"].(map[string]any)["length"])
	if err != nil {
		return err
	}
	out, err := h.svc.ConsoleOutput(r.Context(), id, length)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"output": out})
	return nil
}

// legacyConsole is os-getVNCConsole, os-getSPICEConsole or
// os-getSerialConsole, which microversion 2.6 replaced by remote-consoles.
func (h *Handler) legacyConsole(action string) serverActionFunc {
	c := legacyConsoles[action]
	s := wrap(action, &schema{types: []string{"object"}, props: []prop{{"type",
		&schema{types: []string{"string"}, enum: c.types}}}, required: []string{"type"}, additional: no()})
	return func(w http.ResponseWriter, r *http.Request, v api.Version, id string, body any) error {
		if at(v, 6) {
			return notFound()
		}
		if err := validateBody(s, body); err != nil {
			return err
		}
		kind := body.(map[string]any)[action].(map[string]any)["type"].(string)
		url, err := h.svc.RemoteConsole(r.Context(), id, c.protocol, kind, true)
		if err != nil {
			return err
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"console": map[string]any{"type": kind, "url": url}})
		return nil
	}
}

func (h *Handler) createRemoteConsole(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if !at(v, 6) {
		return notFound()
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	s := remoteConsoleV26
	switch {
	case at(v, 99):
		s = remoteConsoleV299
	case at(v, 8):
		s = remoteConsoleV28
	}
	if err := validateBody(s, body); err != nil {
		return err
	}
	in := body.(map[string]any)["remote_console"].(map[string]any)
	protocol, kind := in["protocol"].(string), in["type"].(string)
	url, err := h.svc.RemoteConsole(r.Context(), r.PathValue("server_id"), protocol, kind, false)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"remote_console": map[string]any{"protocol": protocol,
		"type": kind, "url": url}})
	return nil
}
