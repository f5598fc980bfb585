package identity_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/identity"
	"github.com/nimbus-cloud/nimbus/internal/identity/fernet"
	"github.com/nimbus-cloud/nimbus/internal/identity/identitysql"
)

// testClock moves a second per reading, like crudEnv's, and jumps on demand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) read() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newComplianceEnv is newCrudEnv with security compliance rules and a clock
// the test can move.
func newComplianceEnv(t *testing.T, rules identity.ComplianceConfig) (*crudEnv, *testClock) {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t, db.SQLite)
	ms, err := identitysql.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx, d, identitysql.ServiceName, ms); err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := &crudEnv{store: identitysql.New(d), authz: &crudAuthz{deny: map[string]bool{}, targets: map[string]map[string]any{}}}
	e.svc = identity.New(identity.Config{MaxPasswordLength: 64, Compliance: rules}, identity.Deps{Store: e.store,
		Tokens: &crudTokens{m: map[string]fernet.Payload{}}, Hasher: crudHasher{}, Authz: e.authz, Now: clock.read})
	if e.boot, err = e.svc.Bootstrap(ctx, identity.BootstrapOptions{AdminPassword: crudAdminPassword}); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	e.roleIDs = map[string]string{}
	roles, err := e.store.ListRoles(ctx, identity.RoleFilter{})
	mustOK(t, err)
	for _, r := range roles {
		e.roleIDs[r.Name] = r.ID
	}
	e.admin = auth.WithCaller(ctx, &auth.Caller{UserID: e.boot.AdminUserID, UserDomainID: "default",
		ProjectID: e.boot.AdminProjectID, ProjectDomainID: "default", Roles: []auth.Role{{Name: "admin"}}})
	return e, clock
}

// mkPasswordUser creates a user through the service, as an administrator
// would, with password pw and options.
func (e *crudEnv) mkPasswordUser(t *testing.T, name, pw string, options map[string]any) identity.User {
	t.Helper()
	u, err := e.svc.CreateUser(e.admin, identity.UserCreate{Name: name, Password: &pw, Options: options})
	mustOK(t, err)
	return u
}

func TestLockout(t *testing.T) {
	t.Parallel()
	e, clock := newComplianceEnv(t, identity.ComplianceConfig{LockoutFailureAttempts: 2, LockoutDuration: 10 * time.Minute})
	u := e.mkPasswordUser(t, "dave", "right", nil)
	locked := "The account is locked for user: " + u.ID + "."

	// A success resets the count: one failure, a success, one failure never lock.
	for range 2 {
		_, err := e.login(u.ID, "wrong", "")
		wantErr(t, err, identity.ErrUnauthorized, "requires authentication")
		_, err = e.login(u.ID, "right", "")
		mustOK(t, err)
	}
	for range 2 {
		_, err := e.login(u.ID, "wrong", "")
		wantErr(t, err, identity.ErrUnauthorized, "The request you have made requires authentication.")
	}
	_, err := e.login(u.ID, "right", "")
	wantErr(t, err, identity.ErrUnauthorized, locked)
	// A locked-out user cannot change the password either, nor does a guess count.
	wantErr(t, e.svc.ChangePassword(context.Background(), u.ID, "right", "new-one"), identity.ErrUnauthorized, locked)
	st, err := e.store.GetPasswordState(context.Background(), u.ID)
	mustOK(t, err)
	if st.FailedAuthCount != 2 {
		t.Fatalf("failed checks while locked = %d, want 2", st.FailedAuthCount)
	}

	clock.advance(10 * time.Minute)
	_, err = e.login(u.ID, "right", "")
	mustOK(t, err)
	st, err = e.store.GetPasswordState(context.Background(), u.ID)
	mustOK(t, err)
	if st.FailedAuthCount != 0 || !st.FailedAuthAt.IsZero() {
		t.Fatalf("state after the lockout ran out = %+v", st)
	}

	// Wrong original passwords of a self-service change count too; an
	// administrator's password reset unlocks.
	for range 2 {
		wantErr(t, e.svc.ChangePassword(context.Background(), u.ID, "wrong", "new-one"), identity.ErrUnauthorized, "requires authentication")
	}
	_, err = e.login(u.ID, "right", "")
	wantErr(t, err, identity.ErrUnauthorized, locked)
	_, err = e.svc.UpdateUser(e.admin, u.ID, identity.UserUpdate{Password: ptr("reset")})
	mustOK(t, err)
	_, err = e.login(u.ID, "reset", "")
	mustOK(t, err)
}

