package identitysql

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// encodeValue stores any JSON value as JSON text.
func encodeValue(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("%w: encode value: %w", identity.ErrValidation, err)
	}
	return string(b), nil
}

// decodeValue reads a value stored by encodeValue; numbers stay exact as json.Number.
func decodeValue(s string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode stored value: %w", err)
	}
	return v, nil
}

// ListDomainConfig returns the domain's options, sensitive ones included,
// ordered by group and option.
func (s *Store) ListDomainConfig(ctx context.Context, domainID string) ([]identity.DomainConfigOption, error) {
	rows, err := s.d.QueryContext(ctx, `SELECT config_group, config_option, config_value, is_sensitive
		FROM domain_config WHERE domain_id = ?`+db.OrderBy(s.d.Engine(), "config_group", "config_option"), domainID)
	if err != nil {
		return nil, fmt.Errorf("list config of domain %s: %w", domainID, err)
	}
	defer rows.Close()
	var out []identity.DomainConfigOption
	for rows.Next() {
		var (
			o   identity.DomainConfigOption
			raw string
		)
		if err := rows.Scan(&o.Group, &o.Option, &raw, &o.Sensitive); err != nil {
			return nil, fmt.Errorf("list config of domain %s: %w", domainID, err)
		}
		if o.Value, err = decodeValue(raw); err != nil {
			return nil, fmt.Errorf("list config of domain %s: %w", domainID, err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list config of domain %s: %w", domainID, err)
	}
	return out, nil
}

// insertConfig inserts opts for a domain whose rows for them are gone.
func insertConfig(ctx context.Context, tx *db.Tx, domainID string, opts []identity.DomainConfigOption) error {
	for _, o := range opts {
		v, err := encodeValue(o.Value)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO domain_config
			(domain_id, config_group, config_option, config_value, is_sensitive) VALUES (?, ?, ?, ?, ?)`,
			domainID, o.Group, o.Option, v, o.Sensitive)
		if err != nil {
			return writeErr(err)
		}
	}
	return nil
}

// ReplaceDomainConfig replaces the domain's whole configuration and reports
// whether it had one.
func (s *Store) ReplaceDomainConfig(ctx context.Context, domainID string, opts []identity.DomainConfigOption) (bool, error) {
	var replaced bool
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM domain_config WHERE domain_id = ?", domainID)
		if err != nil {
			return err
		}
		n, err := db.Affected(res)
		if err != nil {
			return err
		}
		replaced = n > 0
		return insertConfig(ctx, tx, domainID, opts)
	})
	if err != nil {
		return false, fmt.Errorf("replace config of domain %s: %w", domainID, err)
	}
	return replaced, nil
}

// UpdateDomainConfig creates or overwrites each of opts.
func (s *Store) UpdateDomainConfig(ctx context.Context, domainID string, opts []identity.DomainConfigOption) error {
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		for _, o := range opts {
			_, err := tx.ExecContext(ctx, `DELETE FROM domain_config
				WHERE domain_id = ? AND config_group = ? AND config_option = ?`, domainID, o.Group, o.Option)
			if err != nil {
				return err
			}
		}
		return insertConfig(ctx, tx, domainID, opts)
	})
	if err != nil {
		return fmt.Errorf("update config of domain %s: %w", domainID, err)
	}
	return nil
}

// DeleteDomainConfig deletes every option of the domain, a group's, or one.
func (s *Store) DeleteDomainConfig(ctx context.Context, domainID, group, option string) error {
	var w db.Where
	w.Add("domain_id = ?", domainID)
	w.Eq("config_group", group)
	if group != "" {
		w.Eq("config_option", option)
	}
	if _, err := s.d.ExecContext(ctx, "DELETE FROM domain_config"+w.String(), w.Args...); err != nil {
		return fmt.Errorf("delete config of domain %s: %w", domainID, err)
	}
	return nil
}

// CreatePolicy stores a new policy.
func (s *Store) CreatePolicy(ctx context.Context, p identity.Policy) error {
	extra, err := encodeMap(p.Extra)
	if err == nil {
		_, err = s.d.ExecContext(ctx, `INSERT INTO identity_policy (id, type, policy_blob, extra) VALUES (?, ?, ?, ?)`,
			p.ID, p.Type, p.Blob, extra)
		err = writeErr(err)
	}
	if err != nil {
		return fmt.Errorf("create policy %s: %w", p.ID, err)
	}
	return nil
}

// GetPolicy returns the policy with id.
func (s *Store) GetPolicy(ctx context.Context, id string) (identity.Policy, error) {
	var w db.Where
	w.Add("id = ?", id)
	ps, err := s.queryPolicies(ctx, &w)
	if err != nil {
		return identity.Policy{}, fmt.Errorf("get policy %s: %w", id, err)
	}
	if len(ps) == 0 {
		return identity.Policy{}, fmt.Errorf("get policy %s: %w", id, identity.ErrNotFound)
	}
	return ps[0], nil
}

// ListPolicies returns the policies of type typ (all when ""), ordered by id.
func (s *Store) ListPolicies(ctx context.Context, typ string) ([]identity.Policy, error) {
	var w db.Where
	w.Eq("type", typ)
	ps, err := s.queryPolicies(ctx, &w)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	return ps, nil
}

func (s *Store) queryPolicies(ctx context.Context, w *db.Where) ([]identity.Policy, error) {
	rows, err := s.d.QueryContext(ctx, "SELECT id, type, policy_blob, extra FROM identity_policy"+w.String()+
		db.OrderBy(s.d.Engine(), "id"), w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Policy
	for rows.Next() {
		var (
			p     identity.Policy
			extra sql.NullString
		)
		if err := rows.Scan(&p.ID, &p.Type, &p.Blob, &extra); err != nil {
			return nil, err
		}
		if p.Extra, err = decodeMap(extra); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// UpdatePolicy replaces the stored fields of the policy p.ID.
func (s *Store) UpdatePolicy(ctx context.Context, p identity.Policy) error {
	extra, err := encodeMap(p.Extra)
	if err == nil {
		err = s.d.InTx(ctx, func(tx *db.Tx) error {
			return updateOne(ctx, tx, "identity_policy", p.ID,
				`UPDATE identity_policy SET type = ?, policy_blob = ?, extra = ? WHERE id = ?`, p.Type, p.Blob, extra, p.ID)
		})
	}
	if err != nil {
		return fmt.Errorf("update policy %s: %w", p.ID, err)
	}
	return nil
}

// DeletePolicy removes the policy.
func (s *Store) DeletePolicy(ctx context.Context, id string) error {
	if err := deleteOne(ctx, s.d, "DELETE FROM identity_policy WHERE id = ?", id); err != nil {
		return fmt.Errorf("delete policy %s: %w", id, err)
	}
	return nil
}

// CreateConsumer stores a new OAuth1 consumer with its secret.
func (s *Store) CreateConsumer(ctx context.Context, c identity.Consumer) error {
	extra, err := encodeMap(c.Extra)
	if err == nil {
		_, err = s.d.ExecContext(ctx, `INSERT INTO oauth_consumer (id, description, secret, extra) VALUES (?, ?, ?, ?)`,
			c.ID, c.Description, c.Secret, extra)
		err = writeErr(err)
	}
	if err != nil {
		return fmt.Errorf("create consumer %s: %w", c.ID, err)
	}
	return nil
}

// GetConsumer returns the consumer with id, its secret included.
func (s *Store) GetConsumer(ctx context.Context, id string) (identity.Consumer, error) {
	var w db.Where
	w.Add("id = ?", id)
	cs, err := s.queryConsumers(ctx, &w)
	if err != nil {
		return identity.Consumer{}, fmt.Errorf("get consumer %s: %w", id, err)
	}
	if len(cs) == 0 {
		return identity.Consumer{}, fmt.Errorf("get consumer %s: %w", id, identity.ErrNotFound)
	}
	return cs[0], nil
}

// ListConsumers returns every consumer, secrets included, ordered by id.
func (s *Store) ListConsumers(ctx context.Context) ([]identity.Consumer, error) {
	cs, err := s.queryConsumers(ctx, &db.Where{})
	if err != nil {
		return nil, fmt.Errorf("list consumers: %w", err)
	}
	return cs, nil
}

func (s *Store) queryConsumers(ctx context.Context, w *db.Where) ([]identity.Consumer, error) {
	rows, err := s.d.QueryContext(ctx, "SELECT id, description, secret, extra FROM oauth_consumer"+w.String()+
		db.OrderBy(s.d.Engine(), "id"), w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Consumer
	for rows.Next() {
		var (
			c     identity.Consumer
			extra sql.NullString
		)
		if err := rows.Scan(&c.ID, &c.Description, &c.Secret, &extra); err != nil {
			return nil, err
		}
		if c.Extra, err = decodeMap(extra); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpdateConsumer writes the description and extra attributes of the consumer
// c.ID; its secret stays.
func (s *Store) UpdateConsumer(ctx context.Context, c identity.Consumer) error {
	extra, err := encodeMap(c.Extra)
	if err == nil {
		err = s.d.InTx(ctx, func(tx *db.Tx) error {
			return updateOne(ctx, tx, "oauth_consumer", c.ID,
				`UPDATE oauth_consumer SET description = ?, extra = ? WHERE id = ?`, c.Description, extra, c.ID)
		})
	}
	if err != nil {
		return fmt.Errorf("update consumer %s: %w", c.ID, err)
	}
	return nil
}

// DeleteConsumer removes the consumer.
func (s *Store) DeleteConsumer(ctx context.Context, id string) error {
	if err := deleteOne(ctx, s.d, "DELETE FROM oauth_consumer WHERE id = ?", id); err != nil {
		return fmt.Errorf("delete consumer %s: %w", id, err)
	}
	return nil
}
