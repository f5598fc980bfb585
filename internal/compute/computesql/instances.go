package computesql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/db"
)

// instanceColumns are the instances columns in the order scanInstance reads
// them; id first, which inserts leave out.
const instanceColumns = `id, uuid, display_name, display_description, project_id, user_id, instance_type_id,
flavors, vcpus, memory_mb, image_ref, image_properties, host, node, availability_zone, pinned_availability_zone,
scheduler_hints, key_name, key_data, user_data, config_drive, auto_disk_config, launched_at, terminated_at, locked,
locked_by, locked_reason, hostname, reservation_id, launch_index, access_ip_v4, access_ip_v6, security_groups,
block_devices, root_device_name, kernel_id, ramdisk_id, vm_state, task_state, power_state, progress, created_at,
updated_at, deleted_at, deleted, system_metadata`

// writableColumns are instanceColumns without id.
var writableColumns = strings.Split(strings.Join(strings.Fields(strings.TrimPrefix(instanceColumns, "id, ")), ""), ",")

// flavorsDoc is the JSON of the flavors column: the flavor an instance runs
// with and, during a resize, the old and new ones.
type flavorsDoc struct {
	Current compute.Flavor  `json:"current"`
	Old     *compute.Flavor `json:"old,omitempty"`
	New     *compute.Flavor `json:"new,omitempty"`
}

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode column: %w", err)
	}
	return string(b), nil
}

