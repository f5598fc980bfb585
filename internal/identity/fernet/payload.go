package fernet

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"time"
)

// Payload is what a token asserts: who authenticated, how, for which scope,
// and when. Unscoped means none of ProjectID, DomainID and System is set.
// Times keep microsecond precision and come back in UTC.
type Payload struct {
	UserID    string    // required
	Methods   []string  // auth methods, e.g. "password"; decoded in a fixed order
	ProjectID string    // project scope
	DomainID  string    // domain scope
	System    bool      // system scope "all"
	ExpiresAt time.Time // required; the token is expired from this instant on
	IssuedAt  time.Time // zero means the Provider's clock at Issue
	AuditIDs  []string  // this token's audit id, then the parent chain's when rescoped
	AppCredID string    // application credential the token was issued for
	TrustID   string    // trust (OS-TRUST) the token was issued through
}

// Unscoped reports whether the payload has no project, domain or system scope.
func (p Payload) Unscoped() bool {
	return p.ProjectID == "" && p.DomainID == "" && !p.System
}

// NewAuditID returns a fresh keystone audit id: 16 random bytes as 22
// urlsafe-base64 characters.
func NewAuditID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails; a broken source crashes the program
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// authMethods maps auth method names to bits of the methods mask. The order
// is part of the token format: append only, never reorder or remove.
var authMethods = [...]string{
	"password",
	"token",
	"application_credential",
	"totp",
	"external",
	"mapped",
	"oauth1",
	"openid",
	"saml2",
	"kerberos",
	"x509",
}

// Payload format version 1, after the version byte:
//
//	uvarint flags        payloadSystem | payloadProject | payloadDomain | payloadAppCred |
//	                     payloadTrust
//	uvarint methods      bit i set = authMethods[i]
//	id      user
//	id      project      if payloadProject
//	id      domain       if payloadDomain
//	id      app cred     if payloadAppCred
//	id      trust        if payloadTrust
//	uvarint issued µs    microseconds within the second; the seconds are the
//	                     Fernet timestamp
//	varint  expires s    expires_at seconds minus issued_at seconds
//	uvarint expires µs   microseconds within the second
//	uvarint n            audit id count, then n ids
//
// An id is a tag byte and its value: idHex + 16 bytes for a 32-char lowercase
// hex UUID, idB64 + 16 bytes for a 22-char urlsafe-base64 id (audit ids),
// idRaw + uvarint length + bytes for anything else.
//
// Flags are only ever added: a token issued before a flag existed never sets
// it and decodes as it always did.
const payloadV1 = 1

const (
	payloadSystem = 1 << iota
	payloadProject
	payloadDomain
	payloadAppCred
	payloadTrust

	payloadFlagsV1 = payloadSystem | payloadProject | payloadDomain | payloadAppCred | payloadTrust
)

const (
	idHex = 1
	idB64 = 2
	idRaw = 3
)

// check rejects payloads that Issue must not sign.
func (p Payload) check() error {
	switch {
	case p.UserID == "":
		return errors.New("payload has no user id")
	case p.ExpiresAt.IsZero():
		return errors.New("payload has no expiry")
	case p.IssuedAt.Unix() < 0:
		return fmt.Errorf("payload issued at %s, before 1970", p.IssuedAt)
	}
	scopes := 0
	for _, set := range []bool{p.ProjectID != "", p.DomainID != "", p.System} {
		if set {
			scopes++
		}
	}
	if scopes > 1 {
		return errors.New("payload has more than one of project, domain and system scope")
	}
	return nil
}

// encodePayload appends p in the current format to dst.
func encodePayload(dst []byte, p Payload) ([]byte, error) {
	methods, err := methodMask(p.Methods)
	if err != nil {
		return nil, err
	}
	var flags uint64
	if p.System {
		flags |= payloadSystem
	}
	if p.ProjectID != "" {
		flags |= payloadProject
	}
	if p.DomainID != "" {
		flags |= payloadDomain
	}
	if p.AppCredID != "" {
		flags |= payloadAppCred
	}
	if p.TrustID != "" {
		flags |= payloadTrust
	}
	dst = append(dst, payloadV1)
	dst = binary.AppendUvarint(dst, flags)
	dst = binary.AppendUvarint(dst, methods)
	dst = appendID(dst, p.UserID)
	for _, id := range []string{p.ProjectID, p.DomainID, p.AppCredID, p.TrustID} {
		if id != "" {
			dst = appendID(dst, id)
		}
	}
	dst = binary.AppendUvarint(dst, uint64(p.IssuedAt.Nanosecond()/1000))
	dst = binary.AppendVarint(dst, p.ExpiresAt.Unix()-p.IssuedAt.Unix())
	dst = binary.AppendUvarint(dst, uint64(p.ExpiresAt.Nanosecond()/1000))
	dst = binary.AppendUvarint(dst, uint64(len(p.AuditIDs)))
	for _, id := range p.AuditIDs {
		dst = appendID(dst, id)
	}
	return dst, nil
}

