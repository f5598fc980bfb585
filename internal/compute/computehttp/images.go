package computehttp

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/compute"
)

// The image proxy (nova's deprecated /images and its metadata): images
// until 2.35, their metadata until 2.38; later microversions answer 404
// as if the routes did not exist.
const (
	imagesMaxMinor        = 35
	imageMetadataMaxMinor = 38
)

// imageListQuery is nova's images index_query: the paging parameters are
// positive integers, anything else goes.
var imageListQuery = (&schema{types: []string{"object"}, props: []prop{{"limit", positiveInteger},
	{"page_size", positiveInteger}, {"offset", positiveInteger}}}).compile()

// imageFilters are the query parameters nova passes on to the image
// service, besides property-*.
var imageFilters = []string{"name", "status", "changes-since", "server", "type", "minRam", "minDisk"}

// imageRoutes serve the image proxy where the image service can be
// proxied onto.
func (h *Handler) imageRoutes(srv *api.Server) {
	if !h.svc.ServesImageProxy() {
		return
	}
	h.route(srv, "GET /v2.1/images", h.listImages(false))
	h.route(srv, "GET /v2.1/images/detail", h.listImages(true))
	h.route(srv, "GET /v2.1/images/{image_id}", h.showImage)
	h.route(srv, "DELETE /v2.1/images/{image_id}", h.deleteImage)
	h.route(srv, "GET /v2.1/images/{image_id}/metadata", h.listImageMetadata)
	h.route(srv, "POST /v2.1/images/{image_id}/metadata", h.writeImageMetadata(compute.ImageMetadataMerge))
	h.route(srv, "PUT /v2.1/images/{image_id}/metadata", h.writeImageMetadata(compute.ImageMetadataReplace))
	h.route(srv, "GET /v2.1/images/{image_id}/metadata/{key}", h.showImageMetadataItem)
	h.route(srv, "PUT /v2.1/images/{image_id}/metadata/{key}", h.setImageMetadataItem)
	h.route(srv, "DELETE /v2.1/images/{image_id}/metadata/{key}", h.deleteImageMetadataItem)
}

// imageLinks are an image's self and bookmark links and the alternate one
// to the image service.
func (h *Handler) imageLinks(r *http.Request, id string) []linkView {
	return append(links(r, "images", id), linkView{Rel: "alternate", Type: "application/vnd.openstack.image",
		Href: h.imageURL + "/images/" + url.PathEscape(id)})
}

// SetImageURL names the image service's endpoint (without its version)
// for the alternate links of the image proxy.
func (h *Handler) SetImageURL(u string) { h.imageURL = strings.TrimSuffix(u, "/") }

// imageStatuses and imageProgress are nova's readings of the image
// service's statuses.
var (
	imageStatuses = map[string]string{"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING",
		"deleted": "DELETED", "pending_delete": "DELETED", "killed": "ERROR"}
	imageProgress = map[string]int{"queued": 25, "saving": 50, "active": 100}
)

// imageView is an image of GET /images/{id} and /images/detail.
func (h *Handler) imageView(r *http.Request, img compute.ImageRecord) map[string]any {
	status, ok := imageStatuses[img.Status]
	if !ok {
		status = "UNKNOWN"
	}
	out := map[string]any{"id": img.ID, "name": img.Name, "minRam": img.MinRAM, "minDisk": img.MinDisk,
		"metadata": img.Properties, "created": isoTimeOrNull(img.CreatedAt), "updated": isoTimeOrNull(img.UpdatedAt),
		"status": status, "progress": imageProgress[img.Status], "OS-EXT-IMG-SIZE:size": img.Size,
		"links": h.imageLinks(r, img.ID)}
	if server, ok := img.Properties["instance_uuid"]; ok {
		out["server"] = map[string]any{"id": server, "links": links(r, "servers", server)}
	}
	if adc, ok := img.Properties["auto_disk_config"]; ok {
		out["OS-DCF:diskConfig"] = "MANUAL"
		if boolValue(adc) {
			out["OS-DCF:diskConfig"] = "AUTO"
		}
	}
	return out
}

// isoTimeOrNull is nova's utils.isotime of a time, null when unset.
func isoTimeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return isoTime(t)
}

