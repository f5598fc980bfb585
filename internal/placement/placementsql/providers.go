package placementsql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// providerCols reads a provider with its parent's and root's uuids.
const providerCols = `SELECT rp.id, rp.uuid, rp.name, rp.generation,
	COALESCE(rp.parent_provider_id, 0), COALESCE(parent.uuid, ''),
	COALESCE(rp.root_provider_id, 0), COALESCE(root.uuid, ''), rp.created_at, rp.updated_at
	FROM resource_providers rp
	LEFT JOIN resource_providers parent ON parent.id = rp.parent_provider_id
	LEFT JOIN resource_providers root ON root.id = rp.root_provider_id`

func scanProvider(s interface{ Scan(...any) error }) (placement.Provider, error) {
	var p placement.Provider
	var created, updated db.Time
	err := s.Scan(&p.ID, &p.UUID, &p.Name, &p.Generation, &p.ParentID, &p.ParentUUID, &p.RootID, &p.RootUUID, &created, &updated)
	p.CreatedAt, p.UpdatedAt = created.Time, updated.Time
	return p, err
}

func (c *conn) providers(ctx context.Context, where string, args ...any) ([]placement.Provider, error) {
	var out []placement.Provider
	err := c.queryRows(ctx, providerCols+where+" ORDER BY rp.id", args, func(rows *sql.Rows) error {
		p, err := scanProvider(rows)
		out = append(out, p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list resource providers: %w", err)
	}
	return out, nil
}

// Provider returns the provider with uuid.
func (c *conn) Provider(ctx context.Context, uuid string) (placement.Provider, error) {
	p, err := scanProvider(c.q.QueryRowContext(ctx, providerCols+" WHERE rp.uuid = ?", uuid))
	return p, notFound(err, "resource provider "+uuid)
}

// Providers returns the providers f selects, in id order.
func (c *conn) Providers(ctx context.Context, f placement.ProviderFilter) ([]placement.Provider, error) {
	var w db.Where
	w.Eq("rp.name", f.Name)
	w.Eq("rp.uuid", f.UUID)
	if f.InTree != "" {
		w.Add("rp.root_provider_id = (SELECT t.root_provider_id FROM resource_providers t WHERE t.uuid = ?)", f.InTree)
	}
	addTraitAggFilters(&w, "rp.id", f.RequiredTraits, f.ForbiddenTraits, f.MemberOf, f.ForbiddenAggs)
	for _, ca := range f.Resources {
		w.Add("rp.id IN (SELECT i.resource_provider_id FROM inventories i WHERE i.resource_class_id = ? AND "+
			fitsClause("i", "?")+")", ca.ClassID, ca.Amount, ca.Amount, ca.Amount, ca.Amount)
	}
	return c.providers(ctx, w.String(), w.Args...)
}

// addTraitAggFilters narrows col (a provider id) to providers with one trait
// of each required list and none forbidden, in one aggregate of each member
// list and in no forbidden aggregate.
func addTraitAggFilters(w *db.Where, col string, required [][]int64, forbidden []int64, memberOf [][]string, badAggs []string) {
	traitIn := func(n int) string {
		return "SELECT resource_provider_id FROM resource_provider_traits WHERE trait_id IN (" + db.Placeholders(n) + ")"
	}
	for _, anyOf := range required {
		w.Add(col+" IN ("+traitIn(len(anyOf))+")", db.Args(anyOf)...)
	}
	if len(forbidden) > 0 {
		w.Add(col+" NOT IN ("+traitIn(len(forbidden))+")", db.Args(forbidden)...)
	}
	aggIn := func(n int) string {
		return "SELECT rpa.resource_provider_id FROM resource_provider_aggregates rpa JOIN placement_aggregates a " +
			"ON a.id = rpa.aggregate_id WHERE a.uuid IN (" + db.Placeholders(n) + ")"
	}
	for _, anyOf := range memberOf {
		w.Add(col+" IN ("+aggIn(len(anyOf))+")", db.Args(anyOf)...)
	}
	if len(badAggs) > 0 {
		w.Add(col+" NOT IN ("+aggIn(len(badAggs))+")", db.Args(badAggs)...)
	}
}

// usedExpr is what is allocated against the inventory row aliased inv: its
// used column, which InsertAllocations and DeleteConsumerAllocations keep
// equal to the sum of the allocations.
func usedExpr(inv string) string { return inv + ".used" }

// fitsClause is true when amount (a placeholder, bound four times) can be
// allocated from the inventory row aliased inv: room left, min_unit,
// max_unit and step_size. "step_size = 1 OR" changes no answer but lets
// PostgreSQL's planner see, from the column's statistics, that the step
// rules out few rows; on the modulo alone it guesses one row in 200 fits
// and plans nested loops for a handful of providers (nova's candidate query
// at 10,000 providers: 42 ms, 25 ms with the hint).
func fitsClause(inv, amount string) string {
	return usedExpr(inv) + " + " + amount + " <= (" + inv + ".total - " + inv + ".reserved) * " + inv + ".allocation_ratio" +
		" AND " + inv + ".min_unit <= " + amount + " AND " + inv + ".max_unit >= " + amount +
		" AND (" + inv + ".step_size = 1 OR " + amount + " % " + inv + ".step_size = 0)"
}

// Subtree returns the provider and all its descendants.
func (c *conn) Subtree(ctx context.Context, id int64) ([]placement.Provider, error) {
	var root int64
	err := c.q.QueryRowContext(ctx, `SELECT COALESCE(root_provider_id, 0) FROM resource_providers WHERE id = ?`, id).Scan(&root)
	if err != nil {
		return nil, notFound(err, "resource provider")
	}
	tree, err := c.providers(ctx, " WHERE rp.root_provider_id = ?", root)
	if err != nil {
		return nil, err
	}
	children := map[int64][]placement.Provider{}
	var self placement.Provider
	for _, p := range tree {
		children[p.ParentID] = append(children[p.ParentID], p)
		if p.ID == id {
			self = p
		}
	}
	out := []placement.Provider{self}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i].ID]...)
	}
	return out, nil
}