func TestLockoutExemptAndUnknownUsers(t *testing.T) {
	t.Parallel()
	e, _ := newComplianceEnv(t, identity.ComplianceConfig{LockoutFailureAttempts: 1, LockoutDuration: time.Hour})
	exempt := e.mkPasswordUser(t, "robot", "right", map[string]any{"ignore_lockout_failure_attempts": true})
	for range 3 {
		_, err := e.login(exempt.ID, "wrong", "")
		wantErr(t, err, identity.ErrUnauthorized, "requires authentication")
	}
	_, err := e.login(exempt.ID, "right", "")
	mustOK(t, err)

	_, err = e.login("nobody", "wrong", "")
	wantErr(t, err, identity.ErrUnauthorized, "The request you have made requires authentication.")

	// Without a lockout rule nothing is counted.
	off, _ := newComplianceEnv(t, identity.ComplianceConfig{})
	u := off.mkPasswordUser(t, "erin", "right", nil)
	for range 5 {
		_, err := off.login(u.ID, "wrong", "")
		wantErr(t, err, identity.ErrUnauthorized, "requires authentication")
	}
	_, err = off.login(u.ID, "right", "")
	mustOK(t, err)
}

func TestPasswordHistory(t *testing.T) {
	t.Parallel()
	e, _ := newComplianceEnv(t, identity.ComplianceConfig{UniqueLastPasswordCount: 2})
	ctx := context.Background()
	u := e.mkPasswordUser(t, "frank", "pw0", nil)
	const refused = "The new password cannot be identical to a previous password. The total number which includes the new password must be unique is 2."

	mustOK(t, e.svc.ChangePassword(ctx, u.ID, "pw0", "pw1"))
	wantErr(t, e.svc.ChangePassword(ctx, u.ID, "pw1", "pw1"), identity.ErrValidation, refused)
	wantErr(t, e.svc.ChangePassword(ctx, u.ID, "pw1", "pw0"), identity.ErrValidation, refused)
	mustOK(t, e.svc.ChangePassword(ctx, u.ID, "pw1", "pw2"))
	// pw0 is now three passwords back, out of the last two.
	mustOK(t, e.svc.ChangePassword(ctx, u.ID, "pw2", "pw0"))
	hist, err := e.store.ListPasswordHistory(ctx, u.ID, 10)
	mustOK(t, err)
	if len(hist) != 2 || hist[0].Hash != "hashed:pw2" || hist[1].Hash != "hashed:pw1" {
		t.Fatalf("history = %+v, want pw2 then pw1", hist)
	}

	// An administrator's reset is not held to the history, but is recorded.
	_, err = e.svc.UpdateUser(e.admin, u.ID, identity.UserUpdate{Password: ptr("pw0")})
	mustOK(t, err)
	_, err = e.svc.UpdateUser(e.admin, u.ID, identity.UserUpdate{Password: ptr("pw9")})
	mustOK(t, err)
	wantErr(t, e.svc.ChangePassword(ctx, u.ID, "pw9", "pw0"), identity.ErrValidation, refused)
	_, err = e.login(u.ID, "pw9", "")
	mustOK(t, err)

	// Clearing the password keeps the last one in the history too.
	_, err = e.svc.UpdateUser(e.admin, u.ID, identity.UserUpdate{ClearPassword: true})
	mustOK(t, err)
	hist, err = e.store.ListPasswordHistory(ctx, u.ID, 1)
	mustOK(t, err)
	if len(hist) != 1 || hist[0].Hash != "hashed:pw9" {
		t.Fatalf("history after clearing = %+v", hist)
	}

	// Deleting the user deletes its history.
	mustOK(t, e.svc.DeleteUser(e.admin, u.ID))
	hist, err = e.store.ListPasswordHistory(ctx, u.ID, 10)
	mustOK(t, err)
	if len(hist) != 0 {
		t.Fatalf("history of a deleted user = %+v", hist)
	}
}