// decodePayload parses a decrypted payload; issuedSec is the Fernet timestamp.
// Every error wraps ErrInvalidToken.
func decodePayload(b []byte, issuedSec int64) (Payload, error) {
	if len(b) == 0 {
		return Payload{}, fmt.Errorf("%w: empty payload", ErrInvalidToken)
	}
	if b[0] != payloadV1 {
		return Payload{}, fmt.Errorf("%w: unknown payload version %d", ErrInvalidToken, b[0])
	}
	r := payloadReader{b: b[1:]}
	flags := r.uvarint()
	if flags&^payloadFlagsV1 != 0 {
		return Payload{}, fmt.Errorf("%w: unknown payload flags %#x", ErrInvalidToken, flags)
	}
	var p Payload
	p.Methods = methodNames(r.uvarint(), &r)
	p.UserID = r.id()
	p.System = flags&payloadSystem != 0
	if flags&payloadProject != 0 {
		p.ProjectID = r.id()
	}
	if flags&payloadDomain != 0 {
		p.DomainID = r.id()
	}
	if flags&payloadAppCred != 0 {
		p.AppCredID = r.id()
	}
	if flags&payloadTrust != 0 {
		p.TrustID = r.id()
	}
	p.IssuedAt = time.Unix(issuedSec, r.micros()).UTC()
	expSec := issuedSec + r.varint()
	p.ExpiresAt = time.Unix(expSec, r.micros()).UTC()
	if n := r.uvarint(); n > 0 && r.err == nil {
		if n > uint64(len(r.b)) { // each id takes at least one byte
			r.fail("audit id count")
		} else {
			p.AuditIDs = make([]string, n)
			for i := range p.AuditIDs {
				p.AuditIDs[i] = r.id()
			}
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return Payload{}, r.err
	}
	return p, nil
}

// payloadReader consumes a payload; the first error sticks and later reads
// return zero values.
type payloadReader struct {
	b   []byte
	err error
}

func (r *payloadReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: bad payload: %s", ErrInvalidToken, what)
	}
	r.b = nil
}

func (r *payloadReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("truncated or overlong varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *payloadReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("truncated or overlong varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// micros reads microseconds within a second and returns them as nanoseconds.
func (r *payloadReader) micros() int64 {
	us := r.uvarint()
	if us >= 1_000_000 {
		r.fail("microseconds out of range")
		return 0
	}
	return int64(us) * 1000
}

func (r *payloadReader) take(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail("truncated id")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *payloadReader) id() string {
	if len(r.b) == 0 {
		r.fail("truncated id")
		return ""
	}
	tag := r.b[0]
	r.b = r.b[1:]
	switch tag {
	case idHex:
		return hex.EncodeToString(r.take(16))
	case idB64:
		return base64.RawURLEncoding.EncodeToString(r.take(16))
	case idRaw:
		return string(r.take(r.uvarint()))
	}
	r.fail("unknown id tag")
	return ""
}

// appendID appends id in its most compact form.
func appendID(dst []byte, id string) []byte {
	var raw [16]byte
	if hexID(&raw, id) {
		return append(append(dst, idHex), raw[:]...)
	}
	if b64ID(&raw, id) {
		return append(append(dst, idB64), raw[:]...)
	}
	dst = append(dst, idRaw)
	dst = binary.AppendUvarint(dst, uint64(len(id)))
	return append(dst, id...)
}

// hexID decodes a 32-char lowercase hex id (a keystone UUID) into raw;
// uppercase or dashed ids are not canonical and stay strings.
func hexID(raw *[16]byte, id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := range 16 {
		hi, ok1 := lowerHexDigit(id[2*i])
		lo, ok2 := lowerHexDigit(id[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		raw[i] = hi<<4 | lo
	}
	return true
}

func lowerHexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// b64ID decodes a 22-char urlsafe-base64 id (a keystone audit id) into raw
// when re-encoding gives back the same string.
func b64ID(raw *[16]byte, id string) bool {
	if len(id) != 22 {
		return false
	}
	for i := range len(id) {
		c := id[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	n, err := base64.RawURLEncoding.Strict().Decode(raw[:], []byte(id))
	return err == nil && n == 16
}

// methodMask maps method names to the methods bitmask.
func methodMask(methods []string) (uint64, error) {
	var mask uint64
	for _, m := range methods {
		i := 0
		for i < len(authMethods) && authMethods[i] != m {
			i++
		}
		if i == len(authMethods) {
			return 0, fmt.Errorf("unknown auth method %q", m)
		}
		mask |= 1 << i
	}
	return mask, nil
}

// methodNames maps a methods bitmask back to names in authMethods order.
func methodNames(mask uint64, r *payloadReader) []string {
	if mask>>len(authMethods) != 0 {
		r.fail("unknown auth method bit")
		return nil
	}
	if mask == 0 {
		return nil
	}
	names := make([]string, 0, bits.OnesCount64(mask))
	for i, m := range authMethods {
		if mask&(1<<i) != 0 {
			names = append(names, m)
		}
	}
	return names
}