func nullString(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// instanceValues are the values of writableColumns for inst.
func instanceValues(inst compute.Instance) ([]any, error) {
	docs := []any{flavorsDoc{Current: inst.Flavor, Old: inst.OldFlavor, New: inst.NewFlavor}, nonNilMap(inst.ImageProperties),
		nonNilHints(inst.SchedulerHints), nonNilSlice(inst.SecurityGroups), nonNilDevices(inst.BlockDevices),
		nonNilMap(inst.SystemMetadata)}
	texts := make([]string, len(docs))
	for i, d := range docs {
		t, err := jsonText(d)
		if err != nil {
			return nil, err
		}
		texts[i] = t
	}
	return []any{inst.UUID, inst.DisplayName, nullString(inst.Description), inst.ProjectID, inst.UserID, inst.Flavor.ID,
		texts[0], inst.Flavor.VCPUs, inst.Flavor.MemoryMB, inst.ImageRef, texts[1], inst.Host, inst.Node,
		inst.AvailabilityZone, nullString(inst.PinnedAvailabilityZone), texts[2], inst.KeyName, inst.KeyData,
		nullString(inst.UserData), inst.ConfigDrive, inst.AutoDiskConfig, db.At(inst.LaunchedAt),
		db.At(inst.TerminatedAt), inst.Locked, inst.LockedBy, nullString(inst.LockedReason), inst.Hostname,
		inst.ReservationID, inst.LaunchIndex, inst.AccessIPv4, inst.AccessIPv6, texts[3], texts[4],
		inst.RootDeviceName, inst.KernelID, inst.RamdiskID, string(inst.VMState), string(inst.TaskState),
		int(inst.PowerState), inst.Progress, db.At(inst.CreatedAt), db.At(inst.UpdatedAt), db.At(inst.DeletedAt),
		inst.Deleted, texts[5]}, nil
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilHints(m map[string][]string) map[string][]string {
	if m == nil {
		return map[string][]string{}
	}
	return m
}

func nonNilSlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilDevices(s []compute.BlockDevice) []compute.BlockDevice {
	if s == nil {
		return []compute.BlockDevice{}
	}
	return s
}

// scanInstance reads a row of instanceColumns.
func scanInstance(r scanner) (compute.Instance, error) {
	var (
		inst                                          compute.Instance
		desc, pinned, userData, lockedReason, sysMeta sql.NullString
		flavors, imageProps, hints, groups, devices   string
		launched, terminated, created, updated, del   db.Time
		vm, task                                      string
		power                                         int
		typeID                                        int64
		vcpus, mem                                    int
	)
	err := r.Scan(&inst.ID, &inst.UUID, &inst.DisplayName, &desc, &inst.ProjectID, &inst.UserID, &typeID, &flavors,
		&vcpus, &mem, &inst.ImageRef, &imageProps, &inst.Host, &inst.Node, &inst.AvailabilityZone, &pinned, &hints,
		&inst.KeyName, &inst.KeyData, &userData, &inst.ConfigDrive, &inst.AutoDiskConfig, &launched, &terminated,
		&inst.Locked, &inst.LockedBy, &lockedReason, &inst.Hostname, &inst.ReservationID, &inst.LaunchIndex,
		&inst.AccessIPv4, &inst.AccessIPv6, &groups, &devices, &inst.RootDeviceName, &inst.KernelID, &inst.RamdiskID,
		&vm, &task, &power, &inst.Progress, &created, &updated, &del, &inst.Deleted, &sysMeta)
	if err != nil {
		return compute.Instance{}, err
	}
	var fd flavorsDoc
	for _, d := range []struct {
		text string
		dst  any
	}{{flavors, &fd}, {imageProps, &inst.ImageProperties}, {hints, &inst.SchedulerHints},
		{groups, &inst.SecurityGroups}, {devices, &inst.BlockDevices}} {
		if err := json.Unmarshal([]byte(d.text), d.dst); err != nil {
			return compute.Instance{}, fmt.Errorf("decode instance %s: %w", inst.UUID, err)
		}
	}
	inst.Flavor, inst.OldFlavor, inst.NewFlavor = fd.Current, fd.Old, fd.New
	inst.SystemMetadata = map[string]string{}
	if sysMeta.Valid && sysMeta.String != "" {
		if err := json.Unmarshal([]byte(sysMeta.String), &inst.SystemMetadata); err != nil {
			return compute.Instance{}, fmt.Errorf("decode system metadata of instance %s: %w", inst.UUID, err)
		}
	}
	if inst.Flavor.ExtraSpecs == nil {
		inst.Flavor.ExtraSpecs = map[string]string{}
	}
	for _, p := range []struct {
		src sql.NullString
		dst **string
	}{{desc, &inst.Description}, {pinned, &inst.PinnedAvailabilityZone}, {userData, &inst.UserData},
		{lockedReason, &inst.LockedReason}} {
		if p.src.Valid {
			v := p.src.String
			*p.dst = &v
		}
	}
	inst.LaunchedAt, inst.TerminatedAt = launched.Time, terminated.Time
	inst.CreatedAt, inst.UpdatedAt, inst.DeletedAt = created.Time, updated.Time, del.Time
	inst.VMState, inst.TaskState, inst.PowerState = compute.VMState(vm), compute.TaskState(task), compute.PowerState(power)
	inst.Metadata = map[string]string{}
	inst.Tags = []string{}
	return inst, nil
}

// insertInstance writes a new instance row with its metadata and tags.
func insertInstance(ctx context.Context, tx *db.Tx, inst compute.Instance) error {
	vals, err := instanceValues(inst)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO instances (`+strings.Join(writableColumns, ", ")+`) VALUES (`+
		db.Placeholders(len(writableColumns))+`)`, vals...); err != nil {
		return writeErr(err)
	}
	if err := writeMetadata(ctx, tx, inst.UUID, inst.Metadata); err != nil {
		return err
	}
	for _, t := range inst.Tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO instance_tags (instance_uuid, tag) VALUES (?, ?)`, inst.UUID, t); err != nil {
			return writeErr(err)
		}
	}
	return nil
}

