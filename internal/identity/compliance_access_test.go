package identity_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// ipsRule lets a credential list a server's addresses.
var ipsRule = identity.AccessRule{Service: "compute", Path: "/v2.1/servers/*/ips", Method: "GET"}

// sameRule reports whether two rules name the same operation.
func sameRule(a, b identity.AccessRule) bool {
	return a.Service == b.Service && a.Path == b.Path && a.Method == b.Method
}

func TestAccessRulesLifecycle(t *testing.T) {
	t.Parallel()
	w := newAppCredWorld(t)
	svc, uid := w.e.svc, w.user.ID
	imagesRule := identity.AccessRule{Service: "image", Path: "/v2/images", Method: "POST"}
	first, err := svc.CreateApplicationCredential(w.ctx, uid, identity.AppCredRequest{Name: "ips",
		AccessRules: []identity.AccessRule{ipsRule, imagesRule, ipsRule}})
	mustOK(t, err)
	if len(first.AccessRules) != 3 || !sameRule(first.AccessRules[0], ipsRule) || !sameRule(first.AccessRules[1], imagesRule) ||
		first.AccessRules[0].ID == "" || first.AccessRules[2].ID != first.AccessRules[0].ID {
		t.Fatalf("created access rules = %+v", first.AccessRules)
	}
	ipsID := first.AccessRules[0].ID

	// An equal rule and a rule named by id are the user's existing rule.
	second, err := svc.CreateApplicationCredential(w.ctx, uid, identity.AppCredRequest{Name: "again",
		AccessRules: []identity.AccessRule{ipsRule}})
	mustOK(t, err)
	third, err := svc.CreateApplicationCredential(w.ctx, uid, identity.AppCredRequest{Name: "by-id",
		AccessRules: []identity.AccessRule{{ID: ipsID}}})
	mustOK(t, err)
	if second.AccessRules[0].ID != ipsID || third.AccessRules[0] != first.AccessRules[0] {
		t.Fatalf("reused rules = %+v and %+v, want %s", second.AccessRules, third.AccessRules, ipsID)
	}
	rules, err := svc.ListAccessRules(w.ctx, uid, identity.AccessRuleFilter{})
	mustOK(t, err)
	if len(rules) != 2 {
		t.Fatalf("list = %+v, want the two distinct rules", rules)
	}
	rules, err = svc.ListAccessRules(w.ctx, uid, identity.AccessRuleFilter{Service: "image"})
	mustOK(t, err)
	if len(rules) != 1 || !sameRule(rules[0], imagesRule) {
		t.Fatalf("list by service = %+v", rules)
	}

	// Credentials show their rules, and so do their tokens.
	got, err := svc.GetApplicationCredential(w.ctx, uid, first.ID)
	mustOK(t, err)
	if len(got.AccessRules) != 2 {
		t.Fatalf("GetApplicationCredential access rules = %+v", got.AccessRules)
	}
	plain, err := svc.CreateApplicationCredential(w.ctx, uid, identity.AppCredRequest{Name: "plain"})
	mustOK(t, err)
	list, err := svc.ListApplicationCredentials(w.ctx, uid, "")
	mustOK(t, err)
	for _, ac := range list {
		if want := map[string]int{first.ID: 2, second.ID: 1, third.ID: 1, plain.ID: 0}[ac.ID]; len(ac.AccessRules) != want {
			t.Fatalf("listed %s with %d access rules, want %d", ac.Name, len(ac.AccessRules), want)
		}
	}
	tok, err := w.authenticate(second.ID, second.Secret)
	mustOK(t, err)
	tr, err := svc.TokenAccessRules(context.Background(), tok)
	mustOK(t, err)
	if len(tr) != 1 || tr[0].ID != ipsID {
		t.Fatalf("token access rules = %+v", tr)
	}
	tok, err = w.authenticate(plain.ID, plain.Secret)
	mustOK(t, err)
	if tr, err := svc.TokenAccessRules(context.Background(), tok); err != nil || tr != nil {
		t.Fatalf("access rules of an unconstrained credential's token = %+v, %v", tr, err)
	}

	// A rule in use stays; once its credentials are gone it may be deleted.
	wantErr(t, svc.DeleteAccessRule(w.ctx, uid, ipsID), identity.ErrForbidden, "May not delete access rule in use")
	for _, id := range []string{first.ID, second.ID, third.ID} {
		mustOK(t, svc.DeleteApplicationCredential(w.ctx, uid, id))
	}
	r, err := svc.GetAccessRule(w.ctx, uid, ipsID)
	mustOK(t, err)
	if !sameRule(r, ipsRule) || r.UserID != uid {
		t.Fatalf("GetAccessRule = %+v", r)
	}
	mustOK(t, svc.DeleteAccessRule(w.ctx, uid, ipsID))
	_, err = svc.GetAccessRule(w.ctx, uid, ipsID)
	wantErr(t, err, identity.ErrNotFound, "Could not find Access Rule: "+ipsID+".")
	wantErr(t, svc.DeleteAccessRule(w.ctx, uid, ipsID), identity.ErrNotFound, "Could not find Access Rule")
	if tgt := w.e.authz.target("identity:delete_access_rule")["target"].(map[string]any)["user"].(map[string]any); tgt["id"] != uid {
		t.Fatalf("delete_access_rule target = %v", tgt)
	}
}

