package identity

import (
	"errors"

	"golang.org/x/crypto/bcrypt"
)

// BcryptHasher hashes passwords with bcrypt at a configurable cost
// (keystone's [identity] password_hash_rounds, default 12).
type BcryptHasher struct{ Cost int }

// Hash returns the bcrypt hash of password. Passwords longer than bcrypt's
// 72-byte input are refused rather than silently truncated.
func (h BcryptHasher) Hash(password string) (string, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(password), h.Cost)
	if errors.Is(err, bcrypt.ErrPasswordTooLong) {
		return "", invalid("Password is longer than 72 bytes, the most bcrypt can check.")
	}
	return string(b), err
}

// Compare returns nil when password matches hash.
func (h BcryptHasher) Compare(hash, password string) error {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
}
