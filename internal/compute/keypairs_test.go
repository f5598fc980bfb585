package compute_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
)

// Keys made by ssh-keygen and openssl, with the fingerprints those tools
// print (ssh-keygen -l -E md5, openssl x509 -fingerprint -sha1).
const (
	ed25519Key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA3+OprWG/TmIR+kXOOZs9UYnXIui9+oa3TDE6YJ/wu4 test"
	ed25519FP  = "20:a3:12:ff:fc:a1:e7:86:bf:53:60:7d:3d:9a:81:32"
	ecdsaKey   = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBMj2GSHCWvhVfSUEYDw96fDnh4/TA44pVL62cDPKBaQ67QIOVKv3eNgsVpxrIk8qnKKmu1iyzUOreEyGm+ae5sU= test"
	ecdsaFP    = "97:91:b0:70:0d:b9:65:2d:79:14:fd:7b:23:55:87:7b"
	rsaKey     = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDEmFbxgsus9zTYHg2vFS4J1tAKbXm+Y1Xn/SvF9vZ7THvjIWxNCDEYvYq+LH6KrRbbgyi/0r49PY7czCc/CZOtOzJw6sPHWv305mD3f4j471JphRDtHHryTRnqE+ERV7eEl8cJlNNqDxbKkLlJqtoKe+4h+hS8+Ky4LsMMi3MEsQ== test"
	rsaFP      = "e6:79:d8:d6:e9:e8:e4:39:f3:63:0c:e8:20:2b:71:61"
	certPEM    = `-----BEGIN CERTIFICATE-----
MIIBdzCCAR2gAwIBAgIUaBYSSvC+rBc+dgDvG8sOr2IHI5owCgYIKoZIzj0EAwIw
ETEPMA0GA1UEAwwGdGVzdGVyMB4XDTI2MTEyNzExMzcyNVoXDTM2MTEyNDExMzcy
NVowETEPMA0GA1UEAwwGdGVzdGVyMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
xg5Y/HPX1c70jMsUtrMaiT72QUpHYXRP9QMZQvGT4JrvITWn1kf4FQHbIaCB8p0A
n+ot1cqxBU57On1X1DroxKNTMFEwHQYDVR0OBBYEFG+WZ7liuLyzabtESx8lgg41
atkcMB8GA1UdIwQYMBaAFG+WZ7liuLyzabtESx8lgg41atkcMA8GA1UdEwEB/wQF
MAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAIY+Y58Zxhprfm6L1eeNmOQQNVaMWnWS
v5g4PgMvr5WBAiBq5BlAMCoYrN+nCmcgGt8VSX4/TXzSD1D/KsKWgb7Z+A==
-----END CERTIFICATE-----
`
	certFP = "02:98:09:52:83:ba:dc:48:3b:a2:57:38:ec:2e:b6:c4:84:82:a6:b6"
)

