package compute

import (
	"context"
	"errors"
	"fmt"
)

// KeyPairCreate is a new key pair as POST /os-keypairs describes it.
type KeyPairCreate struct {
	// UserID owns the key pair; "" is the caller (admins may name another
	// user from microversion 2.10).
	UserID string
	Name   string
	// Type is KeyTypeSSH (default) or KeyTypeX509.
	Type string
	// PublicKey is imported; nil generates a key pair (before 2.92).
	PublicKey *string
}

// CreateKeyPair imports or generates a key pair and returns it with the
// private key of a generated pair ("" for an imported one).
func (s *Service) CreateKeyPair(ctx context.Context, kc KeyPairCreate) (KeyPair, string, error) {
	c, err := caller(ctx)
	if err != nil {
		return KeyPair{}, "", err
	}
	if kc.UserID == "" {
		kc.UserID = c.UserID
	}
	if kc.Type == "" {
		kc.Type = KeyTypeSSH
	}
	if err := s.authorize(ctx, RuleKeypairsCreate, map[string]any{"user_id": kc.UserID}); err != nil {
		return KeyPair{}, "", err
	}
	if kc.Type != KeyTypeSSH && kc.Type != KeyTypeX509 {
		return KeyPair{}, "", errorf(ErrInvalid, "Keypair data is invalid: unknown key pair type %s", kc.Type)
	}
	if err := s.CheckDeltas(ctx, c.ProjectID, kc.UserID, map[string]int{ResourceKeyPairs: 1}); err != nil {
		if errors.Is(err, ErrOverLimit) {
			return KeyPair{}, "", keyPairQuotaExceeded()
		}
		return KeyPair{}, "", err
	}
	limit, err := s.keyPairLimit(ctx, c.ProjectID, kc.UserID)
	if err != nil {
		return KeyPair{}, "", err
	}
	kp := KeyPair{UserID: kc.UserID, Name: kc.Name, Type: kc.Type, CreatedAt: s.now().UTC()}
	var private string
	if kc.PublicKey != nil {
		kp.PublicKey = *kc.PublicKey
		if kp.Fingerprint, err = Fingerprint(kc.Type, kp.PublicKey); err != nil {
			return KeyPair{}, "", err
		}
	} else {
		if private, kp.PublicKey, kp.Fingerprint, err = s.genKey(kc.Type, kc.UserID); err != nil {
			return KeyPair{}, "", fmt.Errorf("generate %s key pair: %w", kc.Type, err)
		}
	}
	// The store counts again inside its transaction, so two creations at
	// once cannot both take the last unit of quota.
	kp, err = s.store.CreateKeyPair(ctx, kp, limit)
	switch {
	case errors.Is(err, ErrConflict):
		return KeyPair{}, "", errorf(ErrConflict, "Key pair '%s' already exists.", kc.Name)
	case errors.Is(err, ErrOverQuota):
		return KeyPair{}, "", keyPairQuotaExceeded()
	case err != nil:
		return KeyPair{}, "", fmt.Errorf("create key pair %s: %w", kc.Name, err)
	}
	s.log.InfoContext(ctx, "key pair created", "user_id", kp.UserID, "key_name", kp.Name, "imported", kc.PublicKey != nil)
	return kp, private, nil
}

// keyPairQuotaExceeded is nova's KeypairLimitExceeded, answered 403.
func keyPairQuotaExceeded() error {
	return errorf(ErrForbidden, "Quota exceeded, too many key pairs.")
}

// keyPairLimit is the key_pairs limit of a user: the user's limit in the
// project and the project's, whichever is lower (-1: unlimited).
func (s *Service) keyPairLimit(ctx context.Context, projectID, userID string) (int, error) {
	proj, err := s.projectLimits(ctx, projectID)
	if err != nil {
		return 0, err
	}
	user, err := s.userLimits(ctx, projectID, userID, proj)
	if err != nil {
		return 0, err
	}
	return minLimit(proj[ResourceKeyPairs], user[ResourceKeyPairs]), nil
}

// minLimit is the stricter of two limits, -1 being unlimited.
func minLimit(a, b int) int {
	switch {
	case a < 0:
		return b
	case b < 0:
		return a
	}
	return min(a, b)
}

// keyPairNotFound is nova's KeypairNotFound.
func keyPairNotFound(userID, name string) error {
	return errorf(ErrNotFound, "Keypair %s not found for user %s", name, userID)
}

// targetUser is the user a key pair request concerns: the user_id parameter
// (microversion 2.10), else the caller.
func targetUser(ctx context.Context, userID string) (string, error) {
	c, err := caller(ctx)
	if err != nil {
		return "", err
	}
	if userID == "" {
		return c.UserID, nil
	}
	return userID, nil
}

// KeyPair returns one key pair of a user ("" is the caller).
func (s *Service) KeyPair(ctx context.Context, userID, name string) (KeyPair, error) {
	userID, err := targetUser(ctx, userID)
	if err != nil {
		return KeyPair{}, err
	}
	if err := s.authorize(ctx, RuleKeypairsShow, map[string]any{"user_id": userID}); err != nil {
		return KeyPair{}, err
	}
	kp, err := s.store.GetKeyPair(ctx, userID, name)
	if errors.Is(err, ErrNotFound) {
		return KeyPair{}, keyPairNotFound(userID, name)
	}
	if err != nil {
		return KeyPair{}, fmt.Errorf("get key pair %s: %w", name, err)
	}
	return kp, nil
}

// KeyPairs lists a user's key pairs by name. Pages (microversion 2.35)
// start after marker; limit nil is MaxLimit and all=true lists every key
// pair, as before 2.35.
func (s *Service) KeyPairs(ctx context.Context, userID string, marker *string, limit *int, all bool) ([]KeyPair, error) {
	userID, err := targetUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, RuleKeypairsIndex, map[string]any{"user_id": userID}); err != nil {
		return nil, err
	}
	n, m := 0, ""
	if !all {
		if n = s.limit(limit); n == 0 {
			return []KeyPair{}, nil
		}
		if marker != nil {
			m = *marker
			if m == "" {
				return nil, errorf(ErrInvalid, "Marker  could not be found.")
			}
		}
	}
	kps, err := s.store.ListKeyPairs(ctx, userID, m, n)
	if errors.Is(err, ErrMarkerNotFound) {
		return nil, errorf(ErrInvalid, "Marker %s could not be found.", m)
	}
	if err != nil {
		return nil, fmt.Errorf("list key pairs of %s: %w", userID, err)
	}
	return kps, nil
}

// DeleteKeyPair deletes a key pair of a user ("" is the caller).
func (s *Service) DeleteKeyPair(ctx context.Context, userID, name string) error {
	userID, err := targetUser(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, RuleKeypairsDelete, map[string]any{"user_id": userID}); err != nil {
		return err
	}
	err = s.store.DeleteKeyPair(ctx, userID, name)
	if errors.Is(err, ErrNotFound) {
		return keyPairNotFound(userID, name)
	}
	if err != nil {
		return fmt.Errorf("delete key pair %s: %w", name, err)
	}
	s.log.InfoContext(ctx, "key pair deleted", "user_id", userID, "key_name", name)
	return nil
}
