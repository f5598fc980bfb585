package imagehttp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// Patch media types of PATCH /v2/images/{image_id} (api-ref "Update image").
const (
	patchV21 = "application/openstack-images-v2.1-json-patch"
	patchV20 = "application/openstack-images-v2.0-json-patch"
)

// glanceTime is glance's timestamp format: "2026-11-27T10:10:44Z".
const glanceTime = "2006-01-02T15:04:05Z"

// imageView is an image as glance renders it (api-ref "Show image"): the base
// attributes, then the additional properties flattened beside them.
type imageView struct {
	ID              string   `json:"id"`
	Name            *string  `json:"name"`
	Status          string   `json:"status"`
	Visibility      string   `json:"visibility"`
	Protected       bool     `json:"protected"`
	Hidden          bool     `json:"os_hidden"`
	Checksum        *string  `json:"checksum"`
	HashAlgo        *string  `json:"os_hash_algo"`
	HashValue       *string  `json:"os_hash_value"`
	Owner           *string  `json:"owner"`
	Size            *int64   `json:"size"`
	VirtualSize     *int64   `json:"virtual_size"`
	MinRAM          int64    `json:"min_ram"`
	MinDisk         int64    `json:"min_disk"`
	DiskFormat      *string  `json:"disk_format"`
	ContainerFormat *string  `json:"container_format"`
	CreatedAt       string   `json:"created_at"`
	UpdatedAt       string   `json:"updated_at"`
	Tags            []string `json:"tags"`
	Self            string   `json:"self"`
	File            string   `json:"file"`
	Schema          string   `json:"schema"`
	Stores          string   `json:"stores,omitempty"`
	// Locations is shown (possibly empty) only with show_multiple_locations.
	Locations *[]locationView `json:"locations,omitempty"`
	DirectURL string          `json:"direct_url,omitempty"`

	props map[string]string
}

// locationView is one entry of an image's locations.
type locationView struct {
	URL      string         `json:"url"`
	Metadata map[string]any `json:"metadata"`
}

// imageView renders img with the locations the service lets the caller see.
func (h *Handler) imageView(r *http.Request, img image.Image) imageView {
	v := newImageView(img)
	lv := h.svc.ViewLocations(r.Context(), img)
	if lv.Show {
		locs := make([]locationView, len(lv.Locations))
		for i, l := range lv.Locations {
			locs[i] = locationView{URL: l.URL, Metadata: l.Metadata}
			if locs[i].Metadata == nil {
				locs[i].Metadata = map[string]any{}
			}
		}
		v.Locations = &locs
	}
	v.DirectURL = lv.DirectURL
	return v
}

