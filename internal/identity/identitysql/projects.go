package identitysql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// projectSelect reads projects with their tags, one row per tag.
const projectSelect = `SELECT p.id, p.name, p.domain_id, p.parent_id, p.description, p.enabled, p.options, t.name
FROM project p LEFT JOIN project_tag t ON t.project_id = p.id`

// CreateProject stores a new project with its tags. A missing domain or parent
// is ErrNotFound.
func (s *Store) CreateProject(ctx context.Context, p identity.Project) error {
	opts, err := encodeMap(p.Options)
	if err != nil {
		return fmt.Errorf("create project %s: %w", p.ID, err)
	}
	err = s.d.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO project
			(id, name, domain_id, parent_id, description, enabled, options) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.Name, p.DomainID, nullable(p.ParentID), p.Description, p.Enabled, opts)
		if err != nil {
			return writeErr(err)
		}
		return projectTags.insert(ctx, tx, p.ID, p.Tags)
	})
	if err != nil {
		return fmt.Errorf("create project %s: %w", p.ID, err)
	}
	return nil
}

// GetProject returns the project with id.
func (s *Store) GetProject(ctx context.Context, id string) (identity.Project, error) {
	var w db.Where
	w.Add("p.id = ?", id)
	return s.getProject(ctx, &w, "get project "+id)
}

// GetProjectByName returns the project named name in the domain domainID.
func (s *Store) GetProjectByName(ctx context.Context, domainID, name string) (identity.Project, error) {
	var w db.Where
	w.Add("p.domain_id = ?", domainID)
	w.Add("p.name = ?", name)
	return s.getProject(ctx, &w, fmt.Sprintf("get project %s in domain %s", name, domainID))
}

func (s *Store) getProject(ctx context.Context, w *db.Where, what string) (identity.Project, error) {
	ps, err := s.queryProjects(ctx, w)
	if err != nil {
		return identity.Project{}, fmt.Errorf("%s: %w", what, err)
	}
	if len(ps) == 0 {
		return identity.Project{}, fmt.Errorf("%s: %w", what, identity.ErrNotFound)
	}
	return ps[0], nil
}

// Tag filter subqueries over project_tag x; the IN list is appended by tagFilter.
const (
	projectTagCount = "SELECT x.project_id FROM project_tag x WHERE x.name IN (%s) GROUP BY x.project_id HAVING COUNT(*) = ?"
	projectTagAny   = "SELECT 1 FROM project_tag x WHERE x.project_id = p.id AND x.name IN (%s)"
)

// ListProjects returns the projects matching f, ordered by id.
func (s *Store) ListProjects(ctx context.Context, f identity.ProjectFilter) ([]identity.Project, error) {
	var w db.Where
	w.Eq("p.domain_id", f.DomainID)
	w.Eq("p.parent_id", f.ParentID)
	if f.TopLevel {
		w.Add("p.parent_id IS NULL")
	}
	w.Eq("p.name", f.Name)
	w.Flag("p.enabled", f.Enabled)
	w.In("p.id", f.IDs)
	tagFilter(&w, "p.id IN ("+projectTagCount+")", f.Tags, true)
	tagFilter(&w, "EXISTS ("+projectTagAny+")", f.TagsAny, false)
	tagFilter(&w, "p.id NOT IN ("+projectTagCount+")", f.NotTags, true)
	tagFilter(&w, "NOT EXISTS ("+projectTagAny+")", f.NotTagsAny, false)
	ps, err := s.queryProjects(ctx, &w)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	return ps, nil
}

// tagFilter adds cond, a format whose %s becomes the placeholders of the distinct
// tags; withCount appends their number as the last argument. No tags, no filter.
func tagFilter(w *db.Where, cond string, tags []string, withCount bool) {
	tags = uniqueSorted(tags)
	if len(tags) == 0 {
		return
	}
	args := db.Args(tags)
	if withCount {
		args = append(args, len(tags))
	}
	w.Add(fmt.Sprintf(cond, db.Placeholders(len(tags))), args...)
}

func (s *Store) queryProjects(ctx context.Context, w *db.Where) ([]identity.Project, error) {
	if w.None {
		return nil, nil
	}
	rows, err := s.d.QueryContext(ctx, projectSelect+w.String()+db.OrderBy(s.d.Engine(), "p.id", "t.name"), w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Project
	for rows.Next() {
		var (
			p                 identity.Project
			parent, opts, tag sql.NullString
		)
		err := rows.Scan(&p.ID, &p.Name, &p.DomainID, &parent, &p.Description, &p.Enabled, &opts, &tag)
		if err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].ID == p.ID {
			out[n-1].Tags = appendJoined(out[n-1].Tags, tag)
			continue
		}
		p.ParentID = parent.String
		if p.Options, err = decodeMap(opts); err != nil {
			return nil, fmt.Errorf("project %s options: %w", p.ID, err)
		}
		p.Tags = appendJoined(nil, tag)
		out = append(out, p)
	}
	return out, rows.Err()
}

// UpdateProject replaces the stored fields and tags of the project p.ID.
func (s *Store) UpdateProject(ctx context.Context, p identity.Project) error {
	opts, err := encodeMap(p.Options)
	if err != nil {
		return fmt.Errorf("update project %s: %w", p.ID, err)
	}
	err = s.d.InTx(ctx, func(tx *db.Tx) error {
		err := updateOne(ctx, tx, "project", p.ID, `UPDATE project SET name = ?, domain_id = ?, parent_id = ?,
			description = ?, enabled = ?, options = ? WHERE id = ?`,
			p.Name, p.DomainID, nullable(p.ParentID), p.Description, p.Enabled, opts, p.ID)
		if err != nil {
			return err
		}
		return projectTags.replace(ctx, tx, p.ID, p.Tags)
	})
	if err != nil {
		return fmt.Errorf("update project %s: %w", p.ID, err)
	}
	return nil
}

// DeleteProject removes the project with its tags, the assignments on it, its
// credentials and trusts. It fails with ErrConflict while the project has children.
func (s *Store) DeleteProject(ctx context.Context, id string) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		hasChildren, err := db.Exists(ctx, tx, "SELECT 1 FROM project WHERE parent_id = ? LIMIT 1", id)
		if err != nil {
			return err
		}
		if hasChildren {
			return fmt.Errorf("project has children: %w", identity.ErrConflict)
		}
		err = exec(ctx, tx,
			st("DELETE FROM assignment WHERE type IN (?, ?) AND target_id = ?", append(projectTargets(), id)...),
			st("DELETE FROM project_tag WHERE project_id = ?", id),
			st("DELETE FROM credential WHERE project_id = ?", id),
			st("DELETE FROM project_endpoint_group WHERE project_id = ?", id),
			st("DELETE FROM project_endpoint WHERE project_id = ?", id),
		)
		if err != nil {
			return err
		}
		if _, err := deleteTrustsWhere(ctx, tx, "project_id = ?", id); err != nil {
			return err
		}
		return deleteOne(ctx, tx, "DELETE FROM project WHERE id = ?", id)
	})
	if err != nil {
		return fmt.Errorf("delete project %s: %w", id, err)
	}
	return nil
}
