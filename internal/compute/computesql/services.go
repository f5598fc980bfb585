package computesql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	// Node is a compute service's node as last stored ("" for none).
	Node ServiceNode
}

// ServiceNode is a compute service's node (nova's compute_nodes row): its
// resource provider's uuid, its name and what was reported of it, as a
// JSON document.
type ServiceNode struct {
	UUID, Hostname, Resources string
}

// ServiceHeartbeat is what a heartbeat changes in a service's row, and its
// node when that changed (Node.UUID set).
type ServiceHeartbeat struct {
	ID          int
	ReportCount int64
	Version     string
	LastSeenUp  time.Time
	Node        ServiceNode
}

const serviceCols = `s.id, s.uuid, s.host, s.binary_name, s.topic, s.report_count, s.disabled, s.disabled_reason,
s.forced_down, s.version, s.last_seen_up, s.created_at, s.updated_at, n.uuid, n.hypervisor_hostname, n.resources`

const serviceFrom = ` FROM services s LEFT JOIN compute_nodes n ON n.service_id = s.id`

func scanService(sc interface{ Scan(...any) error }) (ServiceRow, error) {
	var r ServiceRow
	var reason, nodeUUID, nodeName, nodeRes sql.NullString
	var seen, created, updated db.Time
	if err := sc.Scan(&r.ID, &r.UUID, &r.Host, &r.Binary, &r.Topic, &r.ReportCount, &r.Disabled, &reason,
		&r.ForcedDown, &r.Version, &seen, &created, &updated, &nodeUUID, &nodeName, &nodeRes); err != nil {
		return ServiceRow{}, err
	}
	r.DisabledReason, r.LastSeenUp, r.CreatedAt, r.UpdatedAt = reason.String, seen.Time, created.Time, updated.Time
	r.Node = ServiceNode{UUID: nodeUUID.String, Hostname: nodeName.String, Resources: nodeRes.String}
	return r, nil
}

