package identitysql

import (
	"context"
	"database/sql"

	"github.com/nimbus-cloud/nimbus/internal/db"
)

// tagTable names a tag table and the column holding its owner's id.
type tagTable struct {
	table, owner string
}

// The tag tables of domains and projects.
var (
	domainTags  = tagTable{table: "domain_tag", owner: "domain_id"}
	projectTags = tagTable{table: "project_tag", owner: "project_id"}
)

// insert stores tags for the owner id; duplicates collapse into one.
func (t tagTable) insert(ctx context.Context, tx *db.Tx, id string, tags []string) error {
	q := "INSERT INTO " + t.table + " (" + t.owner + ", name) VALUES (?, ?)"
	for _, tag := range uniqueSorted(tags) {
		if _, err := tx.ExecContext(ctx, q, id, tag); err != nil {
			return writeErr(err)
		}
	}
	return nil
}

// replace makes tags the owner's whole tag set.
func (t tagTable) replace(ctx context.Context, tx *db.Tx, id string, tags []string) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+t.table+" WHERE "+t.owner+" = ?", id); err != nil {
		return err
	}
	return t.insert(ctx, tx, id, tags)
}

// appendJoined appends a LEFT JOINed value (a tag, a role id) to the list of the
// row that holds it; a row without any joins a NULL, which leaves the list nil.
func appendJoined(vs []string, v sql.NullString) []string {
	if !v.Valid {
		return vs
	}
	return append(vs, v.String)
}
