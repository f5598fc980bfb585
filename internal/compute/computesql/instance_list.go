package computesql

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/db"
)

// instanceSortColumn is how a sort key orders rows: an expression without NULLs
// (so every engine orders and pages alike), whether it is text (compared
// in byte order), and the key's value of an instance, for the marker.
type instanceSortColumn struct {
	expr  string
	text  bool
	value func(compute.Instance) any
}

func textColumn(col string, v func(compute.Instance) string) instanceSortColumn {
	return instanceSortColumn{expr: col, text: true, value: func(i compute.Instance) any { return v(i) }}
}

func timeColumn(col string, v func(compute.Instance) time.Time) instanceSortColumn {
	return instanceSortColumn{expr: "COALESCE(" + col + ", 0)", value: func(i compute.Instance) any {
		if t := v(i); !t.IsZero() {
			return t.UTC().UnixMicro()
		}
		return int64(0)
	}}
}

func intColumn(col string, v func(compute.Instance) any) instanceSortColumn {
	return instanceSortColumn{expr: col, value: v}
}

// instanceSortColumns are the instance sort keys (compute.InstanceSortKeys and the
// row id that breaks ties).
var instanceSortColumns = map[string]instanceSortColumn{
	"access_ip_v4":     textColumn("access_ip_v4", func(i compute.Instance) string { return i.AccessIPv4 }),
	"access_ip_v6":     textColumn("access_ip_v6", func(i compute.Instance) string { return i.AccessIPv6 }),
	"auto_disk_config": intColumn("auto_disk_config", func(i compute.Instance) any { return i.AutoDiskConfig }),
	"availability_zone": textColumn("availability_zone", func(i compute.Instance) string {
		return i.AvailabilityZone
	}),
	"config_drive": textColumn("config_drive", func(i compute.Instance) string { return i.ConfigDrive }),
	"created_at":   timeColumn("created_at", func(i compute.Instance) time.Time { return i.CreatedAt }),
	"display_description": {expr: "COALESCE(display_description, '')", text: true, value: func(i compute.Instance) any {
		if i.Description == nil {
			return ""
		}
		return *i.Description
	}},
	"display_name":     textColumn("display_name", func(i compute.Instance) string { return i.DisplayName }),
	"host":             textColumn("host", func(i compute.Instance) string { return i.Host }),
	"hostname":         textColumn("hostname", func(i compute.Instance) string { return i.Hostname }),
	"image_ref":        textColumn("image_ref", func(i compute.Instance) string { return i.ImageRef }),
	"instance_type_id": intColumn("instance_type_id", func(i compute.Instance) any { return i.Flavor.ID }),
	"kernel_id":        textColumn("kernel_id", func(i compute.Instance) string { return i.KernelID }),
	"key_name":         textColumn("key_name", func(i compute.Instance) string { return i.KeyName }),
	"launch_index":     intColumn("launch_index", func(i compute.Instance) any { return i.LaunchIndex }),
	"launched_at":      timeColumn("launched_at", func(i compute.Instance) time.Time { return i.LaunchedAt }),
	"locked":           intColumn("locked", func(i compute.Instance) any { return i.Locked }),
	"locked_by":        textColumn("locked_by", func(i compute.Instance) string { return i.LockedBy }),
	"node":             textColumn("node", func(i compute.Instance) string { return i.Node }),
	"power_state":      intColumn("power_state", func(i compute.Instance) any { return int(i.PowerState) }),
	"progress":         intColumn("progress", func(i compute.Instance) any { return i.Progress }),
	"project_id":       textColumn("project_id", func(i compute.Instance) string { return i.ProjectID }),
	"ramdisk_id":       textColumn("ramdisk_id", func(i compute.Instance) string { return i.RamdiskID }),
	"root_device_name": textColumn("root_device_name", func(i compute.Instance) string { return i.RootDeviceName }),
	"task_state":       textColumn("task_state", func(i compute.Instance) string { return string(i.TaskState) }),
	"terminated_at":    timeColumn("terminated_at", func(i compute.Instance) time.Time { return i.TerminatedAt }),
	"updated_at":       timeColumn("updated_at", func(i compute.Instance) time.Time { return i.UpdatedAt }),
	"user_id":          textColumn("user_id", func(i compute.Instance) string { return i.UserID }),
	"uuid":             textColumn("uuid", func(i compute.Instance) string { return i.UUID }),
	"vm_state":         textColumn("vm_state", func(i compute.Instance) string { return string(i.VMState) }),
	"id":               intColumn("id", func(i compute.Instance) any { return i.ID }),
}

