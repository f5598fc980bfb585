package computesql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/db"
)

const keyPairColumns = `id, user_id, name, key_type, fingerprint, public_key, created_at`

// CreateKeyPair stores a key pair unless the user would own more than limit.
func (s *Store) CreateKeyPair(ctx context.Context, kp compute.KeyPair, limit int) (compute.KeyPair, error) {
	if kp.CreatedAt.IsZero() {
		return compute.KeyPair{}, fmt.Errorf("create key pair %s: %w: created_at is required", kp.Name, compute.ErrInvalid)
	}
	var out compute.KeyPair
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO key_pairs (user_id, name, key_type, fingerprint, public_key, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, kp.UserID, kp.Name, kp.Type, kp.Fingerprint, kp.PublicKey, db.At(kp.CreatedAt)); err != nil {
			return writeErr(err)
		}
		// Counting after the insert, in the same transaction, is nova's
		// recheck: of two creations racing for the last unit one fails.
		if limit >= 0 {
			n, err := countKeyPairs(ctx, tx, kp.UserID)
			if err != nil {
				return err
			}
			if n > limit {
				return compute.ErrOverQuota
			}
		}
		var err error
		out, err = getKeyPair(ctx, tx, kp.UserID, kp.Name)
		return err
	})
	if err != nil {
		return compute.KeyPair{}, fmt.Errorf("create key pair %s of %s: %w", kp.Name, kp.UserID, err)
	}
	return out, nil
}

func getKeyPair(ctx context.Context, q db.Querier, userID, name string) (compute.KeyPair, error) {
	kp, err := scanKeyPair(q.QueryRowContext(ctx, `SELECT `+keyPairColumns+` FROM key_pairs WHERE user_id = ? AND name = ?`,
		userID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return compute.KeyPair{}, compute.ErrNotFound
	}
	return kp, err
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

func scanKeyPair(r scanner) (compute.KeyPair, error) {
	var (
		kp      compute.KeyPair
		created db.Time
	)
	if err := r.Scan(&kp.ID, &kp.UserID, &kp.Name, &kp.Type, &kp.Fingerprint, &kp.PublicKey, &created); err != nil {
		return compute.KeyPair{}, err
	}
	kp.CreatedAt = created.Time
	return kp, nil
}

func countKeyPairs(ctx context.Context, q db.Querier, userID string) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM key_pairs WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count key pairs: %w", err)
	}
	return n, nil
}

// GetKeyPair returns a user's key pair by name.
func (s *Store) GetKeyPair(ctx context.Context, userID, name string) (compute.KeyPair, error) {
	kp, err := getKeyPair(ctx, s.d, userID, name)
	if err != nil {
		return compute.KeyPair{}, fmt.Errorf("get key pair %s of %s: %w", name, userID, err)
	}
	return kp, nil
}

// ListKeyPairs returns a user's key pairs by name, after marker.
func (s *Store) ListKeyPairs(ctx context.Context, userID, marker string, limit int) ([]compute.KeyPair, error) {
	var out []compute.KeyPair
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		w := &db.Where{}
		w.Add("user_id = ?", userID)
		if marker != "" {
			if _, err := getKeyPair(ctx, tx, userID, marker); errors.Is(err, compute.ErrNotFound) {
				return fmt.Errorf("marker %s: %w", marker, compute.ErrMarkerNotFound)
			} else if err != nil {
				return err
			}
			w.Add(db.Collate(tx.Engine(), "name")+" > ?", marker)
		}
		q := `SELECT ` + keyPairColumns + ` FROM key_pairs` + w.String() + db.OrderBy(tx.Engine(), "name")
		args := w.Args
		if limit > 0 {
			q += " LIMIT ?"
			args = append(args, limit)
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			kp, err := scanKeyPair(rows)
			if err != nil {
				return err
			}
			out = append(out, kp)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list key pairs of %s: %w", userID, err)
	}
	return out, nil
}

// DeleteKeyPair removes a user's key pair.
func (s *Store) DeleteKeyPair(ctx context.Context, userID, name string) error {
	if err := deleteSome(ctx, s.d, `DELETE FROM key_pairs WHERE user_id = ? AND name = ?`, userID, name); err != nil {
		return fmt.Errorf("delete key pair %s of %s: %w", name, userID, err)
	}
	return nil
}

// CountKeyPairs returns how many key pairs a user owns.
func (s *Store) CountKeyPairs(ctx context.Context, userID string) (int, error) {
	return countKeyPairs(ctx, s.d, userID)
}
