package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
)

// PolicyUpdate is a PATCH /v3/policies/{policy_id}: nil fields stay as they
// are; Extra is merged into the policy's extra attributes.
type PolicyUpdate struct {
	// ID may only repeat the policy's id.
	ID, Type, Blob *string
	Extra          map[string]any
}

// ConsumerUpdate is a PATCH /v3/OS-OAUTH1/consumers/{consumer_id}: nil fields
// stay as they are; Extra is merged into the consumer's extra attributes.
type ConsumerUpdate struct {
	// ID may only repeat the consumer's id.
	ID          *string
	Description *string
	Extra       map[string]any
}

// policyTypeMax bounds a policy's type (keystone's policy schema).
const policyTypeMax = 255

// mergeExtra returns current with changes applied.
func mergeExtra(current, changes map[string]any) map[string]any {
	if len(changes) == 0 {
		return current
	}
	out := maps.Clone(current)
	if out == nil {
		out = map[string]any{}
	}
	maps.Copy(out, changes)
	return out
}

// CreatePolicy stores a policy blob (POST /v3/policies); its id is generated.
func (s *Service) CreatePolicy(ctx context.Context, p Policy) (Policy, error) {
	if err := s.authorizeRule(ctx, "identity:create_policy"); err != nil {
		return Policy{}, err
	}
	if len([]rune(p.Type)) > policyTypeMax {
		return Policy{}, fieldInvalid("type", "%s is too long", quoted(p.Type))
	}
	p.ID = s.newID()
	if err := s.store.CreatePolicy(ctx, p); err != nil {
		return Policy{}, duplicate(err, "policy - Duplicate entry.")
	}
	s.changed()
	return p, nil
}

// GetPolicy returns one policy (GET /v3/policies/{policy_id}).
func (s *Service) GetPolicy(ctx context.Context, id string) (Policy, error) {
	if err := s.authorizeRule(ctx, "identity:get_policy"); err != nil {
		return Policy{}, err
	}
	p, err := s.store.GetPolicy(ctx, id)
	if err != nil {
		return Policy{}, lookup(err, "policy", id)
	}
	return p, nil
}

// ListPolicies lists policies, only those of type typ when it is set
// (GET /v3/policies).
func (s *Service) ListPolicies(ctx context.Context, typ string) ([]Policy, error) {
	if err := s.authorizeRule(ctx, "identity:list_policies"); err != nil {
		return nil, err
	}
	ps, err := s.store.ListPolicies(ctx, typ)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	return ps, nil
}

// UpdatePolicy changes a policy (PATCH /v3/policies/{policy_id}).
func (s *Service) UpdatePolicy(ctx context.Context, id string, u PolicyUpdate) (Policy, error) {
	if err := s.authorizeRule(ctx, "identity:update_policy"); err != nil {
		return Policy{}, err
	}
	if u.ID != nil && *u.ID != id {
		return Policy{}, invalid("Cannot change policy ID")
	}
	if u.Type != nil && len([]rune(*u.Type)) > policyTypeMax {
		return Policy{}, fieldInvalid("type", "%s is too long", quoted(*u.Type))
	}
	p, err := s.store.GetPolicy(ctx, id)
	if err != nil {
		return Policy{}, lookup(err, "policy", id)
	}
	if u.Type != nil {
		p.Type = *u.Type
	}
	if u.Blob != nil {
		p.Blob = *u.Blob
	}
	p.Extra = mergeExtra(p.Extra, u.Extra)
	if err := s.store.UpdatePolicy(ctx, p); err != nil {
		return Policy{}, lookup(err, "policy", id)
	}
	s.changed()
	return p, nil
}

// DeletePolicy deletes a policy (DELETE /v3/policies/{policy_id}).
func (s *Service) DeletePolicy(ctx context.Context, id string) error {
	if err := s.authorizeRule(ctx, "identity:delete_policy"); err != nil {
		return err
	}
	if err := s.store.DeletePolicy(ctx, id); err != nil {
		return lookup(err, "policy", id)
	}
	s.changed()
	return nil
}

// consumerMissing is keystone's 404 for an OAuth1 consumer.
func consumerMissing(err error) error {
	if errors.Is(err, ErrNotFound) {
		return &Error{Kind: ErrNotFound, Message: "Consumer not found"}
	}
	return err
}

// newConsumerSecret returns 32 random hex digits, as long as keystone's.
func newConsumerSecret() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("read random: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// CreateConsumer registers an OAuth1 consumer with a generated secret
// (POST /v3/OS-OAUTH1/consumers). The answer is the only one that carries
// the secret.
func (s *Service) CreateConsumer(ctx context.Context, description string, extra map[string]any) (Consumer, error) {
	if err := s.authorizeRule(ctx, "identity:create_consumer"); err != nil {
		return Consumer{}, err
	}
	c := Consumer{ID: s.newID(), Description: description, Secret: newConsumerSecret(), Extra: extra}
	if err := s.store.CreateConsumer(ctx, c); err != nil {
		return Consumer{}, duplicate(err, "consumer - Duplicate entry.")
	}
	s.changed()
	return c, nil
}

// GetConsumer returns one consumer without its secret
// (GET /v3/OS-OAUTH1/consumers/{consumer_id}).
func (s *Service) GetConsumer(ctx context.Context, id string) (Consumer, error) {
	if err := s.authorizeRule(ctx, "identity:get_consumer"); err != nil {
		return Consumer{}, err
	}
	c, err := s.store.GetConsumer(ctx, id)
	if err != nil {
		return Consumer{}, consumerMissing(err)
	}
	c.Secret = ""
	return c, nil
}

// ListConsumers lists consumers without their secrets (GET /v3/OS-OAUTH1/consumers).
func (s *Service) ListConsumers(ctx context.Context) ([]Consumer, error) {
	if err := s.authorizeRule(ctx, "identity:list_consumers"); err != nil {
		return nil, err
	}
	cs, err := s.store.ListConsumers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list consumers: %w", err)
	}
	for i := range cs {
		cs[i].Secret = ""
	}
	return cs, nil
}

// UpdateConsumer changes a consumer's description and extra attributes
// (PATCH /v3/OS-OAUTH1/consumers/{consumer_id}); the secret cannot change.
func (s *Service) UpdateConsumer(ctx context.Context, id string, u ConsumerUpdate) (Consumer, error) {
	if err := s.authorizeRule(ctx, "identity:update_consumer"); err != nil {
		return Consumer{}, err
	}
	if u.ID != nil && *u.ID != id {
		return Consumer{}, invalid("Cannot change ID")
	}
	c, err := s.store.GetConsumer(ctx, id)
	if err != nil {
		return Consumer{}, consumerMissing(err)
	}
	if u.Description != nil {
		c.Description = *u.Description
	}
	c.Extra = mergeExtra(c.Extra, u.Extra)
	if err := s.store.UpdateConsumer(ctx, c); err != nil {
		return Consumer{}, consumerMissing(err)
	}
	s.changed()
	c.Secret = ""
	return c, nil
}

// DeleteConsumer deletes a consumer (DELETE /v3/OS-OAUTH1/consumers/{consumer_id}).
func (s *Service) DeleteConsumer(ctx context.Context, id string) error {
	if err := s.authorizeRule(ctx, "identity:delete_consumer"); err != nil {
		return err
	}
	if err := s.store.DeleteConsumer(ctx, id); err != nil {
		return consumerMissing(err)
	}
	s.changed()
	return nil
}
