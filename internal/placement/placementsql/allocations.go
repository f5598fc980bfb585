package placementsql

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

const consumerCols = `SELECT c.uuid, c.project_id, c.user_id, COALESCE(c.consumer_type, ''), c.generation, c.created_at, c.updated_at`

func scanConsumer(s interface{ Scan(...any) error }, extra ...any) (placement.Consumer, error) {
	var c placement.Consumer
	var created, updated db.Time
	dest := append([]any{&c.UUID, &c.ProjectID, &c.UserID, &c.Type, &c.Generation, &created, &updated}, extra...)
	err := s.Scan(dest...)
	c.CreatedAt, c.UpdatedAt = created.Time, updated.Time
	return c, err
}

// Consumer returns the consumer with uuid.
func (c *conn) Consumer(ctx context.Context, uuid string) (placement.Consumer, error) {
	con, err := scanConsumer(c.q.QueryRowContext(ctx, consumerCols+` FROM consumers c WHERE c.uuid = ?`, uuid))
	return con, notFound(err, "consumer "+uuid)
}

// allocationCols reads an allocation with its provider and consumer.
const allocationCols = consumerCols + `, rp.id, rp.uuid, rp.generation, a.resource_class_id, rc.name, a.used,
	a.created_at, a.updated_at FROM allocations a
	JOIN consumers c ON c.uuid = a.consumer_id
	JOIN resource_providers rp ON rp.id = a.resource_provider_id
	JOIN resource_classes rc ON rc.id = a.resource_class_id`

