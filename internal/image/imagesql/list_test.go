package imagesql_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/image"
	"github.com/nimbus-cloud/nimbus/internal/image/imagesql"
)

// listFixtures stores the images of the list tests. Image n (uuid(n)) is
// created n minutes after base and updated 10-n minutes after it.
func listFixtures(t *testing.T, s *imagesql.Store) []image.Image {
	t.Helper()
	ctx := context.Background()
	type fx struct {
		name, owner, disk string
		vis               image.Visibility
		status            image.Status
		size              *int64
		tags              []string
		props             map[string]string
		protected, hidden bool
	}
	fixtures := []fx{
		1: {name: "alpha", owner: "p1", disk: "qcow2", vis: image.Private, status: image.Active, size: ptr(int64(100)),
			tags: []string{"x", "y"}, props: map[string]string{"os_distro": "cirros"}},
		2: {name: "Beta", owner: "p1", disk: "raw", vis: image.Public, status: image.Active, size: ptr(int64(100)),
			tags: []string{"x"}, protected: true},
		3: {name: "_gamma", owner: "p2", disk: "qcow2", vis: image.Shared, status: image.Active, size: nil,
			props: map[string]string{"os_distro": "ubuntu", "hw": "q35"}},
		4: {name: "alpha", owner: "p2", disk: "iso", vis: image.Shared, status: image.Queued, size: nil, hidden: true},
		5: {name: "delta", owner: "p2", disk: "qcow2", vis: image.Community, status: image.Active, size: ptr(int64(0))},
		6: {name: "epsilon", owner: "p3", disk: "raw", vis: image.Private, status: image.Deleted, size: ptr(int64(50))},
		7: {name: "zeta", owner: "p3", disk: "raw", vis: image.Shared, status: image.Saving, size: ptr(int64(7000)),
			tags: []string{"y"}},
		8: {name: "Eta", owner: "p3", disk: "qcow2", vis: image.Private, status: image.Active, size: ptr(int64(100)),
			protected: true, hidden: true},
	}
	var out []image.Image
	for n, f := range fixtures {
		if n == 0 {
			continue
		}
		img := image.Image{ID: uuid(n), Name: f.name, Status: f.status, Visibility: f.vis, Owner: f.owner,
			DiskFormat: f.disk, ContainerFormat: "bare", Size: f.size, Tags: f.tags, Properties: f.props,
			Protected: f.protected, Hidden: f.hidden, MinRAM: int64(n % 3), MinDisk: int64(n % 2),
			CreatedAt: base.Add(time.Duration(n) * time.Minute), UpdatedAt: base.Add(time.Duration(10-n) * time.Minute)}
		if f.size != nil {
			img.VirtualSize = ptr(*f.size * 2)
		}
		out = append(out, mkImage(t, s, img))
	}
	// p1 is an accepted member of 3, a pending one of 4, and of 7 (rejected).
	for _, m := range []image.Member{
		{ImageID: uuid(3), MemberID: "p1", Status: image.MemberAccepted},
		{ImageID: uuid(4), MemberID: "p1", Status: image.MemberPending},
		{ImageID: uuid(7), MemberID: "p1", Status: image.MemberRejected},
		{ImageID: uuid(7), MemberID: "p2", Status: image.MemberAccepted},
	} {
		m.CreatedAt, m.UpdatedAt = base, base
		dbtest.Must(t, s.CreateMember(ctx, m))
	}
	return out
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *imagesql.Store, _ *db.DB) {
		ctx := context.Background()
		listFixtures(t, s)
		all := func(f image.ImageFilter) image.ImageFilter { f.AllProjects = true; return f }
		at := func(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }
		tests := []struct {
			name string
			f    image.ImageFilter
			want []int
		}{
			{"all projects", all(image.ImageFilter{}), []int{1, 2, 3, 4, 5, 7, 8}},
			{"project p1 sees own, public, community, accepted shared", image.ImageFilter{Project: "p1"}, []int{1, 2, 3, 5}},
			{"project p1 pending members", image.ImageFilter{Project: "p1", MemberStatus: image.MemberPending}, []int{1, 2, 4, 5}},
			{"project p1 rejected members", image.ImageFilter{Project: "p1", MemberStatus: image.MemberRejected}, []int{1, 2, 5, 7}},
			{"project p1 all members", image.ImageFilter{Project: "p1", MemberStatus: "all"}, []int{1, 2, 3, 4, 5, 7}},
			{"project p2", image.ImageFilter{Project: "p2"}, []int{2, 3, 4, 5, 7}},
			{"project p3 shared only", image.ImageFilter{Project: "p3", Visibility: image.Shared}, []int{7}},
			{"stranger", image.ImageFilter{Project: "p9"}, []int{2, 5}},
			{"others' community hidden", image.ImageFilter{Project: "p1", HideOthersCommunity: true}, []int{1, 2, 3}},
			{"own community kept", image.ImageFilter{Project: "p2", HideOthersCommunity: true}, []int{2, 3, 4, 5, 7}},
			{"name", all(image.ImageFilter{Name: "alpha"}), []int{1, 4}},
			{"status deleted", all(image.ImageFilter{Status: []image.Status{image.Deleted}}), []int{6}},
			{"statuses", all(image.ImageFilter{Status: []image.Status{image.Queued, image.Saving}}), []int{4, 7}},
			{"visibility", all(image.ImageFilter{Visibility: image.Private}), []int{1, 8}},
			{"owner", all(image.ImageFilter{Owner: "p2"}), []int{3, 4, 5}},
			{"tags all of", all(image.ImageFilter{Tags: []string{"x", "y"}}), []int{1}},
			{"tag", all(image.ImageFilter{Tags: []string{"y"}}), []int{1, 7}},
			{"disk format", all(image.ImageFilter{DiskFormat: "raw"}), []int{2, 7}},
			{"container format", all(image.ImageFilter{ContainerFormat: "ovf"}), nil},
			{"protected", all(image.ImageFilter{Protected: ptr(true)}), []int{2, 8}},
			{"not hidden", all(image.ImageFilter{Hidden: ptr(false)}), []int{1, 2, 3, 5, 7}},
			{"size min", all(image.ImageFilter{SizeMin: ptr(int64(100))}), []int{1, 2, 7, 8}},
			{"size max", all(image.ImageFilter{SizeMax: ptr(int64(100))}), []int{1, 2, 5, 8}},
			{"size range", all(image.ImageFilter{SizeMin: ptr(int64(1)), SizeMax: ptr(int64(6999))}), []int{1, 2, 8}},
			{"created gt", all(image.ImageFilter{Created: []image.TimeFilter{{Op: "gt", At: at(5)}}}), []int{7, 8}},
			{"created gte lt", all(image.ImageFilter{Created: []image.TimeFilter{{Op: "gte", At: at(2)}, {Op: "lt", At: at(4)}}}), []int{2, 3}},
			{"created eq", all(image.ImageFilter{Created: []image.TimeFilter{{Op: "eq", At: at(3)}}}), []int{3}},
			{"created neq", all(image.ImageFilter{Created: []image.TimeFilter{{Op: "neq", At: at(3)}}}), []int{1, 2, 4, 5, 7, 8}},
			{"updated lte", all(image.ImageFilter{Updated: []image.TimeFilter{{Op: "lte", At: at(3)}}}), []int{7, 8}},
			{"property", all(image.ImageFilter{Properties: map[string]string{"os_distro": "ubuntu"}}), []int{3}},
			{"properties", all(image.ImageFilter{Properties: map[string]string{"os_distro": "ubuntu", "hw": "i440"}}), nil},
			{"ids", all(image.ImageFilter{IDs: []string{uuid(8), uuid(2), uuid(6)}}), []int{2, 8}},
			{"empty ids", all(image.ImageFilter{IDs: []string{}}), nil},
			{"limit", all(image.ImageFilter{Limit: 2}), []int{1, 2}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.ListImages(ctx, tc.f)
				dbtest.Must(t, err)
				var want []string
				for _, n := range tc.want {
					want = append(want, uuid(n))
				}
				dbtest.Same(t, ids(got), want)
			})
		}
		t.Run("full records", func(t *testing.T) {
			got, err := s.ListImages(ctx, image.ImageFilter{AllProjects: true, IDs: []string{uuid(1), uuid(3)}})
			dbtest.Must(t, err)
			for _, img := range got {
				one, err := s.GetImage(ctx, img.ID)
				dbtest.Must(t, err)
				dbtest.Same(t, img, one)
			}
		})
		t.Run("bad input", func(t *testing.T) {
			_, err := s.ListImages(ctx, image.ImageFilter{Sort: []image.SortKey{{Key: "checksum"}}})
			dbtest.WantErr(t, err, image.ErrValidation)
			_, err = s.ListImages(ctx, image.ImageFilter{Created: []image.TimeFilter{{Op: "ge", At: base}}})
			dbtest.WantErr(t, err, image.ErrValidation)
			_, err = s.ListImages(ctx, image.ImageFilter{Updated: []image.TimeFilter{{Op: "gt"}}})
			dbtest.WantErr(t, err, image.ErrValidation)
		})
		t.Run("marker", func(t *testing.T) {
			_, err := s.ListImages(ctx, image.ImageFilter{AllProjects: true, Marker: "missing"})
			dbtest.WantErr(t, err, image.ErrNotFound)
			// p9 may not see the private image 1, so it is no marker for p9.
			_, err = s.ListImages(ctx, image.ImageFilter{Project: "p9", Marker: uuid(1)})
			dbtest.WantErr(t, err, image.ErrNotFound)
			got, err := s.ListImages(ctx, image.ImageFilter{Project: "p9", Marker: uuid(2)})
			dbtest.Must(t, err)
			dbtest.Same(t, ids(got), []string{uuid(5)})
		})
	})
}

