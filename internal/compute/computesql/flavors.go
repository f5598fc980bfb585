package computesql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/db"
)

// flavorColumns are the flavors columns in the order scanFlavor reads them,
// each prefixed with the alias f.
const flavorColumns = `f.id, f.flavorid, f.name, f.memory_mb, f.vcpus, f.root_gb, f.ephemeral_gb, f.swap,
f.rxtx_factor, f.vcpu_weight, f.disabled, f.is_public, f.description, f.created_at, f.updated_at`

// CreateFlavor stores a new flavor with its extra specs.
func (s *Store) CreateFlavor(ctx context.Context, f compute.Flavor) (compute.Flavor, error) {
	if f.CreatedAt.IsZero() {
		return compute.Flavor{}, fmt.Errorf("create flavor %s: %w: created_at is required", f.FlavorID, compute.ErrInvalid)
	}
	var out compute.Flavor
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		// Telling which unique key clashed from the engine's error is
		// engine-specific; asking first is not, and the insert still guards
		// against a race.
		if err := clash(ctx, tx, f); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO flavors (flavorid, name, memory_mb, vcpus, root_gb,
			ephemeral_gb, swap, rxtx_factor, vcpu_weight, disabled, is_public, description, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.FlavorID, f.Name, f.MemoryMB, f.VCPUs, f.RootGB, f.EphemeralGB, f.Swap, f.RxTxFactor, f.VCPUWeight,
			f.Disabled, f.IsPublic, f.Description, db.At(f.CreatedAt), db.At(f.UpdatedAt))
		if err != nil {
			if db.IsDuplicate(err) {
				if cerr := clash(ctx, tx, f); cerr != nil {
					return cerr
				}
			}
			return writeErr(err)
		}
		id, err := internalID(ctx, tx, f.FlavorID)
		if err != nil {
			return err
		}
		if err := upsertSpecs(ctx, tx, id, f.ExtraSpecs); err != nil {
			return err
		}
		out, err = getFlavor(ctx, tx, f.FlavorID, compute.FlavorScope{All: true})
		return err
	})
	if err != nil {
		return compute.Flavor{}, fmt.Errorf("create flavor %s: %w", f.FlavorID, err)
	}
	return out, nil
}

// clash reports which unique key of flavors f would break, if any.
func clash(ctx context.Context, tx *db.Tx, f compute.Flavor) error {
	if ok, err := db.Exists(ctx, tx, `SELECT 1 FROM flavors WHERE flavorid = ?`, f.FlavorID); err != nil || ok {
		if err != nil {
			return err
		}
		return compute.ErrFlavorIDExists
	}
	if ok, err := db.Exists(ctx, tx, `SELECT 1 FROM flavors WHERE name = ?`, f.Name); err != nil || ok {
		if err != nil {
			return err
		}
		return compute.ErrFlavorNameExists
	}
	return nil
}

// internalID returns the row id of the flavor with API id flavorID.
func internalID(ctx context.Context, q db.Querier, flavorID string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM flavors WHERE flavorid = ?`, flavorID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, compute.ErrNotFound
	}
	return id, err
}

// upsertSpecs sets extra specs of the flavor with row id, replacing the
// values of existing keys.
func upsertSpecs(ctx context.Context, tx *db.Tx, id int64, specs map[string]string) error {
	for k, v := range specs {
		res, err := tx.ExecContext(ctx, `UPDATE flavor_extra_specs SET spec_value = ? WHERE flavor_id = ? AND spec_key = ?`,
			v, id, k)
		if err != nil {
			return err
		}
		n, err := db.Affected(res)
		if err != nil {
			return err
		}
		// MySQL counts only changed rows: an unchanged value reads as 0.
		if n == 0 {
			exists, err := db.Exists(ctx, tx, `SELECT 1 FROM flavor_extra_specs WHERE flavor_id = ? AND spec_key = ?`, id, k)
			if err != nil {
				return err
			}
			if exists {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO flavor_extra_specs (flavor_id, spec_key, spec_value)
				VALUES (?, ?, ?)`, id, k, v); err != nil {
				return fmt.Errorf("extra spec %q: %w", k, writeErr(err))
			}
		}
	}
	return nil
}

