package imagesql_test

import (
	"context"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/db"
	"github.com/nimbus-cloud/nimbus/internal/db/dbtest"
	"github.com/nimbus-cloud/nimbus/internal/image"
	"github.com/nimbus-cloud/nimbus/internal/image/imagesql"
)

// newNamespace returns a public namespace fixture with one association.
func newNamespace(id, name string) image.Namespace {
	return image.Namespace{ID: id, Name: name, DisplayName: "Display " + name, Description: "about " + name,
		Visibility: image.Public, Owner: "p1", CreatedAt: base, UpdatedAt: base,
		ResourceTypes: []image.ResourceTypeAssociation{{Name: "OS::Glance::Image", Prefix: "hw_",
			CreatedAt: base, UpdatedAt: base}}}
}

func TestNamespaces(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *imagesql.Store, d *db.DB) {
		ctx := context.Background()
		rts, err := s.ListResourceTypes(ctx)
		dbtest.Must(t, err)
		if len(rts) < 5 || rts[0].Name != "OS::Cinder::Volume" || !rts[0].Protected {
			t.Fatalf("seeded resource types = %+v", rts)
		}

		ns := newNamespace(uuid(1), "OS::Compute::Example")
		one := 1.0
		detail := image.NamespaceDetail{Namespace: ns,
			Objects: []image.MetadefObject{{Name: "obj", Required: []string{"a"}, CreatedAt: base, UpdatedAt: base,
				Properties: map[string]image.PropertySchema{"a": {Title: "A", Type: "number", Minimum: &one}}}},
			Properties: []image.MetadefProperty{{Name: "p", Schema: image.PropertySchema{Title: "P", Type: "string",
				Enum: []any{"x", "y"}}}},
			Tags: []image.MetadefTag{{Name: "t1", CreatedAt: base, UpdatedAt: base}}}
		dbtest.Must(t, s.CreateNamespace(ctx, detail))
		dbtest.WantErr(t, s.CreateNamespace(ctx, image.NamespaceDetail{Namespace: newNamespace(uuid(2), ns.Name)}),
			image.ErrConflict)

		got, err := s.GetNamespace(ctx, ns.Name)
		dbtest.Must(t, err)
		dbtest.Same(t, got, ns)
		_, err = s.GetNamespace(ctx, "missing")
		dbtest.WantErr(t, err, image.ErrNotFound)
		objs, err := s.ListMetadefObjects(ctx, ns.ID)
		dbtest.Must(t, err)
		dbtest.Same(t, objs, detail.Objects)
		props, err := s.ListMetadefProperties(ctx, ns.ID)
		dbtest.Must(t, err)
		dbtest.Same(t, props, detail.Properties)
		tags, err := s.ListMetadefTags(ctx, ns.ID)
		dbtest.Must(t, err)
		dbtest.Same(t, tags, detail.Tags)

		// A rename keeps the contents; visibility and protection are written.
		ns.Name, ns.Visibility, ns.Protected, ns.UpdatedAt = "renamed", image.Private, true, base.Add(time.Hour)
		dbtest.Must(t, s.UpdateNamespace(ctx, ns))
		all, err := s.ListNamespaces(ctx)
		dbtest.Must(t, err)
		dbtest.Same(t, all, []image.Namespace{ns})
		dbtest.WantErr(t, s.UpdateNamespace(ctx, newNamespace(uuid(9), "x")), image.ErrNotFound)

		// An association with an unknown resource type creates the type.
		a := image.ResourceTypeAssociation{Name: "OS::Custom::Thing", PropertiesTarget: "image",
			CreatedAt: base, UpdatedAt: base}
		dbtest.Must(t, s.CreateAssociation(ctx, ns.ID, a))
		dbtest.WantErr(t, s.CreateAssociation(ctx, ns.ID, a), image.ErrConflict)
		dbtest.WantErr(t, s.CreateAssociation(ctx, uuid(9), ns.ResourceTypes[0]), image.ErrNotFound)
		got, err = s.GetNamespace(ctx, "renamed")
		dbtest.Must(t, err)
		dbtest.Same(t, got.ResourceTypes, []image.ResourceTypeAssociation{a, ns.ResourceTypes[0]})
		rts2, err := s.ListResourceTypes(ctx)
		dbtest.Must(t, err)
		if len(rts2) != len(rts)+1 {
			t.Errorf("resource types after association = %d, want %d", len(rts2), len(rts)+1)
		}
		dbtest.Must(t, s.DeleteAssociation(ctx, ns.ID, a.Name))
		dbtest.WantErr(t, s.DeleteAssociation(ctx, ns.ID, a.Name), image.ErrNotFound)

		dbtest.Must(t, s.DeleteNamespace(ctx, ns.ID))
		dbtest.WantErr(t, s.DeleteNamespace(ctx, ns.ID), image.ErrNotFound)
		for _, table := range []string{"metadef_namespace_resource_types", "metadef_objects", "metadef_properties",
			"metadef_tags", "metadef_namespaces"} {
			if n := count(t, d, "SELECT COUNT(*) FROM "+table); n != 0 {
				t.Errorf("%s has %d rows after delete", table, n)
			}
		}
	})
}