// ListServices lists every service, by id.
func (s *Store) ListServices(ctx context.Context) ([]ServiceRow, error) {
	rows, err := s.d.QueryContext(ctx, `SELECT `+serviceCols+serviceFrom+` ORDER BY s.id`)
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
	r, err := scanService(q.QueryRowContext(ctx, `SELECT `+serviceCols+serviceFrom+` WHERE s.host = ? AND s.binary_name = ?`,
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

// RecordHeartbeats writes a batch of heartbeats in one transaction: on a
// database server a statement per heartbeatChunk services, one round trip
// each; on SQLite a statement per service. Changed nodes are written one
// by one. A
// heartbeat older than the one stored (another controller wrote a newer
// one) does not move last_seen_up back; one of a service deleted meanwhile
// changes nothing.
func (s *Store) RecordHeartbeats(ctx context.Context, hbs []ServiceHeartbeat) error {
	if len(hbs) == 0 {
		return nil
	}
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		if err := writeHeartbeats(ctx, tx, hbs); err != nil {
			return err
		}
		for _, h := range hbs {
			if h.Node.UUID == "" {
				continue
			}
			if err := putNode(ctx, tx, h); err != nil {
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

// writeHeartbeats updates the services' rows of hbs.
func writeHeartbeats(ctx context.Context, tx *db.Tx, hbs []ServiceHeartbeat) error {
	if tx.Engine() != db.SQLite {
		for chunk := range slices.Chunk(hbs, heartbeatChunk) {
			if _, err := tx.ExecContext(ctx, heartbeatUpdate(len(chunk)), heartbeatArgs(chunk)...); err != nil {
				return err
			}
		}
		return nil
	}
	// In process, a statement per service costs no round trip, and SQLite
	// walks long CASE lists slowly.
	for _, h := range hbs {
		if _, err := tx.ExecContext(ctx, `UPDATE services SET last_seen_up = ?, report_count = ?, version = ?,
			updated_at = ? WHERE id = ? AND (last_seen_up IS NULL OR last_seen_up <= ?)`, db.At(h.LastSeenUp),
			h.ReportCount, h.Version, db.At(h.LastSeenUp), h.ID, db.At(h.LastSeenUp)); err != nil {
			return err
		}
	}
	return nil
}

// heartbeatChunk is how many services one heartbeat statement updates: 13
// arguments each, well under every engine's limit.
const heartbeatChunk = 200

// heartbeatUpdate is the statement that writes n heartbeats: one UPDATE
// whose CASE arms pick each service's values, keeping the stored ones
// where they are newer. (MySQL assigns left to right, so its later arms
// see the new last_seen_up: equal to the heartbeat's when it was taken,
// which still takes the heartbeat's values.)
func heartbeatUpdate(n int) string {
	var seen, count, version, updated strings.Builder
	for range n {
		seen.WriteString(" WHEN ? THEN CASE WHEN last_seen_up > ? THEN last_seen_up ELSE ? END")
		count.WriteString(" WHEN ? THEN CASE WHEN last_seen_up > ? THEN report_count ELSE ? END")
		version.WriteString(" WHEN ? THEN CASE WHEN last_seen_up > ? THEN version ELSE ? END")
		updated.WriteString(" WHEN ? THEN CASE WHEN last_seen_up > ? THEN updated_at ELSE ? END")
	}
	return `UPDATE services SET last_seen_up = CASE id` + seen.String() + ` ELSE last_seen_up END,
		report_count = CASE id` + count.String() + ` ELSE report_count END,
		version = CASE id` + version.String() + ` ELSE version END,
		updated_at = CASE id` + updated.String() + ` ELSE updated_at END
		WHERE id IN (` + db.Placeholders(n) + `)`
}

// heartbeatArgs are heartbeatUpdate's arguments, in its order.
func heartbeatArgs(hbs []ServiceHeartbeat) []any {
	args := make([]any, 0, 13*len(hbs))
	for _, h := range hbs {
		args = append(args, h.ID, db.At(h.LastSeenUp), db.At(h.LastSeenUp))
	}
	for _, h := range hbs {
		args = append(args, h.ID, db.At(h.LastSeenUp), h.ReportCount)
	}
	for _, h := range hbs {
		args = append(args, h.ID, db.At(h.LastSeenUp), h.Version)
	}
	for _, h := range hbs {
		args = append(args, h.ID, db.At(h.LastSeenUp), db.At(h.LastSeenUp))
	}
	for _, h := range hbs {
		args = append(args, h.ID)
	}
	return args
}

// putNode writes the node of a heartbeat's service.
func putNode(ctx context.Context, tx *db.Tx, h ServiceHeartbeat) error {
	n := h.Node
	// MySQL counts only rows whose values change: ask first.
	exists, err := db.Exists(ctx, tx, `SELECT 1 FROM compute_nodes WHERE service_id = ?`, h.ID)
	if err != nil {
		return err
	}
	if exists {
		_, err := tx.ExecContext(ctx, `UPDATE compute_nodes SET uuid = ?, hypervisor_hostname = ?, resources = ?,
			updated_at = ? WHERE service_id = ?`, n.UUID, n.Hostname, n.Resources, db.At(h.LastSeenUp), h.ID)
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO compute_nodes (uuid, service_id, host, hypervisor_hostname, resources,
		created_at) SELECT ?, id, host, ?, ?, ? FROM services WHERE id = ?`, n.UUID, n.Hostname, n.Resources,
		db.At(h.LastSeenUp), h.ID)
	return err
}

// DeleteService removes a service's row, and its node's.
func (s *Store) DeleteService(ctx context.Context, host, binary string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM compute_nodes WHERE service_id IN
			(SELECT id FROM services WHERE host = ? AND binary_name = ?)`, host, binary); err != nil {
			return err
		}
		return deleteSome(ctx, tx, `DELETE FROM services WHERE host = ? AND binary_name = ?`, host, binary)
	})
	if err != nil {
		return fmt.Errorf("delete service %s on %s: %w", binary, host, err)
	}
	return nil
}