// LockProviders locks the providers with the given uuids, in id order.
func (c *conn) LockProviders(ctx context.Context, uuids []string) ([]placement.Provider, error) {
	var ids []int64
	for _, part := range chunks(uuids) {
		q := "SELECT id FROM resource_providers WHERE uuid IN (" + db.Placeholders(len(part)) + ") ORDER BY id" + db.ForUpdate(c.engine())
		err := c.queryRows(ctx, q, db.Args(part), func(rows *sql.Rows) error {
			var id int64
			err := rows.Scan(&id)
			ids = append(ids, id)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("lock resource providers: %w", err)
		}
	}
	return c.byIDs(ctx, ids)
}

// LockProviderIDs locks the providers with the given ids, in id order.
func (c *conn) LockProviderIDs(ctx context.Context, ids []int64) ([]placement.Provider, error) {
	var locked []int64
	for _, part := range chunks(ids) {
		q := "SELECT id FROM resource_providers WHERE id IN (" + db.Placeholders(len(part)) + ") ORDER BY id" + db.ForUpdate(c.engine())
		err := c.queryRows(ctx, q, db.Args(part), func(rows *sql.Rows) error {
			var id int64
			err := rows.Scan(&id)
			locked = append(locked, id)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("lock resource providers: %w", err)
		}
	}
	return c.byIDs(ctx, locked)
}

func (c *conn) byIDs(ctx context.Context, ids []int64) ([]placement.Provider, error) {
	var out []placement.Provider
	for _, part := range chunks(ids) {
		ps, err := c.providers(ctx, " WHERE rp.id IN ("+db.Placeholders(len(part))+")", db.Args(part)...)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

// BumpGeneration advances a provider's generation if it is still from.
func (c *conn) BumpGeneration(ctx context.Context, providerID, from int64, now time.Time) error {
	res, err := c.q.ExecContext(ctx, `UPDATE resource_providers SET generation = ?, updated_at = ? WHERE id = ? AND generation = ?`,
		from+1, ts(now), providerID, from)
	if err := affectedOne(res, err); err != nil {
		return fmt.Errorf("bump generation of resource provider %d: %w", providerID, err)
	}
	return nil
}

// CreateProvider inserts a provider; a root becomes its own root.
func (c *conn) CreateProvider(ctx context.Context, p placement.Provider) (placement.Provider, error) {
	var parent, root any
	if p.ParentID != 0 {
		parent, root = p.ParentID, p.RootID
	}
	id, err := c.insertID(ctx, `INSERT INTO resource_providers (uuid, name, generation, root_provider_id, parent_provider_id,
		created_at, updated_at) VALUES (?, ?, 0, ?, ?, ?, ?)`, p.UUID, p.Name, root, parent, ts(p.CreatedAt), ts(p.UpdatedAt))
	if err != nil {
		return placement.Provider{}, fmt.Errorf("create resource provider %s: %w", p.UUID, err)
	}
	p.ID, p.Generation = id, 0
	if p.ParentID == 0 {
		if _, err := c.q.ExecContext(ctx, `UPDATE resource_providers SET root_provider_id = id WHERE id = ?`, id); err != nil {
			return placement.Provider{}, fmt.Errorf("root resource provider %s: %w", p.UUID, err)
		}
		p.RootID, p.RootUUID = id, p.UUID
	}
	return p, nil
}

// UpdateProvider writes a provider's name, parent, root and updated_at.
func (c *conn) UpdateProvider(ctx context.Context, p placement.Provider) error {
	var parent any
	if p.ParentID != 0 {
		parent = p.ParentID
	}
	_, err := c.q.ExecContext(ctx, `UPDATE resource_providers SET name = ?, parent_provider_id = ?, root_provider_id = ?,
		updated_at = ? WHERE id = ?`, p.Name, parent, p.RootID, ts(p.UpdatedAt), p.ID)
	if err != nil {
		return fmt.Errorf("update resource provider %s: %w", p.UUID, writeErr(err))
	}
	return nil
}

// SetRoot sets the root of the given providers.
func (c *conn) SetRoot(ctx context.Context, ids []int64, rootID int64) error {
	for _, part := range chunks(ids) {
		args := append([]any{rootID}, db.Args(part)...)
		if _, err := c.q.ExecContext(ctx, "UPDATE resource_providers SET root_provider_id = ? WHERE id IN ("+
			db.Placeholders(len(part))+")", args...); err != nil {
			return fmt.Errorf("move resource providers to root %d: %w", rootID, err)
		}
	}
	return nil
}

// DeleteProvider removes a provider with its inventories, traits and
// aggregate links.
func (c *conn) DeleteProvider(ctx context.Context, id int64) error {
	for _, q := range []string{
		`DELETE FROM inventories WHERE resource_provider_id = ?`,
		`DELETE FROM resource_provider_traits WHERE resource_provider_id = ?`,
		`DELETE FROM resource_provider_aggregates WHERE resource_provider_id = ?`,
		// A root refers to itself; the reference goes first.
		`UPDATE resource_providers SET root_provider_id = NULL WHERE id = ?`,
		`DELETE FROM resource_providers WHERE id = ?`,
	} {
		if _, err := c.q.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("delete resource provider %d: %s: %w", id, strings.Fields(q)[0], writeErr(err))
		}
	}
	return nil
}

// HasChildren reports whether any provider has id as parent.
func (c *conn) HasChildren(ctx context.Context, id int64) (bool, error) {
	return c.exists(ctx, `SELECT 1 FROM resource_providers WHERE parent_provider_id = ? LIMIT 1`, id)
}
