package imagesql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// sortColumn is how one sort key reads in SQL.
type sortColumn struct {
	// expr is the expression sorted and compared; nullable sizes read as -1 so
	// that an unknown size sorts before every known one on every engine.
	expr string
	// text marks string columns, compared in byte order.
	text bool
}

// sortColumns is the whitelist of sort keys glance accepts.
var sortColumns = map[string]sortColumn{
	"name":             {expr: "i.name", text: true},
	"status":           {expr: "i.status", text: true},
	"container_format": {expr: "i.container_format", text: true},
	"disk_format":      {expr: "i.disk_format", text: true},
	"size":             {expr: "COALESCE(i.size, -1)"},
	"id":               {expr: "i.id", text: true},
	"created_at":       {expr: "i.created_at"},
	"updated_at":       {expr: "i.updated_at"},
	"visibility":       {expr: "i.visibility", text: true},
	"owner":            {expr: "i.owner", text: true},
	"min_disk":         {expr: "i.min_disk"},
	"min_ram":          {expr: "i.min_ram"},
	"protected":        {expr: "i.protected"},
	"os_hidden":        {expr: "i.os_hidden"},
	"virtual_size":     {expr: "COALESCE(i.virtual_size, -1)"},
}

// timeOps maps glance's time filter operators to SQL.
var timeOps = map[string]string{"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "=", "neq": "<>"}

// orderKey is one resolved sort key.
type orderKey struct {
	sortColumn
	desc bool
}

// ListImages returns one page of the images f selects, in f's sort order with
// id as the last tiebreaker. A Marker names the last image of the previous
// page; one that does not exist, or that the project may not see, is
// ErrNotFound. Unknown sort keys and time operators are ErrValidation.
func (s *Store) ListImages(ctx context.Context, f image.ImageFilter) ([]image.Image, error) {
	keys, err := resolveSort(f.Sort)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	w, err := filterImages(f)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	if w.None {
		return nil, nil
	}
	var out []image.Image
	err = s.d.InTx(ctx, func(tx *db.Tx) error {
		if f.Marker != "" {
			if err := afterMarker(ctx, tx, w, keys, f); err != nil {
				return err
			}
		}
		q := `SELECT ` + imageColumns + ` FROM images i` + w.String() + sortClause(tx.Engine(), keys)
		args := w.Args
		if f.Limit > 0 {
			q += " LIMIT ?"
			args = append(args, f.Limit)
		}
		out, err = queryImages(ctx, tx, q, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	return out, nil
}

// resolveSort checks the sort keys against the whitelist, drops repeated keys
// and appends id ascending unless id is already a key.
func resolveSort(sort []image.SortKey) ([]orderKey, error) {
	var keys []orderKey
	seen := map[string]bool{}
	for _, k := range append(sort, image.SortKey{Key: "id"}) {
		col, ok := sortColumns[k.Key]
		if !ok {
			return nil, fmt.Errorf("%w: unknown sort key %q", image.ErrValidation, k.Key)
		}
		if seen[k.Key] {
			continue
		}
		seen[k.Key] = true
		keys = append(keys, orderKey{sortColumn: col, desc: k.Desc})
	}
	return keys, nil
}

// sortClause renders the ORDER BY of keys.
func sortClause(e db.Engine, keys []orderKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.sql(e)
		if k.desc {
			parts[i] += " DESC"
		}
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}

// sql is the key's expression, in byte order for text.
func (k orderKey) sql(e db.Engine) string {
	if k.text {
		return db.Collate(e, k.expr)
	}
	return k.expr
}

// filterImages turns every field of f but the page into conditions on images i.
func filterImages(f image.ImageFilter) (*db.Where, error) {
	w := &db.Where{}
	if !f.AllProjects {
		visible(w, f.Project, f.MemberStatus)
	}
	w.Eq("i.name", f.Name)
	if len(f.Status) == 0 {
		w.Add("i.status <> ?", string(image.Deleted))
	} else {
		w.Add("i.status IN ("+db.Placeholders(len(f.Status))+")", db.Args(f.Status)...)
	}
	w.Eq("i.visibility", string(f.Visibility))
	if f.HideOthersCommunity {
		w.Add("(i.visibility <> ? OR i.owner = ?)", string(image.Community), f.Project)
	}
	w.Eq("i.owner", f.Owner)
	w.Eq("i.disk_format", f.DiskFormat)
	w.Eq("i.container_format", f.ContainerFormat)
	w.Flag("i.protected", f.Protected)
	w.Flag("i.os_hidden", f.Hidden)
	if f.SizeMin != nil {
		w.Add("i.size >= ?", *f.SizeMin)
	}
	if f.SizeMax != nil {
		w.Add("i.size <= ?", *f.SizeMax)
	}
	for _, tag := range uniqueSorted(f.Tags) {
		w.Add("EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id AND t.value = ?)", tag)
	}
	for name, value := range f.Properties {
		w.Add(`EXISTS (SELECT 1 FROM image_properties p WHERE p.image_id = i.id
			AND p.name = ? AND p.value = ?)`, name, value)
	}
	if err := timeFilters(w, "i.created_at", f.Created); err != nil {
		return nil, fmt.Errorf("created_at: %w", err)
	}
	if err := timeFilters(w, "i.updated_at", f.Updated); err != nil {
		return nil, fmt.Errorf("updated_at: %w", err)
	}
	w.In("i.id", f.IDs)
	return w, nil
}

// visible narrows w to what project may see: its own images, public and
// community ones, and shared ones it is a member of with status ("accepted"
// when status is "", any status when it is "all").
func visible(w *db.Where, project string, status image.MemberStatus) {
	member := "m.image_id = i.id AND m.member_id = ?"
	args := []any{project}
	switch status {
	case "all":
	case "":
		member += " AND m.status = ?"
		args = append(args, string(image.MemberAccepted))
	default:
		member += " AND m.status = ?"
		args = append(args, string(status))
	}
	w.Add(`(i.owner = ? OR i.visibility IN (?, ?) OR (i.visibility = ? AND
		EXISTS (SELECT 1 FROM image_members m WHERE `+member+`)))`,
		append([]any{project, string(image.Public), string(image.Community), string(image.Shared)}, args...)...)
}

// timeFilters adds one condition on col per filter.
func timeFilters(w *db.Where, col string, fs []image.TimeFilter) error {
	for _, tf := range fs {
		op, ok := timeOps[tf.Op]
		if !ok {
			return fmt.Errorf("%w: unknown operator %q", image.ErrValidation, tf.Op)
		}
		if tf.At.IsZero() {
			return fmt.Errorf("%w: operator %q without a time", image.ErrValidation, tf.Op)
		}
		w.Add(col+" "+op+" ?", db.At(tf.At))
	}
	return nil
}

// afterMarker adds to w the keyset condition that selects the rows strictly
// after the marker image in the order of keys:
//
//	k1 > m1 OR (k1 = m1 AND k2 > m2) OR ... (with < for descending keys)
//
// The marker must pass the project's visibility rule, so a marker cannot probe
// images the caller may not see.
func afterMarker(ctx context.Context, tx *db.Tx, w *db.Where, keys []orderKey, f image.ImageFilter) error {
	exprs := make([]string, len(keys))
	for i, k := range keys {
		exprs[i] = k.expr
	}
	mw := &db.Where{}
	mw.Add("i.id = ?", f.Marker)
	if !f.AllProjects {
		visible(mw, f.Project, f.MemberStatus)
	}
	vals := make([]any, len(keys))
	ptrs := make([]any, len(keys))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	err := tx.QueryRowContext(ctx, `SELECT `+strings.Join(exprs, ", ")+` FROM images i`+mw.String(),
		mw.Args...).Scan(ptrs...)
	if err == sql.ErrNoRows {
		return fmt.Errorf("marker image %s: %w", f.Marker, image.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("read marker image %s: %w", f.Marker, err)
	}
	var (
		ors  []string
		args []any
	)
	for i, k := range keys {
		var ands []string
		for j := range i {
			ands = append(ands, keys[j].sql(tx.Engine())+" = ?")
			args = append(args, markerValue(vals[j]))
		}
		op := " > ?"
		if k.desc {
			op = " < ?"
		}
		ands = append(ands, k.sql(tx.Engine())+op)
		args = append(args, markerValue(vals[i]))
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	w.Add("("+strings.Join(ors, " OR ")+")", args...)
	return nil
}

// markerValue passes a scanned column back as an argument; drivers return
// text as bytes on some engines, which would compare as binary.
func markerValue(v any) any {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v
}