func writeMetadata(ctx context.Context, tx *db.Tx, uuid string, md map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO instance_metadata (instance_uuid, meta_key, meta_value) VALUES (?, ?, ?)`,
			uuid, k, md[k]); err != nil {
			return writeErr(err)
		}
	}
	return nil
}

// CreateInstances stores instances and their create actions within q.
func (s *Store) CreateInstances(ctx context.Context, insts []compute.Instance, actions []compute.InstanceAction, q compute.InstanceQuota) ([]compute.Instance, error) {
	var out []compute.Instance
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		out = nil
		// Counting under the project's lock row serializes the creates of
		// a project, so two cannot both take the last unit of quota.
		if _, err := tx.ExecContext(ctx, db.InsertIgnore(tx.Engine(), "instance_quota_locks", "project_id"), q.ProjectID); err != nil {
			return err
		}
		if _, err := db.Exists(ctx, tx, `SELECT 1 FROM instance_quota_locks WHERE project_id = ?`+db.ForUpdate(tx.Engine()),
			q.ProjectID); err != nil {
			return err
		}
		for _, inst := range insts {
			if err := insertInstance(ctx, tx, inst); err != nil {
				return fmt.Errorf("instance %s: %w", inst.UUID, err)
			}
		}
		for _, a := range actions {
			if _, err := insertAction(ctx, tx, a); err != nil {
				return err
			}
		}
		if err := withinQuota(ctx, tx, q.ProjectID, "", q.Project); err != nil {
			return err
		}
		if q.UserID != "" {
			if err := withinQuota(ctx, tx, q.ProjectID, q.UserID, q.User); err != nil {
				return err
			}
		}
		for _, inst := range insts {
			got, err := getInstance(ctx, tx, inst.UUID, false, false)
			if err != nil {
				return err
			}
			out = append(out, got)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create instances: %w", err)
	}
	return out, nil
}

// withinQuota fails with ErrOverQuota when the live instances of a project
// (or user) pass a limit.
func withinQuota(ctx context.Context, tx *db.Tx, projectID, userID string, limit compute.InstanceCounts) error {
	if limit.Instances < 0 && limit.Cores < 0 && limit.RAM < 0 {
		return nil
	}
	n, err := countInstances(ctx, tx, projectID, userID)
	if err != nil {
		return err
	}
	if (limit.Instances >= 0 && n.Instances > limit.Instances) || (limit.Cores >= 0 && n.Cores > limit.Cores) ||
		(limit.RAM >= 0 && n.RAM > limit.RAM) {
		return compute.ErrOverQuota
	}
	return nil
}

func countInstances(ctx context.Context, q db.Querier, projectID, userID string) (compute.InstanceCounts, error) {
	w := &db.Where{}
	w.Add("project_id = ?", projectID)
	w.Eq("user_id", userID)
	w.Add("deleted = ?", false)
	var n compute.InstanceCounts
	err := q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(vcpus), 0), COALESCE(SUM(memory_mb), 0) FROM instances`+
		w.String(), w.Args...).Scan(&n.Instances, &n.Cores, &n.RAM)
	if err != nil {
		return compute.InstanceCounts{}, fmt.Errorf("count instances: %w", err)
	}
	return n, nil
}

// CountInstances counts the live instances of a project or user.
func (s *Store) CountInstances(ctx context.Context, projectID, userID string) (compute.InstanceCounts, error) {
	return countInstances(ctx, s.d, projectID, userID)
}

// getInstance reads one instance with its metadata, tags and latest fault;
// lock holds its row for the transaction.
func getInstance(ctx context.Context, q db.Querier, uuid string, readDeleted, lock bool) (compute.Instance, error) {
	query := `SELECT ` + instanceColumns + ` FROM instances WHERE uuid = ?`
	args := []any{uuid}
	if !readDeleted {
		query += ` AND deleted = ?`
		args = append(args, false)
	}
	if lock {
		query += db.ForUpdate(q.Engine())
	}
	inst, err := scanInstance(q.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return compute.Instance{}, compute.ErrNotFound
	}
	if err != nil {
		return compute.Instance{}, err
	}
	list := []compute.Instance{inst}
	if err := fillInstances(ctx, q, list); err != nil {
		return compute.Instance{}, err
	}
	return list[0], nil
}

// GetInstance returns an instance by UUID.
func (s *Store) GetInstance(ctx context.Context, uuid string, readDeleted bool) (compute.Instance, error) {
	inst, err := getInstance(ctx, s.d, uuid, readDeleted, false)
	if err != nil {
		return compute.Instance{}, fmt.Errorf("get instance %s: %w", uuid, err)
	}
	return inst, nil
}

