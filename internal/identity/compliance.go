package identity

import (
	"context"
	"fmt"
	"regexp"
	"time"
)

// ComplianceStore keeps the rows of security compliance (password history,
// lockout) and access rules. Each method is one transaction.
type ComplianceStore interface {
	// GetPasswordState returns what is recorded of the user's password besides
	// its hash; the zero PasswordState when nothing is.
	GetPasswordState(ctx context.Context, userID string) (PasswordState, error)
	// RecordFailedAuth counts one more failed password check of the user, at t.
	// A missing user is ErrNotFound.
	RecordFailedAuth(ctx context.Context, userID string, t time.Time) error
	// ResetFailedAuth forgets the user's failed password checks.
	ResetFailedAuth(ctx context.Context, userID string) error
	// ListPasswordHistory returns up to limit of the user's previous passwords,
	// newest first.
	ListPasswordHistory(ctx context.Context, userID string, limit int) ([]PasswordRecord, error)
	// SetPassword replaces the user's password as ch says, moving the replaced
	// one into the history. A missing user is ErrNotFound.
	SetPassword(ctx context.Context, ch PasswordChange) error

	// CreateApplicationCredentialWithAccessRules stores an application
	// credential, as CreateApplicationCredential does, with its access rules:
	// a rule whose ID names one of the user's rules is that rule, one equal to
	// a rule of the user (service, path, method) is that rule, and any other is
	// created with its ID. It returns the rules as stored, in order.
	CreateApplicationCredentialWithAccessRules(ctx context.Context, ac ApplicationCredential, rules []AccessRule) ([]AccessRule, error)
	// GetAccessRule returns the access rule with id.
	GetAccessRule(ctx context.Context, id string) (AccessRule, error)
	// ListAccessRules returns the access rules matching f, ordered by id.
	ListAccessRules(ctx context.Context, f AccessRuleFilter) ([]AccessRule, error)
	// ListAppCredAccessRules returns the access rules of each of the
	// application credentials, by credential id, each list ordered by rule id.
	ListAppCredAccessRules(ctx context.Context, appCredIDs []string) (map[string][]AccessRule, error)
	// DeleteAccessRule removes an access rule; one an application credential
	// still uses is ErrConflict.
	DeleteAccessRule(ctx context.Context, id string) error
}

// PasswordState is what compliance records of a user's password besides its
// hash (keystone's local_user failed_auth_count and failed_auth_at, and the
// password's self_service flag).
type PasswordState struct {
	// FailedAuthCount password checks failed since the last success, the last
	// at FailedAuthAt.
	FailedAuthCount int
	FailedAuthAt    time.Time
	// SelfService is set when the user chose the current password; the minimum
	// password age applies only then.
	SelfService bool
}

// PasswordRecord is one of a user's previous passwords.
type PasswordRecord struct {
	Hash      string
	CreatedAt time.Time
}

// PasswordChange is a new password for a user.
type PasswordChange struct {
	UserID string
	// Hash is the new password's hash; "" leaves the user without a password.
	Hash                 string
	CreatedAt, ExpiresAt time.Time
	// Keep is how many previous passwords the history keeps once the replaced
	// one is in it; 0 empties it.
	Keep int
	// SelfService says the user chose the password.
	SelfService bool
	// ResetFailedAuth also forgets the user's failed password checks.
	ResetFailedAuth bool
}

// optionTrue reports whether the boolean resource option name is set to true.
func optionTrue(opts map[string]any, name string) bool {
	v, _ := opts[name].(bool)
	return v
}

// lockedOut is keystone's AccountLocked.
func lockedOut(userID string) error {
	return unauthorized("The account is locked for user: %s.", userID)
}

// passwordExpired is keystone's PasswordExpired.
func passwordExpired(userID string) error {
	return unauthorized("The password is expired and needs to be changed for user: %s.", userID)
}

// verifyPassword checks password against the user's, as keystone's
// authenticate does: a locked-out user is refused whatever the password, and a
// wrong password counts towards the lockout. It returns how many failed checks
// were on record, for clearFailedAuth once every other check has passed.
func (s *Service) verifyPassword(ctx context.Context, u *User, password string) (int, error) {
	c := s.cfg.Compliance
	lockout := c.LockoutFailureAttempts > 0 && !optionTrue(u.Options, "ignore_lockout_failure_attempts")
	var failures int
	if lockout {
		st, err := s.store.GetPasswordState(ctx, u.ID)
		if err != nil {
			return 0, fmt.Errorf("get password state of user %s: %w", u.ID, err)
		}
		failures = st.FailedAuthCount
		if failures >= c.LockoutFailureAttempts {
			if c.LockoutDuration <= 0 || s.now().Before(st.FailedAuthAt.Add(c.LockoutDuration)) {
				s.equalizeTiming(password)
				s.log.Info("authentication refused: account locked", "user_id", u.ID)
				return 0, lockedOut(u.ID)
			}
			// The lockout has run its course: the user starts afresh.
			if err := s.store.ResetFailedAuth(ctx, u.ID); err != nil {
				return 0, fmt.Errorf("reset failed authentications of user %s: %w", u.ID, err)
			}
			failures = 0
		}
	}
	if u.PasswordHash == "" || s.hasher.Compare(u.PasswordHash, password) != nil {
		if u.PasswordHash == "" {
			s.equalizeTiming(password)
		}
		s.log.Info("authentication failed", "user_id", u.ID, "method", "password")
		if lockout {
			if err := s.store.RecordFailedAuth(ctx, u.ID, s.now().UTC()); err != nil {
				return 0, fmt.Errorf("record failed authentication of user %s: %w", u.ID, err)
			}
		}
		return 0, authFailed()
	}
	return failures, nil
}