func TestFingerprint(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, kind, key, want string
	}{
		{"ed25519", compute.KeyTypeSSH, ed25519Key, ed25519FP},
		{"ecdsa", compute.KeyTypeSSH, ecdsaKey, ecdsaFP},
		{"rsa", compute.KeyTypeSSH, rsaKey, rsaFP},
		{"rsa without comment, trailing newline", compute.KeyTypeSSH, strings.TrimSuffix(rsaKey, " test") + "\n", rsaFP},
		{"x509", compute.KeyTypeX509, certPEM, certFP},
		{"garbage", compute.KeyTypeSSH, "not a key", ""},
		{"bad base64", compute.KeyTypeSSH, "ssh-rsa !!!", ""},
		{"type mismatch", compute.KeyTypeSSH, strings.Replace(ed25519Key, "ssh-ed25519", "ssh-rsa", 1), ""},
		{"truncated blob", compute.KeyTypeSSH, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA3+", ""},
		{"x509 garbage", compute.KeyTypeX509, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := compute.Fingerprint(tc.kind, tc.key)
			if tc.want == "" {
				wantErr(t, err, compute.ErrInvalid, "Keypair data is invalid: failed to generate")
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Fingerprint = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestGenerateKeyPair(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	priv, pub, fp, err := compute.GenerateKeyPair(rand.Reader, compute.KeyTypeSSH, "u1", now)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(priv))
	if block == nil || block.Type != "RSA PRIVATE KEY" {
		t.Fatalf("private key is not PEM PKCS#1: %.40q", priv)
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil || key.N.BitLen() != 2048 {
		t.Fatalf("private key: %v", err)
	}
	sshPub, err := ssh.NewPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ssh-rsa " + base64.StdEncoding.EncodeToString(sshPub.Marshal()) + " Generated-by-Nova"; pub != want {
		t.Errorf("public key %q does not match the private key", pub)
	}
	if want, _ := compute.Fingerprint(compute.KeyTypeSSH, pub); fp != want {
		t.Errorf("fingerprint %s, want %s", fp, want)
	}

	priv, pub, fp, err = compute.GenerateKeyPair(rand.Reader, compute.KeyTypeX509, "u1", now)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := base64.StdEncoding.DecodeString(priv)
	if err != nil {
		t.Fatal(err)
	}
	pk, cert, err := pkcs12.Decode(bundle, "")
	if err != nil {
		t.Fatalf("PKCS#12 bundle: %v", err)
	}
	if cert.Subject.CommonName != "u1" || !cert.NotAfter.Equal(now.AddDate(10, 0, 0)) ||
		len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("certificate %+v", cert.Subject)
	}
	if !pk.(*rsa.PrivateKey).PublicKey.Equal(cert.PublicKey) {
		t.Error("bundle key does not match the certificate")
	}
	block, _ = pem.Decode([]byte(pub))
	if block == nil || !bytes.Equal(block.Bytes, cert.Raw) {
		t.Error("public key is not the bundle's certificate")
	}
	if want, _ := compute.Fingerprint(compute.KeyTypeX509, pub); fp != want {
		t.Errorf("fingerprint %s, want %s", fp, want)
	}
}

func TestKeyPairLifecycle(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	kp, private, err := s.CreateKeyPair(alice, compute.KeyPairCreate{Name: "k1", PublicKey: ptr(ed25519Key)})
	if err != nil {
		t.Fatal(err)
	}
	if private != "" || kp.UserID != "alice" || kp.Type != "ssh" || kp.Fingerprint != ed25519FP || kp.ID == 0 {
		t.Errorf("imported %+v, private %q", kp, private)
	}
	_, private, err = s.CreateKeyPair(alice, compute.KeyPairCreate{Name: "k2"})
	if err != nil || private != "PRIVATE-ssh-alice" {
		t.Fatalf("generate: %q, %v", private, err)
	}
	_, _, err = s.CreateKeyPair(alice, compute.KeyPairCreate{Name: "k1", PublicKey: ptr(rsaKey)})
	wantErr(t, err, compute.ErrConflict, "Key pair 'k1' already exists.")
	_, _, err = s.CreateKeyPair(alice, compute.KeyPairCreate{Name: "k3", PublicKey: ptr("ssh-rsa nope")})
	wantErr(t, err, compute.ErrInvalid, "Keypair data is invalid: failed to generate fingerprint")
	_, _, err = s.CreateKeyPair(alice, compute.KeyPairCreate{Name: "k3", UserID: "bob", PublicKey: ptr(rsaKey)})
	wantErr(t, err, compute.ErrForbidden, "os_compute_api:os-keypairs:create")
	// Admins act for other users (microversion 2.10).
	kp, _, err = s.CreateKeyPair(admin, compute.KeyPairCreate{Name: "k1", UserID: "bob", PublicKey: ptr(certPEM),
		Type: compute.KeyTypeX509})
	if err != nil || kp.UserID != "bob" || kp.Fingerprint != certFP {
		t.Fatalf("admin for bob: %+v, %v", kp, err)
	}

	names := func(kps []compute.KeyPair) []string {
		var out []string
		for _, k := range kps {
			out = append(out, k.Name)
		}
		return out
	}
	dbtest.Same(t, names(must(s.KeyPairs(alice, "", nil, nil, true))(t)), []string{"k1", "k2"})
	dbtest.Same(t, names(must(s.KeyPairs(alice, "", ptr("k1"), ptr(5), false))(t)), []string{"k2"})
	dbtest.Same(t, names(must(s.KeyPairs(admin, "bob", nil, ptr(1), false))(t)), []string{"k1"})
	_, err = s.KeyPairs(alice, "", ptr("nope"), nil, false)
	wantErr(t, err, compute.ErrInvalid, "Marker nope could not be found.")
	_, err = s.KeyPairs(alice, "bob", nil, nil, true)
	wantErr(t, err, compute.ErrForbidden, "os-keypairs:index")

	_, err = s.KeyPair(alice, "", "k9")
	wantErr(t, err, compute.ErrNotFound, "Keypair k9 not found for user alice")
	_, err = s.KeyPair(bob, "", "k2")
	wantErr(t, err, compute.ErrNotFound, "Keypair k2 not found for user bob")
	must(s.KeyPair(admin, "alice", "k2"))(t)
	wantErr(t, s.DeleteKeyPair(bob, "alice", "k2"), compute.ErrForbidden, "os-keypairs:delete")
	if err := s.DeleteKeyPair(alice, "", "k2"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteKeyPair(alice, "", "k2"), compute.ErrNotFound, "Keypair k2 not found for user alice")
}

func TestKeyPairQuota(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	must(s.UpdateQuotas(admin, "p1", "", map[string]int{"key_pairs": 2}, false))(t)
	for _, name := range []string{"a", "b"} {
		if _, _, err := s.CreateKeyPair(alice, compute.KeyPairCreate{Name: name, PublicKey: ptr(rsaKey)}); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := s.CreateKeyPair(alice, compute.KeyPairCreate{Name: "c", PublicKey: ptr(rsaKey)})
	wantErr(t, err, compute.ErrForbidden, "Quota exceeded, too many key pairs.")
	// A user's own limit counts too, whichever is lower.
	must(s.UpdateQuotas(admin, "p1", "alice", map[string]int{"key_pairs": 1}, true))(t)
	must(s.UpdateQuotas(admin, "p1", "", map[string]int{"key_pairs": -1}, true))(t)
	_, _, err = s.CreateKeyPair(alice, compute.KeyPairCreate{Name: "c", PublicKey: ptr(rsaKey)})
	wantErr(t, err, compute.ErrForbidden, "Quota exceeded, too many key pairs.")
	if err := s.DeleteQuotas(admin, "p1", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateKeyPair(alice, compute.KeyPairCreate{Name: "c", PublicKey: ptr(rsaKey)}); err != nil {
		t.Fatalf("unlimited after reverting the user's limit: %v", err)
	}
}