// fillInstances reads the metadata, tags and latest fault of instances, a
// query each.
func fillInstances(ctx context.Context, q db.Querier, insts []compute.Instance) error {
	if len(insts) == 0 {
		return nil
	}
	idx := make(map[string]int, len(insts))
	uuids := make([]string, len(insts))
	for i, inst := range insts {
		idx[inst.UUID], uuids[i] = i, inst.UUID
	}
	in := ` IN (` + db.Placeholders(len(uuids)) + `)`
	args := db.Args(uuids)
	err := eachRow(ctx, q, `SELECT instance_uuid, meta_key, meta_value FROM instance_metadata WHERE instance_uuid`+in, args,
		func(rows *sql.Rows) error {
			var u, k, v string
			if err := rows.Scan(&u, &k, &v); err != nil {
				return err
			}
			insts[idx[u]].Metadata[k] = v
			return nil
		})
	if err != nil {
		return fmt.Errorf("read metadata: %w", err)
	}
	err = eachRow(ctx, q, `SELECT instance_uuid, tag FROM instance_tags WHERE instance_uuid`+in+
		db.OrderBy(q.Engine(), "instance_uuid", "tag"), args,
		func(rows *sql.Rows) error {
			var u, t string
			if err := rows.Scan(&u, &t); err != nil {
				return err
			}
			insts[idx[u]].Tags = append(insts[idx[u]].Tags, t)
			return nil
		})
	if err != nil {
		return fmt.Errorf("read tags: %w", err)
	}
	err = eachRow(ctx, q, `SELECT f.instance_uuid, f.code, f.message, f.details, f.host, f.created_at
		FROM instance_faults f JOIN (SELECT instance_uuid, MAX(id) AS max_id FROM instance_faults
		WHERE instance_uuid`+in+` GROUP BY instance_uuid) latest ON f.id = latest.max_id`, args,
		func(rows *sql.Rows) error {
			var (
				u       string
				f       compute.Fault
				created db.Time
			)
			if err := rows.Scan(&u, &f.Code, &f.Message, &f.Details, &f.Host, &created); err != nil {
				return err
			}
			f.Created = created.Time
			insts[idx[u]].Fault = &f
			return nil
		})
	if err != nil {
		return fmt.Errorf("read faults: %w", err)
	}
	return nil
}

