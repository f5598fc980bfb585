package computehttp_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

const (
	ed25519Key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA3+OprWG/TmIR+kXOOZs9UYnXIui9+oa3TDE6YJ/wu4 test"
	ed25519FP  = "20:a3:12:ff:fc:a1:e7:86:bf:53:60:7d:3d:9a:81:32"
	ecdsaKey   = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBMj2GSHCWvhVfSUEYDw96fDnh4/TA44pVL62cDPKBaQ67QIOVKv3eNgsVpxrIk8qnKKmu1iyzUOreEyGm+ae5sU= test"
)

func TestKeypairsWithGophercloud(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	ctx := context.Background()
	token := c.Token(t, cloudtest.Admin)
	aliceCreds, aliceID, _ := newUser(t, c, token, "alice")
	alice := c.ComputeClient(t, aliceCreds)
	alice.Microversion = "2.2"

	gen, err := keypairs.Create(ctx, alice, keypairs.CreateOpts{Name: "generated"}).Extract()
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	block, _ := pem.Decode([]byte(gen.PrivateKey))
	if block == nil || block.Type != "RSA PRIVATE KEY" || gen.Type != "ssh" || gen.UserID != aliceID ||
		!strings.HasPrefix(gen.PublicKey, "ssh-rsa ") || !regexp.MustCompile(`^([0-9a-f]{2}:){15}[0-9a-f]{2}$`).MatchString(gen.Fingerprint) {
		t.Fatalf("generated %+v", gen)
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
		t.Fatalf("private key: %v", err)
	}
	imp, err := keypairs.Create(ctx, alice, keypairs.CreateOpts{Name: "imported", PublicKey: ed25519Key}).Extract()
	if err != nil || imp.Fingerprint != ed25519FP || imp.PrivateKey != "" {
		t.Fatalf("import: %+v %v", imp, err)
	}
	if _, err := keypairs.Create(ctx, alice, keypairs.CreateOpts{Name: "imported", PublicKey: ecdsaKey}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Fatalf("duplicate name: %v", err)
	}
	all, err := keypairs.List(alice, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kps, _ := keypairs.ExtractKeyPairs(all)
	if len(kps) != 2 || kps[0].Name != "generated" || kps[1].Name != "imported" || kps[1].Type != "ssh" {
		t.Fatalf("list %+v", kps)
	}
	got, err := keypairs.Get(ctx, alice, "imported", nil).Extract()
	if err != nil || got.PublicKey != ed25519Key || got.UserID != aliceID {
		t.Fatalf("get: %+v %v", got, err)
	}

	// Admins act for other users from 2.10.
	admin := c.ComputeClient(t, cloudtest.Admin)
	admin.Microversion = "2.10"
	if _, err := keypairs.Create(ctx, admin, keypairs.CreateOpts{Name: "from-admin", UserID: aliceID,
		PublicKey: ecdsaKey}).Extract(); err != nil {
		t.Fatalf("admin for alice: %v", err)
	}
	if kp, err := keypairs.Get(ctx, admin, "from-admin", keypairs.GetOpts{UserID: aliceID}).Extract(); err != nil || kp.UserID != aliceID {
		t.Fatalf("admin gets alice's: %+v %v", kp, err)
	}
	alice.Microversion = "2.10"
	if _, err := keypairs.Create(ctx, alice, keypairs.CreateOpts{Name: "for-admin", UserID: "someone-else",
		PublicKey: ecdsaKey}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("member for another user: %v", err)
	}
	if err := keypairs.Delete(ctx, admin, "from-admin", keypairs.DeleteOpts{UserID: aliceID}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := keypairs.Delete(ctx, alice, "generated", nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := keypairs.Get(ctx, alice, "generated", nil).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("deleted key pair: %v", err)
	}
}

func TestKeypairMicroversions(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	token := c.Token(t, cloudtest.Admin)
	create := func(mv string, kp map[string]any) *cloudtest.Response {
		return api(t, c, token, mv, "POST", "/os-keypairs", map[string]any{"keypair": kp})
	}
	resp := create("2.1", map[string]any{"name": "k21", "public_key": ed25519Key})
	if resp.Status != http.StatusOK {
		t.Fatalf("create at 2.1: %d %s", resp.Status, resp.Body)
	}
	if kp := obj(t, resp.JSON(t), "keypair"); len(kp) != 4 || kp["type"] != nil || kp["user_id"] == nil {
		t.Errorf("2.1 create %v", kp)
	}
	fault(t, create("2.1", map[string]any{"name": "k", "type": "ssh", "public_key": ed25519Key}), 400, "badRequest",
		"Additional properties are not allowed ('type' was unexpected)")
	if resp := create("2.2", map[string]any{"name": "k22", "public_key": ed25519Key}); resp.Status != http.StatusCreated {
		t.Fatalf("create at 2.2: %d %s", resp.Status, resp.Body)
	}
	fault(t, create("2.2", map[string]any{"name": "k", "type": "gpg"}), 400, "badRequest",
		"Invalid input for field/attribute type. Value: gpg. 'gpg' is not one of ['ssh', 'x509']")
	fault(t, create("2.2", map[string]any{"name": "bad name!"}), 400, "badRequest",
		`Invalid input for field/attribute name. Value: bad name!. 'bad name!' does not match '^[_\\- a-zA-Z0-9]+$'`)
	fault(t, create("2.2", map[string]any{"name": "user@host"}), 400, "badRequest", "does not match")
	fault(t, create("2.92", map[string]any{"name": "user@host"}), 400, "badRequest",
		"Invalid input for field/attribute keypair. Value: {'name': 'user@host'}. 'public_key' is a required property")
	if resp := create("2.92", map[string]any{"name": "user@host.x", "public_key": ed25519Key}); resp.Status != http.StatusCreated {
		t.Fatalf("create at 2.92: %d %s", resp.Status, resp.Body)
	}
	fault(t, create("2.2", map[string]any{"name": "k", "public_key": "ssh-rsa garbage"}), 400, "badRequest",
		"Keypair data is invalid: failed to generate fingerprint")
	fault(t, create("2.2", map[string]any{"name": "k", "type": "x509", "public_key": ed25519Key}), 400, "badRequest",
		"failed to generate X509 fingerprint")

	// The list: type from 2.2, pages and links from 2.35.
	for i := range 3 {
		create("2.35", map[string]any{"name": fmt.Sprintf("p%d", i), "public_key": ed25519Key})
	}
	list := api(t, c, token, "2.1", "GET", "/os-keypairs?limit=1", nil).JSON(t)
	if n := len(list["keypairs"].([]any)); n != 6 || list["keypairs_links"] != nil {
		t.Errorf("2.1 list ignores limit: %d items, links %v", n, list["keypairs_links"])
	}
	if item := obj(t, list["keypairs"].([]any)[0].(map[string]any), "keypair"); len(item) != 3 {
		t.Errorf("2.1 list item %v", item)
	}
	list = api(t, c, token, "2.35", "GET", "/os-keypairs?limit=2&marker=k22", nil).JSON(t)
	items := list["keypairs"].([]any)
	if len(items) != 2 || obj(t, items[0].(map[string]any), "keypair")["name"] != "p0" {
		t.Fatalf("2.35 page %v", items)
	}
	next := list["keypairs_links"].([]any)[0].(map[string]any)
	if next["rel"] != "next" || next["href"] != c.ComputeURL+"/os-keypairs?limit=2&marker=p1" {
		t.Errorf("next link %v", next)
	}
	fault(t, api(t, c, token, "2.35", "GET", "/os-keypairs?marker=zzz", nil), 400, "badRequest", "Marker zzz could not be found.")
	fault(t, api(t, c, token, "2.75", "GET", "/os-keypairs?sort=name", nil), 400, "badRequest",
		"Additional properties are not allowed ('sort' was unexpected)")

	show := obj(t, api(t, c, token, "2.1", "GET", "/os-keypairs/k21", nil).JSON(t), "keypair")
	if show["deleted"] != false || show["deleted_at"] != nil || show["updated_at"] != nil || show["id"] == nil ||
		!regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$`).MatchString(show["created_at"].(string)) {
		t.Errorf("show %v", show)
	}
	if _, ok := show["type"]; ok {
		t.Error("2.1 show has type")
	}
	fault(t, api(t, c, token, "2.1", "GET", "/os-keypairs/nope", nil), 404, "itemNotFound", "Keypair nope not found for user")
	if resp := api(t, c, token, "2.1", "DELETE", "/os-keypairs/k21", nil); resp.Status != http.StatusAccepted {
		t.Fatalf("delete at 2.1: %d %s", resp.Status, resp.Body)
	}
	if resp := api(t, c, token, "2.2", "DELETE", "/os-keypairs/k22", nil); resp.Status != http.StatusNoContent {
		t.Fatalf("delete at 2.2: %d %s", resp.Status, resp.Body)
	}
}