func TestAccessRulesOfOtherUsers(t *testing.T) {
	t.Parallel()
	w := newAppCredWorld(t)
	svc := w.e.svc
	mine, err := svc.CreateApplicationCredential(w.ctx, w.user.ID, identity.AppCredRequest{Name: "mine",
		AccessRules: []identity.AccessRule{ipsRule}})
	mustOK(t, err)
	ruleID := mine.AccessRules[0].ID

	other := w.e.mkUser(t, "mallory")
	mustOK(t, svc.CreateGrant(w.e.admin, identity.Grant{UserID: other.ID, ProjectID: w.e.boot.AdminProjectID, RoleID: w.e.roleIDs["member"]}))
	tok, err := w.e.login(other.ID, "pw", w.e.boot.AdminProjectID)
	mustOK(t, err)
	octx := auth.WithCaller(context.Background(), tok.Caller())

	// Another user's rule is not found through one's own path, nor usable.
	_, err = svc.GetAccessRule(octx, other.ID, ruleID)
	wantErr(t, err, identity.ErrNotFound, "Could not find Access Rule: "+ruleID+".")
	wantErr(t, svc.DeleteAccessRule(octx, other.ID, ruleID), identity.ErrNotFound, "Could not find Access Rule")
	_, err = svc.CreateApplicationCredential(octx, other.ID, identity.AppCredRequest{Name: "steal",
		AccessRules: []identity.AccessRule{{ID: ruleID}}})
	wantErr(t, err, identity.ErrNotFound, "Could not find Access Rule: "+ruleID+".")
	withFields := ipsRule
	withFields.ID = ruleID
	_, err = svc.CreateApplicationCredential(octx, other.ID, identity.AppCredRequest{Name: "steal",
		AccessRules: []identity.AccessRule{withFields}})
	wantErr(t, err, identity.ErrConflict, "Duplicate entry found with ID "+ruleID+".")
	if list, err := svc.ListApplicationCredentials(octx, other.ID, ""); err != nil || len(list) != 0 {
		t.Fatalf("refused credentials were stored: %+v, %v", list, err)
	}

	// The same operation is a rule of its own for the other user.
	theirs, err := svc.CreateApplicationCredential(octx, other.ID, identity.AppCredRequest{Name: "theirs",
		AccessRules: []identity.AccessRule{ipsRule}})
	mustOK(t, err)
	if theirs.AccessRules[0].ID == ruleID || theirs.AccessRules[0].UserID != other.ID {
		t.Fatalf("other user's rule = %+v", theirs.AccessRules[0])
	}

	// Deleting a user deletes the user's rules.
	mustOK(t, svc.DeleteUser(w.e.admin, other.ID))
	_, err = w.e.store.GetAccessRule(context.Background(), theirs.AccessRules[0].ID)
	wantErr(t, err, identity.ErrNotFound, "not found")
}

func TestAccessRulesBadInput(t *testing.T) {
	t.Parallel()
	w := newAppCredWorld(t)
	long := "/" + strings.Repeat("a", 225)
	cases := []struct {
		name string
		rule identity.AccessRule
		kind error
		msg  string
	}{
		{"empty", identity.AccessRule{}, identity.ErrValidation, "Invalid input for field 'access_rules/0': 'service' is a required property"},
		{"no method", identity.AccessRule{Service: "compute", Path: "/v2.1"}, identity.ErrValidation, "'method' is a required property"},
		{"no path", identity.AccessRule{Service: "compute", Method: "GET"}, identity.ErrValidation, "'path' is a required property"},
		{"bad method", identity.AccessRule{Service: "compute", Path: "/v2.1", Method: "get"}, identity.ErrValidation,
			"Invalid input for field 'access_rules/0/method': 'get' is not one of ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT']"},
		{"relative path", identity.AccessRule{Service: "compute", Path: "v2.1", Method: "GET"}, identity.ErrValidation,
			`Invalid input for field 'access_rules/0/path': 'v2.1' does not match '^/\\.*'`},
		{"long path", identity.AccessRule{Service: "compute", Path: long, Method: "GET"}, identity.ErrValidation, "is too long"},
		{"bad service", identity.AccessRule{Service: "com pute", Path: "/", Method: "GET"}, identity.ErrValidation,
			"Invalid input for field 'access_rules/0/service': 'com pute' does not match '^[a-zA-Z0-9-]+$'"},
		{"bad id", identity.AccessRule{ID: "a/b"}, identity.ErrValidation, "Invalid input for field 'access_rules/0/id'"},
		{"unknown id", identity.AccessRule{ID: "nope"}, identity.ErrNotFound, "Could not find Access Rule: nope."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.e.svc.CreateApplicationCredential(w.ctx, w.user.ID, identity.AppCredRequest{Name: "x",
				AccessRules: []identity.AccessRule{c.rule}})
			wantErr(t, err, c.kind, c.msg)
		})
	}
	// An unknown id with the rule's fields creates the rule with that id.
	withID := ipsRule
	withID.ID = "chosen-id"
	ac, err := w.e.svc.CreateApplicationCredential(w.ctx, w.user.ID, identity.AppCredRequest{Name: "x",
		AccessRules: []identity.AccessRule{withID}})
	mustOK(t, err)
	if ac.AccessRules[0].ID != "chosen-id" {
		t.Fatalf("rule = %+v", ac.AccessRules[0])
	}
}
