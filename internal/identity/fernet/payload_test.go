package fernet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	userUUID    = "5f0c6b6c2e1d4a4f9a8f1f0b3b2c1d0e"
	projectUUID = "8a5ff2b3c4d54e6f8a7b9c0d1e2f3a4b"
	domainUUID  = "default"
	appCredUUID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	trustUUID   = "7c6b5a4938271605f4e3d2c1b0a99887"
	auditA      = "Zr9sL1Lq3hD_ZTFEvQ2x1A"
	auditB      = "qQxY0-lmcHfBnk1mZ0bP8w"
)

var (
	issued  = time.Date(2026, 11, 27, 9, 10, 44, 123456000, time.UTC)
	expires = time.Date(2026, 11, 27, 10, 10, 44, 0, time.UTC)
)

// samePayload compares payloads, times by instant.
func samePayload(a, b Payload) bool {
	if !a.IssuedAt.Equal(b.IssuedAt) || !a.ExpiresAt.Equal(b.ExpiresAt) {
		return false
	}
	a.IssuedAt, a.ExpiresAt, b.IssuedAt, b.ExpiresAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func TestPayloadEncoding(t *testing.T) {
	t.Parallel()
	base := Payload{UserID: userUUID, Methods: []string{"password"}, IssuedAt: issued, ExpiresAt: expires, AuditIDs: []string{auditA}}
	with := func(f func(*Payload)) Payload {
		p := base
		f(&p)
		return p
	}
	tests := []struct {
		name    string
		in      Payload
		maxSize int // encoded bytes, 0 to skip
	}{
		{name: "unscoped", in: base, maxSize: 44},
		{name: "project", in: with(func(p *Payload) { p.ProjectID = projectUUID }), maxSize: 61},
		{name: "domain name id", in: with(func(p *Payload) { p.DomainID = domainUUID })},
		{name: "system", in: with(func(p *Payload) { p.System = true })},
		{name: "app cred", in: with(func(p *Payload) {
			p.Methods, p.ProjectID, p.AppCredID = []string{"application_credential"}, projectUUID, appCredUUID
		})},
		{name: "trust", in: with(func(p *Payload) { p.ProjectID, p.TrustID = projectUUID, trustUUID }), maxSize: 78},
		{name: "trust without project", in: with(func(p *Payload) { p.Methods, p.TrustID = []string{"token"}, "trust-name-id" })},
		{name: "rescoped", in: with(func(p *Payload) {
			p.Methods, p.ProjectID, p.AuditIDs = []string{"password", "token"}, projectUUID, []string{auditB, auditA}
		}), maxSize: 80},
		{name: "all methods", in: with(func(p *Payload) { p.Methods = authMethods[:] })},
		{name: "no methods no audit", in: with(func(p *Payload) { p.Methods, p.AuditIDs = nil, nil })},
		{name: "ldap style ids", in: with(func(p *Payload) {
			p.UserID, p.ProjectID = "uid=jdoe,ou=people,dc=example,dc=org", "ünïcode-project"
		})},
		{name: "uppercase uuid stays a string", in: with(func(p *Payload) { p.UserID = strings.ToUpper(userUUID) })},
		{name: "dashed uuid", in: with(func(p *Payload) { p.UserID = "5f0c6b6c-2e1d-4a4f-9a8f-1f0b3b2c1d0e" })},
		{name: "non-canonical base64 id", in: with(func(p *Payload) { p.AuditIDs = []string{"AAAAAAAAAAAAAAAAAAAAAB"} })},
		{name: "odd audit ids", in: with(func(p *Payload) { p.AuditIDs = []string{"short", "", userUUID} })},
		{name: "microsecond expiry", in: with(func(p *Payload) { p.ExpiresAt = expires.Add(987654 * time.Microsecond) })},
		{name: "expiry before issue", in: with(func(p *Payload) { p.ExpiresAt = issued.Add(-90 * time.Minute) })},
		{name: "issued on the second", in: with(func(p *Payload) { p.IssuedAt = expires.Add(-time.Hour) })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := encodePayload(nil, tt.in)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if tt.maxSize > 0 && len(b) > tt.maxSize {
				t.Errorf("encoded size %d, want at most %d", len(b), tt.maxSize)
			}
			got, err := decodePayload(b, tt.in.IssuedAt.Unix())
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !samePayload(got, tt.in) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tt.in)
			}
			if got.IssuedAt.Location() != time.UTC || got.ExpiresAt.Location() != time.UTC {
				t.Error("decoded times are not UTC")
			}
		})
	}
}

