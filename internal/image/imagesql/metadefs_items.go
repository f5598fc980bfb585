package imagesql

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// CreateMetadefObject adds an object to a namespace; a missing namespace is
// ErrNotFound and an existing name ErrConflict.
func (s *Store) CreateMetadefObject(ctx context.Context, nsID string, o image.MetadefObject) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error { return insertObject(ctx, tx, nsID, o) })
	if err != nil {
		return fmt.Errorf("create object %s in namespace %s: %w", o.Name, nsID, err)
	}
	return nil
}

// objectArgs returns the stored description, required and json_schema of o.
func objectArgs(o image.MetadefObject) ([]any, error) {
	if o.CreatedAt.IsZero() || o.UpdatedAt.IsZero() {
		return nil, fmt.Errorf("%w: created_at and updated_at are required", image.ErrValidation)
	}
	req, err := jsonText(o.Required)
	if err != nil {
		return nil, err
	}
	props, err := jsonText(o.Properties)
	if err != nil {
		return nil, err
	}
	return []any{o.Description, req, props}, nil
}

// insertObject stores one object.
func insertObject(ctx context.Context, tx *db.Tx, nsID string, o image.MetadefObject) error {
	args, err := objectArgs(o)
	if err != nil {
		return fmt.Errorf("object %s: %w", o.Name, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO metadef_objects (namespace_id, name, description, required,
		json_schema, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		append([]any{nsID, o.Name}, append(args, db.At(o.CreatedAt), db.At(o.UpdatedAt))...)...)
	if err != nil {
		return fmt.Errorf("object %s: %w", o.Name, writeErr(err))
	}
	return nil
}

// GetMetadefObject returns one object of a namespace.
func (s *Store) GetMetadefObject(ctx context.Context, nsID, name string) (image.MetadefObject, error) {
	out, err := s.queryObjects(ctx, ` AND name = ?`, nsID, name)
	if err != nil {
		return image.MetadefObject{}, fmt.Errorf("get object %s in namespace %s: %w", name, nsID, err)
	}
	if len(out) == 0 {
		return image.MetadefObject{}, fmt.Errorf("get object %s in namespace %s: %w", name, nsID, image.ErrNotFound)
	}
	return out[0], nil
}

// ListMetadefObjects returns a namespace's objects by name.
func (s *Store) ListMetadefObjects(ctx context.Context, nsID string) ([]image.MetadefObject, error) {
	out, err := s.queryObjects(ctx, "", nsID)
	if err != nil {
		return nil, fmt.Errorf("list objects in namespace %s: %w", nsID, err)
	}
	return out, nil
}

func (s *Store) queryObjects(ctx context.Context, cond string, args ...any) ([]image.MetadefObject, error) {
	rows, err := s.d.QueryContext(ctx, `SELECT name, description, required, json_schema, created_at, updated_at
		FROM metadef_objects WHERE namespace_id = ?`+cond+db.OrderBy(s.d.Engine(), "name"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []image.MetadefObject
	for rows.Next() {
		var (
			o                image.MetadefObject
			req, props       string
			created, updated db.Time
		)
		if err := rows.Scan(&o.Name, &o.Description, &req, &props, &created, &updated); err != nil {
			return nil, fmt.Errorf("scan object: %w", err)
		}
		if err := json.Unmarshal([]byte(req), &o.Required); err != nil {
			return nil, fmt.Errorf("decode required of object %s: %w", o.Name, err)
		}
		if err := json.Unmarshal([]byte(props), &o.Properties); err != nil {
			return nil, fmt.Errorf("decode properties of object %s: %w", o.Name, err)
		}
		o.CreatedAt, o.UpdatedAt = created.Time, updated.Time
		out = append(out, o)
	}
	return out, rows.Err()
}

// UpdateMetadefObject replaces the object called name with o; a rename onto
// an existing name is ErrConflict.
func (s *Store) UpdateMetadefObject(ctx context.Context, nsID, name string, o image.MetadefObject) error {
	args, err := objectArgs(o)
	if err != nil {
		return fmt.Errorf("update object %s in namespace %s: %w", name, nsID, err)
	}
	err = updateOne(ctx, s.d, `UPDATE metadef_objects SET name = ?, description = ?, required = ?,
		json_schema = ?, created_at = ?, updated_at = ? WHERE namespace_id = ? AND name = ?`,
		`SELECT 1 FROM metadef_objects WHERE namespace_id = ? AND name = ?`,
		append(append([]any{o.Name}, args...), db.At(o.CreatedAt), db.At(o.UpdatedAt), nsID, name), nsID, name)
	if err != nil {
		return fmt.Errorf("update object %s in namespace %s: %w", name, nsID, err)
	}
	return nil
}

// DeleteMetadefObject removes one object of a namespace.
func (s *Store) DeleteMetadefObject(ctx context.Context, nsID, name string) error {
	err := deleteOne(ctx, s.d, `DELETE FROM metadef_objects WHERE namespace_id = ? AND name = ?`, nsID, name)
	if err != nil {
		return fmt.Errorf("delete object %s in namespace %s: %w", name, nsID, err)
	}
	return nil
}

// updateOne runs an update of one row in a transaction: a unique clash is
// ErrConflict, and no row matching check (run with checkArgs) ErrNotFound.
func updateOne(ctx context.Context, d *db.DB, update, check string, args []any, checkArgs ...any) error {
	return d.InTx(ctx, func(tx *db.Tx) error {
		ok, err := db.Exists(ctx, tx, check+db.ForUpdate(tx.Engine()), checkArgs...)
		if err != nil {
			return err
		}
		if !ok {
			return image.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, update, args...)
		return writeErr(err)
	})
}

// CreateMetadefProperty adds a property definition to a namespace.
func (s *Store) CreateMetadefProperty(ctx context.Context, nsID string, p image.MetadefProperty) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error { return insertProperty(ctx, tx, nsID, p) })
	if err != nil {
		return fmt.Errorf("create property %s in namespace %s: %w", p.Name, nsID, err)
	}
	return nil
}

// insertProperty stores one property definition.
func insertProperty(ctx context.Context, tx *db.Tx, nsID string, p image.MetadefProperty) error {
	schema, err := jsonText(p.Schema)
	if err != nil {
		return fmt.Errorf("property %s: %w", p.Name, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO metadef_properties (namespace_id, name, json_schema)
		VALUES (?, ?, ?)`, nsID, p.Name, schema)
	if err != nil {
		return fmt.Errorf("property %s: %w", p.Name, writeErr(err))
	}
	return nil
}

// GetMetadefProperty returns one property definition of a namespace.
func (s *Store) GetMetadefProperty(ctx context.Context, nsID, name string) (image.MetadefProperty, error) {
	out, err := s.queryProperties(ctx, ` AND name = ?`, nsID, name)
	if err != nil {
		return image.MetadefProperty{}, fmt.Errorf("get property %s in namespace %s: %w", name, nsID, err)
	}
	if len(out) == 0 {
		return image.MetadefProperty{}, fmt.Errorf("get property %s in namespace %s: %w", name, nsID,
			image.ErrNotFound)
	}
	return out[0], nil
}

// ListMetadefProperties returns a namespace's property definitions by name.
func (s *Store) ListMetadefProperties(ctx context.Context, nsID string) ([]image.MetadefProperty, error) {
	out, err := s.queryProperties(ctx, "", nsID)
	if err != nil {
		return nil, fmt.Errorf("list properties in namespace %s: %w", nsID, err)
	}
	return out, nil
}

func (s *Store) queryProperties(ctx context.Context, cond string, args ...any) ([]image.MetadefProperty, error) {
	rows, err := s.d.QueryContext(ctx, `SELECT name, json_schema FROM metadef_properties
		WHERE namespace_id = ?`+cond+db.OrderBy(s.d.Engine(), "name"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []image.MetadefProperty
	for rows.Next() {
		var (
			p      image.MetadefProperty
			schema string
		)
		if err := rows.Scan(&p.Name, &schema); err != nil {
			return nil, fmt.Errorf("scan property: %w", err)
		}
		if err := json.Unmarshal([]byte(schema), &p.Schema); err != nil {
			return nil, fmt.Errorf("decode property %s: %w", p.Name, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// UpdateMetadefProperty replaces the property called name with p.
func (s *Store) UpdateMetadefProperty(ctx context.Context, nsID, name string, p image.MetadefProperty) error {
	schema, err := jsonText(p.Schema)
	if err != nil {
		return fmt.Errorf("update property %s in namespace %s: %w", name, nsID, err)
	}
	err = updateOne(ctx, s.d, `UPDATE metadef_properties SET name = ?, json_schema = ?
		WHERE namespace_id = ? AND name = ?`,
		`SELECT 1 FROM metadef_properties WHERE namespace_id = ? AND name = ?`,
		[]any{p.Name, schema, nsID, name}, nsID, name)
	if err != nil {
		return fmt.Errorf("update property %s in namespace %s: %w", name, nsID, err)
	}
	return nil
}

// DeleteMetadefProperty removes one property definition of a namespace.
func (s *Store) DeleteMetadefProperty(ctx context.Context, nsID, name string) error {
	err := deleteOne(ctx, s.d, `DELETE FROM metadef_properties WHERE namespace_id = ? AND name = ?`, nsID, name)
	if err != nil {
		return fmt.Errorf("delete property %s in namespace %s: %w", name, nsID, err)
	}
	return nil
}

// CreateMetadefTags adds tags to a namespace, first removing its existing
// ones when replace is set. A missing namespace is ErrNotFound.
func (s *Store) CreateMetadefTags(ctx context.Context, nsID string, tags []image.MetadefTag, replace bool) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		ok, err := db.Exists(ctx, tx, `SELECT 1 FROM metadef_namespaces WHERE id = ?`, nsID)
		if err != nil {
			return err
		}
		if !ok {
			return image.ErrNotFound
		}
		if replace {
			if _, err := tx.ExecContext(ctx, `DELETE FROM metadef_tags WHERE namespace_id = ?`, nsID); err != nil {
				return err
			}
		}
		return insertTags(ctx, tx, nsID, tags)
	})
	if err != nil {
		return fmt.Errorf("create tags in namespace %s: %w", nsID, err)
	}
	return nil
}

// insertTags stores tags of a namespace.
func insertTags(ctx context.Context, tx *db.Tx, nsID string, tags []image.MetadefTag) error {
	for _, t := range tags {
		if t.CreatedAt.IsZero() || t.UpdatedAt.IsZero() {
			return fmt.Errorf("tag %s: %w: created_at and updated_at are required", t.Name, image.ErrValidation)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO metadef_tags (namespace_id, name, created_at, updated_at)
			VALUES (?, ?, ?, ?)`, nsID, t.Name, db.At(t.CreatedAt), db.At(t.UpdatedAt))
		if err != nil {
			return fmt.Errorf("tag %s: %w", t.Name, writeErr(err))
		}
	}
	return nil
}

// GetMetadefTag returns one tag of a namespace.
func (s *Store) GetMetadefTag(ctx context.Context, nsID, name string) (image.MetadefTag, error) {
	out, err := s.queryTags(ctx, ` AND name = ?`, nsID, name)
	if err != nil {
		return image.MetadefTag{}, fmt.Errorf("get tag %s in namespace %s: %w", name, nsID, err)
	}
	if len(out) == 0 {
		return image.MetadefTag{}, fmt.Errorf("get tag %s in namespace %s: %w", name, nsID, image.ErrNotFound)
	}
	return out[0], nil
}

// ListMetadefTags returns a namespace's tags by name.
func (s *Store) ListMetadefTags(ctx context.Context, nsID string) ([]image.MetadefTag, error) {
	out, err := s.queryTags(ctx, "", nsID)
	if err != nil {
		return nil, fmt.Errorf("list tags in namespace %s: %w", nsID, err)
	}
	return out, nil
}

func (s *Store) queryTags(ctx context.Context, cond string, args ...any) ([]image.MetadefTag, error) {
	rows, err := s.d.QueryContext(ctx, `SELECT name, created_at, updated_at FROM metadef_tags
		WHERE namespace_id = ?`+cond+db.OrderBy(s.d.Engine(), "name"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []image.MetadefTag
	for rows.Next() {
		var (
			t                image.MetadefTag
			created, updated db.Time
		)
		if err := rows.Scan(&t.Name, &created, &updated); err != nil {
			return nil, fmt.Errorf("scan tag: %w", err)
		}
		t.CreatedAt, t.UpdatedAt = created.Time, updated.Time
		out = append(out, t)
	}
	return out, rows.Err()
}

// UpdateMetadefTag renames the tag called name to t.Name.
func (s *Store) UpdateMetadefTag(ctx context.Context, nsID, name string, t image.MetadefTag) error {
	if t.UpdatedAt.IsZero() {
		return fmt.Errorf("update tag %s in namespace %s: %w: updated_at is required", name, nsID,
			image.ErrValidation)
	}
	err := updateOne(ctx, s.d, `UPDATE metadef_tags SET name = ?, updated_at = ? WHERE namespace_id = ? AND name = ?`,
		`SELECT 1 FROM metadef_tags WHERE namespace_id = ? AND name = ?`,
		[]any{t.Name, db.At(t.UpdatedAt), nsID, name}, nsID, name)
	if err != nil {
		return fmt.Errorf("update tag %s in namespace %s: %w", name, nsID, err)
	}
	return nil
}

// DeleteMetadefTag removes one tag of a namespace.
func (s *Store) DeleteMetadefTag(ctx context.Context, nsID, name string) error {
	err := deleteOne(ctx, s.d, `DELETE FROM metadef_tags WHERE namespace_id = ? AND name = ?`, nsID, name)
	if err != nil {
		return fmt.Errorf("delete tag %s in namespace %s: %w", name, nsID, err)
	}
	return nil
}

// DeleteMetadefTags removes every tag of a namespace.
func (s *Store) DeleteMetadefTags(ctx context.Context, nsID string) error {
	if _, err := s.d.ExecContext(ctx, `DELETE FROM metadef_tags WHERE namespace_id = ?`, nsID); err != nil {
		return fmt.Errorf("delete tags in namespace %s: %w", nsID, err)
	}
	return nil
}
