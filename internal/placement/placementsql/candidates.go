package placementsql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// HasNestedProviders reports whether any provider has a parent.
func (c *conn) HasNestedProviders(ctx context.Context) (bool, error) {
	return c.exists(ctx, `SELECT 1 FROM resource_providers WHERE parent_provider_id IS NOT NULL LIMIT 1`)
}

// idPairs runs a query of two id columns.
func (c *conn) idPairs(ctx context.Context, query string, args []any, out []placement.IDPair) ([]placement.IDPair, error) {
	err := c.queryRows(ctx, query, args, func(rows *sql.Rows) error {
		var p placement.IDPair
		err := rows.Scan(&p.A, &p.B)
		out = append(out, p)
		return err
	})
	return out, err
}

// ProviderTraitRows returns (provider, trait) for the providers having any
// of the traits.
func (c *conn) ProviderTraitRows(ctx context.Context, traitIDs []int64) ([]placement.IDPair, error) {
	var out []placement.IDPair
	var err error
	for _, part := range chunks(traitIDs) {
		out, err = c.idPairs(ctx, `SELECT resource_provider_id, trait_id FROM resource_provider_traits WHERE trait_id IN (`+
			db.Placeholders(len(part))+`)`, db.Args(part), out)
		if err != nil {
			return nil, fmt.Errorf("providers with traits: %w", err)
		}
	}
	return out, nil
}

// ProviderAggregateRows returns the providers in any of the aggregates.
func (c *conn) ProviderAggregateRows(ctx context.Context, aggUUIDs []string) ([]placement.ProviderAggregate, error) {
	var out []placement.ProviderAggregate
	for _, part := range chunks(aggUUIDs) {
		err := c.queryRows(ctx, `SELECT rpa.resource_provider_id, a.uuid FROM resource_provider_aggregates rpa
			JOIN placement_aggregates a ON a.id = rpa.aggregate_id WHERE a.uuid IN (`+db.Placeholders(len(part))+`)`,
			db.Args(part), func(rows *sql.Rows) error {
				var pa placement.ProviderAggregate
				err := rows.Scan(&pa.ProviderID, &pa.Aggregate)
				out = append(out, pa)
				return err
			})
		if err != nil {
			return nil, fmt.Errorf("providers in aggregates: %w", err)
		}
	}
	return out, nil
}

// SharingAnchors returns (sharing provider, root) for every tree with a
// provider that shares an aggregate with one of the providers.
func (c *conn) SharingAnchors(ctx context.Context, providerIDs []int64) ([]placement.IDPair, error) {
	var out []placement.IDPair
	var err error
	for _, part := range chunks(providerIDs) {
		out, err = c.idPairs(ctx, `SELECT DISTINCT s.resource_provider_id, rp.root_provider_id
			FROM resource_provider_aggregates s
			JOIN resource_provider_aggregates o ON o.aggregate_id = s.aggregate_id
			JOIN resource_providers rp ON rp.id = o.resource_provider_id
			WHERE s.resource_provider_id IN (`+db.Placeholders(len(part))+`)`, db.Args(part), out)
		if err != nil {
			return nil, fmt.Errorf("anchors of sharing providers: %w", err)
		}
	}
	return out, nil
}

