package placementsql

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// RoomyProviders finds the providers of a flat cloud that alone have room
// for every amount: one inventory alias per class, joined on the provider
// and read in provider order, so that with a limit the database stops after
// enough providers instead of reading every inventory. The rows found also
// carry what their summaries need (how many inventories the provider has,
// its trait ids), read by subqueries on the found rows only.
func (c *conn) RoomyProviders(ctx context.Context, f placement.RoomFilter) (placement.RoomyResult, error) {
	if len(f.Amounts) == 0 {
		return placement.RoomyResult{}, nil
	}
	inline := c.inlineSummaries(f)
	q, args := c.roomyQuery(f, inline)
	var (
		found []roomyRow
		invs  []placement.ClassCapacity
	)
	n := len(f.Amounts)
	dest := make([]any, 4+2*n)
	row := make([]placement.ClassCapacity, n)
	var traits sql.NullString
	dest[3] = &traits
	for k := range row {
		dest[4+2*k], dest[5+2*k] = &row[k].Capacity, &row[k].Used
	}
	err := c.queryRows(ctx, q, args, func(rows *sql.Rows) error {
		var r roomyRow
		dest[0], dest[1], dest[2] = &r.node.ID, &r.node.UUID, &r.count
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		// A flat cloud has no parents: every provider is its own root.
		r.node.RootID = r.node.ID
		r.inv = len(invs)
		if f.WithTraits {
			r.traits, r.partial = parseIDList(traits.String)
		}
		found = append(found, r)
		for k, a := range f.Amounts {
			row[k].ClassID = a.ClassID
		}
		invs = append(invs, row...)
		return nil
	})
	if err != nil {
		return placement.RoomyResult{}, fmt.Errorf("providers with room: %w", err)
	}
	if !inline {
		if err := c.summaryBits(ctx, f, found); err != nil {
			return placement.RoomyResult{}, err
		}
	} else if f.WithTraits {
		if err := c.completeTraits(ctx, found); err != nil {
			return placement.RoomyResult{}, err
		}
	}
	// No ORDER BY outside the limit: the rows are put back in order here,
	// cheaper in Go than a sort of wide rows in the database.
	if !f.Random {
		slices.SortStableFunc(found, func(a, b roomyRow) int { return cmpInt(a.node.ID, b.node.ID) })
	}
	res := placement.RoomyResult{Nodes: make([]placement.TreeNode, len(found)), Inventories: make([]placement.ClassCapacity, 0, len(invs)),
		InventoryCounts: make([]int, len(found))}
	if f.WithTraits {
		res.Traits = make([][]int64, len(found))
	}
	for i, r := range found {
		res.Nodes[i], res.InventoryCounts[i] = r.node, r.count
		res.Inventories = append(res.Inventories, invs[r.inv:r.inv+n]...)
		if f.WithTraits {
			res.Traits[i] = r.traits
		}
	}
	return res, nil
}