// visibleTo narrows w to the flavors a scope sees.
func visibleTo(w *db.Where, sc compute.FlavorScope) {
	if !sc.All {
		accessible(w, sc.Project)
	}
}

// accessible adds "public, or private with access for project".
func accessible(w *db.Where, project string) {
	w.Add(`(f.is_public = ? OR EXISTS (SELECT 1 FROM flavor_projects p WHERE p.flavor_id = f.id AND p.project_id = ?))`,
		true, project)
}

// GetFlavor returns the flavor with API id flavorID, if the scope sees it.
func (s *Store) GetFlavor(ctx context.Context, flavorID string, sc compute.FlavorScope) (compute.Flavor, error) {
	var out compute.Flavor
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		var err error
		out, err = getFlavor(ctx, tx, flavorID, sc)
		return err
	})
	if err != nil {
		return compute.Flavor{}, fmt.Errorf("get flavor %s: %w", flavorID, err)
	}
	return out, nil
}

func getFlavor(ctx context.Context, tx *db.Tx, flavorID string, sc compute.FlavorScope) (compute.Flavor, error) {
	w := &db.Where{}
	w.Add("f.flavorid = ?", flavorID)
	visibleTo(w, sc)
	fs, err := queryFlavors(ctx, tx, `SELECT `+flavorColumns+` FROM flavors f`+w.String(), w.Args...)
	if err != nil {
		return compute.Flavor{}, err
	}
	if len(fs) == 0 {
		return compute.Flavor{}, compute.ErrNotFound
	}
	return fs[0], nil
}