// Capacities returns the inventories of the amounts' classes that have room
// for one of the amounts of their class, in provider order. Room, min_unit,
// max_unit and step_size are checked in SQL against allocations summed per
// inventory, so that full providers never leave the database.
func (c *conn) Capacities(ctx context.Context, amounts []placement.ClassAmount, rootID int64) ([]placement.CapacityRow, error) {
	if len(amounts) == 0 {
		return nil, nil
	}
	var fits []string
	var args []any
	classes := map[int]bool{}
	for _, a := range amounts {
		classes[a.ClassID] = true
		fits = append(fits, "(t.resource_class_id = ? AND t.used + ? <= (t.total - t.reserved) * t.allocation_ratio"+
			" AND t.min_unit <= ? AND t.max_unit >= ? AND ? % t.step_size = 0)")
		args = append(args, a.ClassID, a.Amount, a.Amount, a.Amount, a.Amount)
	}
	var classIDs []int
	for id := range classes {
		classIDs = append(classIDs, id)
	}
	inner := `SELECT i.resource_provider_id, rp.root_provider_id, i.resource_class_id, i.total, i.reserved, i.min_unit,
		i.max_unit, i.step_size, i.allocation_ratio, ` + usedExpr("i") + ` AS used
		FROM inventories i JOIN resource_providers rp ON rp.id = i.resource_provider_id
		WHERE i.resource_class_id IN (` + db.Placeholders(len(classIDs)) + `)`
	innerArgs := db.Args(classIDs)
	if rootID != 0 {
		inner += " AND rp.root_provider_id = ?"
		innerArgs = append(innerArgs, rootID)
	}
	q := `SELECT t.resource_provider_id, t.root_provider_id, t.resource_class_id, t.total, t.reserved, t.min_unit, t.max_unit,
		t.step_size, t.allocation_ratio, t.used FROM (` + inner + `) t WHERE ` + joinOr(fits) +
		` ORDER BY t.resource_provider_id, t.resource_class_id`
	var out []placement.CapacityRow
	err := c.queryRows(ctx, q, append(innerArgs, args...), func(rows *sql.Rows) error {
		var r placement.CapacityRow
		err := rows.Scan(&r.ProviderID, &r.RootID, &r.ClassID, &r.Total, &r.Reserved, &r.MinUnit, &r.MaxUnit, &r.StepSize,
			&r.AllocationRatio, &r.Used)
		out = append(out, r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("inventories with room: %w", err)
	}
	return out, nil
}

func joinOr(parts []string) string {
	out := "(" + parts[0]
	for _, p := range parts[1:] {
		out += " OR " + p
	}
	return out + ")"
}

// inTrees filters a query on the trees with these roots: by an IN list, or,
// past one chunk of roots, by a set applied to the rows read (cheaper than
// many IN lists when most trees are wanted).
func inTrees(roots []int64, col string) (string, []any, map[int64]bool) {
	if len(roots) <= chunk {
		return col + " IN (" + db.Placeholders(len(roots)) + ")", db.Args(roots), nil
	}
	set := make(map[int64]bool, len(roots))
	for _, r := range roots {
		set[r] = true
	}
	return "1 = 1", nil, set
}

// TreeProviders returns every provider of the trees with these roots.
func (c *conn) TreeProviders(ctx context.Context, rootIDs []int64) ([]placement.TreeNode, error) {
	if len(rootIDs) == 0 {
		return nil, nil
	}
	cond, args, set := inTrees(rootIDs, "root_provider_id")
	var out []placement.TreeNode
	err := c.queryRows(ctx, `SELECT id, COALESCE(parent_provider_id, 0), root_provider_id, uuid FROM resource_providers WHERE `+
		cond+` ORDER BY id`, args, func(rows *sql.Rows) error {
		var n placement.TreeNode
		if err := rows.Scan(&n.ID, &n.ParentID, &n.RootID, &n.UUID); err != nil {
			return err
		}
		if set == nil || set[n.RootID] {
			out = append(out, n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("providers of trees: %w", err)
	}
	return out, nil
}

// SummaryInventories returns the inventories, with usage, of the providers.
func (c *conn) SummaryInventories(ctx context.Context, providerIDs []int64, except []int) ([]placement.SummaryRow, error) {
	if len(providerIDs) == 0 {
		return nil, nil
	}
	cond, args, set := inTrees(providerIDs, "resource_provider_id")
	if len(except) > 0 {
		cond += " AND resource_class_id NOT IN (" + db.Placeholders(len(except)) + ")"
		args = append(args, db.Args(except)...)
	}
	var out []placement.SummaryRow
	err := c.queryRows(ctx, `SELECT resource_provider_id, resource_class_id, total, reserved, allocation_ratio, used
		FROM inventories WHERE `+cond, args, func(rows *sql.Rows) error {
		var r placement.SummaryRow
		if err := rows.Scan(&r.ProviderID, &r.ClassID, &r.Total, &r.Reserved, &r.AllocationRatio, &r.Used); err != nil {
			return err
		}
		if set == nil || set[r.ProviderID] {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inventories of providers: %w", err)
	}
	return out, nil
}

// SummaryTraits returns the trait names of the providers, by trait id.
func (c *conn) SummaryTraits(ctx context.Context, providerIDs []int64) ([]placement.ProviderTraitName, error) {
	if len(providerIDs) == 0 {
		return nil, nil
	}
	cond, args, set := inTrees(providerIDs, "rpt.resource_provider_id")
	var out []placement.ProviderTraitName
	err := c.queryRows(ctx, `SELECT rpt.resource_provider_id, t.name FROM resource_provider_traits rpt
		JOIN traits t ON t.id = rpt.trait_id WHERE `+cond+` ORDER BY rpt.resource_provider_id, rpt.trait_id`, args,
		func(rows *sql.Rows) error {
			var t placement.ProviderTraitName
			if err := rows.Scan(&t.ProviderID, &t.Trait); err != nil {
				return err
			}
			if set == nil || set[t.ProviderID] {
				out = append(out, t)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("traits of providers: %w", err)
	}
	return out, nil
}