// eachRow runs a query and calls fn for every row.
func eachRow(ctx context.Context, q db.Querier, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// UpdateInstance changes a live instance under its row lock.
func (s *Store) UpdateInstance(ctx context.Context, uuid string, mutate func(*compute.Instance) error, action *compute.InstanceAction) (compute.Instance, error) {
	var out compute.Instance
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		cur, err := getInstance(ctx, tx, uuid, false, true)
		if err != nil {
			return err
		}
		next := cur.Clone()
		if err := mutate(&next); err != nil {
			return err
		}
		next.ID, next.UUID = cur.ID, cur.UUID
		vals, err := instanceValues(next)
		if err != nil {
			return err
		}
		set := make([]string, len(writableColumns))
		for i, c := range writableColumns {
			set[i] = c + " = ?"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET `+strings.Join(set, ", ")+` WHERE id = ?`,
			append(vals, cur.ID)...); err != nil {
			return writeErr(err)
		}
		if !maps.Equal(cur.Metadata, next.Metadata) {
			if _, err := tx.ExecContext(ctx, `DELETE FROM instance_metadata WHERE instance_uuid = ?`, uuid); err != nil {
				return err
			}
			if err := writeMetadata(ctx, tx, uuid, next.Metadata); err != nil {
				return err
			}
		}
		if next.Deleted || next.Host != cur.Host {
			// Its consoles are gone or elsewhere: their tokens die with them.
			if err := deleteInstanceConsoleTokens(ctx, tx, uuid); err != nil {
				return err
			}
		}
		if action != nil {
			if _, err := insertAction(ctx, tx, *action); err != nil {
				return err
			}
		}
		out, err = getInstance(ctx, tx, uuid, true, false)
		return err
	})
	if err != nil {
		return compute.Instance{}, fmt.Errorf("update instance %s: %w", uuid, err)
	}
	return out, nil
}

// PurgeInstances removes instances and everything recorded of them.
func (s *Store) PurgeInstances(ctx context.Context, uuids []string) error {
	if len(uuids) == 0 {
		return nil
	}
	in := ` IN (` + db.Placeholders(len(uuids)) + `)`
	args := db.Args(uuids)
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		for _, q := range []string{
			`DELETE FROM instance_actions_events WHERE action_id IN (SELECT id FROM instance_actions WHERE instance_uuid` + in + `)`,
			`DELETE FROM instance_actions WHERE instance_uuid` + in,
			`DELETE FROM instance_faults WHERE instance_uuid` + in,
			`DELETE FROM instance_tags WHERE instance_uuid` + in,
			`DELETE FROM instance_metadata WHERE instance_uuid` + in,
			`DELETE FROM instances WHERE uuid` + in,
		} {
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("purge instances: %w", err)
	}
	return nil
}

// AddFault records a fault of an instance.
func (s *Store) AddFault(ctx context.Context, uuid string, f compute.Fault) error {
	_, err := s.d.ExecContext(ctx, `INSERT INTO instance_faults (instance_uuid, code, message, details, host, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, uuid, f.Code, f.Message, f.Details, f.Host, db.At(f.Created))
	if err != nil {
		return fmt.Errorf("add fault to %s: %w", uuid, writeErr(err))
	}
	return nil
}

// touch moves a live instance's updated_at, for changes outside its row.
func touch(ctx context.Context, tx *db.Tx, uuid string, at time.Time) error {
	ok, err := db.Exists(ctx, tx, `SELECT 1 FROM instances WHERE uuid = ? AND deleted = ?`+db.ForUpdate(tx.Engine()), uuid, false)
	if err != nil {
		return err
	}
	if !ok {
		return compute.ErrNotFound
	}
	_, err = tx.ExecContext(ctx, `UPDATE instances SET updated_at = ? WHERE uuid = ?`, db.At(at), uuid)
	return err
}

// SetInstanceTags replaces a live instance's tags.
func (s *Store) SetInstanceTags(ctx context.Context, uuid string, tags []string, at time.Time) ([]string, error) {
	out := slices.Sorted(slices.Values(tags))
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		if err := touch(ctx, tx, uuid, at); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM instance_tags WHERE instance_uuid = ?`, uuid); err != nil {
			return err
		}
		for _, t := range out {
			if _, err := tx.ExecContext(ctx, `INSERT INTO instance_tags (instance_uuid, tag) VALUES (?, ?)`, uuid, t); err != nil {
				return writeErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("set tags of %s: %w", uuid, err)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// AddInstanceTag adds one tag, within max tags.
func (s *Store) AddInstanceTag(ctx context.Context, uuid, tag string, limit int, at time.Time) (bool, error) {
	var added bool
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		added = false
		if err := touch(ctx, tx, uuid, at); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM instance_tags WHERE instance_uuid = ?`, uuid).Scan(&n); err != nil {
			return err
		}
		// nova counts before it looks for the tag: at the limit even a tag
		// the server has is refused.
		if n >= limit {
			return compute.ErrOverQuota
		}
		if ok, err := db.Exists(ctx, tx, `SELECT 1 FROM instance_tags WHERE instance_uuid = ? AND tag = ?`, uuid, tag); err != nil || ok {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO instance_tags (instance_uuid, tag) VALUES (?, ?)`, uuid, tag); err != nil {
			return writeErr(err)
		}
		added = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("tag %s: %w", uuid, err)
	}
	return added, nil
}

// DeleteInstanceTag removes one tag.
func (s *Store) DeleteInstanceTag(ctx context.Context, uuid, tag string, at time.Time) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		if err := touch(ctx, tx, uuid, at); err != nil {
			return err
		}
		return deleteSome(ctx, tx, `DELETE FROM instance_tags WHERE instance_uuid = ? AND tag = ?`, uuid, tag)
	})
	if err != nil {
		return fmt.Errorf("untag %s: %w", uuid, err)
	}
	return nil
}
