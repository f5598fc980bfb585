package computesql

import (
	"context"
	"errors"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/db"
)

var _ compute.UsageStore = (*Store)(nil)

// InstancesInWindow returns the instances active in a usage window, by
// project and UUID.
func (s *Store) InstancesInWindow(ctx context.Context, f compute.UsageWindow) ([]compute.Instance, error) {
	var out []compute.Instance
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		out = nil
		w := &db.Where{}
		w.Add("(terminated_at IS NULL OR terminated_at > ?)", db.At(f.Start))
		w.Add("launched_at < ?", db.At(f.End))
		w.Eq("project_id", f.ProjectID)
		project, uuid := db.Collate(tx.Engine(), "project_id"), db.Collate(tx.Engine(), "uuid")
		if f.Marker != "" {
			m, err := getInstance(ctx, tx, f.Marker, true, false)
			if errors.Is(err, compute.ErrNotFound) {
				return fmt.Errorf("marker %s: %w", f.Marker, compute.ErrMarkerNotFound)
			}
			if err != nil {
				return err
			}
			w.Add("("+project+" > ? OR ("+project+" = ? AND "+uuid+" > ?))", m.ProjectID, m.ProjectID, m.UUID)
		}
		q := `SELECT ` + instanceColumns + ` FROM instances` + w.String() + ` ORDER BY ` + project + `, ` + uuid
		args := w.Args
		if f.Limit > 0 {
			q += ` LIMIT ?`
			args = append(args, f.Limit)
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			inst, err := scanInstance(rows)
			if err != nil {
				return err
			}
			out = append(out, inst)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list instances in a usage window: %w", err)
	}
	return out, nil
}
