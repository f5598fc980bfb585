package imagesql

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// The metadata definitions catalog. A namespace's contents are keyed by its
// internal id, so renaming a namespace touches one row. Property schemas are
// stored as the JSON form of image.PropertySchema; an object's required list
// and properties likewise.

// CreateNamespace stores a namespace with its associations, objects,
// properties and tags in one transaction; an association naming an unknown
// resource type creates it.
func (s *Store) CreateNamespace(ctx context.Context, d image.NamespaceDetail) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		ns := d.Namespace
		_, err := tx.ExecContext(ctx, `INSERT INTO metadef_namespaces (id, namespace, display_name,
			description, visibility, protected, owner, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ns.ID, ns.Name, ns.DisplayName, ns.Description, string(ns.Visibility), ns.Protected, ns.Owner,
			db.At(ns.CreatedAt), db.At(ns.UpdatedAt))
		if err != nil {
			return writeErr(err)
		}
		for _, a := range ns.ResourceTypes {
			if err := insertAssociation(ctx, tx, ns.ID, a); err != nil {
				return err
			}
		}
		for _, o := range d.Objects {
			if err := insertObject(ctx, tx, ns.ID, o); err != nil {
				return err
			}
		}
		for _, p := range d.Properties {
			if err := insertProperty(ctx, tx, ns.ID, p); err != nil {
				return err
			}
		}
		return insertTags(ctx, tx, ns.ID, d.Tags)
	})
	if err != nil {
		return fmt.Errorf("create namespace %s: %w", d.Name, err)
	}
	return nil
}

// GetNamespace returns the namespace called name with its associations.
func (s *Store) GetNamespace(ctx context.Context, name string) (image.Namespace, error) {
	var out []image.Namespace
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		var err error
		out, err = queryNamespaces(ctx, tx, ` WHERE namespace = ?`, name)
		return err
	})
	if err != nil {
		return image.Namespace{}, fmt.Errorf("get namespace %s: %w", name, err)
	}
	if len(out) == 0 {
		return image.Namespace{}, fmt.Errorf("get namespace %s: %w", name, image.ErrNotFound)
	}
	return out[0], nil
}

// ListNamespaces returns every namespace with its associations, by name.
func (s *Store) ListNamespaces(ctx context.Context) ([]image.Namespace, error) {
	var out []image.Namespace
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		var err error
		out, err = queryNamespaces(ctx, tx, "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	return out, nil
}

// queryNamespaces reads the namespaces cond selects, then their associations.
func queryNamespaces(ctx context.Context, tx *db.Tx, cond string, args ...any) ([]image.Namespace, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, namespace, display_name, description, visibility, protected,
		owner, created_at, updated_at FROM metadef_namespaces`+cond+db.OrderBy(tx.Engine(), "namespace"), args...)
	if err != nil {
		return nil, err
	}
	var out []image.Namespace
	for rows.Next() {
		var (
			ns               image.Namespace
			vis              string
			created, updated db.Time
		)
		if err := rows.Scan(&ns.ID, &ns.Name, &ns.DisplayName, &ns.Description, &vis, &ns.Protected, &ns.Owner,
			&created, &updated); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan namespace: %w", err)
		}
		ns.Visibility, ns.CreatedAt, ns.UpdatedAt = image.Visibility(vis), created.Time, updated.Time
		out = append(out, ns)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].ResourceTypes, err = queryAssociations(ctx, tx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// queryAssociations reads a namespace's associations, by resource type.
func queryAssociations(ctx context.Context, q db.Querier, nsID string) ([]image.ResourceTypeAssociation, error) {
	rows, err := q.QueryContext(ctx, `SELECT resource_type, prefix, properties_target, created_at, updated_at
		FROM metadef_namespace_resource_types WHERE namespace_id = ?`+db.OrderBy(q.Engine(), "resource_type"), nsID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []image.ResourceTypeAssociation
	for rows.Next() {
		var (
			a                image.ResourceTypeAssociation
			created, updated db.Time
		)
		if err := rows.Scan(&a.Name, &a.Prefix, &a.PropertiesTarget, &created, &updated); err != nil {
			return nil, fmt.Errorf("scan association: %w", err)
		}
		a.CreatedAt, a.UpdatedAt = created.Time, updated.Time
		out = append(out, a)
	}
	return out, rows.Err()
}

// UpdateNamespace writes ns's own fields, found by its id.
func (s *Store) UpdateNamespace(ctx context.Context, ns image.Namespace) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		ok, err := db.Exists(ctx, tx, `SELECT 1 FROM metadef_namespaces WHERE id = ?`+db.ForUpdate(tx.Engine()), ns.ID)
		if err != nil {
			return err
		}
		if !ok {
			return image.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `UPDATE metadef_namespaces SET namespace = ?, display_name = ?,
			description = ?, visibility = ?, protected = ?, owner = ?, updated_at = ? WHERE id = ?`,
			ns.Name, ns.DisplayName, ns.Description, string(ns.Visibility), ns.Protected, ns.Owner,
			db.At(ns.UpdatedAt), ns.ID)
		return writeErr(err)
	})
	if err != nil {
		return fmt.Errorf("update namespace %s: %w", ns.Name, err)
	}
	return nil
}

