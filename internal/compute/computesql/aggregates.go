package computesql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/db"
)

var _ compute.AggregateStore = (*Store)(nil)

// CreateAggregate stores an aggregate with its metadata.
func (s *Store) CreateAggregate(ctx context.Context, a compute.Aggregate) (compute.Aggregate, error) {
	if a.CreatedAt.IsZero() || a.UUID == "" {
		return compute.Aggregate{}, fmt.Errorf("create aggregate %s: %w: uuid and created_at are required",
			a.Name, compute.ErrInvalid)
	}
	var out compute.Aggregate
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO aggregates (uuid, name, created_at) VALUES (?, ?, ?)`,
			a.UUID, a.Name, db.At(a.CreatedAt)); err != nil {
			return writeErr(err)
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM aggregates WHERE uuid = ?`, a.UUID).Scan(&id); err != nil {
			return err
		}
		if err := writeAggregateMetadata(ctx, tx, id, a.Metadata); err != nil {
			return err
		}
		var err error
		out, err = getAggregate(ctx, tx, id)
		return err
	})
	if err != nil {
		return compute.Aggregate{}, fmt.Errorf("create aggregate %s: %w", a.Name, err)
	}
	return out, nil
}

func writeAggregateMetadata(ctx context.Context, tx *db.Tx, id int64, md map[string]string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM aggregate_metadata WHERE aggregate_id = ?`, id); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO aggregate_metadata (aggregate_id, meta_key, meta_value) VALUES (?, ?, ?)`,
			id, k, md[k]); err != nil {
			return writeErr(err)
		}
	}
	return nil
}

const aggregateColumns = `id, uuid, name, created_at, updated_at`

func scanAggregate(r scanner) (compute.Aggregate, error) {
	var (
		a       compute.Aggregate
		created db.Time
		updated sql.Null[db.Time]
	)
	if err := r.Scan(&a.ID, &a.UUID, &a.Name, &created, &updated); err != nil {
		return compute.Aggregate{}, err
	}
	a.CreatedAt = created.Time
	if updated.Valid {
		t := updated.V.Time
		a.UpdatedAt = &t
	}
	a.Hosts, a.Metadata = []string{}, map[string]string{}
	return a, nil
}

func getAggregate(ctx context.Context, q db.Querier, id int64) (compute.Aggregate, error) {
	a, err := scanAggregate(q.QueryRowContext(ctx, `SELECT `+aggregateColumns+` FROM aggregates WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return compute.Aggregate{}, compute.ErrNotFound
	}
	if err != nil {
		return compute.Aggregate{}, err
	}
	byID := map[int64]*compute.Aggregate{a.ID: &a}
	if err := fillAggregates(ctx, q, byID, ` WHERE aggregate_id = ?`, id); err != nil {
		return compute.Aggregate{}, err
	}
	return a, nil
}

// fillAggregates reads the hosts and metadata of the aggregates in byID
// that where (on aggregate_id) selects.
func fillAggregates(ctx context.Context, q db.Querier, byID map[int64]*compute.Aggregate, where string, args ...any) error {
	rows, err := q.QueryContext(ctx, `SELECT aggregate_id, host FROM aggregate_hosts`+where+` ORDER BY host`, args...)
	if err != nil {
		return fmt.Errorf("list aggregate hosts: %w", err)
	}
	for rows.Next() {
		var (
			id   int64
			host string
		)
		if err := rows.Scan(&id, &host); err != nil {
			rows.Close()
			return err
		}
		if a := byID[id]; a != nil {
			a.Hosts = append(a.Hosts, host)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, `SELECT aggregate_id, meta_key, meta_value FROM aggregate_metadata`+where, args...)
	if err != nil {
		return fmt.Errorf("list aggregate metadata: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id   int64
			k, v string
		)
		if err := rows.Scan(&id, &k, &v); err != nil {
			return err
		}
		if a := byID[id]; a != nil {
			a.Metadata[k] = v
		}
	}
	return rows.Err()
}

// GetAggregate returns an aggregate with its hosts and metadata.
func (s *Store) GetAggregate(ctx context.Context, id int64) (compute.Aggregate, error) {
	var a compute.Aggregate
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		var err error
		a, err = getAggregate(ctx, tx, id)
		return err
	})
	if err != nil {
		return compute.Aggregate{}, fmt.Errorf("get aggregate %d: %w", id, err)
	}
	return a, nil
}

// ListAggregates lists every aggregate by id.
func (s *Store) ListAggregates(ctx context.Context) ([]compute.Aggregate, error) {
	var out []compute.Aggregate
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		out = []compute.Aggregate{}
		rows, err := tx.QueryContext(ctx, `SELECT `+aggregateColumns+` FROM aggregates ORDER BY id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			a, err := scanAggregate(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		byID := make(map[int64]*compute.Aggregate, len(out))
		for i := range out {
			byID[out[i].ID] = &out[i]
		}
		return fillAggregates(ctx, tx, byID, "")
	})
	if err != nil {
		return nil, fmt.Errorf("list aggregates: %w", err)
	}
	return out, nil
}

// UpdateAggregate sets the name and metadata.
func (s *Store) UpdateAggregate(ctx context.Context, id int64, name string, metadata map[string]string, at time.Time) (compute.Aggregate, error) {
	var out compute.Aggregate
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE aggregates SET name = ?, updated_at = ? WHERE id = ?`, name, db.At(at), id)
		if err != nil {
			return writeErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return compute.ErrNotFound
		}
		if err := writeAggregateMetadata(ctx, tx, id, metadata); err != nil {
			return err
		}
		out, err = getAggregate(ctx, tx, id)
		return err
	})
	if err != nil {
		return compute.Aggregate{}, fmt.Errorf("update aggregate %d: %w", id, err)
	}
	return out, nil
}

// DeleteAggregate removes an aggregate without hosts, with its metadata.
func (s *Store) DeleteAggregate(ctx context.Context, id int64) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		busy, err := db.Exists(ctx, tx, `SELECT 1 FROM aggregate_hosts WHERE aggregate_id = ?`, id)
		if err != nil {
			return err
		}
		if busy {
			return compute.ErrInUse
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM aggregate_metadata WHERE aggregate_id = ?`, id); err != nil {
			return err
		}
		return deleteSome(ctx, tx, `DELETE FROM aggregates WHERE id = ?`, id)
	})
	if err != nil {
		return fmt.Errorf("delete aggregate %d: %w", id, err)
	}
	return nil
}

// AddAggregateHost adds a host to an aggregate.
func (s *Store) AddAggregateHost(ctx context.Context, id int64, host string) error {
	_, err := s.d.ExecContext(ctx, `INSERT INTO aggregate_hosts (aggregate_id, host) VALUES (?, ?)`, id, host)
	if err != nil {
		return fmt.Errorf("add host %s to aggregate %d: %w", host, id, writeErr(err))
	}
	return nil
}

// RemoveAggregateHost removes a host from an aggregate.
func (s *Store) RemoveAggregateHost(ctx context.Context, id int64, host string) error {
	if err := deleteSome(ctx, s.d, `DELETE FROM aggregate_hosts WHERE aggregate_id = ? AND host = ?`, id, host); err != nil {
		return fmt.Errorf("remove host %s from aggregate %d: %w", host, id, err)
	}
	return nil
}