func TestMinimumPasswordAge(t *testing.T) {
	t.Parallel()
	e, clock := newComplianceEnv(t, identity.ComplianceConfig{MinimumPasswordAge: 2 * 24 * time.Hour})
	ctx := context.Background()
	u := e.mkPasswordUser(t, "gina", "pw0", nil)

	// A password an administrator set may be changed at once.
	mustOK(t, e.svc.ChangePassword(ctx, u.ID, "pw0", "pw1"))
	clock.advance(25 * time.Hour)
	wantErr(t, e.svc.ChangePassword(ctx, u.ID, "pw1", "pw2"), identity.ErrValidation,
		"You cannot change your password at this time due to the minimum password age. Once you change your password, "+
			"it must be used for 2 day(s) before it can be changed. Please try again in 0 day(s) or contact your administrator to reset your password.")
	clock.advance(24 * time.Hour)
	mustOK(t, e.svc.ChangePassword(ctx, u.ID, "pw1", "pw2"))

	// An administrator's reset lifts the wait.
	_, err := e.svc.UpdateUser(e.admin, u.ID, identity.UserUpdate{Password: ptr("pw3")})
	mustOK(t, err)
	mustOK(t, e.svc.ChangePassword(ctx, u.ID, "pw3", "pw4"))
}

func TestPasswordExpiry(t *testing.T) {
	t.Parallel()
	e, clock := newComplianceEnv(t, identity.ComplianceConfig{PasswordExpires: 30 * 24 * time.Hour})
	ctx := context.Background()
	u := e.mkPasswordUser(t, "hank", "pw0", nil)
	if want := u.PasswordCreatedAt.Add(30 * 24 * time.Hour).Truncate(time.Second); !u.PasswordExpiresAt.Equal(want) {
		t.Fatalf("password_expires_at = %v, want %v", u.PasswordExpiresAt, want)
	}
	exempt := e.mkPasswordUser(t, "ivy", "pw0", map[string]any{"ignore_password_expiry": true})
	if !exempt.PasswordExpiresAt.IsZero() {
		t.Fatalf("exempt user's password expires at %v", exempt.PasswordExpiresAt)
	}

	clock.advance(31 * 24 * time.Hour)
	_, err := e.login(u.ID, "pw0", "")
	wantErr(t, err, identity.ErrUnauthorized, "The password is expired and needs to be changed for user: "+u.ID+".")
	_, err = e.login(exempt.ID, "pw0", "")
	mustOK(t, err)

	// An expired password may still be changed, and the new one expires later.
	mustOK(t, e.svc.ChangePassword(ctx, u.ID, "pw0", "pw1"))
	_, err = e.login(u.ID, "pw1", "")
	mustOK(t, err)
	got, err := e.svc.GetUser(e.admin, u.ID)
	mustOK(t, err)
	if !got.PasswordExpiresAt.After(clock.read().Add(29 * 24 * time.Hour)) {
		t.Fatalf("new password expires at %v", got.PasswordExpiresAt)
	}
}

