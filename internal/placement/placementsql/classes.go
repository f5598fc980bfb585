package placementsql

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// ClassIDs maps the class names that exist to their ids.
func (c *conn) ClassIDs(ctx context.Context, names []string) (map[string]int, error) {
	out := make(map[string]int, len(names))
	for _, part := range chunks(names) {
		err := c.queryRows(ctx, "SELECT id, name FROM resource_classes WHERE name IN ("+db.Placeholders(len(part))+")",
			db.Args(part), func(rows *sql.Rows) error {
				var id int
				var name string
				err := rows.Scan(&id, &name)
				out[name] = id
				return err
			})
		if err != nil {
			return nil, fmt.Errorf("look up resource classes: %w", err)
		}
	}
	return out, nil
}

func scanClass(s interface{ Scan(...any) error }) (placement.ResourceClass, error) {
	var rc placement.ResourceClass
	var created, updated db.Time
	err := s.Scan(&rc.ID, &rc.Name, &created, &updated)
	rc.CreatedAt, rc.UpdatedAt = created.Time, updated.Time
	return rc, err
}

// Classes returns every resource class in id order: standard ones first.
func (c *conn) Classes(ctx context.Context) ([]placement.ResourceClass, error) {
	var out []placement.ResourceClass
	err := c.queryRows(ctx, `SELECT id, name, created_at, updated_at FROM resource_classes ORDER BY id`, nil,
		func(rows *sql.Rows) error {
			rc, err := scanClass(rows)
			out = append(out, rc)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("list resource classes: %w", err)
	}
	return out, nil
}

// Class returns the resource class with name.
func (c *conn) Class(ctx context.Context, name string) (placement.ResourceClass, error) {
	rc, err := scanClass(c.q.QueryRowContext(ctx, `SELECT id, name, created_at, updated_at FROM resource_classes WHERE name = ?`, name))
	return rc, notFound(err, "resource class "+name)
}

// CreateClass inserts a custom class with the next custom id. Two writers
// choosing the same id clash on the primary key; the transaction is then
// retried by the caller's conflict handling as a duplicate.
func (c *conn) CreateClass(ctx context.Context, name string, now time.Time) (placement.ResourceClass, error) {
	var max sql.NullInt64
	if err := c.q.QueryRowContext(ctx, `SELECT MAX(id) FROM resource_classes`).Scan(&max); err != nil {
		return placement.ResourceClass{}, fmt.Errorf("next resource class id: %w", err)
	}
	id := int(max.Int64) + 1
	if !max.Valid || id < placement.MinCustomClassID {
		id = placement.MinCustomClassID
	}
	_, err := c.q.ExecContext(ctx, `INSERT INTO resource_classes (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)`,
		id, name, ts(now), ts(now))
	if err != nil {
		return placement.ResourceClass{}, fmt.Errorf("create resource class %s: %w", name, writeErr(err))
	}
	return placement.ResourceClass{ID: id, Name: name, CreatedAt: now, UpdatedAt: now}, nil
}

// RenameClass renames a class.
func (c *conn) RenameClass(ctx context.Context, id int, name string, now time.Time) error {
	_, err := c.q.ExecContext(ctx, `UPDATE resource_classes SET name = ?, updated_at = ? WHERE id = ?`, name, ts(now), id)
	if err != nil {
		return fmt.Errorf("rename resource class %d: %w", id, writeErr(err))
	}
	return nil
}

// DeleteClass removes a class.
func (c *conn) DeleteClass(ctx context.Context, id int) error {
	if _, err := c.q.ExecContext(ctx, `DELETE FROM resource_classes WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete resource class %d: %w", id, writeErr(err))
	}
	return nil
}

// ClassInUse reports whether any inventory is of the class.
func (c *conn) ClassInUse(ctx context.Context, id int) (bool, error) {
	return c.exists(ctx, `SELECT 1 FROM inventories WHERE resource_class_id = ? LIMIT 1`, id)
}

// TraitIDs maps the trait names that exist to their ids.
func (c *conn) TraitIDs(ctx context.Context, names []string) (map[string]int64, error) {
	out := make(map[string]int64, len(names))
	for _, part := range chunks(names) {
		err := c.queryRows(ctx, "SELECT id, name FROM traits WHERE name IN ("+db.Placeholders(len(part))+")",
			db.Args(part), func(rows *sql.Rows) error {
				var id int64
				var name string
				err := rows.Scan(&id, &name)
				out[name] = id
				return err
			})
		if err != nil {
			return nil, fmt.Errorf("look up traits: %w", err)
		}
	}
	return out, nil
}

const traitCols = `SELECT t.id, t.name, t.created_at, t.updated_at FROM traits t`

func (c *conn) traits(ctx context.Context, query string, args []any) ([]placement.Trait, error) {
	var out []placement.Trait
	err := c.queryRows(ctx, query, args, func(rows *sql.Rows) error {
		var t placement.Trait
		var created, updated db.Time
		err := rows.Scan(&t.ID, &t.Name, &created, &updated)
		t.CreatedAt, t.UpdatedAt = created.Time, updated.Time
		out = append(out, t)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list traits: %w", err)
	}
	return out, nil
}

// Traits returns the traits f selects, by name.
func (c *conn) Traits(ctx context.Context, f placement.TraitFilter) ([]placement.Trait, error) {
	var w db.Where
	if f.NameIn != nil {
		w.In("t.name", f.NameIn)
		if w.None {
			return nil, nil
		}
	}
	if f.Prefix != "" {
		// A byte comparison rather than LIKE: the same on every engine, case
		// and underscores included.
		w.Add("SUBSTR(t.name, 1, ?) = ?", len(f.Prefix), f.Prefix)
	}
	if f.Associated != nil {
		sub := "EXISTS (SELECT 1 FROM resource_provider_traits rpt WHERE rpt.trait_id = t.id)"
		if !*f.Associated {
			sub = "NOT " + sub
		}
		w.Add(sub)
	}
	return c.traits(ctx, traitCols+w.String()+db.OrderBy(c.engine(), "t.name"), w.Args)
}

// Trait returns the trait with name.
func (c *conn) Trait(ctx context.Context, name string) (placement.Trait, error) {
	ts, err := c.traits(ctx, traitCols+" WHERE t.name = ?", []any{name})
	if err != nil {
		return placement.Trait{}, err
	}
	if len(ts) == 0 {
		return placement.Trait{}, fmt.Errorf("trait %s: %w", name, placement.ErrNotFound)
	}
	return ts[0], nil
}

// CreateTrait inserts a trait.
func (c *conn) CreateTrait(ctx context.Context, name string, now time.Time) (placement.Trait, error) {
	id, err := c.insertID(ctx, `INSERT INTO traits (name, created_at, updated_at) VALUES (?, ?, ?)`, name, ts(now), ts(now))
	if err != nil {
		return placement.Trait{}, fmt.Errorf("create trait %s: %w", name, err)
	}
	return placement.Trait{ID: id, Name: name, CreatedAt: now, UpdatedAt: now}, nil
}

// DeleteTrait removes a trait.
func (c *conn) DeleteTrait(ctx context.Context, id int64) error {
	if _, err := c.q.ExecContext(ctx, `DELETE FROM traits WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete trait %d: %w", id, writeErr(err))
	}
	return nil
}

// TraitInUse reports whether any provider has the trait.
func (c *conn) TraitInUse(ctx context.Context, id int64) (bool, error) {
	return c.exists(ctx, `SELECT 1 FROM resource_provider_traits WHERE trait_id = ? LIMIT 1`, id)
}

// ProviderTraits returns a provider's traits by name.
func (c *conn) ProviderTraits(ctx context.Context, providerID int64) ([]placement.Trait, error) {
	return c.traits(ctx, traitCols+` JOIN resource_provider_traits rpt ON rpt.trait_id = t.id WHERE rpt.resource_provider_id = ?`+
		db.OrderBy(c.engine(), "t.name"), []any{providerID})
}

// SetProviderTraits gives a provider exactly the traits with these ids.
func (c *conn) SetProviderTraits(ctx context.Context, providerID int64, traitIDs []int64) error {
	if _, err := c.q.ExecContext(ctx, `DELETE FROM resource_provider_traits WHERE resource_provider_id = ?`, providerID); err != nil {
		return fmt.Errorf("clear traits of resource provider %d: %w", providerID, err)
	}
	for _, id := range traitIDs {
		if _, err := c.q.ExecContext(ctx, `INSERT INTO resource_provider_traits (resource_provider_id, trait_id) VALUES (?, ?)`,
			providerID, id); err != nil {
			return fmt.Errorf("add trait %d to resource provider %d: %w", id, providerID, writeErr(err))
		}
	}
	return nil
}

// ProviderAggregates returns the uuids of a provider's aggregates.
func (c *conn) ProviderAggregates(ctx context.Context, providerID int64) ([]string, error) {
	out := []string{}
	err := c.queryRows(ctx, `SELECT a.uuid FROM placement_aggregates a JOIN resource_provider_aggregates rpa
		ON rpa.aggregate_id = a.id WHERE rpa.resource_provider_id = ?`+db.OrderBy(c.engine(), "a.uuid"), []any{providerID},
		func(rows *sql.Rows) error {
			var u string
			err := rows.Scan(&u)
			out = append(out, u)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("list aggregates of resource provider %d: %w", providerID, err)
	}
	return out, nil
}

// SetProviderAggregates links a provider to exactly these aggregates,
// creating the aggregates that do not exist yet.
func (c *conn) SetProviderAggregates(ctx context.Context, providerID int64, uuids []string) error {
	if _, err := c.q.ExecContext(ctx, `DELETE FROM resource_provider_aggregates WHERE resource_provider_id = ?`, providerID); err != nil {
		return fmt.Errorf("clear aggregates of resource provider %d: %w", providerID, err)
	}
	for _, u := range uuids {
		if _, err := c.q.ExecContext(ctx, db.InsertIgnore(c.engine(), "placement_aggregates", "uuid"), u); err != nil {
			return fmt.Errorf("create aggregate %s: %w", u, err)
		}
		if _, err := c.q.ExecContext(ctx, `INSERT INTO resource_provider_aggregates (resource_provider_id, aggregate_id)
			SELECT ?, id FROM placement_aggregates WHERE uuid = ?`, providerID, u); err != nil {
			return fmt.Errorf("link aggregate %s to resource provider %d: %w", u, providerID, writeErr(err))
		}
	}
	return nil
}

// SyncStandard inserts the standard classes and traits the tables lack.
func (c *conn) SyncStandard(ctx context.Context, classes, traits []string, now time.Time) error {
	have, err := c.ClassIDs(ctx, classes)
	if err != nil {
		return err
	}
	for id, name := range classes {
		if _, ok := have[name]; ok {
			continue
		}
		if _, err := c.q.ExecContext(ctx, `INSERT INTO resource_classes (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)`,
			id, name, ts(now), ts(now)); err != nil {
			return fmt.Errorf("add standard resource class %s: %w", name, writeErr(err))
		}
	}
	haveTraits, err := c.TraitIDs(ctx, traits)
	if err != nil {
		return err
	}
	for _, name := range traits {
		if _, ok := haveTraits[name]; ok {
			continue
		}
		if _, err := c.q.ExecContext(ctx, `INSERT INTO traits (name, created_at, updated_at) VALUES (?, ?, ?)`,
			name, ts(now), ts(now)); err != nil {
			return fmt.Errorf("add standard trait %s: %w", name, writeErr(err))
		}
	}
	return nil
}