// roomyRow is one provider RoomyProviders found.
type roomyRow struct {
	node  placement.TreeNode
	count int
	// inv is the index of its first inventory row.
	inv    int
	traits []int64
	// partial is set when the database cut the trait list short.
	partial bool
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// roomyQuery is RoomyProviders' statement: the providers with room, in id
// (or random) order up to the limit, then their uuids, inventory counts and
// (f.WithTraits) trait ids as a list.
func (c *conn) roomyQuery(f placement.RoomFilter, inline bool) (string, []any) {
	from := "inventories i0"
	var w db.Where
	var cols []string
	for k, a := range f.Amounts {
		alias := fmt.Sprintf("i%d", k)
		cols = append(cols, capacityExpr(c.engine(), alias)+" AS "+alias+"_capacity", alias+".used AS "+alias+"_used")
		if k > 0 {
			from += " JOIN inventories " + alias + " ON " + alias + ".resource_provider_id = i0.resource_provider_id AND " +
				alias + ".resource_class_id = " + fmt.Sprint(a.ClassID)
		} else {
			w.Add("i0.resource_class_id = ?", a.ClassID)
		}
		w.Add(fitsClause(alias, "?"), a.Amount, a.Amount, a.Amount, a.Amount)
	}
	const rp = "i0.resource_provider_id"
	addTraitAggFilters(&w, rp, f.RequiredTraits, f.ForbiddenTraits, f.MemberOf, f.ForbiddenAggs)
	if f.TreeRoot != 0 {
		w.Add(rp+" IN (SELECT id FROM resource_providers WHERE root_provider_id = ?)", f.TreeRoot)
	}
	order := rp
	if f.Random {
		order = map[db.Engine]string{db.MySQL: "RAND()"}[c.engine()]
		if order == "" {
			order = "RANDOM()"
		}
	}
	inner := `SELECT ` + rp + ` AS resource_provider_id, ` + strings.Join(cols, ", ") + ` FROM ` + from + w.String() +
		` ORDER BY ` + order
	args := w.Args
	if f.Limit > 0 {
		inner += " LIMIT ?"
		args = append(args, f.Limit)
	}
	count, traits := "0", "NULL"
	if inline {
		count = "(SELECT COUNT(*) FROM inventories o WHERE o.resource_provider_id = t.resource_provider_id)"
	}
	if inline && f.WithTraits {
		traits = "(SELECT " + traitList(c.engine()) + " FROM resource_provider_traits pt WHERE pt.resource_provider_id = t.resource_provider_id)"
	}
	var outer []string
	for k := range f.Amounts {
		outer = append(outer, fmt.Sprintf("t.i%d_capacity, t.i%d_used", k, k))
	}
	return `SELECT t.resource_provider_id, rp.uuid,
		` + count + `, ` + traits + `, ` +
		strings.Join(outer, ", ") + `
		FROM (` + inner + `) t JOIN resource_providers rp ON rp.id = t.resource_provider_id`, args
}

// capacityExpr is an inventory's capacity, as the placement package
// computes it: (total - reserved) * allocation_ratio in double precision,
// truncated toward zero.
func capacityExpr(e db.Engine, inv string) string {
	x := "(" + inv + ".total - " + inv + ".reserved) * " + inv + ".allocation_ratio"
	switch e {
	case db.MySQL:
		return "CAST(TRUNCATE(" + x + ", 0) AS SIGNED)"
	case db.Postgres:
		return "CAST(TRUNC(" + x + ") AS BIGINT)"
	}
	return "CAST(" + x + " AS INTEGER)"
}

// traitList aggregates pt.trait_id into a comma-separated list. MySQL cuts
// GROUP_CONCAT at group_concat_max_len (1,024 bytes by default), so there
// the list is prefixed with its length ("3:1,2,3") and a cut list is seen.
func traitList(e db.Engine) string {
	switch e {
	case db.MySQL:
		return "CONCAT(COUNT(*), ':', GROUP_CONCAT(pt.trait_id))"
	case db.Postgres:
		return "string_agg(CAST(pt.trait_id AS TEXT), ',')"
	}
	return "group_concat(pt.trait_id)"
}

// parseIDList reads a list traitList made, sorted; partial is set when the
// list is shorter than its length prefix says or does not parse.
func parseIDList(s string) (ids []int64, partial bool) {
	want := -1
	if n, rest, ok := strings.Cut(s, ":"); ok {
		var err error
		if want, err = strconv.Atoi(n); err != nil {
			return nil, true
		}
		s = rest
	}
	if s != "" {
		ids = make([]int64, 0, strings.Count(s, ",")+1)
		for part := range strings.SplitSeq(s, ",") {
			id, err := strconv.ParseInt(part, 10, 64)
			if err != nil {
				return nil, true
			}
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, want >= 0 && want != len(ids)
}

// inlineSummaries reports whether the inventory counts and trait lists are
// read by subqueries on each provider found, or after, by summaryBits. A
// subquery per row costs SQLite less than returning more rows (every row
// crossing into Go is dear there); a server runs thousands of subqueries
// slower than a scan of the two tables, so it takes them only when the
// limit keeps the rows few.
func (c *conn) inlineSummaries(f placement.RoomFilter) bool {
	return c.engine() == db.SQLite || (f.Limit > 0 && f.Limit <= chunk)
}

// summaryBits reads the inventory counts and (f.WithTraits) the trait
// lists of the providers found: the inventories of other classes than the
// amounts' and the trait links, of the providers (by an IN list, or past a
// chunk by a scan kept to them).
func (c *conn) summaryBits(ctx context.Context, f placement.RoomFilter, found []roomyRow) error {
	at := make(map[int64]int, len(found))
	ids := make([]int64, len(found))
	for i, r := range found {
		at[r.node.ID], ids[i] = i, r.node.ID
		found[i].count = len(f.Amounts)
	}
	if len(ids) == 0 {
		return nil
	}
	classes := make([]int, len(f.Amounts))
	for i, a := range f.Amounts {
		classes[i] = a.ClassID
	}
	cond, args, _ := inTrees(ids, "resource_provider_id")
	err := c.queryRows(ctx, `SELECT resource_provider_id FROM inventories WHERE `+cond+
		` AND resource_class_id NOT IN (`+db.Placeholders(len(classes))+`)`, slices.Concat(args, db.Args(classes)),
		func(rows *sql.Rows) error {
			var rp int64
			if err := rows.Scan(&rp); err != nil {
				return err
			}
			if i, ok := at[rp]; ok {
				found[i].count++
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("inventories of other classes: %w", err)
	}
	if !f.WithTraits {
		return nil
	}
	err = c.queryRows(ctx, `SELECT resource_provider_id, trait_id FROM resource_provider_traits WHERE `+cond, args,
		func(rows *sql.Rows) error {
			var rp, t int64
			if err := rows.Scan(&rp, &t); err != nil {
				return err
			}
			if i, ok := at[rp]; ok {
				found[i].traits = append(found[i].traits, t)
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("traits of providers: %w", err)
	}
	for i := range found {
		slices.Sort(found[i].traits)
	}
	return nil
}

// completeTraits reads again, in full, the trait lists the database cut.
func (c *conn) completeTraits(ctx context.Context, found []roomyRow) error {
	at := map[int64]int{}
	var ids []int64
	for i, r := range found {
		if r.partial {
			at[r.node.ID] = i
			ids = append(ids, r.node.ID)
			found[i].traits = nil
		}
	}
	for _, part := range chunks(ids) {
		err := c.queryRows(ctx, `SELECT resource_provider_id, trait_id FROM resource_provider_traits
			WHERE resource_provider_id IN (`+db.Placeholders(len(part))+`) ORDER BY resource_provider_id, trait_id`,
			db.Args(part), func(rows *sql.Rows) error {
				var rp, t int64
				if err := rows.Scan(&rp, &t); err != nil {
					return err
				}
				found[at[rp]].traits = append(found[at[rp]].traits, t)
				return nil
			})
		if err != nil {
			return fmt.Errorf("traits of providers: %w", err)
		}
	}
	return nil
}

// TraitNames maps trait ids to their names.
func (c *conn) TraitNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	for _, part := range chunks(ids) {
		err := c.queryRows(ctx, "SELECT id, name FROM traits WHERE id IN ("+db.Placeholders(len(part))+")",
			db.Args(part), func(rows *sql.Rows) error {
				var id int64
				var name string
				err := rows.Scan(&id, &name)
				out[id] = name
				return err
			})
		if err != nil {
			return nil, fmt.Errorf("names of traits: %w", err)
		}
	}
	return out, nil
}