// clearFailedAuth forgets the failed checks verifyPassword found, after a
// password check that succeeded.
func (s *Service) clearFailedAuth(ctx context.Context, userID string, failures int) error {
	if failures == 0 {
		return nil
	}
	if err := s.store.ResetFailedAuth(ctx, userID); err != nil {
		return fmt.Errorf("reset failed authentications of user %s: %w", userID, err)
	}
	return nil
}

// isPasswordExpired reports whether the user's password has expired and the
// user is not exempt (option ignore_password_expiry).
func (s *Service) isPasswordExpired(u *User) bool {
	return !u.PasswordExpiresAt.IsZero() && !optionTrue(u.Options, "ignore_password_expiry") &&
		!s.now().Before(u.PasswordExpiresAt)
}

// newPasswordExpiry is when a password set now for u expires (zero: never): at
// once when an administrator set it and the user must change it upon first
// use, else after password_expires_days unless the user is exempt.
func (s *Service) newPasswordExpiry(u *User, created time.Time, selfService bool) time.Time {
	c := s.cfg.Compliance
	if !selfService && c.ChangePasswordUponFirstUse && !optionTrue(u.Options, "ignore_change_password_upon_first_use") {
		return created
	}
	if c.PasswordExpires > 0 && !optionTrue(u.Options, "ignore_password_expiry") {
		return created.Add(c.PasswordExpires).Truncate(time.Second)
	}
	return time.Time{}
}

// checkPasswordRequirements refuses a new password that password_regex does
// not match. As Python's re.match, the pattern is anchored at the start only.
func (s *Service) checkPasswordRequirements(pw string) error {
	c := s.cfg.Compliance
	if c.PasswordRegex == "" {
		return nil
	}
	re, err := regexp.Compile(`^(?:` + c.PasswordRegex + `)`)
	if err != nil {
		s.log.Error("security_compliance password_regex is not a valid regular expression", "error", err)
		return invalid("Password validation error: Unable to validate password due to invalid configuration.")
	}
	if !re.MatchString(pw) {
		return invalid("The password does not match the requirements: %s.", c.PasswordRegexDescription)
	}
	return nil
}

// checkSelfServiceChange applies the rules of a user changing their own
// password: the minimum age of a password the user chose, and the history.
func (s *Service) checkSelfServiceChange(ctx context.Context, u *User, pw string) error {
	c := s.cfg.Compliance
	if c.MinimumPasswordAge > 0 && !u.PasswordCreatedAt.IsZero() {
		st, err := s.store.GetPasswordState(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("get password state of user %s: %w", u.ID, err)
		}
		if until := u.PasswordCreatedAt.Add(c.MinimumPasswordAge); st.SelfService && s.now().Before(until) {
			const day = 24 * time.Hour
			return invalid("You cannot change your password at this time due to the minimum password age. "+
				"Once you change your password, it must be used for %d day(s) before it can be changed. "+
				"Please try again in %d day(s) or contact your administrator to reset your password.",
				int(c.MinimumPasswordAge/day), int(until.Sub(s.now())/day))
		}
	}
	return s.checkPasswordHistory(ctx, u, pw)
}

// checkPasswordHistory refuses a password equal to the current one or to one
// of the previous unique_last_password_count-1.
func (s *Service) checkPasswordHistory(ctx context.Context, u *User, pw string) error {
	n := s.cfg.Compliance.UniqueLastPasswordCount
	if n <= 0 {
		return nil
	}
	var hashes []string
	if u.PasswordHash != "" {
		hashes = append(hashes, u.PasswordHash)
	}
	if n > 1 {
		prev, err := s.store.ListPasswordHistory(ctx, u.ID, n-1)
		if err != nil {
			return fmt.Errorf("list password history of user %s: %w", u.ID, err)
		}
		for _, p := range prev {
			hashes = append(hashes, p.Hash)
		}
	}
	for _, h := range hashes {
		if s.hasher.Compare(h, pw) == nil {
			return invalid("The new password cannot be identical to a previous password. "+
				"The total number which includes the new password must be unique is %d.", n)
		}
	}
	return nil
}

// storePassword sets u's password to pw (none when pw is nil) and stores it,
// keeping the replaced one in the history. An administrator's reset
// (selfService false) also forgets an enabled user's failed checks, as
// keystone's user update does.
func (s *Service) storePassword(ctx context.Context, u *User, pw *string, selfService bool) error {
	if pw == nil {
		u.PasswordHash, u.PasswordCreatedAt, u.PasswordExpiresAt = "", time.Time{}, time.Time{}
	} else if err := s.setPassword(u, *pw, selfService); err != nil {
		return err
	}
	ch := PasswordChange{UserID: u.ID, Hash: u.PasswordHash, CreatedAt: u.PasswordCreatedAt,
		ExpiresAt: u.PasswordExpiresAt, Keep: s.cfg.Compliance.UniqueLastPasswordCount,
		SelfService: selfService, ResetFailedAuth: !selfService && u.Enabled}
	if err := s.store.SetPassword(ctx, ch); err != nil {
		return lookup(err, "user", u.ID)
	}
	return nil
}