func TestListSortPages(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *imagesql.Store, _ *db.DB) {
		ctx := context.Background()
		fixtures := listFixtures(t, s)
		var live []image.Image
		for _, img := range fixtures {
			if img.Status != image.Deleted {
				live = append(live, img)
			}
		}
		sorts := [][]image.SortKey{
			nil,
			{{Key: "created_at", Desc: true}},
			{{Key: "size"}},
			{{Key: "size", Desc: true}},
			{{Key: "size", Desc: true}, {Key: "name"}},
			{{Key: "size"}, {Key: "name", Desc: true}},
			{{Key: "name"}},
			{{Key: "name", Desc: true}, {Key: "id", Desc: true}},
			{{Key: "disk_format"}, {Key: "min_ram", Desc: true}, {Key: "updated_at"}},
			{{Key: "protected", Desc: true}, {Key: "virtual_size"}},
			{{Key: "os_hidden"}, {Key: "visibility", Desc: true}, {Key: "owner"}},
			{{Key: "status"}, {Key: "container_format"}, {Key: "min_disk", Desc: true}},
		}
		for _, keys := range sorts {
			want := slices.Clone(live)
			slices.SortStableFunc(want, func(a, b image.Image) int { return compareImages(a, b, keys) })
			for _, limit := range []int{1, 2, 3, 100} {
				t.Run(fmt.Sprintf("%v/limit %d", keys, limit), func(t *testing.T) {
					var got []image.Image
					marker := ""
					for page := 0; page <= len(live); page++ {
						imgs, err := s.ListImages(ctx, image.ImageFilter{AllProjects: true, Sort: keys,
							Marker: marker, Limit: limit})
						dbtest.Must(t, err)
						if len(imgs) > limit {
							t.Fatalf("page of %d images, limit %d", len(imgs), limit)
						}
						got = append(got, imgs...)
						if len(imgs) < limit {
							break
						}
						marker = imgs[len(imgs)-1].ID
					}
					dbtest.Same(t, ids(got), ids(want))
				})
			}
		}
	})
}

