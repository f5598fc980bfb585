package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servergroups"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/nimbus-cloud/nimbus/internal/cloudtest"
)

// group creates a server group with policy (microversion 2.64 shape).
func (p *plane) group(t *testing.T, name, policy string, maxPerHost int) string {
	t.Helper()
	c := *p.compute
	c.Microversion = "2.64"
	opts := servergroups.CreateOpts{Name: name, Policy: policy}
	if maxPerHost > 0 {
		opts.Rules = &servergroups.Rules{MaxServerPerHost: maxPerHost}
	}
	g, err := servergroups.Create(context.Background(), &c, opts).Extract()
	if err != nil {
		t.Fatalf("create server group %s: %v", name, err)
	}
	return g.ID
}

// bootInGroup creates a server with the group scheduler hint.
func (p *plane) bootInGroup(t *testing.T, name, flavor, group string) (string, error) {
	t.Helper()
	s, err := servers.Create(context.Background(), p.compute, servers.CreateOpts{Name: name, ImageRef: p.imageID,
		FlavorRef: flavor, Networks: "none"}, servers.SchedulerHintOpts{Group: group}).Extract()
	if err != nil {
		return "", err
	}
	return s.ID, nil
}

func (p *plane) mustBootInGroup(t *testing.T, name, flavor, group string) string {
	t.Helper()
	id, err := p.bootInGroup(t, name, flavor, group)
	if err != nil {
		t.Fatalf("create server %s in group %s: %v", name, group, err)
	}
	return id
}

// TestServerGroupAntiAffinity boots members of an anti-affinity group one
// after another: each lands on a host of its own, and the member one too
// many ends in ERROR with a fault naming the filter that refused the hosts.
func TestServerGroupAntiAffinity(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("compute.fake_host_count", "3"))
	flavor := p.flavor(t, "m1.tiny", 1, 128, 1)
	gid := p.group(t, "spread", "anti-affinity", 0)
	hosts := map[string]string{}
	for _, name := range []string{"a", "b", "c"} {
		id := p.mustBootInGroup(t, name, flavor, gid)
		s := p.waitStatus(t, id, "ACTIVE")
		if prev, ok := hosts[s.Host]; ok {
			t.Fatalf("server %s landed on %s beside %s", name, s.Host, prev)
		}
		hosts[s.Host] = name
	}
	id := p.mustBootInGroup(t, "d", flavor, gid)
	s := p.waitStatus(t, id, "ERROR")
	if msg := s.Fault.Message; !strings.HasPrefix(msg, "No valid host was found.") ||
		!strings.Contains(msg, "ServerGroupAntiAffinityFilter") {
		t.Errorf("fault %q; want NoValidHost naming ServerGroupAntiAffinityFilter", msg)
	}

	c := *p.compute
	c.Microversion = "2.71"
	got, err := servers.Get(context.Background(), &c, id).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if got.ServerGroups == nil || len(*got.ServerGroups) != 1 || (*got.ServerGroups)[0] != gid {
		t.Errorf("server_groups at 2.71 = %v; want [%s]", got.ServerGroups, gid)
	}
	g, err := servergroups.Get(context.Background(), p.compute, gid).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Members) != 4 {
		t.Errorf("members %v; want the 4 servers", g.Members)
	}
	// A deleted member leaves the group and frees its host for another.
	if err := servers.Delete(context.Background(), p.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	p.waitGone(t, id)
	for _, sid := range g.Members[:1] {
		if err := servers.Delete(context.Background(), p.compute, sid).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		p.waitGone(t, sid)
	}
	id = p.mustBootInGroup(t, "e", flavor, gid)
	p.waitStatus(t, id, "ACTIVE")
}

// TestServerGroupAntiAffinityMaxPerHost lets two members share a host.
func TestServerGroupAntiAffinityMaxPerHost(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("compute.fake_host_count", "2"))
	flavor := p.flavor(t, "m1.tiny", 1, 128, 1)
	gid := p.group(t, "two-each", "anti-affinity", 2)
	perHost := map[string]int{}
	for _, name := range []string{"a", "b", "c", "d"} {
		s := p.waitStatus(t, p.mustBootInGroup(t, name, flavor, gid), "ACTIVE")
		perHost[s.Host]++
	}
	for h, n := range perHost {
		if n != 2 {
			t.Errorf("host %s has %d members; want 2 on each host (%v)", h, n, perHost)
		}
	}
	s := p.waitStatus(t, p.mustBootInGroup(t, "e", flavor, gid), "ERROR")
	if !strings.Contains(s.Fault.Message, "max_server_per_host 2") {
		t.Errorf("fault %q; want the max_server_per_host rule named", s.Fault.Message)
	}
}

// TestServerGroupAffinity packs every member onto the first member's host.
func TestServerGroupAffinity(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("compute.fake_host_count", "3"))
	flavor := p.flavor(t, "m1.tiny", 1, 128, 1)
	gid := p.group(t, "pack", "affinity", 0)
	first := ""
	for _, name := range []string{"a", "b", "c", "d"} {
		s := p.waitStatus(t, p.mustBootInGroup(t, name, flavor, gid), "ACTIVE")
		if first == "" {
			first = s.Host
		}
		if s.Host != first {
			t.Errorf("server %s on %s; want it beside the others on %s", name, s.Host, first)
		}
	}
}

// TestServerGroupQuotas refuses a group and a member beyond the quotas,
// with nova's messages, and a hint naming no group.
func TestServerGroupQuotas(t *testing.T) {
	t.Parallel()
	p := startPlane(t, cloudtest.WithOption("compute.fake_host_count", "1"),
		cloudtest.WithOption("quota.server_groups", "1"), cloudtest.WithOption("quota.server_group_members", "2"))
	flavor := p.flavor(t, "m1.tiny", 1, 128, 1)
	gid := p.group(t, "one", "soft-anti-affinity", 0)
	c := *p.compute
	c.Microversion = "2.64"
	_, err := servergroups.Create(context.Background(), &c, servergroups.CreateOpts{Name: "two",
		Policy: "affinity"}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) || !strings.Contains(err.Error(), "too many server groups") {
		t.Errorf("second group: %v; want 403 too many server groups", err)
	}
	for _, name := range []string{"a", "b"} {
		p.waitStatus(t, p.mustBootInGroup(t, name, flavor, gid), "ACTIVE")
	}
	_, err = p.bootInGroup(t, "c", flavor, gid)
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) || !strings.Contains(err.Error(), "too many servers in group") {
		t.Errorf("third member: %v; want 403 too many servers in group", err)
	}
	_, err = p.bootInGroup(t, "x", flavor, "8c0fa3a6-5c5e-4f8f-9f6b-2f1b1b0f3c11")
	if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Errorf("unknown group: %v; want 400", err)
	}
}