func (h *Handler) listImages(detail bool) versioned {
	return func(w http.ResponseWriter, r *http.Request, v api.Version) error {
		if at(v, imagesMaxMinor+1) {
			return notFound()
		}
		q := r.URL.Query()
		if err := validateQuery(imageListQuery, q); err != nil {
			return err
		}
		o := compute.ImageListOptions{Params: map[string]string{}}
		for k := range q {
			if slices.Contains(imageFilters, k) || strings.HasPrefix(k, "property-") {
				o.Params[k] = q.Get(k)
			}
		}
		if p, ok := last(q, "limit"); ok {
			n, _ := strconv.Atoi(p)
			o.Limit = &n
		}
		if m, ok := last(q, "marker"); ok {
			o.Marker = &m
		}
		imgs, err := h.svc.Images(r.Context(), o)
		if err != nil {
			return err
		}
		views := make([]map[string]any, len(imgs))
		for i, img := range imgs {
			if detail {
				views[i] = h.imageView(r, img)
			} else {
				views[i] = map[string]any{"id": img.ID, "name": img.Name, "links": h.imageLinks(r, img.ID)}
			}
		}
		body := map[string]any{"images": views}
		collection := "images"
		if detail {
			collection = "images/detail"
		}
		if len(imgs) > 0 {
			if next := h.nextLink(r, collection, len(imgs), imgs[len(imgs)-1].ID); next != nil {
				body["images_links"] = next
			}
		}
		api.WriteJSON(w, http.StatusOK, body)
		return nil
	}
}

func (h *Handler) showImage(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if at(v, imagesMaxMinor+1) {
		return notFound()
	}
	img, err := h.svc.ImageDetail(r.Context(), r.PathValue("image_id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"image": h.imageView(r, img)})
	return nil
}

func (h *Handler) deleteImage(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if at(v, imagesMaxMinor+1) {
		return notFound()
	}
	if err := h.svc.DeleteImageRecord(r.Context(), r.PathValue("image_id")); err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}

func (h *Handler) listImageMetadata(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if at(v, imageMetadataMaxMinor+1) {
		return notFound()
	}
	md, err := h.svc.ImageMetadata(r.Context(), r.PathValue("image_id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"metadata": md})
	return nil
}

func (h *Handler) writeImageMetadata(mode int) versioned {
	return func(w http.ResponseWriter, r *http.Request, v api.Version) error {
		if at(v, imageMetadataMaxMinor+1) {
			return notFound()
		}
		body, err := h.readBody(w, r)
		if err != nil {
			return err
		}
		if err := validateBody(metadataBody, body); err != nil {
			return err
		}
		md := stringMap(body.(map[string]any)["metadata"])
		out, err := h.svc.UpdateImageMetadata(r.Context(), r.PathValue("image_id"), md, mode)
		if err != nil {
			return err
		}
		if mode == compute.ImageMetadataReplace {
			// nova answers with the metadata it was given.
			out = md
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"metadata": out})
		return nil
	}
}

func (h *Handler) showImageMetadataItem(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if at(v, imageMetadataMaxMinor+1) {
		return notFound()
	}
	md, err := h.svc.ImageMetadata(r.Context(), r.PathValue("image_id"))
	if err != nil {
		return err
	}
	key := r.PathValue("key")
	val, ok := md[key]
	if !ok {
		return notFound()
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"meta": map[string]string{key: val}})
	return nil
}

func (h *Handler) setImageMetadataItem(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if at(v, imageMetadataMaxMinor+1) {
		return notFound()
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	if err := validateBody(metadataUpdate, body); err != nil {
		return err
	}
	item := stringMap(body.(map[string]any)["meta"])
	if _, ok := item[r.PathValue("key")]; !ok {
		return api.BadRequest("Request body and URI mismatch")
	}
	if _, err := h.svc.UpdateImageMetadata(r.Context(), r.PathValue("image_id"), item, compute.ImageMetadataMerge); err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"meta": item})
	return nil
}

func (h *Handler) deleteImageMetadataItem(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if at(v, imageMetadataMaxMinor+1) {
		return notFound()
	}
	key := r.PathValue("key")
	if _, err := h.svc.UpdateImageMetadata(r.Context(), r.PathValue("image_id"), map[string]string{key: ""},
		compute.ImageMetadataDelete); err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}
