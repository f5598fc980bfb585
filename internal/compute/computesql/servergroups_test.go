package computesql_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/computesql"
)

func serverGroup(n int, project, policy string) compute.ServerGroup {
	return compute.ServerGroup{UUID: fmt.Sprintf("99999999-0000-4000-8000-%012d", n), Name: fmt.Sprintf("g%d", n),
		ProjectID: project, UserID: "u1", Policy: policy, CreatedAt: base}
}

func TestServerGroups(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		g1 := serverGroup(1, "p1", compute.PolicyAntiAffinity)
		g1.Rules = map[string]int{compute.RuleMaxServerPerHost: 2}
		got, err := s.CreateServerGroup(ctx, g1, 2)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID == 0 || got.Rules[compute.RuleMaxServerPerHost] != 2 || !got.CreatedAt.Equal(base) ||
			got.Members == nil || len(got.Members) != 0 {
			t.Errorf("created %+v", got)
		}
		if _, err := s.CreateServerGroup(ctx, g1, -1); !errors.Is(err, compute.ErrConflict) {
			t.Errorf("same uuid again: %v; want ErrConflict", err)
		}
		if _, err := s.CreateServerGroup(ctx, serverGroup(2, "p1", compute.PolicyAffinity), 2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateServerGroup(ctx, serverGroup(3, "p1", compute.PolicyAffinity), 2); !errors.Is(err, compute.ErrOverQuota) {
			t.Errorf("third group with a limit of 2: %v; want ErrOverQuota", err)
		}
		if _, err := s.CreateServerGroup(ctx, serverGroup(4, "p2", compute.PolicySoftAffinity), 2); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			project, user string
			want          int
		}{{"p1", "", 2}, {"p1", "u1", 2}, {"p1", "u2", 0}, {"p2", "", 1}, {"p3", "", 0}} {
			if n, err := s.CountServerGroups(ctx, tc.project, tc.user); err != nil || n != tc.want {
				t.Errorf("count %s/%s = %d, %v; want %d", tc.project, tc.user, n, err, tc.want)
			}
		}

		insts := create(t, s, instance(1, "a"), instance(2, "b"), instance(3, "c"))
		if err := s.AddServerGroupMembers(ctx, g1.UUID, []string{insts[0].UUID, insts[1].UUID}, 2); err != nil {
			t.Fatal(err)
		}
		if err := s.AddServerGroupMembers(ctx, g1.UUID, []string{insts[2].UUID}, 2); !errors.Is(err, compute.ErrOverQuota) {
			t.Errorf("third member with a limit of 2: %v; want ErrOverQuota", err)
		}
		if err := s.AddServerGroupMembers(ctx, "missing", []string{insts[2].UUID}, -1); !errors.Is(err, compute.ErrNotFound) {
			t.Errorf("missing group: %v; want ErrNotFound", err)
		}
		if _, err := s.UpdateInstance(ctx, insts[0].UUID, func(i *compute.Instance) error {
			i.Host, i.Node = "h1", "h1"
			return nil
		}, nil); err != nil {
			t.Fatal(err)
		}
		ms, err := s.ServerGroupMembers(ctx, g1.UUID)
		want := []compute.ServerGroupMember{{InstanceUUID: insts[0].UUID, Host: "h1"}, {InstanceUUID: insts[1].UUID}}
		if err != nil || !slices.Equal(ms, want) {
			t.Errorf("members = %v, %v; want %v", ms, err, want)
		}
		g, err := s.InstanceServerGroup(ctx, insts[1].UUID)
		if err != nil || g.UUID != g1.UUID || !slices.Equal(g.Members, []string{insts[0].UUID, insts[1].UUID}) {
			t.Errorf("group of b = %+v, %v", g, err)
		}
		if _, err := s.InstanceServerGroup(ctx, insts[2].UUID); !errors.Is(err, compute.ErrNotFound) {
			t.Errorf("group of c: %v; want ErrNotFound", err)
		}
		// A purged instance is no member, and its place is free again.
		if err := s.PurgeInstances(ctx, []string{insts[1].UUID}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddServerGroupMembers(ctx, g1.UUID, []string{insts[2].UUID}, 2); err != nil {
			t.Errorf("member after a purge: %v", err)
		}
		if g, _ := s.GetServerGroup(ctx, g1.UUID); !slices.Equal(g.Members, []string{insts[0].UUID, insts[2].UUID}) {
			t.Errorf("members after purge %v", g.Members)
		}

		for _, tc := range []struct {
			project       string
			offset, limit int
			want          []string
		}{
			{"p1", 0, 10, []string{"g1", "g2"}},
			{"", 0, 10, []string{"g1", "g2", "g4"}},
			{"", 1, 1, []string{"g2"}},
			{"", 3, 10, nil},
			{"p2", 0, 10, []string{"g4"}},
		} {
			gs, err := s.ListServerGroups(ctx, tc.project, tc.offset, tc.limit)
			var names []string
			for _, g := range gs {
				names = append(names, g.Name)
			}
			if err != nil || !slices.Equal(names, tc.want) {
				t.Errorf("list %q %d/%d = %v, %v; want %v", tc.project, tc.offset, tc.limit, names, err, tc.want)
			}
			if len(gs) > 0 && gs[0].Name == "g1" && len(gs[0].Members) != 2 {
				t.Errorf("listed g1 members %v", gs[0].Members)
			}
		}

		if err := s.DeleteServerGroup(ctx, g1.UUID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteServerGroup(ctx, g1.UUID); !errors.Is(err, compute.ErrNotFound) {
			t.Errorf("delete twice: %v; want ErrNotFound", err)
		}
		if _, err := s.GetServerGroup(ctx, g1.UUID); !errors.Is(err, compute.ErrNotFound) {
			t.Errorf("get deleted: %v", err)
		}
		if _, err := s.InstanceServerGroup(ctx, insts[0].UUID); !errors.Is(err, compute.ErrNotFound) {
			t.Errorf("group of a member of a deleted group: %v; want ErrNotFound", err)
		}
	})
}
