package placementsql

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// Inventories returns a provider's inventories in class id order.
func (c *conn) Inventories(ctx context.Context, providerID int64) ([]placement.Inventory, error) {
	var out []placement.Inventory
	err := c.queryRows(ctx, `SELECT rc.name, i.total, i.reserved, i.min_unit, i.max_unit, i.step_size, i.allocation_ratio,
		i.created_at, i.updated_at FROM inventories i JOIN resource_classes rc ON rc.id = i.resource_class_id
		WHERE i.resource_provider_id = ? ORDER BY i.resource_class_id`, []any{providerID}, func(rows *sql.Rows) error {
		var inv placement.Inventory
		var created, updated db.Time
		err := rows.Scan(&inv.ResourceClass, &inv.Total, &inv.Reserved, &inv.MinUnit, &inv.MaxUnit, &inv.StepSize,
			&inv.AllocationRatio, &created, &updated)
		inv.CreatedAt, inv.UpdatedAt = created.Time, updated.Time
		out = append(out, inv)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list inventories of resource provider %d: %w", providerID, err)
	}
	return out, nil
}

// ProviderUsages returns the usage of every class the provider has
// inventory of.
func (c *conn) ProviderUsages(ctx context.Context, providerID int64) ([]placement.ClassUsage, error) {
	var out []placement.ClassUsage
	err := c.queryRows(ctx, `SELECT rc.name, `+usedExpr("i")+` FROM inventories i
		JOIN resource_classes rc ON rc.id = i.resource_class_id WHERE i.resource_provider_id = ? ORDER BY i.resource_class_id`,
		[]any{providerID}, func(rows *sql.Rows) error {
			var u placement.ClassUsage
			err := rows.Scan(&u.ResourceClass, &u.Used)
			out = append(out, u)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("usages of resource provider %d: %w", providerID, err)
	}
	return out, nil
}

// InventoryUsage returns the inventories of the classes on the providers,
// each with what is allocated against it.
func (c *conn) InventoryUsage(ctx context.Context, providerIDs []int64, classIDs []int) ([]placement.InventoryUsage, error) {
	if len(providerIDs) == 0 || len(classIDs) == 0 {
		return nil, nil
	}
	var out []placement.InventoryUsage
	for _, part := range chunks(providerIDs) {
		args := append(db.Args(part), db.Args(classIDs)...)
		err := c.queryRows(ctx, `SELECT i.resource_provider_id, i.resource_class_id, rc.name, i.total, i.reserved, i.min_unit,
			i.max_unit, i.step_size, i.allocation_ratio, `+usedExpr("i")+` FROM inventories i
			JOIN resource_classes rc ON rc.id = i.resource_class_id
			WHERE i.resource_provider_id IN (`+db.Placeholders(len(part))+`) AND i.resource_class_id IN (`+
			db.Placeholders(len(classIDs))+`)`, args, func(rows *sql.Rows) error {
			var u placement.InventoryUsage
			err := rows.Scan(&u.ProviderID, &u.ClassID, &u.ResourceClass, &u.Total, &u.Reserved, &u.MinUnit, &u.MaxUnit,
				&u.StepSize, &u.AllocationRatio, &u.Used)
			out = append(out, u)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("read inventory usage: %w", err)
		}
	}
	return out, nil
}

// ReplaceInventories makes the provider's inventory exactly invs.
func (c *conn) ReplaceInventories(ctx context.Context, providerID int64, invs map[int]placement.Inventory, now time.Time) error {
	current := map[int]bool{}
	err := c.queryRows(ctx, `SELECT resource_class_id FROM inventories WHERE resource_provider_id = ?`, []any{providerID},
		func(rows *sql.Rows) error {
			var id int
			err := rows.Scan(&id)
			current[id] = true
			return err
		})
	if err != nil {
		return fmt.Errorf("read inventories of resource provider %d: %w", providerID, err)
	}
	ids := make([]int, 0, len(invs))
	for id := range invs {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for id := range current {
		if _, keep := invs[id]; !keep {
			if _, err := c.q.ExecContext(ctx, `DELETE FROM inventories WHERE resource_provider_id = ? AND resource_class_id = ?`,
				providerID, id); err != nil {
				return fmt.Errorf("delete inventory %d of resource provider %d: %w", id, providerID, err)
			}
		}
	}
	for _, id := range ids {
		inv := invs[id]
		created := inv.CreatedAt
		if created.IsZero() {
			created = now
		}
		var err error
		if current[id] {
			_, err = c.q.ExecContext(ctx, `UPDATE inventories SET total = ?, reserved = ?, min_unit = ?, max_unit = ?, step_size = ?,
				allocation_ratio = ?, updated_at = ? WHERE resource_provider_id = ? AND resource_class_id = ?`,
				inv.Total, inv.Reserved, inv.MinUnit, inv.MaxUnit, inv.StepSize, inv.AllocationRatio, ts(now), providerID, id)
		} else {
			// Allocations never outlive their inventory, so the sum is 0; it is
			// taken anyway to keep used exact whatever happened before.
			_, err = c.q.ExecContext(ctx, `INSERT INTO inventories (resource_provider_id, resource_class_id, total, reserved, min_unit,
				max_unit, step_size, allocation_ratio, used, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(SUM(a.used), 0) FROM allocations a
				WHERE a.resource_provider_id = ? AND a.resource_class_id = ?), ?, ?)`,
				providerID, id, inv.Total, inv.Reserved, inv.MinUnit, inv.MaxUnit, inv.StepSize, inv.AllocationRatio,
				providerID, id, ts(created), ts(now))
		}
		if err != nil {
			return fmt.Errorf("write inventory %s of resource provider %d: %w", inv.ResourceClass, providerID, writeErr(err))
		}
	}
	return nil
}

// AllocatedClasses returns, in class id order, the names of the given
// classes the provider has allocations of.
func (c *conn) AllocatedClasses(ctx context.Context, providerID int64, classIDs []int) ([]string, error) {
	if len(classIDs) == 0 {
		return nil, nil
	}
	var out []string
	args := append([]any{providerID}, db.Args(classIDs)...)
	err := c.queryRows(ctx, `SELECT rc.name FROM resource_classes rc WHERE rc.id IN (SELECT a.resource_class_id FROM allocations a
		WHERE a.resource_provider_id = ? AND a.resource_class_id IN (`+db.Placeholders(len(classIDs))+`)) ORDER BY rc.id`,
		args, func(rows *sql.Rows) error {
			var n string
			err := rows.Scan(&n)
			out = append(out, n)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("allocated classes of resource provider %d: %w", providerID, err)
	}
	return out, nil
}

// HasAllocations reports whether anything is allocated from the provider.
func (c *conn) HasAllocations(ctx context.Context, providerID int64) (bool, error) {
	return c.exists(ctx, `SELECT 1 FROM allocations WHERE resource_provider_id = ? LIMIT 1`, providerID)
}
