package computesql_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/computesql"
	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
)

func serviceRow(host, binary string) computesql.ServiceRow {
	return computesql.ServiceRow{UUID: "uuid-" + host + "-" + binary, Host: host, Binary: binary, Topic: "compute",
		ReportCount: 1, Version: "6.1", LastSeenUp: base, CreatedAt: base}
}

func TestServicesRoundTrip(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		c1, created, err := s.CreateService(ctx, serviceRow("c1", "nova-compute"))
		dbtest.Must(t, err)
		if !created || c1.ID == 0 || c1.Host != "c1" || c1.Binary != "nova-compute" || c1.Topic != "compute" ||
			c1.Version != "6.1" || c1.ReportCount != 1 || !c1.LastSeenUp.Equal(base) || !c1.CreatedAt.Equal(base) ||
			c1.Disabled || c1.DisabledReason != "" || c1.ForcedDown || !c1.UpdatedAt.IsZero() {
			t.Fatalf("created %+v (created %v)", c1, created)
		}
		sched, _, err := s.CreateService(ctx, serviceRow("ctl", "nova-scheduler"))
		dbtest.Must(t, err)
		if sched.ID <= c1.ID {
			t.Errorf("ids %d then %d: want growing ids", c1.ID, sched.ID)
		}

		// A second registration of the same host and binary (another
		// controller's) finds the first.
		again := serviceRow("c1", "nova-compute")
		again.UUID = "other"
		got, created, err := s.CreateService(ctx, again)
		dbtest.Must(t, err)
		if created || got.ID != c1.ID || got.UUID != c1.UUID {
			t.Errorf("second registration %+v (created %v); want the first, %d", got, created, c1.ID)
		}

		at := base.Add(time.Minute)
		dbtest.Must(t, s.SetServiceDisabled(ctx, "c1", "nova-compute", true, "maintenance", at))
		dbtest.Must(t, s.SetServiceForcedDown(ctx, "c1", "nova-compute", true, at))
		dbtest.Must(t, s.RecordHeartbeats(ctx, []computesql.ServiceHeartbeat{
			{ID: c1.ID, ReportCount: 7, Version: "6.2", LastSeenUp: base.Add(2 * time.Minute)},
			{ID: sched.ID, ReportCount: 3, Version: "1.0", LastSeenUp: base.Add(time.Second)},
			{ID: 99999, ReportCount: 3, Version: "1.0", LastSeenUp: base.Add(time.Second)},
		}))
		// A heartbeat older than the stored one changes nothing.
		dbtest.Must(t, s.RecordHeartbeats(ctx, []computesql.ServiceHeartbeat{
			{ID: c1.ID, ReportCount: 5, Version: "6.0", LastSeenUp: base.Add(time.Minute)}}))
		all, err := s.ListServices(ctx)
		dbtest.Must(t, err)
		if len(all) != 2 || all[0].ID != c1.ID || all[1].ID != sched.ID {
			t.Fatalf("list %+v", all)
		}
		c := all[0]
		if !c.Disabled || c.DisabledReason != "maintenance" || !c.ForcedDown || c.ReportCount != 7 || c.Version != "6.2" ||
			!c.LastSeenUp.Equal(base.Add(2*time.Minute)) || !c.UpdatedAt.Equal(base.Add(2*time.Minute)) {
			t.Errorf("after changes %+v", c)
		}
		if all[1].ReportCount != 3 || !all[1].LastSeenUp.Equal(base.Add(time.Second)) {
			t.Errorf("scheduler after heartbeat %+v", all[1])
		}

		// A heartbeat that brings a node stores it; a later one replaces it.
		node := computesql.ServiceNode{UUID: "rp-c1", Hostname: "c1.example", Resources: `{"vcpus":4}`}
		dbtest.Must(t, s.RecordHeartbeats(ctx, []computesql.ServiceHeartbeat{
			{ID: c1.ID, ReportCount: 8, Version: "6.2", LastSeenUp: base.Add(3 * time.Minute), Node: node}}))
		all, err = s.ListServices(ctx)
		dbtest.Must(t, err)
		if all[0].Node != node || all[1].Node != (computesql.ServiceNode{}) {
			t.Errorf("nodes %+v and %+v; want c1's %+v and none", all[0].Node, all[1].Node, node)
		}
		node.Resources = `{"vcpus":8}`
		dbtest.Must(t, s.RecordHeartbeats(ctx, []computesql.ServiceHeartbeat{
			{ID: c1.ID, ReportCount: 9, Version: "6.2", LastSeenUp: base.Add(4 * time.Minute), Node: node}}))
		all, err = s.ListServices(ctx)
		dbtest.Must(t, err)
		if all[0].Node != node || all[0].ReportCount != 9 {
			t.Errorf("after a second node report %+v", all[0])
		}

		dbtest.Must(t, s.SetServiceDisabled(ctx, "c1", "nova-compute", false, "ignored", at))
		dbtest.Must(t, s.SetServiceForcedDown(ctx, "c1", "nova-compute", false, at))
		all, err = s.ListServices(ctx)
		dbtest.Must(t, err)
		if all[0].Disabled || all[0].DisabledReason != "" || all[0].ForcedDown {
			t.Errorf("after enabling %+v", all[0])
		}

		dbtest.Must(t, s.DeleteService(ctx, "ctl", "nova-scheduler"))
		dbtest.WantErr(t, s.DeleteService(ctx, "ctl", "nova-scheduler"), compute.ErrNotFound)
		dbtest.WantErr(t, s.SetServiceDisabled(ctx, "c9", "nova-compute", true, "", at), compute.ErrNotFound)
		dbtest.WantErr(t, s.SetServiceForcedDown(ctx, "c9", "nova-compute", true, at), compute.ErrNotFound)
		_, _, err = s.CreateService(ctx, computesql.ServiceRow{Host: "c2"})
		dbtest.WantErr(t, err, compute.ErrInvalid)
		all, err = s.ListServices(ctx)
		dbtest.Must(t, err)
		if len(all) != 1 || all[0].Host != "c1" {
			t.Errorf("after delete %+v", all)
		}
		// A service with a node goes with its node; registered again, it
		// has none until it reports one.
		dbtest.Must(t, s.DeleteService(ctx, "c1", "nova-compute"))
		again, _, err = s.CreateService(ctx, serviceRow("c1", "nova-compute"))
		dbtest.Must(t, err)
		if again.ID == c1.ID || again.Node != (computesql.ServiceNode{}) {
			t.Errorf("registered again %+v; want a new id and no node", again)
		}
	})
}

