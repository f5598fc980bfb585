package imagesql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/image"
)

// imageColumns are the images columns in the order imageArgs and scanImage use,
// each prefixed with the alias i.
const imageColumns = `i.id, i.name, i.status, i.visibility, i.protected, i.os_hidden, i.owner,
i.disk_format, i.container_format, i.min_disk, i.min_ram, i.size, i.virtual_size, i.checksum,
i.os_hash_algo, i.os_hash_value, i.location, i.stores, i.created_at, i.updated_at`

// CreateImage stores a new image with its tags and properties. An existing id
// is ErrConflict.
func (s *Store) CreateImage(ctx context.Context, img image.Image) error {
	args, err := imageArgs(img)
	if err != nil {
		return fmt.Errorf("create image %s: %w", img.ID, err)
	}
	err = s.d.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO images (id, name, status, visibility, protected,
			os_hidden, owner, disk_format, container_format, min_disk, min_ram, size, virtual_size,
			checksum, os_hash_algo, os_hash_value, location, stores, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			append([]any{img.ID}, args...)...)
		if err != nil {
			return writeErr(err)
		}
		return insertChildren(ctx, tx, img)
	})
	if err != nil {
		return fmt.Errorf("create image %s: %w", img.ID, err)
	}
	return nil
}

// imageArgs returns the stored values of every column of img but its id, in
// imageColumns order.
func imageArgs(img image.Image) ([]any, error) {
	if img.CreatedAt.IsZero() || img.UpdatedAt.IsZero() {
		return nil, fmt.Errorf("%w: created_at and updated_at are required", image.ErrValidation)
	}
	return []any{img.Name, string(img.Status), string(img.Visibility), img.Protected, img.Hidden,
		img.Owner, img.DiskFormat, img.ContainerFormat, img.MinDisk, img.MinRAM, img.Size,
		img.VirtualSize, img.Checksum, img.HashAlgo, img.HashValue, img.Location,
		strings.Join(img.Stores, ","), db.At(img.CreatedAt), db.At(img.UpdatedAt)}, nil
}

// insertChildren stores the tags, locations and properties of img.
func insertChildren(ctx context.Context, tx *db.Tx, img image.Image) error {
	for _, tag := range uniqueSorted(img.Tags) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO image_tags (image_id, value) VALUES (?, ?)`,
			img.ID, tag); err != nil {
			return fmt.Errorf("tag %q: %w", tag, writeErr(err))
		}
	}
	for i, loc := range img.Locations {
		meta, err := json.Marshal(loc.Metadata)
		if err != nil {
			return fmt.Errorf("location %d metadata: %w", i, err)
		}
		if loc.Metadata == nil {
			meta = []byte("{}")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO image_locations (image_id, seq, url, metadata)
			VALUES (?, ?, ?, ?)`, img.ID, i, loc.URL, string(meta)); err != nil {
			return fmt.Errorf("location %d: %w", i, writeErr(err))
		}
	}
	for store, loc := range img.Copies {
		if _, err := tx.ExecContext(ctx, `INSERT INTO image_copies (image_id, store, location)
			VALUES (?, ?, ?)`, img.ID, store, loc); err != nil {
			return fmt.Errorf("copy in store %q: %w", store, writeErr(err))
		}
	}
	for name, value := range img.Properties {
		if _, err := tx.ExecContext(ctx, `INSERT INTO image_properties (image_id, name, value)
			VALUES (?, ?, ?)`, img.ID, name, value); err != nil {
			return fmt.Errorf("property %q: %w", name, writeErr(err))
		}
	}
	return nil
}

