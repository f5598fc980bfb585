package imagesql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// taskColumns are the tasks columns in the order scanTask reads them.
const taskColumns = `id, type, status, owner, input, result, message, image_id, request_id, user_id,
expires_at, created_at, updated_at`

// CreateTask stores a new task. An existing id is ErrConflict.
func (s *Store) CreateTask(ctx context.Context, t image.Task) error {
	input, result, err := taskJSON(t)
	if err != nil {
		return fmt.Errorf("create task %s: %w", t.ID, err)
	}
	_, err = s.d.ExecContext(ctx, `INSERT INTO tasks (`+taskColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Type, string(t.Status), t.Owner, input, result, t.Message, t.ImageID, t.RequestID,
		t.UserID, db.At(t.ExpiresAt), db.At(t.CreatedAt), db.At(t.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create task %s: %w", t.ID, writeErr(err))
	}
	return nil
}

// taskJSON returns t's input and result as stored: JSON text, "" when nil.
// CreatedAt and UpdatedAt are required (ErrValidation when zero).
func taskJSON(t image.Task) (string, string, error) {
	if t.CreatedAt.IsZero() || t.UpdatedAt.IsZero() {
		return "", "", fmt.Errorf("%w: created_at and updated_at are required", image.ErrValidation)
	}
	input, err := encodeObject(t.Input)
	if err != nil {
		return "", "", fmt.Errorf("encode input: %w", err)
	}
	result, err := encodeObject(t.Result)
	if err != nil {
		return "", "", fmt.Errorf("encode result: %w", err)
	}
	return input, result, nil
}

// encodeObject renders m as JSON text, "" when nil.
func encodeObject(m map[string]any) (string, error) {
	if m == nil {
		return "", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodeObject reads JSON object text; "" is nil.
func decodeObject(s string) (map[string]any, error) {
	if s == "" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	return m, nil
}

// GetTask returns the task with id.
func (s *Store) GetTask(ctx context.Context, id string) (image.Task, error) {
	out, err := s.queryTasks(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = ?`, id)
	if err != nil {
		return image.Task{}, fmt.Errorf("get task %s: %w", id, err)
	}
	if len(out) == 0 {
		return image.Task{}, fmt.Errorf("get task %s: %w", id, image.ErrNotFound)
	}
	return out[0], nil
}

// UpdateTask writes t's status, owner, input, result, message, image, request,
// user, expiry and update time.
func (s *Store) UpdateTask(ctx context.Context, t image.Task) error {
	input, result, err := taskJSON(t)
	if err != nil {
		return fmt.Errorf("update task %s: %w", t.ID, err)
	}
	res, err := s.d.ExecContext(ctx, `UPDATE tasks SET status = ?, owner = ?, input = ?, result = ?,
		message = ?, image_id = ?, request_id = ?, user_id = ?, expires_at = ?, updated_at = ?
		WHERE id = ?`,
		string(t.Status), t.Owner, input, result, t.Message, t.ImageID, t.RequestID, t.UserID,
		db.At(t.ExpiresAt), db.At(t.UpdatedAt), t.ID)
	if err != nil {
		return fmt.Errorf("update task %s: %w", t.ID, writeErr(err))
	}
	n, err := db.Affected(res)
	if err != nil {
		return fmt.Errorf("update task %s: %w", t.ID, err)
	}
	if n == 0 {
		// MySQL counts changed rows only; tell an unchanged row from a missing one.
		ok, err := db.Exists(ctx, s.d, `SELECT 1 FROM tasks WHERE id = ?`, t.ID)
		if err != nil {
			return fmt.Errorf("update task %s: %w", t.ID, err)
		}
		if !ok {
			return fmt.Errorf("update task %s: %w", t.ID, image.ErrNotFound)
		}
	}
	return nil
}

// ListTasks returns the tasks f selects, newest first, then by id.
func (s *Store) ListTasks(ctx context.Context, f image.TaskFilter) ([]image.Task, error) {
	var w db.Where
	w.Eq("image_id", f.ImageID)
	w.Eq("owner", f.Owner)
	w.Eq("status", string(f.Status))
	w.Eq("type", f.Type)
	out, err := s.queryTasks(ctx, `SELECT `+taskColumns+` FROM tasks`+w.String()+
		` ORDER BY created_at DESC, `+db.Collate(s.d.Engine(), "id"), w.Args...)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	return out, nil
}

// queryTasks runs a SELECT of taskColumns.
func (s *Store) queryTasks(ctx context.Context, q string, args ...any) ([]image.Task, error) {
	rows, err := s.d.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []image.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// scanTask reads one row of taskColumns.
func scanTask(rows *sql.Rows) (image.Task, error) {
	var (
		t                     image.Task
		status, input, result string
		expires, created, upd db.Time
	)
	if err := rows.Scan(&t.ID, &t.Type, &status, &t.Owner, &input, &result, &t.Message, &t.ImageID,
		&t.RequestID, &t.UserID, &expires, &created, &upd); err != nil {
		return image.Task{}, err
	}
	t.Status = image.TaskStatus(status)
	t.ExpiresAt, t.CreatedAt, t.UpdatedAt = expires.Time, created.Time, upd.Time
	var err error
	if t.Input, err = decodeObject(input); err != nil {
		return image.Task{}, fmt.Errorf("task %s input: %w", t.ID, err)
	}
	if t.Result, err = decodeObject(result); err != nil {
		return image.Task{}, fmt.Errorf("task %s result: %w", t.ID, err)
	}
	return t, nil
}