// compareImages orders images by keys then id, as the store promises: text in
// byte order, false before true, an unknown size before every known one.
func compareImages(a, b image.Image, keys []image.SortKey) int {
	size := func(p *int64) int64 {
		if p == nil {
			return -1
		}
		return *p
	}
	bit := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	for _, k := range append(slices.Clone(keys), image.SortKey{Key: "id"}) {
		var c int
		switch k.Key {
		case "name":
			c = cmp.Compare(a.Name, b.Name)
		case "status":
			c = cmp.Compare(a.Status, b.Status)
		case "container_format":
			c = cmp.Compare(a.ContainerFormat, b.ContainerFormat)
		case "disk_format":
			c = cmp.Compare(a.DiskFormat, b.DiskFormat)
		case "size":
			c = cmp.Compare(size(a.Size), size(b.Size))
		case "virtual_size":
			c = cmp.Compare(size(a.VirtualSize), size(b.VirtualSize))
		case "id":
			c = cmp.Compare(a.ID, b.ID)
		case "created_at":
			c = a.CreatedAt.Compare(b.CreatedAt)
		case "updated_at":
			c = a.UpdatedAt.Compare(b.UpdatedAt)
		case "visibility":
			c = cmp.Compare(a.Visibility, b.Visibility)
		case "owner":
			c = cmp.Compare(a.Owner, b.Owner)
		case "min_disk":
			c = cmp.Compare(a.MinDisk, b.MinDisk)
		case "min_ram":
			c = cmp.Compare(a.MinRAM, b.MinRAM)
		case "protected":
			c = cmp.Compare(bit(a.Protected), bit(b.Protected))
		case "os_hidden":
			c = cmp.Compare(bit(a.Hidden), bit(b.Hidden))
		default:
			panic("unknown sort key " + k.Key)
		}
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
