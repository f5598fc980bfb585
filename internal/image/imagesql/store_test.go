package imagesql_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/image"
	"github.com/nimbus-cloud/nimbus/internal/image/imagesql"
)

// forEachStore runs fn on a fresh, migrated store per available engine; d is the
// same database, for checks of rows the Store does not expose.
func forEachStore(t *testing.T, fn func(t *testing.T, s *imagesql.Store, d *db.DB)) {
	t.Helper()
	ms, err := imagesql.Migrations()
	if err != nil {
		t.Fatalf("load migrations: %v", err)
	}
	dbtest.ForEachEngine(t, imagesql.ServiceName, ms, func(t *testing.T, d *db.DB) {
		fn(t, imagesql.New(d), d)
	})
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	ms, err := imagesql.Migrations()
	if err != nil {
		t.Fatalf("Migrations: %v", err)
	}
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("Migrations = %v; want version 1 first", ms)
	}
	forEachStore(t, func(t *testing.T, _ *imagesql.Store, d *db.DB) {
		v, err := db.Migrate(context.Background(), d, imagesql.ServiceName, ms)
		if err != nil || v != ms[len(ms)-1].Version {
			t.Fatalf("second Migrate = %d, %v; want %d and no error", v, err, ms[len(ms)-1].Version)
		}
	})
}

// count returns the single integer a query returns.
func count(t *testing.T, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// base is the creation time of fixtures; fixture n is created n minutes later.
var base = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

// newImage returns a queued private image owned by owner, created n minutes
// after base.
func newImage(id, owner string, n int) image.Image {
	at := base.Add(time.Duration(n) * time.Minute)
	return image.Image{ID: id, Name: "image-" + id, Status: image.Queued, Visibility: image.Private,
		Owner: owner, CreatedAt: at, UpdatedAt: at}
}

// mkImage stores img, failing the test when the store refuses it.
func mkImage(t *testing.T, s *imagesql.Store, img image.Image) image.Image {
	t.Helper()
	dbtest.Must(t, s.CreateImage(context.Background(), img))
	return img
}

// ids returns the ids of images, in order; nil for none.
func ids(imgs []image.Image) []string {
	var out []string
	for _, img := range imgs {
		out = append(out, img.ID)
	}
	return out
}

// uuid returns a fixed, well-formed image id for n.
func uuid(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }
