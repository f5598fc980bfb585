package computesql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/db"
)

// ServiceRow is one service of the service group as the services table
// keeps it: who it is, what operators set on it, and its last heartbeat.
type ServiceRow struct {
	ID             int
	UUID           string
	Host           string
	Binary         string
	Topic          string
	ReportCount    int64
	Disabled       bool
	DisabledReason string
	ForcedDown     bool
	Version        string
	LastSeenUp     time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// ServiceHeartbeat is what a heartbeat changes in a service's row.
type ServiceHeartbeat struct {
	ID          int
	ReportCount int64
	Version     string
	LastSeenUp  time.Time
}

const serviceCols = `id, uuid, host, binary_name, topic, report_count, disabled, disabled_reason, forced_down,
version, last_seen_up, created_at, updated_at`

func scanService(sc interface{ Scan(...any) error }) (ServiceRow, error) {
	var r ServiceRow
	var reason sql.NullString
	var seen, created, updated db.Time
	if err := sc.Scan(&r.ID, &r.UUID, &r.Host, &r.Binary, &r.Topic, &r.ReportCount, &r.Disabled, &reason,
		&r.ForcedDown, &r.Version, &seen, &created, &updated); err != nil {
		return ServiceRow{}, err
	}
	r.DisabledReason, r.LastSeenUp, r.CreatedAt, r.UpdatedAt = reason.String, seen.Time, created.Time, updated.Time
	return r, nil
}

// ListServices lists every service, by id.
func (s *Store) ListServices(ctx context.Context) ([]ServiceRow, error) {
	rows, err := s.d.QueryContext(ctx, `SELECT `+serviceCols+` FROM services ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	defer rows.Close()
	var out []ServiceRow
	for rows.Next() {
		r, err := scanService(rows)
		if err != nil {
			return nil, fmt.Errorf("list services: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	return out, nil
}

// CreateService registers a service and returns its row with its id. When
// its host and binary are registered already (by another controller), the
// row there is returned and created is false.
func (s *Store) CreateService(ctx context.Context, r ServiceRow) (_ ServiceRow, created bool, err error) {
	if r.UUID == "" || r.Host == "" || r.Binary == "" || r.CreatedAt.IsZero() {
		return ServiceRow{}, false, fmt.Errorf("create service %s on %s: %w: uuid, host, binary and created_at are required",
			r.Binary, r.Host, compute.ErrInvalid)
	}
	var out ServiceRow
	err = s.d.InTx(ctx, func(tx *db.Tx) error {
		var reason any
		if r.Disabled {
			reason = r.DisabledReason
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO services (uuid, host, binary_name, topic, report_count, disabled,
			disabled_reason, forced_down, version, last_seen_up, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.UUID, r.Host, r.Binary, r.Topic, r.ReportCount, r.Disabled,
			reason, r.ForcedDown, r.Version, db.At(r.LastSeenUp), db.At(r.CreatedAt), db.At(r.UpdatedAt))
		if err != nil {
			return writeErr(err)
		}
		created = true
		out, err = getService(ctx, tx, r.Host, r.Binary)
		return err
	})
	if errors.Is(err, compute.ErrConflict) {
		created = false
		err = s.d.InTx(ctx, func(tx *db.Tx) error {
			out, err = getService(ctx, tx, r.Host, r.Binary)
			return err
		})
	}
	if err != nil {
		return ServiceRow{}, false, fmt.Errorf("create service %s on %s: %w", r.Binary, r.Host, err)
	}
	return out, created, nil
}

func getService(ctx context.Context, q db.Querier, host, binary string) (ServiceRow, error) {
	r, err := scanService(q.QueryRowContext(ctx, `SELECT `+serviceCols+` FROM services WHERE host = ? AND binary_name = ?`,
		host, binary))
	if errors.Is(err, sql.ErrNoRows) {
		return ServiceRow{}, fmt.Errorf("service %s on %s: %w", binary, host, compute.ErrNotFound)
	}
	return r, err
}

// SetServiceDisabled enables or disables a service; the reason is kept
// only while it is disabled.
func (s *Store) SetServiceDisabled(ctx context.Context, host, binary string, disabled bool, reason string, at time.Time) error {
	var r any
	if disabled {
		r = reason
	}
	err := db.ExecOne(ctx, s.d, compute.ErrNotFound, `UPDATE services SET disabled = ?, disabled_reason = ?, updated_at = ?
		WHERE host = ? AND binary_name = ?`, disabled, r, db.At(at), host, binary)
	if err != nil {
		return fmt.Errorf("update service %s on %s: %w", binary, host, err)
	}
	return nil
}

// SetServiceForcedDown sets or clears a service's forced_down.
func (s *Store) SetServiceForcedDown(ctx context.Context, host, binary string, down bool, at time.Time) error {
	err := db.ExecOne(ctx, s.d, compute.ErrNotFound, `UPDATE services SET forced_down = ?, updated_at = ?
		WHERE host = ? AND binary_name = ?`, down, db.At(at), host, binary)
	if err != nil {
		return fmt.Errorf("update service %s on %s: %w", binary, host, err)
	}
	return nil
}

// RecordHeartbeats writes a batch of heartbeats in one transaction. A
// heartbeat older than the one stored (another controller wrote a newer
// one) changes nothing, nor does one of a service deleted meanwhile.
func (s *Store) RecordHeartbeats(ctx context.Context, hbs []ServiceHeartbeat) error {
	if len(hbs) == 0 {
		return nil
	}
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		for _, h := range hbs {
			if _, err := tx.ExecContext(ctx, `UPDATE services SET last_seen_up = ?, report_count = ?, version = ?,
				updated_at = ? WHERE id = ? AND (last_seen_up IS NULL OR last_seen_up < ?)`, db.At(h.LastSeenUp),
				h.ReportCount, h.Version, db.At(h.LastSeenUp), h.ID, db.At(h.LastSeenUp)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record %d heartbeats: %w", len(hbs), err)
	}
	return nil
}

// DeleteService removes a service's row.
func (s *Store) DeleteService(ctx context.Context, host, binary string) error {
	if err := deleteSome(ctx, s.d, `DELETE FROM services WHERE host = ? AND binary_name = ?`, host, binary); err != nil {
		return fmt.Errorf("delete service %s on %s: %w", binary, host, err)
	}
	return nil
}