// regexValue is a column's text as a regex filter sees it; times read as
// MySQL prints a DATETIME, nova's reference engine.
func regexValue(i compute.Instance, col string) string {
	clock := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	}
	switch col {
	case "auto_disk_config":
		return boolDigit(i.AutoDiskConfig)
	case "created_at":
		return clock(i.CreatedAt)
	case "launched_at":
		return clock(i.LaunchedAt)
	case "terminated_at":
		return clock(i.TerminatedAt)
	case "launch_index":
		return strconv.Itoa(i.LaunchIndex)
	case "power_state":
		return strconv.Itoa(int(i.PowerState))
	case "progress":
		return strconv.Itoa(i.Progress)
	case "reservation_id":
		return i.ReservationID
	}
	if c, ok := instanceSortColumns[col]; ok {
		return fmt.Sprint(c.value(i))
	}
	return ""
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// exactColumns are the columns compute.InstanceFilter.Exact may name.
var exactColumns = []string{"project_id", "user_id", "image_ref", "vm_state", "task_state", "instance_type_id", "uuid",
	"host", "locked"}

// ListInstances returns one page of the instances f selects.
func (s *Store) ListInstances(ctx context.Context, f compute.InstanceFilter) ([]compute.Instance, error) {
	var out []compute.Instance
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		out = nil
		w, err := instanceWhere(f)
		if err != nil || w.None {
			return err
		}
		keys := slices.Clone(f.Sort)
		if len(keys) == 0 {
			keys = []compute.SortKey{{Key: "created_at", Desc: true}}
		}
		keys = append(keys, compute.SortKey{Key: "id", Desc: keys[0].Desc})
		cols := make([]instanceSortColumn, len(keys))
		for i, k := range keys {
			c, ok := instanceSortColumns[k.Key]
			if !ok {
				return fmt.Errorf("sort key %q: %w", k.Key, compute.ErrInvalid)
			}
			cols[i] = c
		}
		if f.Marker != "" {
			m, err := getInstance(ctx, tx, f.Marker, true, false)
			if errors.Is(err, compute.ErrNotFound) {
				return fmt.Errorf("marker %s: %w", f.Marker, compute.ErrMarkerNotFound)
			}
			if err != nil {
				return err
			}
			after(tx.Engine(), w, keys, cols, m)
		}
		order := make([]string, len(keys))
		for i, k := range keys {
			expr := cols[i].expr
			if cols[i].text {
				expr = db.Collate(tx.Engine(), expr)
			}
			order[i] = expr + map[bool]string{false: " ASC", true: " DESC"}[k.Desc]
		}
		q := `SELECT ` + instanceColumns + ` FROM instances` + w.String() + ` ORDER BY ` + strings.Join(order, ", ")
		args := w.Args
		if len(f.Regex) == 0 && f.Limit > 0 {
			q += ` LIMIT ?`
			args = append(args, f.Limit)
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() && (f.Limit <= 0 || len(out) < f.Limit) {
			inst, err := scanInstance(rows)
			if err != nil {
				return err
			}
			if matches(inst, f) {
				out = append(out, inst)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		return fillInstances(ctx, tx, out)
	})
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	if out == nil {
		out = []compute.Instance{}
	}
	return out, nil
}

// matches applies the regex filters, which no engine spells alike.
func matches(inst compute.Instance, f compute.InstanceFilter) bool {
	for col, re := range f.Regex {
		if !re.MatchString(regexValue(inst, col)) {
			return false
		}
	}
	return true
}

// instanceWhere builds the SQL conditions of f.
func instanceWhere(f compute.InstanceFilter) (*db.Where, error) {
	w := &db.Where{}
	if f.None {
		w.None = true
		return w, nil
	}
	for _, col := range slices.Sorted(maps.Keys(f.Exact)) {
		vals := f.Exact[col]
		if !slices.Contains(exactColumns, col) {
			return nil, fmt.Errorf("filter %q: %w", col, compute.ErrInvalid)
		}
		switch col {
		case "locked":
			if len(vals) == 0 {
				w.None = true
				continue
			}
			args := make([]any, len(vals))
			for i, v := range vals {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return nil, fmt.Errorf("locked filter %q: %w", v, compute.ErrInvalid)
				}
				args[i] = b
			}
			w.Add("locked IN ("+db.Placeholders(len(args))+")", args...)
		case "instance_type_id":
			var ids []any
			for _, v := range vals {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					ids = append(ids, n)
				}
			}
			if len(ids) == 0 {
				w.None = true
				continue
			}
			w.Add("instance_type_id IN ("+db.Placeholders(len(ids))+")", ids...)
		default:
			w.In(col, vals)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(f.Metadata)) {
		w.Add(`uuid IN (SELECT instance_uuid FROM instance_metadata WHERE meta_key = ? AND meta_value = ?)`, k, f.Metadata[k])
	}
	for _, t := range f.Tags {
		w.Add(`uuid IN (SELECT instance_uuid FROM instance_tags WHERE tag = ?)`, t)
	}
	if len(f.TagsAny) > 0 {
		w.Add(`uuid IN (SELECT instance_uuid FROM instance_tags WHERE tag IN (`+db.Placeholders(len(f.TagsAny))+`))`,
			db.Args(f.TagsAny)...)
	}
	if len(f.NotTags) > 0 {
		tags := dedupe(f.NotTags)
		w.Add(`uuid NOT IN (SELECT instance_uuid FROM instance_tags WHERE tag IN (`+db.Placeholders(len(tags))+
			`) GROUP BY instance_uuid HAVING COUNT(*) = ?)`, append(db.Args(tags), len(tags))...)
	}
	if len(f.NotTagsAny) > 0 {
		w.Add(`uuid NOT IN (SELECT instance_uuid FROM instance_tags WHERE tag IN (`+db.Placeholders(len(f.NotTagsAny))+`))`,
			db.Args(f.NotTagsAny)...)
	}
	if !f.ChangesSince.IsZero() {
		w.Add("updated_at >= ?", db.At(f.ChangesSince))
	}
	if !f.ChangesBefore.IsZero() {
		w.Add("updated_at <= ?", db.At(f.ChangesBefore))
	}
	if f.Deleted != nil {
		switch {
		case *f.Deleted:
			w.Add("(deleted = ? OR vm_state = ?)", true, string(compute.VMSoftDeleted))
		case f.SoftDeleted:
			w.Add("deleted = ?", false)
		default:
			w.Add("deleted = ? AND vm_state <> ?", false, string(compute.VMSoftDeleted))
		}
	}
	return w, nil
}

// after narrows w to the rows that follow marker m in the order of keys.
func after(e db.Engine, w *db.Where, keys []compute.SortKey, cols []instanceSortColumn, m compute.Instance) {
	var ors []string
	var args []any
	for i := range keys {
		var ands []string
		for j := 0; j < i; j++ {
			ands = append(ands, colExpr(e, cols[j])+" = ?")
			args = append(args, cols[j].value(m))
		}
		op := " > ?"
		if keys[i].Desc {
			op = " < ?"
		}
		ands = append(ands, colExpr(e, cols[i])+op)
		args = append(args, cols[i].value(m))
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	w.Add("("+strings.Join(ors, " OR ")+")", args...)
}

func colExpr(e db.Engine, c instanceSortColumn) string {
	if c.text {
		return db.Collate(e, c.expr)
	}
	return c.expr
}

func dedupe(vs []string) []string {
	var out []string
	for _, v := range vs {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
