package image

import (
	"context"
	"encoding/hex"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Policy rules of image locations, as glance names them.
const (
	RuleGetImageLocation    = "get_image_location"
	RuleSetImageLocation    = "set_image_location"
	RuleDeleteImageLocation = "delete_image_location"
)

// maxLocationURL is the schema's maxLength of a location's url.
const maxLocationURL = 255

// hashHexLen is the length of an os_hash_value of algo, in hex digits.
func hashHexLen(algo string) int {
	switch algo {
	case "sha256":
		return 64
	case "sha384":
		return 96
	}
	return 128
}

// ImageLocations returns img's locations in order: the stored list, led by the
// Backend's location when the image has uploaded data the list does not name.
// Staged data (uploading, importing) is no location.
func ImageLocations(img Image) []Location {
	out := make([]Location, 0, len(img.Locations)+1)
	if img.Location != "" && (img.Status == Active || img.Status == Deactivated) &&
		!slices.ContainsFunc(img.Locations, func(l Location) bool { return l.URL == img.Location }) {
		out = append(out, Location{URL: img.Location, Metadata: map[string]any{}})
	}
	for _, l := range img.Locations {
		out = append(out, cloneLocation(l))
	}
	return out
}

// cloneLocation copies a location with its metadata.
func cloneLocation(l Location) Location {
	m := make(map[string]any, len(l.Metadata))
	for k, v := range l.Metadata {
		m[k] = v
	}
	return Location{URL: l.URL, Metadata: m}
}

// LocationView is what an image's view shows of its locations.
type LocationView struct {
	// Show says whether the view has a locations list at all.
	Show bool
	// Locations are the locations the caller may see (empty when
	// get_image_location refuses them).
	Locations []Location
	// DirectURL is the first location's URL, when show_image_direct_url is on.
	DirectURL string
}

// ViewLocations returns what the view of img shows of its locations, as
// glance's show_multiple_locations and show_image_direct_url say.
func (s *Service) ViewLocations(ctx context.Context, img Image) LocationView {
	if !s.cfg.ShowMultipleLocations && !s.cfg.ShowDirectURL {
		return LocationView{}
	}
	var locs []Location
	if err := s.authorize(ctx, RuleGetImageLocation, imageTarget(img, "")); err == nil {
		locs = ImageLocations(img)
	}
	v := LocationView{Show: s.cfg.ShowMultipleLocations}
	if v.Show {
		v.Locations = locs
		if v.Locations == nil {
			v.Locations = []Location{}
		}
	}
	if s.cfg.ShowDirectURL && len(locs) > 0 {
		v.DirectURL = locs[0].URL
	}
	return v
}

// IsLocationsPath reports whether a patch path addresses the locations list
// ("/locations" or "/locations/N").
func IsLocationsPath(path string) bool {
	return path == "/locations" || strings.HasPrefix(path, "/locations/")
}

// applyLocationOp applies one patch operation on /locations to img, glance's
// _do_add_locations, _do_replace_locations and _do_remove_locations. target is
// the policy target of the stored image.
func (s *Service) applyLocationOp(ctx context.Context, img *Image, op PatchOp, target map[string]any) error {
	if !s.cfg.ShowMultipleLocations {
		return errorf(ErrForbidden, "It's not allowed to %s locations if locations are invisible.", opVerb(op.Op))
	}
	rule := RuleSetImageLocation
	if op.Op == "remove" {
		rule = RuleDeleteImageLocation
	}
	if err := s.authorize(ctx, rule, target); err != nil {
		return err
	}
	pos := strings.TrimPrefix(strings.TrimPrefix(op.Path, "/locations"), "/")
	locs := ImageLocations(*img)
	var err error
	switch op.Op {
	case "add":
		locs, err = s.addLocation(img, locs, pos, op.Value)
	case "replace":
		if op.Path != "/locations" {
			return errorf(ErrValidation, "Invalid JSON pointer for this resource: '%s'", op.Path)
		}
		locs, err = s.replaceLocations(img, locs, op.Value)
	case "remove":
		locs, err = removeLocation(img, locs, pos)
	default:
		return errorf(ErrValidation, "Unable to find '%s' in JSON Schema change", op.Op)
	}
	if err != nil {
		return err
	}
	img.Locations = locs
	if img.Location != "" && !slices.ContainsFunc(locs, func(l Location) bool { return l.URL == img.Location }) {
		img.Location, img.Stores = "", nil
	}
	return nil
}

func opVerb(op string) string {
	switch op {
	case "replace":
		return "update"
	case "remove":
		return "remove"
	}
	return "add"
}

// addLocation inserts one location at pos ("-" or an index up to the length).
func (s *Service) addLocation(img *Image, locs []Location, pos string, value any) ([]Location, error) {
	if img.Status != Active && img.Status != Queued {
		return nil, errorf(ErrConflict, "It's not allowed to add locations if image status is %s.", img.Status)
	}
	loc, val, err := parseLocation(value)
	if err != nil {
		return nil, err
	}
	newVal, err := s.checkValidationData(*img, []map[string]string{val})
	if err != nil {
		return nil, err
	}
	i, ok := locationPos(pos, len(locs), true)
	if !ok {
		return nil, errorf(ErrValidation, "Invalid position for adding a location.")
	}
	if err := checkNewURL(loc.URL, locs); err != nil {
		return nil, err
	}
	activate(img, newVal)
	return slices.Insert(locs, i, loc), nil
}

// replaceLocations replaces the whole list. As in glance, a non-empty list may
// only be replaced by one with the same URLs: only metadata changes.
func (s *Service) replaceLocations(img *Image, locs []Location, value any) ([]Location, error) {
	if img.Status != Active && img.Status != Queued {
		return nil, errorf(ErrConflict, "It's not allowed to replace locations if image status is %s.", img.Status)
	}
	list, ok := value.([]any)
	if !ok {
		return nil, errorf(ErrValidation, "Invalid locations: %s is not of type 'array'", quote(value))
	}
	out := make([]Location, 0, len(list))
	vals := make([]map[string]string, 0, len(list))
	for _, v := range list {
		loc, val, err := parseLocation(v)
		if err != nil {
			return nil, err
		}
		out, vals = append(out, loc), append(vals, val)
	}
	newVal, err := s.checkValidationData(*img, vals)
	if err != nil {
		return nil, err
	}
	if len(locs) > 0 {
		if !slices.Equal(sortedURLs(locs), sortedURLs(out)) {
			return nil, errorf(ErrValidation, "Original locations is not empty: %s", strings.Join(urlsOf(locs), ", "))
		}
		return out, nil
	}
	var seen []Location
	for _, l := range out {
		if err := checkNewURL(l.URL, seen); err != nil {
			return nil, err
		}
		seen = append(seen, l)
	}
	if len(out) > 0 {
		activate(img, newVal)
	}
	return out, nil
}

// removeLocation removes the location at pos; the last one may not go.
func removeLocation(img *Image, locs []Location, pos string) ([]Location, error) {
	if img.Status != Active {
		return nil, errorf(ErrConflict, "It's not allowed to remove locations if image status is %s.", img.Status)
	}
	if len(locs) == 1 {
		return nil, errorf(ErrForbidden, "Cannot remove last location in the image.")
	}
	i, ok := locationPos(pos, len(locs), false)
	if !ok {
		return nil, errorf(ErrValidation, "Invalid position for removing a location.")
	}
	return slices.Delete(locs, i, i+1), nil
}

// activate makes a queued image active with the validation data given.
func activate(img *Image, val map[string]string) {
	if img.Status != Queued {
		return
	}
	if v, ok := val["checksum"]; ok {
		img.Checksum = v
	}
	if v, ok := val["os_hash_algo"]; ok {
		img.HashAlgo = v
	}
	if v, ok := val["os_hash_value"]; ok {
		img.HashValue = v
	}
	img.Status = Active
}

// locationPos reads a position: an index, or "-" (the end) when adding.
func locationPos(pos string, n int, adding bool) (int, bool) {
	if pos == "-" && adding {
		return n, true
	}
	i, err := strconv.Atoi(pos)
	if err != nil || i < 0 || (adding && i > n) || (!adding && i >= n) {
		return 0, false
	}
	return i, true
}

// parseLocation validates one location object of a patch:
// {"url": ..., "metadata": {...}, "validation_data": {...}}.
func parseLocation(value any) (Location, map[string]string, error) {
	obj, ok := value.(map[string]any)
	if !ok {
		return Location{}, nil, locationError("%s is not of type 'object'", quote(value))
	}
	u, ok := obj["url"].(string)
	if !ok {
		return Location{}, nil, locationError("'url' is a required property of type 'string'")
	}
	if len(u) > maxLocationURL {
		return Location{}, nil, locationError("%s is too long", quote(u))
	}
	meta, ok := obj["metadata"].(map[string]any)
	if !ok {
		return Location{}, nil, locationError("'metadata' is a required property of type 'object'")
	}
	for k := range obj {
		if k != "url" && k != "metadata" && k != "validation_data" {
			return Location{}, nil, locationError("Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	val, err := parseValidationData(obj["validation_data"])
	if err != nil {
		return Location{}, nil, err
	}
	return cloneLocation(Location{URL: u, Metadata: meta}), val, nil
}

// parseValidationData reads a location's validation_data: checksum,
// os_hash_algo and os_hash_value, the last two together.
func parseValidationData(value any) (map[string]string, error) {
	if value == nil {
		return nil, nil
	}
	obj, ok := value.(map[string]any)
	if !ok {
		return nil, locationError("validation_data %s is not of type 'object'", quote(value))
	}
	out := map[string]string{}
	for k, v := range obj {
		if k != "checksum" && k != "os_hash_algo" && k != "os_hash_value" {
			return nil, locationError("Additional properties are not allowed ('%s' was unexpected)", k)
		}
		str, ok := v.(string)
		if !ok {
			return nil, locationError("%s is not of type 'string'", quote(v))
		}
		out[k] = str
	}
	_, algo := out["os_hash_algo"]
	_, value2 := out["os_hash_value"]
	if algo != value2 {
		return nil, locationError("'os_hash_algo' and 'os_hash_value' must be given together")
	}
	return out, nil
}

func locationError(format string, args ...any) error {
	return errorf(ErrValidation, "Invalid location: "+format, args...)
}

// checkValidationData is glance's _validate_validation_data: the values of the
// new locations must agree with each other and with the image's; values the
// image lacks may only be set on a queued image, and must be well formed. It
// returns the values to set.
func (s *Service) checkValidationData(img Image, vals []map[string]string) (map[string]string, error) {
	all := map[string]string{}
	for _, val := range vals {
		for k, v := range val {
			if prev, ok := all[k]; ok && prev != v {
				return nil, errorf(ErrConflict, "Conflicting values for %s", k)
			}
			all[k] = v
		}
	}
	current := map[string]string{"checksum": img.Checksum, "os_hash_algo": img.HashAlgo,
		"os_hash_value": img.HashValue}
	out := map[string]string{}
	for k, v := range all {
		switch cur := current[k]; {
		case v == cur:
		case cur != "":
			return nil, errorf(ErrConflict, "%s %s already set with a different value", k, img.ID)
		default:
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	if img.Status != Queued {
		return nil, errorf(ErrValidation, "New value(s) for %s may only be provided when image status is 'queued'",
			strings.Join(sortedKeys(out), ", "))
	}
	if c, ok := out["checksum"]; ok && !isHex(c, 32) {
		return nil, errorf(ErrValidation, "checksum (%s) is not a valid hexadecimal value", c)
	}
	algo := all["os_hash_algo"]
	if _, ok := out["os_hash_algo"]; ok && algo != s.cfg.HashAlgo {
		return nil, errorf(ErrConflict, "os_hash_algo must be %s, not %s", s.cfg.HashAlgo, algo)
	}
	if v, ok := out["os_hash_value"]; ok && !isHex(v, hashHexLen(algo)) {
		return nil, errorf(ErrValidation, "os_hash_value (%s) is not a valid hexadecimal value of length %d",
			v, hashHexLen(algo))
	}
	return out, nil
}

// isHex reports whether s is n hexadecimal digits.
func isHex(s string, n int) bool {
	_, err := hex.DecodeString(s)
	return len(s) == n && err == nil
}

// checkNewURL refuses a URL of a scheme no store serves (only http and https
// can be added) and a URL already in locs.
func checkNewURL(raw string, locs []Location) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errorf(ErrValidation, "Invalid location %s", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errorf(ErrValidation, "Unknown scheme '%s' found in URI", u.Scheme)
	}
	if slices.ContainsFunc(locs, func(l Location) bool { return l.URL == raw }) {
		return errorf(ErrValidation, "The location %s already exists", raw)
	}
	return nil
}

func urlsOf(locs []Location) []string {
	out := make([]string, len(locs))
	for i, l := range locs {
		out[i] = l.URL
	}
	return out
}

func sortedURLs(locs []Location) []string {
	out := urlsOf(locs)
	slices.Sort(out)
	return out
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