// deleteChildren removes the tags, properties and locations of the image id.
func deleteChildren(ctx context.Context, tx *db.Tx, id string) error {
	for _, q := range []string{
		`DELETE FROM image_tags WHERE image_id = ?`,
		`DELETE FROM image_properties WHERE image_id = ?`,
		`DELETE FROM image_locations WHERE image_id = ?`,
		`DELETE FROM image_copies WHERE image_id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	return nil
}

// GetImage returns the image with id, whatever its status.
func (s *Store) GetImage(ctx context.Context, id string) (image.Image, error) {
	var out []image.Image
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		var err error
		out, err = queryImages(ctx, tx, `SELECT `+imageColumns+` FROM images i WHERE i.id = ?`, id)
		return err
	})
	if err != nil {
		return image.Image{}, fmt.Errorf("get image %s: %w", id, err)
	}
	if len(out) == 0 {
		return image.Image{}, fmt.Errorf("get image %s: %w", id, image.ErrNotFound)
	}
	return out[0], nil
}

// queryImages runs a SELECT of imageColumns and fills in the tags and
// properties of the images it returns, keeping their order.
func queryImages(ctx context.Context, tx *db.Tx, q string, args ...any) ([]image.Image, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []image.Image
	for rows.Next() {
		img, err := scanImage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if err := loadChildren(ctx, tx, out); err != nil {
		return nil, err
	}
	return out, nil
}

func scanImage(rows *sql.Rows) (image.Image, error) {
	var (
		img                 image.Image
		status, vis, stores string
		size, vsize         sql.NullInt64
		created, updated    db.Time
		protected, osHidden bool
	)
	err := rows.Scan(&img.ID, &img.Name, &status, &vis, &protected, &osHidden, &img.Owner,
		&img.DiskFormat, &img.ContainerFormat, &img.MinDisk, &img.MinRAM, &size, &vsize,
		&img.Checksum, &img.HashAlgo, &img.HashValue, &img.Location, &stores, &created, &updated)
	if err != nil {
		return img, fmt.Errorf("scan image: %w", err)
	}
	img.Status, img.Visibility = image.Status(status), image.Visibility(vis)
	img.Protected, img.Hidden = protected, osHidden
	if size.Valid {
		img.Size = &size.Int64
	}
	if vsize.Valid {
		img.VirtualSize = &vsize.Int64
	}
	if stores != "" {
		img.Stores = strings.Split(stores, ",")
	}
	img.CreatedAt, img.UpdatedAt = created.Time, updated.Time
	return img, nil
}

// childBatch bounds the ids in one IN list, well under every engine's limit
// on placeholders.
const childBatch = 500

// loadChildren fills in the tags and properties of imgs.
func loadChildren(ctx context.Context, tx *db.Tx, imgs []image.Image) error {
	index := make(map[string]int, len(imgs))
	for i, img := range imgs {
		index[img.ID] = i
	}
	for start := 0; start < len(imgs); start += childBatch {
		end := min(start+childBatch, len(imgs))
		ids := make([]any, 0, end-start)
		for _, img := range imgs[start:end] {
			ids = append(ids, img.ID)
		}
		in := "(" + db.Placeholders(len(ids)) + ")"
		err := eachRow(ctx, tx, `SELECT image_id, value FROM image_tags WHERE image_id IN `+in+
			db.OrderBy(tx.Engine(), "image_id", "value"), ids, func(c []string) {
			img := &imgs[index[c[0]]]
			img.Tags = append(img.Tags, c[1])
		})
		if err != nil {
			return fmt.Errorf("load tags: %w", err)
		}
		err = eachRow(ctx, tx, `SELECT image_id, name, value FROM image_properties WHERE image_id IN `+in,
			ids, func(c []string) {
				img := &imgs[index[c[0]]]
				if img.Properties == nil {
					img.Properties = map[string]string{}
				}
				img.Properties[c[1]] = c[2]
			})
		if err != nil {
			return fmt.Errorf("load properties: %w", err)
		}
		if err := loadLocations(ctx, tx, imgs, index, in, ids); err != nil {
			return err
		}
		err = eachRow(ctx, tx, `SELECT image_id, store, location FROM image_copies WHERE image_id IN `+in,
			ids, func(c []string) {
				img := &imgs[index[c[0]]]
				if img.Copies == nil {
					img.Copies = map[string]string{}
				}
				img.Copies[c[1]] = c[2]
			})
		if err != nil {
			return fmt.Errorf("load copies: %w", err)
		}
	}
	return nil
}

// loadLocations fills in the locations of the images whose ids are ids, in
// seq order.
func loadLocations(ctx context.Context, tx *db.Tx, imgs []image.Image, index map[string]int, in string,
	ids []any) error {
	var bad error
	err := eachRow(ctx, tx, `SELECT image_id, url, metadata FROM image_locations WHERE image_id IN `+in+
		` ORDER BY image_id, seq`, ids, func(c []string) {
		var meta map[string]any
		if err := json.Unmarshal([]byte(c[2]), &meta); err != nil && bad == nil {
			bad = fmt.Errorf("location %s of image %s: %w", c[1], c[0], err)
		}
		img := &imgs[index[c[0]]]
		img.Locations = append(img.Locations, image.Location{URL: c[1], Metadata: meta})
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return fmt.Errorf("load locations: %w", err)
	}
	return nil
}

// eachRow runs a query of text columns and calls fn with each row's values.
func eachRow(ctx context.Context, tx *db.Tx, q string, args []any, fn func(cols []string)) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]string, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		fn(vals)
	}
	return rows.Err()
}

// UpdateImage replaces every stored field of img.ID, tags and properties
// included, when its stored status is one of from (any when from is empty).
// The status check and the write are one atomic UPDATE: of two racing callers
// with the same from, one wins and the other gets ErrConflict.
func (s *Store) UpdateImage(ctx context.Context, img image.Image, from ...image.Status) error {
	args, err := imageArgs(img)
	if err != nil {
		return fmt.Errorf("update image %s: %w", img.ID, err)
	}
	err = s.d.InTx(ctx, func(tx *db.Tx) error {
		q := `UPDATE images SET name = ?, status = ?, visibility = ?, protected = ?, os_hidden = ?,
			owner = ?, disk_format = ?, container_format = ?, min_disk = ?, min_ram = ?, size = ?,
			virtual_size = ?, checksum = ?, os_hash_algo = ?, os_hash_value = ?, location = ?,
			stores = ?, created_at = ?, updated_at = ? WHERE id = ?`
		args := append(args, img.ID)
		if len(from) > 0 {
			q += " AND status IN (" + db.Placeholders(len(from)) + ")"
			args = append(args, db.Args(from)...)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return writeErr(err)
		}
		n, err := db.Affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			if err := checkUnchanged(ctx, tx, img.ID, from); err != nil {
				return err
			}
		}
		if err := deleteChildren(ctx, tx, img.ID); err != nil {
			return err
		}
		return insertChildren(ctx, tx, img)
	})
	if err != nil {
		return fmt.Errorf("update image %s: %w", img.ID, err)
	}
	return nil
}

// checkUnchanged explains an UPDATE that touched no row: the image is missing
// (ErrNotFound), its status is not one of from (ErrConflict), or, on MySQL,
// which counts only changed rows, the row matched but already held every value.
func checkUnchanged(ctx context.Context, tx *db.Tx, id string, from []image.Status) error {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM images WHERE id = ?`+db.ForUpdate(tx.Engine()), id).
		Scan(&status)
	if err == sql.ErrNoRows {
		return image.ErrNotFound
	}
	if err != nil {
		return err
	}
	if len(from) == 0 {
		return nil
	}
	for _, f := range from {
		if image.Status(status) == f {
			return nil
		}
	}
	return fmt.Errorf("%w: image status is %s, not %v", image.ErrConflict, status, from)
}