// queryFlavors runs a SELECT of flavorColumns and fills in the extra specs of
// the flavors it returns, keeping their order.
func queryFlavors(ctx context.Context, tx *db.Tx, q string, args ...any) ([]compute.Flavor, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var out []compute.Flavor
	for rows.Next() {
		f, err := scanFlavor(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, f)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	return out, loadSpecs(ctx, tx, out)
}

func scanFlavor(rows *sql.Rows) (compute.Flavor, error) {
	var (
		f                   compute.Flavor
		weight              sql.NullInt64
		desc                sql.NullString
		created, updated    db.Time
		disabled, isPublic  bool
		memory, vcpus, root int64
		ephemeral, swapSize int64
	)
	if err := rows.Scan(&f.ID, &f.FlavorID, &f.Name, &memory, &vcpus, &root, &ephemeral, &swapSize, &f.RxTxFactor,
		&weight, &disabled, &isPublic, &desc, &created, &updated); err != nil {
		return compute.Flavor{}, fmt.Errorf("scan flavor: %w", err)
	}
	f.MemoryMB, f.VCPUs, f.RootGB, f.EphemeralGB, f.Swap = int(memory), int(vcpus), int(root), int(ephemeral), int(swapSize)
	f.Disabled, f.IsPublic = disabled, isPublic
	if weight.Valid {
		w := int(weight.Int64)
		f.VCPUWeight = &w
	}
	if desc.Valid {
		d := desc.String
		f.Description = &d
	}
	f.CreatedAt, f.UpdatedAt = created.Time, updated.Time
	f.ExtraSpecs = map[string]string{}
	return f, nil
}

// loadSpecs reads the extra specs of fs, in batches that stay under every
// engine's limit of placeholders.
func loadSpecs(ctx context.Context, tx *db.Tx, fs []compute.Flavor) error {
	byID := make(map[int64]*compute.Flavor, len(fs))
	ids := make([]int64, 0, len(fs))
	for i := range fs {
		byID[fs[i].ID] = &fs[i]
		ids = append(ids, fs[i].ID)
	}
	const batch = 500
	for start := 0; start < len(ids); start += batch {
		part := ids[start:min(start+batch, len(ids))]
		rows, err := tx.QueryContext(ctx, `SELECT flavor_id, spec_key, spec_value FROM flavor_extra_specs
			WHERE flavor_id IN (`+db.Placeholders(len(part))+`)`, db.Args(part)...)
		if err != nil {
			return fmt.Errorf("read extra specs: %w", err)
		}
		for rows.Next() {
			var (
				id   int64
				k, v string
			)
			if err := rows.Scan(&id, &k, &v); err != nil {
				rows.Close()
				return fmt.Errorf("scan extra spec: %w", err)
			}
			byID[id].ExtraSpecs[k] = v
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// sortColumn is how one flavor sort key orders, with NULLs first.
type sortColumn struct {
	expr string
	text bool
}

var sortColumns = map[string]sortColumn{
	"created_at":   {expr: "f.created_at"},
	"description":  {expr: "COALESCE(f.description, '')", text: true},
	"disabled":     {expr: "f.disabled"},
	"ephemeral_gb": {expr: "f.ephemeral_gb"},
	"flavorid":     {expr: "f.flavorid", text: true},
	"id":           {expr: "f.id"},
	"is_public":    {expr: "f.is_public"},
	"memory_mb":    {expr: "f.memory_mb"},
	"name":         {expr: "f.name", text: true},
	"root_gb":      {expr: "f.root_gb"},
	"rxtx_factor":  {expr: "f.rxtx_factor"},
	"swap":         {expr: "f.swap"},
	"updated_at":   {expr: "COALESCE(f.updated_at, 0)"},
	"vcpu_weight":  {expr: "COALESCE(f.vcpu_weight, -1)"},
	"vcpus":        {expr: "f.vcpus"},
}

func (c sortColumn) sql(e db.Engine) string {
	if c.text {
		return db.Collate(e, c.expr)
	}
	return c.expr
}

// ListFlavors returns one page of flavors, ordered by the sort key and then
// the internal id, both in the requested direction, as nova's paginate_query.
func (s *Store) ListFlavors(ctx context.Context, f compute.FlavorFilter) ([]compute.Flavor, error) {
	keys := []sortColumn{sortColumns["id"]}
	if f.SortKey != "id" {
		col, ok := sortColumns[f.SortKey]
		if !ok {
			return nil, fmt.Errorf("list flavors: %w: unknown sort key %q", compute.ErrInvalid, f.SortKey)
		}
		keys = []sortColumn{col, sortColumns["id"]}
	}
	w := &db.Where{}
	visibleTo(w, f.Scope)
	if f.MinMemoryMB != nil {
		w.Add("f.memory_mb >= ?", *f.MinMemoryMB)
	}
	if f.MinRootGB != nil {
		w.Add("f.root_gb >= ?", *f.MinRootGB)
	}
	w.Flag("f.disabled", f.Disabled)
	switch {
	case f.IsPublic == nil:
	case *f.IsPublic && f.Scope.Project != "":
		accessible(w, f.Scope.Project)
	default:
		w.Flag("f.is_public", f.IsPublic)
	}
	var out []compute.Flavor
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		if f.Marker != "" {
			if err := afterMarker(ctx, tx, w, keys, f); err != nil {
				return err
			}
		}
		q := `SELECT ` + flavorColumns + ` FROM flavors f` + w.String() + orderBy(tx.Engine(), keys, f.SortDesc)
		args := w.Args
		if f.Limit > 0 {
			q += " LIMIT ?"
			args = append(args, f.Limit)
		}
		var err error
		out, err = queryFlavors(ctx, tx, q, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list flavors: %w", err)
	}
	return out, nil
}

func orderBy(e db.Engine, keys []sortColumn, desc bool) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.sql(e)
		if desc {
			parts[i] += " DESC"
		}
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}

// afterMarker adds to w the keyset condition selecting the flavors after the
// marker in the order of keys. The marker must be a flavor the scope sees.
func afterMarker(ctx context.Context, tx *db.Tx, w *db.Where, keys []sortColumn, f compute.FlavorFilter) error {
	exprs := make([]string, len(keys))
	for i, k := range keys {
		exprs[i] = k.expr
	}
	mw := &db.Where{}
	mw.Add("f.flavorid = ?", f.Marker)
	visibleTo(mw, f.Scope)
	vals := make([]any, len(keys))
	ptrs := make([]any, len(keys))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	err := tx.QueryRowContext(ctx, `SELECT `+strings.Join(exprs, ", ")+` FROM flavors f`+mw.String(),
		mw.Args...).Scan(ptrs...)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("marker %s: %w", f.Marker, compute.ErrMarkerNotFound)
	}
	if err != nil {
		return fmt.Errorf("read marker flavor %s: %w", f.Marker, err)
	}
	op := " > ?"
	if f.SortDesc {
		op = " < ?"
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

// UpdateFlavorDescription sets the description of a flavor.
func (s *Store) UpdateFlavorDescription(ctx context.Context, flavorID string, description *string, at time.Time) (compute.Flavor, error) {
	var out compute.Flavor
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		if _, err := internalID(ctx, tx, flavorID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE flavors SET description = ?, updated_at = ? WHERE flavorid = ?`,
			description, db.At(at), flavorID); err != nil {
			return err
		}
		var err error
		out, err = getFlavor(ctx, tx, flavorID, compute.FlavorScope{All: true})
		return err
	})
	if err != nil {
		return compute.Flavor{}, fmt.Errorf("update flavor %s: %w", flavorID, err)
	}
	return out, nil
}

// DeleteFlavor removes a flavor with its extra specs and access list.
func (s *Store) DeleteFlavor(ctx context.Context, flavorID string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		id, err := internalID(ctx, tx, flavorID)
		if err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM flavor_extra_specs WHERE flavor_id = ?`,
			`DELETE FROM flavor_projects WHERE flavor_id = ?`,
			`DELETE FROM flavors WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete flavor %s: %w", flavorID, err)
	}
	return nil
}

// SetExtraSpecs adds or replaces extra specs of a flavor and returns all of
// them.
func (s *Store) SetExtraSpecs(ctx context.Context, flavorID string, specs map[string]string) (map[string]string, error) {
	var out map[string]string
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		id, err := internalID(ctx, tx, flavorID)
		if err != nil {
			return err
		}
		if err := upsertSpecs(ctx, tx, id, specs); err != nil {
			return err
		}
		f, err := getFlavor(ctx, tx, flavorID, compute.FlavorScope{All: true})
		out = f.ExtraSpecs
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("set extra specs of flavor %s: %w", flavorID, err)
	}
	return out, nil
}

// DeleteExtraSpec removes one extra spec of a flavor.
func (s *Store) DeleteExtraSpec(ctx context.Context, flavorID, key string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		id, err := internalID(ctx, tx, flavorID)
		if err != nil {
			return err
		}
		return deleteSome(ctx, tx, `DELETE FROM flavor_extra_specs WHERE flavor_id = ? AND spec_key = ?`, id, key)
	})
	if err != nil {
		return fmt.Errorf("delete extra spec %s of flavor %s: %w", key, flavorID, err)
	}
	return nil
}

// FlavorProjects lists the projects with access to a flavor, sorted.
func (s *Store) FlavorProjects(ctx context.Context, flavorID string) ([]string, error) {
	var out []string
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		id, err := internalID(ctx, tx, flavorID)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT project_id FROM flavor_projects WHERE flavor_id = ?`+
			db.OrderBy(tx.Engine(), "project_id"), id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list access of flavor %s: %w", flavorID, err)
	}
	return out, nil
}

// AddFlavorProject gives a project access to a flavor.
func (s *Store) AddFlavorProject(ctx context.Context, flavorID, projectID string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		id, err := internalID(ctx, tx, flavorID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO flavor_projects (flavor_id, project_id) VALUES (?, ?)`, id, projectID)
		return writeErr(err)
	})
	if err != nil {
		return fmt.Errorf("add access of %s to flavor %s: %w", projectID, flavorID, err)
	}
	return nil
}

// RemoveFlavorProject takes a project's access to a flavor back.
func (s *Store) RemoveFlavorProject(ctx context.Context, flavorID, projectID string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		id, err := internalID(ctx, tx, flavorID)
		if err != nil {
			return err
		}
		return deleteSome(ctx, tx, `DELETE FROM flavor_projects WHERE flavor_id = ? AND project_id = ?`, id, projectID)
	})
	if err != nil {
		return fmt.Errorf("remove access of %s to flavor %s: %w", projectID, flavorID, err)
	}
	return nil
}