func (c *conn) allocations(ctx context.Context, where string, args ...any) ([]placement.Allocation, error) {
	var out []placement.Allocation
	err := c.queryRows(ctx, allocationCols+where+" ORDER BY a.consumer_id, rp.id, a.resource_class_id", args,
		func(rows *sql.Rows) error {
			var al placement.Allocation
			var created, updated db.Time
			con, err := scanConsumer(rows, &al.ProviderID, &al.ProviderUUID, &al.ProviderGeneration, &al.ClassID,
				&al.ResourceClass, &al.Used, &created, &updated)
			al.Consumer, al.CreatedAt, al.UpdatedAt = con, created.Time, updated.Time
			out = append(out, al)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("list allocations: %w", err)
	}
	return out, nil
}

// ConsumerAllocations returns a consumer's allocations.
func (c *conn) ConsumerAllocations(ctx context.Context, consumerUUID string) ([]placement.Allocation, error) {
	return c.allocations(ctx, " WHERE a.consumer_id = ?", consumerUUID)
}

// ProviderAllocations returns the allocations against a provider.
func (c *conn) ProviderAllocations(ctx context.Context, providerID int64) ([]placement.Allocation, error) {
	return c.allocations(ctx, " WHERE a.resource_provider_id = ?", providerID)
}

// TotalUsages sums a project's allocations, per consumer type when asked.
func (c *conn) TotalUsages(ctx context.Context, f placement.UsageFilter) ([]placement.TypeUsage, error) {
	var w db.Where
	w.Add("c.project_id = ?", f.ProjectID)
	w.Eq("c.user_id", f.UserID)
	group := "'' AS ctype"
	switch {
	case !f.ByType:
	case f.ConsumerType == "all":
		group = "'all' AS ctype"
	case f.ConsumerType == "unknown":
		group = "'unknown' AS ctype"
		w.Add("c.consumer_type IS NULL")
	default:
		group = "COALESCE(c.consumer_type, 'unknown') AS ctype"
		w.Eq("c.consumer_type", f.ConsumerType)
	}
	from := ` FROM allocations a JOIN consumers c ON c.uuid = a.consumer_id` + w.String()
	var out []placement.TypeUsage
	index := map[string]int{}
	err := c.queryRows(ctx, `SELECT ctype, COUNT(DISTINCT consumer_id) FROM (SELECT `+group+`, a.consumer_id`+from+`) t
		GROUP BY ctype`+db.OrderBy(c.engine(), "ctype"), w.Args, func(rows *sql.Rows) error {
		var tu placement.TypeUsage
		err := rows.Scan(&tu.ConsumerType, &tu.ConsumerCount)
		index[tu.ConsumerType] = len(out)
		out = append(out, tu)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("count consumers: %w", err)
	}
	err = c.queryRows(ctx, `SELECT ctype, rc.name, SUM(t.used) FROM (SELECT `+group+`, a.resource_class_id, a.used`+from+`) t
		JOIN resource_classes rc ON rc.id = t.resource_class_id GROUP BY ctype, rc.id, rc.name ORDER BY rc.id`, w.Args,
		func(rows *sql.Rows) error {
			var ctype string
			var u placement.ClassUsage
			if err := rows.Scan(&ctype, &u.ResourceClass, &u.Used); err != nil {
				return err
			}
			if i, ok := index[ctype]; ok {
				out[i].Usages = append(out[i].Usages, u)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("sum usages: %w", err)
	}
	return out, nil
}

// CreateConsumer inserts a consumer.
func (c *conn) CreateConsumer(ctx context.Context, con placement.Consumer) error {
	_, err := c.q.ExecContext(ctx, `INSERT INTO consumers (uuid, project_id, user_id, consumer_type, generation, created_at,
		updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`, con.UUID, con.ProjectID, con.UserID, nullable(con.Type), con.Generation,
		ts(con.CreatedAt), ts(con.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create consumer %s: %w", con.UUID, writeErr(err))
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// UpdateConsumer writes a consumer's owner and type and advances its
// generation if it is still con.Generation.
func (c *conn) UpdateConsumer(ctx context.Context, con placement.Consumer, now time.Time) error {
	res, err := c.q.ExecContext(ctx, `UPDATE consumers SET project_id = ?, user_id = ?, consumer_type = ?, generation = ?,
		updated_at = ? WHERE uuid = ? AND generation = ?`, con.ProjectID, con.UserID, nullable(con.Type), con.Generation+1,
		ts(now), con.UUID, con.Generation)
	if err := affectedOne(res, err); err != nil {
		return fmt.Errorf("update consumer %s: %w", con.UUID, err)
	}
	return nil
}

// DeleteIdleConsumers removes those of the consumers that hold nothing.
func (c *conn) DeleteIdleConsumers(ctx context.Context, uuids []string) error {
	for _, part := range chunks(uuids) {
		_, err := c.q.ExecContext(ctx, `DELETE FROM consumers WHERE uuid IN (`+db.Placeholders(len(part))+`)
			AND NOT EXISTS (SELECT 1 FROM allocations a WHERE a.consumer_id = consumers.uuid)`, db.Args(part)...)
		if err != nil {
			return fmt.Errorf("delete consumers without allocations: %w", err)
		}
	}
	return nil
}

// DeleteConsumerAllocations removes a consumer's allocations and takes them
// off the inventories' used.
func (c *conn) DeleteConsumerAllocations(ctx context.Context, consumerUUID string) error {
	var rows []placement.AllocationRow
	err := c.queryRows(ctx, `SELECT resource_provider_id, resource_class_id, used FROM allocations WHERE consumer_id = ?`,
		[]any{consumerUUID}, func(r *sql.Rows) error {
			var a placement.AllocationRow
			err := r.Scan(&a.ProviderID, &a.ClassID, &a.Used)
			rows = append(rows, a)
			return err
		})
	if err != nil {
		return fmt.Errorf("read allocations of consumer %s: %w", consumerUUID, err)
	}
	if len(rows) == 0 {
		return nil
	}
	if _, err := c.q.ExecContext(ctx, `DELETE FROM allocations WHERE consumer_id = ?`, consumerUUID); err != nil {
		return fmt.Errorf("delete allocations of consumer %s: %w", consumerUUID, err)
	}
	return c.addUsed(ctx, rows, -1)
}

// addUsed adds (sign 1) or takes off (sign -1) the rows' amounts to their
// inventories' used, one statement per inventory, in a fixed order so that
// concurrent writers lock inventory rows alike.
func (c *conn) addUsed(ctx context.Context, rows []placement.AllocationRow, sign int64) error {
	sums := map[[2]int64]int64{}
	for _, r := range rows {
		sums[[2]int64{r.ProviderID, int64(r.ClassID)}] += r.Used
	}
	keys := make([][2]int64, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		if _, err := c.q.ExecContext(ctx, `UPDATE inventories SET used = used + ? WHERE resource_provider_id = ? AND resource_class_id = ?`,
			sign*sums[k], k[0], k[1]); err != nil {
			return fmt.Errorf("count allocations against inventory %d/%d: %w", k[0], k[1], err)
		}
	}
	return nil
}

// InsertAllocations inserts allocation rows.
func (c *conn) InsertAllocations(ctx context.Context, rows []placement.AllocationRow, now time.Time) error {
	const perStmt = 200
	for len(rows) > 0 {
		n := min(len(rows), perStmt)
		args := make([]any, 0, n*6)
		q := make([]byte, 0, 128+n*20)
		q = append(q, "INSERT INTO allocations (consumer_id, resource_provider_id, resource_class_id, used, created_at, updated_at) VALUES "...)
		for i, r := range rows[:n] {
			if i > 0 {
				q = append(q, ", "...)
			}
			q = append(q, "(?, ?, ?, ?, ?, ?)"...)
			args = append(args, r.ConsumerUUID, r.ProviderID, r.ClassID, r.Used, ts(now), ts(now))
		}
		if _, err := c.q.ExecContext(ctx, string(q), args...); err != nil {
			return fmt.Errorf("insert allocations: %w", writeErr(err))
		}
		if err := c.addUsed(ctx, rows[:n], 1); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}
