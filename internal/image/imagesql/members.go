package imagesql

import (
	"context"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// CreateMember shares an image with a project. A missing image is ErrNotFound
// and an existing membership ErrConflict.
func (s *Store) CreateMember(ctx context.Context, m image.Member) error {
	if m.CreatedAt.IsZero() || m.UpdatedAt.IsZero() {
		return fmt.Errorf("create member %s of image %s: %w: created_at and updated_at are required",
			m.MemberID, m.ImageID, image.ErrValidation)
	}
	_, err := s.d.ExecContext(ctx, `INSERT INTO image_members (image_id, member_id, status, created_at,
		updated_at) VALUES (?, ?, ?, ?, ?)`,
		m.ImageID, m.MemberID, string(m.Status), db.At(m.CreatedAt), db.At(m.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create member %s of image %s: %w", m.MemberID, m.ImageID, writeErr(err))
	}
	return nil
}

// GetMember returns the membership of memberID in imageID.
func (s *Store) GetMember(ctx context.Context, imageID, memberID string) (image.Member, error) {
	ms, err := s.queryMembers(ctx, `WHERE image_id = ? AND member_id = ?`, imageID, memberID)
	if err != nil {
		return image.Member{}, fmt.Errorf("get member %s of image %s: %w", memberID, imageID, err)
	}
	if len(ms) == 0 {
		return image.Member{}, fmt.Errorf("get member %s of image %s: %w", memberID, imageID, image.ErrNotFound)
	}
	return ms[0], nil
}

// ListMembers returns the members of imageID ordered by member id; nil when
// there are none or the image does not exist.
func (s *Store) ListMembers(ctx context.Context, imageID string) ([]image.Member, error) {
	ms, err := s.queryMembers(ctx, `WHERE image_id = ?`, imageID)
	if err != nil {
		return nil, fmt.Errorf("list members of image %s: %w", imageID, err)
	}
	return ms, nil
}

func (s *Store) queryMembers(ctx context.Context, cond string, args ...any) ([]image.Member, error) {
	rows, err := s.d.QueryContext(ctx, `SELECT image_id, member_id, status, created_at, updated_at
		FROM image_members `+cond+db.OrderBy(s.d.Engine(), "member_id"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []image.Member
	for rows.Next() {
		var (
			m                image.Member
			status           string
			created, updated db.Time
		)
		if err := rows.Scan(&m.ImageID, &m.MemberID, &status, &created, &updated); err != nil {
			return nil, fmt.Errorf("scan member: %w", err)
		}
		m.Status, m.CreatedAt, m.UpdatedAt = image.MemberStatus(status), created.Time, updated.Time
		out = append(out, m)
	}
	return out, rows.Err()
}

// UpdateMember stores m's status and updated_at; created_at is kept.
func (s *Store) UpdateMember(ctx context.Context, m image.Member) error {
	if m.UpdatedAt.IsZero() {
		return fmt.Errorf("update member %s of image %s: %w: updated_at is required",
			m.MemberID, m.ImageID, image.ErrValidation)
	}
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE image_members SET status = ?, updated_at = ?
			WHERE image_id = ? AND member_id = ?`, string(m.Status), db.At(m.UpdatedAt), m.ImageID, m.MemberID)
		if err != nil {
			return err
		}
		n, err := db.Affected(res)
		if err != nil || n > 0 {
			return err
		}
		// MySQL counts only changed rows: an unchanged member is still a success.
		ok, err := db.Exists(ctx, tx, `SELECT 1 FROM image_members WHERE image_id = ? AND member_id = ?`,
			m.ImageID, m.MemberID)
		if err != nil {
			return err
		}
		if !ok {
			return image.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("update member %s of image %s: %w", m.MemberID, m.ImageID, err)
	}
	return nil
}

// DeleteMember removes the membership of memberID in imageID.
func (s *Store) DeleteMember(ctx context.Context, imageID, memberID string) error {
	err := deleteOne(ctx, s.d, `DELETE FROM image_members WHERE image_id = ? AND member_id = ?`,
		imageID, memberID)
	if err != nil {
		return fmt.Errorf("delete member %s of image %s: %w", memberID, imageID, err)
	}
	return nil
}