// DeleteNamespace removes a namespace and its contents.
func (s *Store) DeleteNamespace(ctx context.Context, id string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		for _, q := range []string{
			`DELETE FROM metadef_namespace_resource_types WHERE namespace_id = ?`,
			`DELETE FROM metadef_objects WHERE namespace_id = ?`,
			`DELETE FROM metadef_properties WHERE namespace_id = ?`,
			`DELETE FROM metadef_tags WHERE namespace_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return deleteOne(ctx, tx, `DELETE FROM metadef_namespaces WHERE id = ?`, id)
	})
	if err != nil {
		return fmt.Errorf("delete namespace %s: %w", id, err)
	}
	return nil
}

// ListResourceTypes returns every resource type, by name.
func (s *Store) ListResourceTypes(ctx context.Context) ([]image.ResourceType, error) {
	rows, err := s.d.QueryContext(ctx, `SELECT name, protected, created_at, updated_at FROM metadef_resource_types`+
		db.OrderBy(s.d.Engine(), "name"))
	if err != nil {
		return nil, fmt.Errorf("list resource types: %w", err)
	}
	defer rows.Close()
	var out []image.ResourceType
	for rows.Next() {
		var (
			rt               image.ResourceType
			created, updated db.Time
		)
		if err := rows.Scan(&rt.Name, &rt.Protected, &created, &updated); err != nil {
			return nil, fmt.Errorf("scan resource type: %w", err)
		}
		rt.CreatedAt, rt.UpdatedAt = created.Time, updated.Time
		out = append(out, rt)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list resource types: %w", err)
	}
	return out, nil
}

// CreateAssociation associates a namespace with a resource type, creating
// the type when it is unknown. A missing namespace is ErrNotFound.
func (s *Store) CreateAssociation(ctx context.Context, nsID string, a image.ResourceTypeAssociation) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error { return insertAssociation(ctx, tx, nsID, a) })
	if err != nil {
		return fmt.Errorf("associate namespace %s with %s: %w", nsID, a.Name, err)
	}
	return nil
}

// insertAssociation stores one association, creating its resource type.
func insertAssociation(ctx context.Context, tx *db.Tx, nsID string, a image.ResourceTypeAssociation) error {
	if a.CreatedAt.IsZero() || a.UpdatedAt.IsZero() {
		return fmt.Errorf("%w: created_at and updated_at are required", image.ErrValidation)
	}
	ok, err := db.Exists(ctx, tx, `SELECT 1 FROM metadef_resource_types WHERE name = ?`, a.Name)
	if err != nil {
		return err
	}
	if !ok {
		if _, err := tx.ExecContext(ctx, `INSERT INTO metadef_resource_types (name, protected, created_at,
			updated_at) VALUES (?, ?, ?, ?)`, a.Name, false, db.At(a.CreatedAt), db.At(a.UpdatedAt)); err != nil {
			return fmt.Errorf("resource type %s: %w", a.Name, writeErr(err))
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO metadef_namespace_resource_types (namespace_id, resource_type,
		prefix, properties_target, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		nsID, a.Name, a.Prefix, a.PropertiesTarget, db.At(a.CreatedAt), db.At(a.UpdatedAt))
	if err != nil {
		return fmt.Errorf("association with %s: %w", a.Name, writeErr(err))
	}
	return nil
}

// DeleteAssociation removes the association of a namespace with a resource type.
func (s *Store) DeleteAssociation(ctx context.Context, nsID, resourceType string) error {
	err := deleteOne(ctx, s.d, `DELETE FROM metadef_namespace_resource_types WHERE namespace_id = ?
		AND resource_type = ?`, nsID, resourceType)
	if err != nil {
		return fmt.Errorf("dissociate namespace %s from %s: %w", nsID, resourceType, err)
	}
	return nil
}

// jsonText encodes v for a JSON text column.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode json: %w", err)
	}
	return string(b), nil
}
