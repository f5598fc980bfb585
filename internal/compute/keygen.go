package compute

import (
	"crypto/md5" //nolint:gosec // nova's ssh fingerprints are MD5, a name for a key, not a security measure
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // nova's x509 fingerprints are SHA-1
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"software.sslmate.com/src/go-pkcs12"
)

// keyBits is the size of generated RSA keys, nova's 2048.
const keyBits = 2048

// Fingerprint validates a public key of the given type and returns its
// fingerprint as nova computes it: for ssh keys the MD5 of the key blob, for
// x509 certificates the SHA-1 of the certificate, both as colon-separated
// lowercase hex. A key that does not parse is a 400 in nova's words.
func Fingerprint(kind, publicKey string) (string, error) {
	if kind == KeyTypeX509 {
		return x509Fingerprint(publicKey)
	}
	blob, err := parseSSHPublicKey(publicKey)
	if err != nil {
		return "", errorf(ErrInvalid, "Keypair data is invalid: failed to generate fingerprint")
	}
	sum := md5.Sum(blob) //nolint:gosec // see the import
	return colonHex(sum[:]), nil
}

// parseSSHPublicKey checks an OpenSSH public key line ("ssh-ed25519 AAAA...
// comment") as pyca/cryptography's load_ssh_public_key does: a known key
// type whose blob parses and names the same type, no certificate. It returns
// the blob.
func parseSSHPublicKey(line string) ([]byte, error) {
	fields := strings.Fields(line)
	if len(fields) < 2 {
		return nil, errors.New("not of the form 'type base64-key [comment]'")
	}
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return nil, fmt.Errorf("key is not base64: %w", err)
	}
	key, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return nil, err
	}
	if _, isCert := key.(*ssh.Certificate); isCert {
		return nil, errors.New("certificates are not public keys")
	}
	if key.Type() != fields[0] {
		return nil, fmt.Errorf("key type %s does not match the key's %s", fields[0], key.Type())
	}
	return blob, nil
}

func x509Fingerprint(pemCert string) (string, error) {
	block, _ := pem.Decode([]byte(pemCert))
	if block == nil {
		return "", errorf(ErrInvalid,
			"Keypair data is invalid: failed to generate X509 fingerprint. Error message: no PEM certificate found")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", errorf(ErrInvalid,
			"Keypair data is invalid: failed to generate X509 fingerprint. Error message: %v", err)
	}
	sum := sha1.Sum(cert.Raw) //nolint:gosec // see the import
	return colonHex(sum[:]), nil
}

func colonHex(b []byte) string {
	h := hex.EncodeToString(b)
	parts := make([]string, 0, len(b))
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// GenerateKeyPair makes a key pair as nova does, drawing randomness from r:
// for ssh, an RSA key whose private half is a PEM "RSA PRIVATE KEY" and whose
// public half is an OpenSSH line; for x509, a self-signed client certificate
// for the user (WinRM) whose private half is a base64 PKCS#12 bundle with an
// empty password. RSA rather than a newer curve keeps the keys usable by
// every client nova's users have, which load them as RSA.
func GenerateKeyPair(r io.Reader, kind, userID string, now time.Time) (private, public, fingerprint string, err error) {
	key, err := rsa.GenerateKey(r, keyBits)
	if err != nil {
		return "", "", "", fmt.Errorf("generate RSA key: %w", err)
	}
	if kind == KeyTypeX509 {
		return x509KeyPair(r, key, userID, now)
	}
	pub, err := ssh.NewPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", "", fmt.Errorf("encode public key: %w", err)
	}
	// The comment is nova's, so generated keys read the same from either.
	public = pub.Type() + " " + base64.StdEncoding.EncodeToString(pub.Marshal()) + " Generated-by-Nova"
	private = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	fingerprint, err = Fingerprint(KeyTypeSSH, public)
	return private, public, fingerprint, err
}

// oidUPN is Microsoft's User Principal Name, the otherName nova's
// certificates carry for WinRM.
var oidUPN = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}

// x509KeyPair makes nova's WinRM certificate: CN=<user>, valid ten years,
// for client authentication, naming <user>@localhost as its UPN.
func x509KeyPair(r io.Reader, key *rsa.PrivateKey, userID string, now time.Time) (string, string, string, error) {
	san, err := upnSAN(userID + "@localhost")
	if err != nil {
		return "", "", "", err
	}
	serial, err := randSerial(r)
	if err != nil {
		return "", "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		Subject:         pkix.Name{CommonName: userID},
		NotBefore:       now.Add(-time.Minute),
		NotAfter:        now.AddDate(10, 0, 0),
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		ExtraExtensions: []pkix.Extension{san},
	}
	der, err := x509.CreateCertificate(r, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", "", fmt.Errorf("create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", "", "", fmt.Errorf("parse generated certificate: %w", err)
	}
	bundle, err := pkcs12.Modern2023.WithRand(r).Encode(key, cert, nil, "")
	if err != nil {
		return "", "", "", fmt.Errorf("encode PKCS#12: %w", err)
	}
	public := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	fp, err := x509Fingerprint(public)
	return base64.StdEncoding.EncodeToString(bundle), public, fp, err
}

// upnSAN is a subjectAltName extension holding one UPN otherName.
func upnSAN(upn string) (pkix.Extension, error) {
	value, err := asn1.MarshalWithParams(upn, "utf8")
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("encode UPN: %w", err)
	}
	other, err := asn1.Marshal(struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue `asn1:"explicit,tag:0"`
	}{oidUPN, asn1.RawValue{FullBytes: value}})
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("encode otherName: %w", err)
	}
	// otherName is [0] IMPLICIT inside GeneralNames: retag the SEQUENCE.
	other[0] = 0xa0
	names, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: other})
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("encode subjectAltName: %w", err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: names}, nil
}

func randSerial(r io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("read serial: %w", err)
	}
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b), nil
}
