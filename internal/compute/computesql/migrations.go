package computesql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/db"
)

var _ compute.MigrationStore = (*Store)(nil)

const migrationColumns = `id, uuid, instance_uuid, source_compute, source_node, dest_compute, dest_node, dest_host,
	old_instance_type_id, new_instance_type_id, status, migration_type, hidden, project_id, user_id, created_at,
	updated_at`

// CreateMigration stores a migration record.
func (s *Store) CreateMigration(ctx context.Context, m compute.Migration) (compute.Migration, error) {
	if m.CreatedAt.IsZero() || m.UUID == "" {
		return compute.Migration{}, fmt.Errorf("create migration of %s: %w: uuid and created_at are required",
			m.InstanceUUID, compute.ErrInvalid)
	}
	var out compute.Migration
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (uuid, instance_uuid, source_compute, source_node,
			dest_compute, dest_node, dest_host, old_instance_type_id, new_instance_type_id, status, migration_type,
			hidden, project_id, user_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			migrationArgs(m)...); err != nil {
			return writeErr(err)
		}
		var err error
		out, err = scanMigration(tx.QueryRowContext(ctx, `SELECT `+migrationColumns+` FROM migrations WHERE uuid = ?`, m.UUID))
		return err
	})
	if err != nil {
		return compute.Migration{}, fmt.Errorf("create migration of %s: %w", m.InstanceUUID, err)
	}
	return out, nil
}

func migrationArgs(m compute.Migration) []any {
	return []any{m.UUID, m.InstanceUUID, m.SourceCompute, m.SourceNode, m.DestCompute, m.DestNode, m.DestHost,
		nullInt(m.OldInstanceTypeID), nullInt(m.NewInstanceTypeID), m.Status, m.MigrationType, m.Hidden, m.ProjectID,
		m.UserID, db.At(m.CreatedAt), db.At(m.UpdatedAt)}
}

func nullInt(p *int64) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *p, Valid: true}
}

func scanMigration(r scanner) (compute.Migration, error) {
	var (
		m                compute.Migration
		oldType, newType sql.NullInt64
		created, updated db.Time
	)
	err := r.Scan(&m.ID, &m.UUID, &m.InstanceUUID, &m.SourceCompute, &m.SourceNode, &m.DestCompute, &m.DestNode,
		&m.DestHost, &oldType, &newType, &m.Status, &m.MigrationType, &m.Hidden, &m.ProjectID, &m.UserID, &created,
		&updated)
	if errors.Is(err, sql.ErrNoRows) {
		return compute.Migration{}, compute.ErrNotFound
	}
	if err != nil {
		return compute.Migration{}, err
	}
	if oldType.Valid {
		m.OldInstanceTypeID = &oldType.Int64
	}
	if newType.Valid {
		m.NewInstanceTypeID = &newType.Int64
	}
	m.CreatedAt, m.UpdatedAt = created.Time, updated.Time
	return m, nil
}

// UpdateLatestMigration changes the newest migration of an instance.
func (s *Store) UpdateLatestMigration(ctx context.Context, instanceUUID string, mutate func(*compute.Migration) error) (compute.Migration, error) {
	var out compute.Migration
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		m, err := scanMigration(tx.QueryRowContext(ctx, `SELECT `+migrationColumns+` FROM migrations
			WHERE instance_uuid = ? ORDER BY id DESC LIMIT 1`+db.ForUpdate(tx.Engine()), instanceUUID))
		if err != nil {
			return err
		}
		if err := mutate(&m); err != nil {
			return err
		}
		// uuid, instance_uuid and created_at stay.
		if _, err := tx.ExecContext(ctx, `UPDATE migrations SET source_compute = ?, source_node = ?, dest_compute = ?,
			dest_node = ?, dest_host = ?, old_instance_type_id = ?, new_instance_type_id = ?, status = ?,
			migration_type = ?, hidden = ?, project_id = ?, user_id = ?, updated_at = ? WHERE id = ?`,
			m.SourceCompute, m.SourceNode, m.DestCompute, m.DestNode, m.DestHost, nullInt(m.OldInstanceTypeID),
			nullInt(m.NewInstanceTypeID), m.Status, m.MigrationType, m.Hidden, m.ProjectID, m.UserID, db.At(m.UpdatedAt),
			m.ID); err != nil {
			return writeErr(err)
		}
		out = m
		return nil
	})
	if err != nil {
		return compute.Migration{}, fmt.Errorf("update the migration of %s: %w", instanceUUID, err)
	}
	return out, nil
}

// GetMigration returns a migration by row id.
func (s *Store) GetMigration(ctx context.Context, id int64) (compute.Migration, error) {
	m, err := scanMigration(s.d.QueryRowContext(ctx, `SELECT `+migrationColumns+` FROM migrations WHERE id = ?`, id))
	if err != nil {
		return compute.Migration{}, fmt.Errorf("get migration %d: %w", id, err)
	}
	return m, nil
}

// ListMigrations returns the migrations f selects.
func (s *Store) ListMigrations(ctx context.Context, f compute.MigrationFilter) ([]compute.Migration, error) {
	var out []compute.Migration
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		w := &db.Where{}
		if f.Host != "" {
			w.Add("(source_compute = ? OR dest_compute = ?)", f.Host, f.Host)
		} else {
			w.Eq("source_compute", f.SourceCompute)
		}
		w.In("status", f.Status)
		w.Eq("instance_uuid", f.InstanceUUID)
		w.Eq("migration_type", f.MigrationType)
		w.Flag("hidden", f.Hidden)
		w.Eq("user_id", f.UserID)
		w.Eq("project_id", f.ProjectID)
		if !f.ChangesSince.IsZero() {
			w.Add("updated_at >= ?", db.At(f.ChangesSince))
		}
		if !f.ChangesBefore.IsZero() {
			w.Add("updated_at <= ?", db.At(f.ChangesBefore))
		}
		if w.None {
			return nil
		}
		order := " ORDER BY id"
		if f.Paged {
			order = " ORDER BY created_at DESC, id DESC"
			if f.Marker != "" {
				var mID int64
				var mCreated db.Time
				err := tx.QueryRowContext(ctx, `SELECT id, created_at FROM migrations WHERE uuid = ?`, f.Marker).
					Scan(&mID, &mCreated)
				if errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("marker %s: %w", f.Marker, compute.ErrMarkerNotFound)
				}
				if err != nil {
					return err
				}
				w.Add("(created_at < ? OR (created_at = ? AND id < ?))", mCreated, mCreated, mID)
			}
		}
		q := `SELECT ` + migrationColumns + ` FROM migrations` + w.String() + order
		args := w.Args
		if f.Paged && f.Limit > 0 {
			q += " LIMIT ?"
			args = append(args, f.Limit)
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMigration(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	return out, nil
}
