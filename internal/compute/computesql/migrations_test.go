package computesql_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/computesql"
)

func mkMigration(t *testing.T, s *computesql.Store, n int, inst, source, dest, kind, status string) compute.Migration {
	t.Helper()
	m, err := s.CreateMigration(context.Background(), compute.Migration{UUID: fmt.Sprintf("00000000-0000-0000-0000-%012d", n),
		InstanceUUID: inst, SourceCompute: source, SourceNode: source + "-node", DestCompute: dest, Status: status,
		MigrationType: kind, ProjectID: "p1", UserID: "u1", OldInstanceTypeID: ptr(int64(1)),
		NewInstanceTypeID: ptr(int64(2)), CreatedAt: base.Add(time.Duration(n) * time.Minute)})
	if err != nil {
		t.Fatalf("create migration %d: %v", n, err)
	}
	return m
}

func migrationUUIDs(ms []compute.Migration) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.UUID[len(m.UUID)-2:])
	}
	return out
}

func TestMigrationRecords(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *computesql.Store) {
		ctx := context.Background()
		m1 := mkMigration(t, s, 1, "i1", "h1", "h2", compute.MigrationTypeResize, compute.MigrationFinished)
		mkMigration(t, s, 2, "i2", "h2", "h3", compute.MigrationTypeLive, compute.MigrationRunning)
		mkMigration(t, s, 3, "i1", "h2", "", compute.MigrationTypeMigration, compute.MigrationPreMigrating)
		if m1.ID == 0 || m1.UpdatedAt != (time.Time{}) || *m1.OldInstanceTypeID != 1 || m1.DestHost != "" {
			t.Fatalf("created = %+v", m1)
		}
		got, err := s.UpdateLatestMigration(ctx, "i1", func(m *compute.Migration) error {
			m.Status, m.DestCompute, m.UpdatedAt = compute.MigrationMigrating, "h4", base.Add(time.Hour)
			return nil
		})
		if err != nil || got.UUID[34:] != "03" {
			t.Fatalf("update latest = %+v, %v; want migration 3", got, err)
		}
		read, err := s.GetMigration(ctx, got.ID)
		if err != nil || read.Status != compute.MigrationMigrating || read.DestCompute != "h4" ||
			!read.UpdatedAt.Equal(base.Add(time.Hour)) || !read.CreatedAt.Equal(base.Add(3*time.Minute)) {
			t.Fatalf("read back = %+v, %v", read, err)
		}
		refuse := errors.New("no")
		if _, err := s.UpdateLatestMigration(ctx, "i2", func(*compute.Migration) error { return refuse }); !errors.Is(err, refuse) {
			t.Fatalf("refused update = %v", err)
		}
		if _, err := s.UpdateLatestMigration(ctx, "nope", func(*compute.Migration) error { return nil }); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("update of none = %v; want ErrNotFound", err)
		}
		if _, err := s.GetMigration(ctx, 999); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("get missing = %v", err)
		}
		for _, tc := range []struct {
			name string
			f    compute.MigrationFilter
			want []string
		}{
			{"all", compute.MigrationFilter{}, []string{"01", "02", "03"}},
			{"host matches source or dest", compute.MigrationFilter{Host: "h3"}, []string{"02"}},
			{"host over source_compute", compute.MigrationFilter{Host: "h4", SourceCompute: "h1"}, []string{"03"}},
			{"source_compute", compute.MigrationFilter{SourceCompute: "h2"}, []string{"02", "03"}},
			{"status", compute.MigrationFilter{Status: []string{"running", "finished"}}, []string{"01", "02"}},
			{"no status", compute.MigrationFilter{Status: []string{}}, nil},
			{"instance and type", compute.MigrationFilter{InstanceUUID: "i1", MigrationType: "resize"}, []string{"01"}},
			{"changes-since", compute.MigrationFilter{ChangesSince: base.Add(time.Hour)}, []string{"03"}},
			{"paged newest first", compute.MigrationFilter{Paged: true}, []string{"03", "02", "01"}},
			{"paged after marker", compute.MigrationFilter{Paged: true, Marker: m1.UUID[:34] + "03", Limit: 1}, []string{"02"}},
		} {
			got, err := s.ListMigrations(ctx, tc.f)
			if err != nil || !slices.Equal(migrationUUIDs(got), tc.want) {
				t.Errorf("%s: list = %v, %v; want %v", tc.name, migrationUUIDs(got), err, tc.want)
			}
		}
		if _, err := s.ListMigrations(ctx, compute.MigrationFilter{Paged: true, Marker: "x"}); !errors.Is(err, compute.ErrMarkerNotFound) {
			t.Fatalf("unknown marker = %v", err)
		}
	})
}