// DeleteImage removes the image with its tags, properties and members.
func (s *Store) DeleteImage(ctx context.Context, id string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		if err := deleteChildren(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM image_members WHERE image_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tasks WHERE image_id = ?`, id); err != nil {
			return err
		}
		return deleteOne(ctx, tx, `DELETE FROM images WHERE id = ?`, id)
	})
	if err != nil {
		return fmt.Errorf("delete image %s: %w", id, err)
	}
	return nil
}

// Usage returns how many images owner has in any status but deleted, and the
// sum of their known sizes.
func (s *Store) Usage(ctx context.Context, owner string) (int64, int64, error) {
	var (
		count int64
		total sql.NullString // SUM is DECIMAL on MySQL and NUMERIC on PostgreSQL
	)
	err := s.d.QueryRowContext(ctx, `SELECT COUNT(*), SUM(size) FROM images WHERE owner = ? AND status <> ?`,
		owner, string(image.Deleted)).Scan(&count, &total)
	if err != nil {
		return 0, 0, fmt.Errorf("image usage of %s: %w", owner, err)
	}
	if !total.Valid {
		return count, 0, nil
	}
	var bytes int64
	if _, err := fmt.Sscan(total.String, &bytes); err != nil {
		return 0, 0, fmt.Errorf("image usage of %s: parse total %q: %w", owner, total.String, err)
	}
	return count, bytes, nil
}