// MarshalJSON writes the base attributes and the additional properties as one
// object; a property never hides a base attribute.
func (v imageView) MarshalJSON() ([]byte, error) {
	type plain imageView
	base, err := json.Marshal(plain(v))
	if err != nil || len(v.props) == 0 {
		return base, err
	}
	m := make(map[string]json.RawMessage, len(v.props)+24)
	for k, p := range v.props {
		raw, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		m[k] = raw
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(base, &fields); err != nil {
		return nil, err
	}
	for k, f := range fields {
		m[k] = f
	}
	return json.Marshal(m)
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// newImageView renders img.
func newImageView(img image.Image) imageView {
	v := imageView{ID: img.ID, Name: optString(img.Name), Status: string(img.Status),
		Visibility: string(img.Visibility), Protected: img.Protected, Hidden: img.Hidden,
		Checksum: optString(img.Checksum), HashAlgo: optString(img.HashAlgo), HashValue: optString(img.HashValue),
		Owner: optString(img.Owner), Size: img.Size, VirtualSize: img.VirtualSize,
		MinRAM: img.MinRAM, MinDisk: img.MinDisk,
		DiskFormat: optString(img.DiskFormat), ContainerFormat: optString(img.ContainerFormat),
		CreatedAt: img.CreatedAt.UTC().Format(glanceTime), UpdatedAt: img.UpdatedAt.UTC().Format(glanceTime),
		Tags: img.Tags, Self: "/v2/images/" + img.ID, File: "/v2/images/" + img.ID + "/file",
		Schema: "/v2/schemas/image", props: img.Properties}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	if img.Status == image.Active && len(img.Stores) > 0 {
		v.Stores = strings.Join(slices.Sorted(slices.Values(img.Stores)), ",")
	}
	return v
}

func (h *Handler) imageRoutes(srv *api.Server) {
	srv.Handle("POST /v2/images", h.mw.RequireFunc(h.createImage))
	srv.Handle("GET /v2/images", h.mw.RequireFunc(h.listImages))
	srv.Handle("GET /v2/images/{image_id}", h.mw.RequireFunc(h.getImage))
	srv.Handle("PATCH /v2/images/{image_id}", h.mw.RequireFunc(h.updateImage))
	srv.Handle("DELETE /v2/images/{image_id}", h.mw.RequireFunc(h.deleteImage))
	srv.Handle("POST /v2/images/{image_id}/actions/deactivate", h.mw.RequireFunc(h.deactivateImage))
	srv.Handle("POST /v2/images/{image_id}/actions/reactivate", h.mw.RequireFunc(h.reactivateImage))
}

// createImage is POST /v2/images (api-ref "Create image").
func (h *Handler) createImage(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := h.readJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	if body == nil {
		writeError(w, r, api.BadRequest("Body expected in request."))
		return
	}
	img, err := h.svc.CreateImage(r.Context(), body)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", api.BaseURL(r)+"/v2/images/"+img.ID)
	api.WriteJSON(w, http.StatusCreated, h.imageView(r, img))
}

// getImage is GET /v2/images/{image_id}.
func (h *Handler) getImage(w http.ResponseWriter, r *http.Request) {
	img, err := h.svc.GetImage(r.Context(), r.PathValue("image_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, h.imageView(r, img))
}

// updateImage is PATCH /v2/images/{image_id} with a JSON patch.
func (h *Handler) updateImage(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(strings.ToLower(ct))
	if ct != patchV21 && ct != patchV20 {
		w.Header().Set("Accept-Patch", patchV20+", "+patchV21)
		RenderError(w, r, http.StatusUnsupportedMediaType, "Unsupported Content-Type")
		return
	}
	var raw []map[string]any
	if err := h.readJSON(w, r, &raw); err != nil {
		writeError(w, r, err)
		return
	}
	ops, err := parsePatch(raw)
	if err != nil {
		writeError(w, r, err)
		return
	}
	img, err := h.svc.UpdateImage(r.Context(), r.PathValue("image_id"), ops)
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, h.imageView(r, img))
}

// parsePatch reads JSON-patch operations in either glance dialect: v2.1's
// {"op": "add", "path": "/x", "value": v} or v2.0's {"add": "/x", "value": v}.
func parsePatch(raw []map[string]any) ([]image.PatchOp, error) {
	ops := make([]image.PatchOp, 0, len(raw))
	for _, c := range raw {
		op := image.PatchOp{Value: c["value"]}
		if o, ok := c["op"].(string); ok {
			op.Op = o
			op.Path, _ = c["path"].(string)
			if _, ok := c["path"]; !ok {
				return nil, api.BadRequest("Unable to find '%s' in JSON Schema change", "path")
			}
		} else {
			for _, name := range []string{"add", "replace", "remove"} {
				if p, ok := c[name].(string); ok {
					op.Op, op.Path = name, p
				}
			}
		}
		switch op.Op {
		case "add", "replace":
			if _, ok := c["value"]; !ok {
				return nil, api.BadRequest("Unable to find '%s' in JSON Schema change", "value")
			}
		case "remove":
		case "":
			return nil, api.BadRequest("Unable to find '%s' in JSON Schema change", "op")
		default:
			return nil, api.BadRequest("Invalid operation: `%s`: It must be one of the following: add, replace, remove.", op.Op)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// deleteImage is DELETE /v2/images/{image_id}.
func (h *Handler) deleteImage(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteImage(r.Context(), r.PathValue("image_id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deactivateImage is POST /v2/images/{image_id}/actions/deactivate.
func (h *Handler) deactivateImage(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeactivateImage(r.Context(), r.PathValue("image_id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// reactivateImage is POST /v2/images/{image_id}/actions/reactivate.
func (h *Handler) reactivateImage(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.ReactivateImage(r.Context(), r.PathValue("image_id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// imageTime renders a time as glance does; used by the member views.
func imageTime(t time.Time) string { return t.UTC().Format(glanceTime) }

// sortKeys are the keys glance sorts image lists by.
var sortKeys = []string{"name", "status", "container_format", "disk_format", "size", "id", "created_at",
	"updated_at", "visibility", "owner", "min_disk", "min_ram", "protected", "os_hidden", "virtual_size"}

// listParams are the query parameters of GET /v2/images that are not
// additional-property filters.
var listParams = []string{"limit", "marker", "sort_key", "sort_dir", "sort", "name", "status", "visibility",
	"owner", "tag", "member_status", "size", "size_min", "size_max", "created_at", "updated_at", "os_hidden",
	"protected", "disk_format", "container_format", "id"}

// listImages is GET /v2/images (api-ref "List images").
func (h *Handler) listImages(w http.ResponseWriter, r *http.Request) {
	f, err := parseImageFilter(r.URL.Query())
	if err != nil {
		writeError(w, r, err)
		return
	}
	imgs, more, err := h.svc.ListImages(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]imageView, len(imgs))
	for i, img := range imgs {
		views[i] = h.imageView(r, img)
	}
	q := r.URL.Query()
	q.Del("marker")
	body := map[string]any{"images": views, "schema": "/v2/schemas/images", "first": withQuery("/v2/images", q)}
	if more && len(imgs) > 0 {
		q.Set("marker", imgs[len(imgs)-1].ID)
		body["next"] = withQuery("/v2/images", q)
	}
	api.WriteJSON(w, http.StatusOK, body)
}

func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// parseImageFilter reads the filters, sort and page of an image list.
func parseImageFilter(q url.Values) (image.ImageFilter, error) {
	f := image.ImageFilter{Marker: q.Get("marker"), Name: q.Get("name"), Owner: q.Get("owner"),
		DiskFormat: q.Get("disk_format"), ContainerFormat: q.Get("container_format"), Tags: q["tag"]}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return f, api.BadRequest("limit param must be an integer")
		}
		if n < 0 {
			return f, api.BadRequest("limit param must be positive")
		}
		f.Limit = n
	}
	if err := parseStatusFilters(q, &f); err != nil {
		return f, err
	}
	var err error
	if f.Protected, err = boolParam(q, "protected"); err != nil {
		return f, err
	}
	if f.Hidden, err = boolParam(q, "os_hidden"); err != nil {
		return f, err
	}
	if f.SizeMin, err = intParam(q, "size_min"); err != nil {
		return f, err
	}
	if f.SizeMax, err = intParam(q, "size_max"); err != nil {
		return f, err
	}
	// size=N matches exactly: both bounds, narrowed by any size_min/size_max.
	size, err := intParam(q, "size")
	if err != nil {
		return f, err
	}
	if size != nil {
		if f.SizeMin == nil || *f.SizeMin < *size {
			f.SizeMin = size
		}
		if f.SizeMax == nil || *f.SizeMax > *size {
			f.SizeMax = size
		}
	}
	if f.Created, err = timeParams(q, "created_at"); err != nil {
		return f, err
	}
	if f.Updated, err = timeParams(q, "updated_at"); err != nil {
		return f, err
	}
	if v := q.Get("id"); v != "" {
		f.IDs = strings.Split(strings.TrimPrefix(v, "in:"), ",")
	}
	if f.Sort, err = parseSort(q); err != nil {
		return f, err
	}
	for k, vs := range q {
		if !slices.Contains(listParams, k) && len(vs) > 0 {
			if f.Properties == nil {
				f.Properties = map[string]string{}
			}
			f.Properties[k] = vs[0]
		}
	}
	return f, nil
}

// parseStatusFilters reads status, visibility and member_status.
func parseStatusFilters(q url.Values, f *image.ImageFilter) error {
	if v := q.Get("status"); v != "" {
		for _, s := range strings.Split(strings.TrimPrefix(v, "in:"), ",") {
			f.Status = append(f.Status, image.Status(strings.ToLower(s)))
		}
	}
	if v := q.Get("visibility"); v != "" {
		switch image.Visibility(v) {
		case image.Public, image.Private, image.Shared, image.Community, image.VisibilityAll:
			f.Visibility = image.Visibility(v)
		default:
			return api.BadRequest("Invalid visibility value: %s", v)
		}
	}
	if v := q.Get("member_status"); v != "" {
		switch image.MemberStatus(v) {
		case image.MemberPending, image.MemberAccepted, image.MemberRejected, "all":
			f.MemberStatus = image.MemberStatus(v)
		default:
			return api.BadRequest("Invalid status value: %s", v)
		}
	}
	return nil
}

func boolParam(q url.Values, name string) (*bool, error) {
	if !q.Has(name) {
		return nil, nil
	}
	b, err := strconv.ParseBool(q.Get(name))
	if err != nil {
		return nil, api.BadRequest("Invalid value '%s' for '%s': it must be true or false.", q.Get(name), name)
	}
	return &b, nil
}

func intParam(q url.Values, name string) (*int64, error) {
	if !q.Has(name) {
		return nil, nil
	}
	n, err := strconv.ParseInt(q.Get(name), 10, 64)
	if err != nil {
		return nil, api.BadRequest("Invalid value for %s: %q; it must be an integer.", name, q.Get(name))
	}
	return &n, nil
}

// timeParams reads glance's "op:timestamp" time filters; a timestamp without
// an operator means eq.
func timeParams(q url.Values, name string) ([]image.TimeFilter, error) {
	var out []image.TimeFilter
	for _, v := range q[name] {
		op, ts := "eq", v
		if i := strings.IndexByte(v, ':'); i > 0 && slices.Contains([]string{"gt", "gte", "lt", "lte", "eq", "neq"}, v[:i]) {
			op, ts = v[:i], v[i+1:]
		}
		at, err := parseISOTime(ts)
		if err != nil {
			return nil, api.BadRequest("Invalid timestamp '%s' for %s", ts, name)
		}
		out = append(out, image.TimeFilter{Op: op, At: at})
	}
	return out, nil
}

// parseISOTime accepts the ISO 8601 forms clients send.
func parseISOTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("parse time %q", s)
}

// parseSort reads sort_key/sort_dir (repeatable) or the combined
// sort=key:dir,key syntax; created_at descending by default.
func parseSort(q url.Values) ([]image.SortKey, error) {
	if q.Has("sort") {
		if q.Has("sort_key") || q.Has("sort_dir") {
			return nil, api.BadRequest("The sort param can not be combined with sort_key or sort_dir.")
		}
		var keys []image.SortKey
		for _, part := range strings.Split(q.Get("sort"), ",") {
			key, dir, _ := strings.Cut(strings.TrimSpace(part), ":")
			k, err := sortKey(key, dir)
			if err != nil {
				return nil, err
			}
			keys = append(keys, k)
		}
		return keys, nil
	}
	names, dirs := q["sort_key"], q["sort_dir"]
	if len(names) == 0 {
		names = []string{"created_at"}
	}
	if len(dirs) > 1 && len(dirs) != len(names) {
		return nil, api.BadRequest("Number of sort dirs does not match the number of sort keys")
	}
	keys := make([]image.SortKey, 0, len(names))
	for i, name := range names {
		dir := "desc"
		if len(dirs) == 1 {
			dir = dirs[0]
		} else if len(dirs) > 1 {
			dir = dirs[i]
		}
		k, err := sortKey(name, dir)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func sortKey(key, dir string) (image.SortKey, error) {
	if !slices.Contains(sortKeys, key) {
		return image.SortKey{}, api.BadRequest("Invalid sort key: %s. It must be one of the following: %s.",
			key, strings.Join(sortKeys, ", "))
	}
	switch dir {
	case "", "desc":
		return image.SortKey{Key: key, Desc: true}, nil
	case "asc":
		return image.SortKey{Key: key}, nil
	}
	return image.SortKey{}, api.BadRequest("Invalid sort direction: %s", dir)
}