func TestServicesHeartbeatBatch(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		// More services than one statement updates.
		hbs := make([]computesql.ServiceHeartbeat, 450)
		for i := range hbs {
			r, _, err := s.CreateService(ctx, serviceRow(fmt.Sprintf("c%03d", i), "nova-compute"))
			dbtest.Must(t, err)
			hbs[i] = computesql.ServiceHeartbeat{ID: r.ID, ReportCount: int64(i), Version: "6.3",
				LastSeenUp: base.Add(time.Duration(i) * time.Second)}
		}
		dbtest.Must(t, s.RecordHeartbeats(ctx, hbs))
		all, err := s.ListServices(ctx)
		dbtest.Must(t, err)
		if len(all) != len(hbs) {
			t.Fatalf("%d services, want %d", len(all), len(hbs))
		}
		for i, r := range all {
			h := hbs[i]
			if r.ID != h.ID || !r.LastSeenUp.Equal(h.LastSeenUp) || r.ReportCount != h.ReportCount || r.Version != "6.3" {
				t.Fatalf("service %d: %+v, want heartbeat %+v", i, r, h)
			}
		}
	})
}

// BenchmarkRecordHeartbeats writes one report interval's heartbeats of
// 1000 compute hosts in one batch, as a controller's registry does.
func BenchmarkRecordHeartbeats(b *testing.B) {
	ms, err := computesql.Migrations()
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range dbtest.Engines() {
		b.Run(string(e), func(b *testing.B) {
			d := dbtest.Open(b, e)
			if _, err := db.Migrate(context.Background(), d, computesql.ServiceName, ms); err != nil {
				b.Fatal(err)
			}
			s := computesql.New(d)
			ctx := context.Background()
			hbs := make([]computesql.ServiceHeartbeat, 1000)
			for i := range hbs {
				r, _, err := s.CreateService(ctx, serviceRow(fmt.Sprintf("c%04d", i), "nova-compute"))
				if err != nil {
					b.Fatal(err)
				}
				hbs[i] = computesql.ServiceHeartbeat{ID: r.ID, ReportCount: 1, Version: "6.1"}
			}
			b.ResetTimer()
			for n := range b.N {
				for i := range hbs {
					hbs[i].LastSeenUp = base.Add(time.Duration(n+1) * time.Second)
				}
				if err := s.RecordHeartbeats(ctx, hbs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
