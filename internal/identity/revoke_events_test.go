package identity_test

import (
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/identity"
)

func TestListRevokeEvents(t *testing.T) {
	t.Parallel()
	e := newCrudEnv(t)
	ctx := e.admin
	u := e.mkUser(t, "dave")
	role := e.mkRole(t, "observer", "")
	grant := identity.Grant{UserID: u.ID, ProjectID: e.boot.AdminProjectID, RoleID: role.ID}
	mustOK(t, e.svc.CreateGrant(ctx, grant))
	mustOK(t, e.svc.RevokeGrant(ctx, grant))
	first, err := e.svc.ListRevokeEvents(ctx, time.Time{})
	mustOK(t, err)
	if len(first) != 1 || first[0].UserID != u.ID || first[0].ProjectID != e.boot.AdminProjectID || first[0].RevokedAt.IsZero() {
		t.Fatalf("events = %+v, want the grant's", first)
	}
	mustOK(t, e.svc.DeleteRole(ctx, role.ID))
	later, err := e.svc.ListRevokeEvents(ctx, first[0].RevokedAt)
	mustOK(t, err)
	if len(later) != 1 || later[0].RoleID != role.ID {
		t.Fatalf("events since the first = %+v, want the role's alone", later)
	}
	none, err := e.svc.ListRevokeEvents(ctx, later[0].RevokedAt)
	mustOK(t, err)
	if none == nil || len(none) != 0 {
		t.Fatalf("events since the last = %+v, want an empty list", none)
	}
	e.authz.denyRule("identity:list_revoke_events")
	_, err = e.svc.ListRevokeEvents(ctx, time.Time{})
	wantErr(t, err, identity.ErrForbidden, "identity:list_revoke_events")
}