func TestMetadefItems(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *imagesql.Store, _ *db.DB) {
		ctx := context.Background()
		ns := newNamespace(uuid(1), "ns")
		dbtest.Must(t, s.CreateNamespace(ctx, image.NamespaceDetail{Namespace: ns}))
		later := base.Add(time.Minute)

		o := image.MetadefObject{Name: "o1", Description: "d", CreatedAt: base, UpdatedAt: base}
		dbtest.Must(t, s.CreateMetadefObject(ctx, ns.ID, o))
		dbtest.Must(t, s.CreateMetadefObject(ctx, ns.ID, image.MetadefObject{Name: "o2", CreatedAt: base, UpdatedAt: base}))
		dbtest.WantErr(t, s.CreateMetadefObject(ctx, ns.ID, o), image.ErrConflict)
		dbtest.WantErr(t, s.CreateMetadefObject(ctx, uuid(9), o), image.ErrNotFound)
		dbtest.WantErr(t, s.UpdateMetadefObject(ctx, ns.ID, "o1", image.MetadefObject{Name: "o2", CreatedAt: base,
			UpdatedAt: later}), image.ErrConflict)
		renamed := image.MetadefObject{Name: "o3", Required: []string{"x"}, CreatedAt: base, UpdatedAt: later}
		dbtest.Must(t, s.UpdateMetadefObject(ctx, ns.ID, "o1", renamed))
		dbtest.WantErr(t, s.UpdateMetadefObject(ctx, ns.ID, "o1", renamed), image.ErrNotFound)
		got, err := s.GetMetadefObject(ctx, ns.ID, "o3")
		dbtest.Must(t, err)
		dbtest.Same(t, got, renamed)
		dbtest.Must(t, s.DeleteMetadefObject(ctx, ns.ID, "o3"))
		dbtest.WantErr(t, s.DeleteMetadefObject(ctx, ns.ID, "o3"), image.ErrNotFound)
		_, err = s.GetMetadefObject(ctx, ns.ID, "o3")
		dbtest.WantErr(t, err, image.ErrNotFound)

		p := image.MetadefProperty{Name: "OS::Glance::Image", Schema: image.PropertySchema{Title: "t", Type: "string"}}
		dbtest.Must(t, s.CreateMetadefProperty(ctx, ns.ID, p))
		dbtest.WantErr(t, s.CreateMetadefProperty(ctx, ns.ID, p), image.ErrConflict)
		p.Schema.Title = "t2"
		dbtest.Must(t, s.UpdateMetadefProperty(ctx, ns.ID, p.Name, p))
		gotP, err := s.GetMetadefProperty(ctx, ns.ID, p.Name)
		dbtest.Must(t, err)
		dbtest.Same(t, gotP, p)
		dbtest.WantErr(t, s.UpdateMetadefProperty(ctx, ns.ID, "missing", p), image.ErrNotFound)
		dbtest.Must(t, s.DeleteMetadefProperty(ctx, ns.ID, p.Name))
		ps, err := s.ListMetadefProperties(ctx, ns.ID)
		dbtest.Must(t, err)
		dbtest.Same(t, ps, []image.MetadefProperty(nil))

		tag := func(n string) image.MetadefTag { return image.MetadefTag{Name: n, CreatedAt: base, UpdatedAt: base} }
		dbtest.Must(t, s.CreateMetadefTags(ctx, ns.ID, []image.MetadefTag{tag("a"), tag("b")}, false))
		dbtest.Must(t, s.CreateMetadefTags(ctx, ns.ID, []image.MetadefTag{tag("c"), tag("b")}, true))
		dbtest.WantErr(t, s.CreateMetadefTags(ctx, ns.ID, []image.MetadefTag{tag("c")}, false), image.ErrConflict)
		dbtest.WantErr(t, s.CreateMetadefTags(ctx, uuid(9), []image.MetadefTag{tag("c")}, false), image.ErrNotFound)
		ts, err := s.ListMetadefTags(ctx, ns.ID)
		dbtest.Must(t, err)
		dbtest.Same(t, ts, []image.MetadefTag{tag("b"), tag("c")})
		dbtest.WantErr(t, s.UpdateMetadefTag(ctx, ns.ID, "b", image.MetadefTag{Name: "c", UpdatedAt: later}), image.ErrConflict)
		dbtest.Must(t, s.UpdateMetadefTag(ctx, ns.ID, "b", image.MetadefTag{Name: "d", UpdatedAt: later}))
		gotT, err := s.GetMetadefTag(ctx, ns.ID, "d")
		dbtest.Must(t, err)
		dbtest.Same(t, gotT, image.MetadefTag{Name: "d", CreatedAt: base, UpdatedAt: later})
		dbtest.Must(t, s.DeleteMetadefTag(ctx, ns.ID, "d"))
		dbtest.WantErr(t, s.DeleteMetadefTag(ctx, ns.ID, "d"), image.ErrNotFound)
		dbtest.Must(t, s.DeleteMetadefTags(ctx, ns.ID))
		ts, err = s.ListMetadefTags(ctx, ns.ID)
		dbtest.Must(t, err)
		dbtest.Same(t, ts, []image.MetadefTag(nil))
	})
}
