package computesql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/db"
)

const actionColumns = `id, instance_uuid, action, request_id, user_id, project_id, start_time, message, updated_at`

// insertAction stores an action with the events it carries and returns its
// row id.
func insertAction(ctx context.Context, tx *db.Tx, a compute.InstanceAction) (int64, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO instance_actions (instance_uuid, action, request_id, user_id, project_id,
		start_time, message, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.InstanceUUID, a.Action, a.RequestID, a.UserID,
		a.ProjectID, db.At(a.StartTime), nullString(a.Message), db.At(a.UpdatedAt)); err != nil {
		return 0, fmt.Errorf("record action %s: %w", a.Action, writeErr(err))
	}
	// The newest action of the request is the one just written: ids grow.
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(id) FROM instance_actions WHERE instance_uuid = ? AND request_id = ?`,
		a.InstanceUUID, a.RequestID).Scan(&id); err != nil {
		return 0, err
	}
	for _, e := range a.Events {
		if err := insertEvent(ctx, tx, id, e); err != nil {
			return 0, err
		}
	}
	return id, nil
}

func insertEvent(ctx context.Context, tx *db.Tx, actionID int64, e compute.InstanceActionEvent) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO instance_actions_events (action_id, event, start_time, finish_time, result,
		traceback, host, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, actionID, e.Event, db.At(e.StartTime),
		db.At(e.FinishTime), e.Result, e.Traceback, e.Host, e.Details)
	if err != nil {
		return fmt.Errorf("record event %s: %w", e.Event, writeErr(err))
	}
	return nil
}

func scanAction(r scanner) (compute.InstanceAction, error) {
	var (
		a                compute.InstanceAction
		msg              sql.NullString
		start, updatedAt db.Time
	)
	if err := r.Scan(&a.ID, &a.InstanceUUID, &a.Action, &a.RequestID, &a.UserID, &a.ProjectID, &start, &msg,
		&updatedAt); err != nil {
		return compute.InstanceAction{}, err
	}
	if msg.Valid {
		m := msg.String
		a.Message = &m
	}
	a.StartTime, a.UpdatedAt = start.Time, updatedAt.Time
	return a, nil
}

// RecordAction stores an action on an instance.
func (s *Store) RecordAction(ctx context.Context, a compute.InstanceAction) error {
	return s.d.InTx(ctx, func(tx *db.Tx) error {
		_, err := insertAction(ctx, tx, a)
		return err
	})
}

// actionByRequest is the newest action of a request on an instance.
func actionByRequest(ctx context.Context, q db.Querier, uuid, requestID string, lock bool) (compute.InstanceAction, error) {
	query := `SELECT ` + actionColumns + ` FROM instance_actions WHERE instance_uuid = ? AND request_id = ?
		ORDER BY start_time DESC, id DESC LIMIT 1`
	if lock {
		query += db.ForUpdate(q.Engine())
	}
	a, err := scanAction(q.QueryRowContext(ctx, query, uuid, requestID))
	if errors.Is(err, sql.ErrNoRows) {
		return compute.InstanceAction{}, compute.ErrNotFound
	}
	return a, err
}

// ListActions returns an instance's actions newest first.
func (s *Store) ListActions(ctx context.Context, uuid string, f compute.ActionFilter) ([]compute.InstanceAction, error) {
	out := []compute.InstanceAction{}
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		out = out[:0]
		w := &db.Where{}
		w.Add("instance_uuid = ?", uuid)
		if !f.ChangesSince.IsZero() {
			w.Add("updated_at >= ?", db.At(f.ChangesSince))
		}
		if !f.ChangesBefore.IsZero() {
			w.Add("updated_at <= ?", db.At(f.ChangesBefore))
		}
		if f.Marker != "" {
			m, err := actionByRequest(ctx, tx, uuid, f.Marker, false)
			if errors.Is(err, compute.ErrNotFound) {
				return fmt.Errorf("marker %s: %w", f.Marker, compute.ErrMarkerNotFound)
			}
			if err != nil {
				return err
			}
			w.Add("(start_time < ? OR (start_time = ? AND id < ?))", db.At(m.StartTime), db.At(m.StartTime), m.ID)
		}
		q := `SELECT ` + actionColumns + ` FROM instance_actions` + w.String() + ` ORDER BY start_time DESC, id DESC`
		args := w.Args
		if f.Limit > 0 {
			q += ` LIMIT ?`
			args = append(args, f.Limit)
		}
		return eachRow(ctx, tx, q, args, func(rows *sql.Rows) error {
			a, err := scanAction(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list actions of %s: %w", uuid, err)
	}
	return out, nil
}

// GetAction returns the newest action of a request with its events.
func (s *Store) GetAction(ctx context.Context, uuid, requestID string) (compute.InstanceAction, error) {
	var out compute.InstanceAction
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		a, err := actionByRequest(ctx, tx, uuid, requestID, false)
		if err != nil {
			return err
		}
		a.Events = []compute.InstanceActionEvent{}
		err = eachRow(ctx, tx, `SELECT event, start_time, finish_time, result, traceback, host, details
			FROM instance_actions_events WHERE action_id = ? ORDER BY start_time DESC, id DESC`, []any{a.ID},
			func(rows *sql.Rows) error {
				var (
					e             compute.InstanceActionEvent
					start, finish db.Time
				)
				if err := rows.Scan(&e.Event, &start, &finish, &e.Result, &e.Traceback, &e.Host, &e.Details); err != nil {
					return err
				}
				e.StartTime, e.FinishTime = start.Time, finish.Time
				a.Events = append(a.Events, e)
				return nil
			})
		out = a
		return err
	})
	if err != nil {
		return compute.InstanceAction{}, fmt.Errorf("get action %s of %s: %w", requestID, uuid, err)
	}
	return out, nil
}

// StartEvent records the start of an event of a request's action.
func (s *Store) StartEvent(ctx context.Context, uuid, requestID string, e compute.InstanceActionEvent) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		a, err := actionByRequest(ctx, tx, uuid, requestID, true)
		if err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, a.ID, e); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE instance_actions SET updated_at = ? WHERE id = ?`, db.At(e.StartTime), a.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("start event %s of %s: %w", e.Event, uuid, err)
	}
	return nil
}

// FinishEvent records the end of an event; an error marks its action.
func (s *Store) FinishEvent(ctx context.Context, uuid, requestID string, e compute.InstanceActionEvent) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		a, err := actionByRequest(ctx, tx, uuid, requestID, true)
		if err != nil {
			return err
		}
		var id sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(id) FROM instance_actions_events WHERE action_id = ? AND event = ?`,
			a.ID, e.Event).Scan(&id); err != nil {
			return err
		}
		if !id.Valid {
			return fmt.Errorf("event %s: %w", e.Event, compute.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE instance_actions_events SET finish_time = ?, result = ?, traceback = ?,
			details = ? WHERE id = ?`, db.At(e.FinishTime), e.Result, e.Traceback, e.Details, id.Int64); err != nil {
			return err
		}
		if strings.EqualFold(e.Result, "error") {
			_, err = tx.ExecContext(ctx, `UPDATE instance_actions SET message = ?, updated_at = ? WHERE id = ?`, "Error",
				db.At(e.FinishTime), a.ID)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE instance_actions SET updated_at = ? WHERE id = ?`, db.At(e.FinishTime), a.ID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("finish event %s of %s: %w", e.Event, uuid, err)
	}
	return nil
}
