package schedulerd

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/rpc"
	"github.com/nimbus-cloud/nimbus/internal/scheduler"
)

// fakeGroups puts every instance in one group; hosts are the members'
// recorded hosts ("" until recorded).
type fakeGroups struct {
	policy  string
	members []string
	hosts   map[string]string
	err     error
}

func (g *fakeGroups) InstanceGroup(ctx context.Context, uuid string) (*scheduler.ServerGroup, error) {
	if g.err != nil {
		return nil, g.err
	}
	out := &scheduler.ServerGroup{UUID: "g", Policy: g.policy}
	for _, m := range g.members {
		out.Members = append(out.Members, scheduler.InstanceRef{UUID: m, Host: g.hosts[m]})
	}
	return out, nil
}

// TestAntiAffinityBeforeHostsAreRecorded schedules members one request at
// a time while none has its host recorded yet: the scheduler's memory of
// its own choices still spreads them, and the member one too many fails.
func TestAntiAffinityBeforeHostsAreRecorded(t *testing.T) {
	t.Parallel()
	p := newFakePlacement("a", "b", "c")
	s := newService(t, p, hosts("a", "b", "c"))
	g := &fakeGroups{policy: scheduler.PolicyAntiAffinity, hosts: map[string]string{}}
	s.UseGroups(g)
	seen := map[string]bool{}
	for _, id := range []string{"i1", "i2", "i3"} {
		g.members = append(g.members, id)
		sels, err := s.SelectDestinations(context.Background(), spec(id))
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		h := sels[0].Host.Host
		if seen[h] {
			t.Fatalf("%s placed on %s, which has a member already", id, h)
		}
		seen[h] = true
	}
	g.members = append(g.members, "i4")
	_, err := s.SelectDestinations(context.Background(), spec("i4"))
	var re *rpc.Error
	if !errors.As(err, &re) || re.Kind != rpc.KindNoValidHost || !strings.Contains(re.Message, "ServerGroupAntiAffinityFilter") {
		t.Fatalf("fourth member: %v; want NoValidHost naming ServerGroupAntiAffinityFilter", err)
	}
	if p.hostOf("i4") != "" {
		t.Error("the refused member holds a claim")
	}
}

func TestAffinityFollowsRecordedHost(t *testing.T) {
	t.Parallel()
	p := newFakePlacement("a", "b", "c")
	s := newService(t, p, hosts("a", "b", "c"))
	s.UseGroups(&fakeGroups{policy: scheduler.PolicyAffinity, members: []string{"old", "i1", "i2"},
		hosts: map[string]string{"old": "b"}})
	sels, err := s.SelectDestinations(context.Background(), spec("i1", "i2"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sel := range sels {
		if sel.Host.Host != "b" {
			t.Errorf("%s on %s; want b, beside the group's member", sel.InstanceUUID, sel.Host.Host)
		}
	}
}

func TestGroupLookupFailure(t *testing.T) {
	t.Parallel()
	p := newFakePlacement("a")
	s := newService(t, p, hosts("a"))
	s.UseGroups(&fakeGroups{err: errors.New("database gone")})
	if _, err := s.SelectDestinations(context.Background(), spec("i1")); err == nil ||
		!strings.Contains(err.Error(), "database gone") {
		t.Fatalf("err %v; want the lookup's failure", err)
	}
	if p.claims != 0 {
		t.Errorf("%d claims made", p.claims)
	}
}