func TestChangePasswordUponFirstUse(t *testing.T) {
	t.Parallel()
	e, _ := newComplianceEnv(t, identity.ComplianceConfig{ChangePasswordUponFirstUse: true})
	ctx := context.Background()
	u := e.mkPasswordUser(t, "jack", "given", nil)
	_, err := e.login(u.ID, "given", "")
	wantErr(t, err, identity.ErrUnauthorized, "The password is expired and needs to be changed")
	mustOK(t, e.svc.ChangePassword(ctx, u.ID, "given", "mine"))
	_, err = e.login(u.ID, "mine", "")
	mustOK(t, err)

	// An administrator's reset expires the password again.
	_, err = e.svc.UpdateUser(e.admin, u.ID, identity.UserUpdate{Password: ptr("given2")})
	mustOK(t, err)
	_, err = e.login(u.ID, "given2", "")
	wantErr(t, err, identity.ErrUnauthorized, "The password is expired")

	exempt := e.mkPasswordUser(t, "kim", "given", map[string]any{"ignore_change_password_upon_first_use": true})
	_, err = e.login(exempt.ID, "given", "")
	mustOK(t, err)
}

func TestPasswordRegex(t *testing.T) {
	t.Parallel()
	e, _ := newComplianceEnv(t, identity.ComplianceConfig{PasswordRegex: `.{8,}`,
		PasswordRegexDescription: "Passwords must have at least 8 characters"})
	ctx := context.Background()
	const refused = "The password does not match the requirements: Passwords must have at least 8 characters."
	_, err := e.svc.CreateUser(e.admin, identity.UserCreate{Name: "short", Password: ptr("abc")})
	wantErr(t, err, identity.ErrValidation, refused)
	u := e.mkPasswordUser(t, "long", "long-enough", nil)
	_, err = e.svc.UpdateUser(e.admin, u.ID, identity.UserUpdate{Password: ptr("abc")})
	wantErr(t, err, identity.ErrValidation, refused)
	wantErr(t, e.svc.ChangePassword(ctx, u.ID, "long-enough", "abc"), identity.ErrValidation, refused)
	mustOK(t, e.svc.ChangePassword(ctx, u.ID, "long-enough", "also-long-enough"))

	// The pattern is anchored at the start only, as Python's re.match.
	anchored, _ := newComplianceEnv(t, identity.ComplianceConfig{PasswordRegex: `[0-9]`, PasswordRegexDescription: "a digit first"})
	_, err = anchored.svc.CreateUser(anchored.admin, identity.UserCreate{Name: "a", Password: ptr("abc1")})
	wantErr(t, err, identity.ErrValidation, "a digit first")
	_, err = anchored.svc.CreateUser(anchored.admin, identity.UserCreate{Name: "b", Password: ptr("1abc")})
	mustOK(t, err)

	broken, _ := newComplianceEnv(t, identity.ComplianceConfig{PasswordRegex: `(`})
	_, err = broken.svc.CreateUser(broken.admin, identity.UserCreate{Name: "c", Password: ptr("whatever")})
	wantErr(t, err, identity.ErrValidation, "Unable to validate password due to invalid configuration")
}

func TestChangePasswordRefusals(t *testing.T) {
	t.Parallel()
	e, _ := newComplianceEnv(t, identity.ComplianceConfig{UniqueLastPasswordCount: 3})
	ctx := context.Background()
	locked := e.mkPasswordUser(t, "locked", "pw", map[string]any{"lock_password": true})
	disabled, err := e.svc.CreateUser(e.admin, identity.UserCreate{Name: "off", Password: ptr("pw"), Enabled: ptr(false)})
	mustOK(t, err)
	cases := []struct {
		name, user, original, password string
		kind                           error
		msg                            string
	}{
		{"wrong original", locked.ID, "nope", "new", identity.ErrUnauthorized, "requires authentication"},
		{"unknown user", "nobody", "pw", "new", identity.ErrUnauthorized, "requires authentication"},
		{"disabled user", disabled.ID, "pw", "new", identity.ErrUnauthorized, "requires authentication"},
		{"locked password", locked.ID, "pw", "new", identity.ErrValidation, "password policy disallowing password changes"},
		{"too long", locked.ID, "pw", strings.Repeat("x", 65), identity.ErrValidation, "longer than 64"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, e.svc.ChangePassword(ctx, c.user, c.original, c.password), c.kind, c.msg)
		})
	}
}