// TestPayloadDecodesOlderTokens checks that a token issued before the trust
// flag existed (a rescoped project token, encoded then) still decodes.
func TestPayloadDecodesOlderTokens(t *testing.T) {
	t.Parallel()
	old, err := hex.DecodeString("010203015f0c6b6c2e1d4a4f9a8f1f0b3b2c1d0e018a5ff2b3c4d54e6f8a7b9c0d1e2f3a4b" +
		"c0c407a03800010266bf6c2f52eade10ff653144bd0db1d4")
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodePayload(old, issued.Unix())
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := Payload{UserID: userUUID, ProjectID: projectUUID, Methods: []string{"password", "token"},
		IssuedAt: issued, ExpiresAt: expires, AuditIDs: []string{auditA}}
	if !samePayload(got, want) {
		t.Errorf("decoded\n got %+v\nwant %+v", got, want)
	}
	again, err := encodePayload(nil, got)
	if err != nil || !bytes.Equal(again, old) {
		t.Errorf("re-encoded %x, %v; want the same bytes", again, err)
	}
}

func TestPayloadMethodsCanonicalOrder(t *testing.T) {
	t.Parallel()
	in := Payload{UserID: userUUID, Methods: []string{"totp", "password", "totp"}, IssuedAt: issued, ExpiresAt: expires}
	b, err := encodePayload(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodePayload(b, issued.Unix())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"password", "totp"}; !reflect.DeepEqual(got.Methods, want) {
		t.Errorf("Methods = %v, want %v", got.Methods, want)
	}
}

func TestPayloadCheck(t *testing.T) {
	t.Parallel()
	ok := Payload{UserID: userUUID, IssuedAt: issued, ExpiresAt: expires}
	tests := []struct {
		name    string
		edit    func(*Payload)
		wantErr string
	}{
		{name: "valid", edit: func(*Payload) {}},
		{name: "no user", edit: func(p *Payload) { p.UserID = "" }, wantErr: "no user id"},
		{name: "no expiry", edit: func(p *Payload) { p.ExpiresAt = time.Time{} }, wantErr: "no expiry"},
		{name: "before 1970", edit: func(p *Payload) { p.IssuedAt = time.Unix(-5, 0) }, wantErr: "before 1970"},
		{name: "project and domain", edit: func(p *Payload) { p.ProjectID, p.DomainID = projectUUID, "default" }, wantErr: "more than one"},
		{name: "project and system", edit: func(p *Payload) { p.ProjectID, p.System = projectUUID, true }, wantErr: "more than one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := ok
			tt.edit(&p)
			err := p.check()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
	if _, err := encodePayload(nil, Payload{UserID: userUUID, Methods: []string{"smartcard"}}); err == nil || !strings.Contains(err.Error(), `"smartcard"`) {
		t.Errorf("unknown method: err = %v", err)
	}
}

func TestDecodePayloadRejects(t *testing.T) {
	t.Parallel()
	good, err := encodePayload(nil, Payload{UserID: userUUID, ProjectID: projectUUID, Methods: []string{"password"}, IssuedAt: issued, ExpiresAt: expires, AuditIDs: []string{auditA}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{name: "empty", in: nil, wantErr: "empty payload"},
		{name: "version 0", in: append([]byte{0}, good[1:]...), wantErr: "unknown payload version 0"},
		{name: "version 2", in: append([]byte{2}, good[1:]...), wantErr: "unknown payload version 2"},
		{name: "unknown flag", in: []byte{payloadV1, 0x40}, wantErr: "unknown payload flags"},
		{name: "unknown method bit", in: []byte{payloadV1, 0, 0x80, 0x80, 0x01}, wantErr: "unknown auth method bit"},
		{name: "unknown id tag", in: []byte{payloadV1, 0, 1, 9}, wantErr: "unknown id tag"},
		{name: "truncated", in: good[:len(good)-3], wantErr: "bad payload"},
		{name: "trailing bytes", in: append(append([]byte{}, good...), 0), wantErr: "trailing bytes"},
		{name: "huge audit count", in: append(append([]byte{}, good[:len(good)-18]...), 0xff, 0xff, 0x03), wantErr: "audit id count"},
		{name: "bad varint", in: []byte{payloadV1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, wantErr: "varint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodePayload(tt.in, issued.Unix())
			if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want ErrInvalidToken saying %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewAuditID(t *testing.T) {
	t.Parallel()
	a, b := NewAuditID(), NewAuditID()
	if len(a) != 22 || a == b {
		t.Fatalf("audit ids %q, %q: want two distinct 22-char ids", a, b)
	}
	var raw [16]byte
	if !b64ID(&raw, a) {
		t.Errorf("audit id %q does not get the compact encoding", a)
	}
}

// FuzzDecodePayload checks that no input panics, every error wraps
// ErrInvalidToken, and whatever decodes survives another round trip.
func FuzzDecodePayload(f *testing.F) {
	seed, _ := encodePayload(nil, Payload{UserID: userUUID, ProjectID: projectUUID, Methods: []string{"password"}, IssuedAt: issued, ExpiresAt: expires, AuditIDs: []string{auditA, "x"}})
	f.Add(seed)
	f.Add([]byte{payloadV1})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePayload(b, issued.Unix())
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v does not wrap ErrInvalidToken", err)
			}
			return
		}
		again, err := encodePayload(nil, p)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		p2, err := decodePayload(again, issued.Unix())
		if err != nil || !samePayload(p, p2) {
			t.Fatalf("re-decode: %v, %+v != %+v", err, p2, p)
		}
	})
}
