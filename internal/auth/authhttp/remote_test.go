package authhttp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/auth/authhttp"
	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

func TestRemoteValidatorCachesAndHonoursRevocation(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v, err := authhttp.NewRemoteValidator(ctx, authhttp.RemoteConfig{
		AuthURL: c.IdentityURL, Username: "admin", Password: cloudtest.AdminPassword, ProjectName: "admin",
		UserDomainName: "Default", ProjectDomainName: "Default", RevocationPoll: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	go v.Run(ctx)

	token := c.Token(t, cloudtest.Admin)
	caller, err := v.ValidateToken(ctx, token)
	if err != nil {
		t.Fatalf("validate: %v", err)
	}
	if caller.UserName != "admin" || caller.ProjectName != "admin" || !caller.HasRole("admin") || !caller.HasRole("reader") {
		t.Fatalf("caller = %+v", caller)
	}
	if _, err := v.ValidateToken(ctx, "garbage"); !errors.Is(err, auth.ErrUnauthorized) {
		t.Fatalf("garbage token: %v, want ErrUnauthorized", err)
	}

	other := c.Token(t, cloudtest.Admin)
	if r := c.Do(t, "DELETE", c.IdentityURL+"/auth/tokens", other, nil, "X-Subject-Token", token); r.Status != 204 {
		t.Fatalf("revoke = %d %s", r.Status, r.Body)
	}
	cloudtest.Eventually(t, 5*time.Second, func() bool {
		_, err := v.ValidateToken(ctx, token)
		return errors.Is(err, auth.ErrUnauthorized)
	}, "a revoked token leaves the remote cache")
	if _, err := v.ValidateToken(ctx, other); err != nil {
		t.Fatalf("unrevoked token after revocation: %v", err)
	}
}
