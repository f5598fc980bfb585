package image_test

import (
	"errors"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/image"
)

func TestNamespacePolicyAndVisibility(t *testing.T) {
	t.Parallel()
	s := newService(t, image.Config{})
	pub, err := s.CreateNamespace(admin, image.NamespaceDetail{Namespace: image.Namespace{Name: "pub",
		Visibility: image.Public, Protected: true,
		ResourceTypes: []image.ResourceTypeAssociation{{Name: "OS::Nova::Flavor"}}},
		Tags: []image.MetadefTag{{Name: "t"}}})
	if err != nil {
		t.Fatal(err)
	}
	if pub.Owner != "p-admin" || pub.ID == "" || pub.CreatedAt.IsZero() {
		t.Errorf("created %+v", pub)
	}
	if _, err := s.CreateNamespace(admin, image.NamespaceDetail{Namespace: image.Namespace{Name: "priv"}}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		err  error
		call func() error
	}{
		{"member cannot create", image.ErrForbidden, func() error {
			_, err := s.CreateNamespace(alice, image.NamespaceDetail{Namespace: image.Namespace{Name: "x"}})
			return err
		}},
		{"duplicate", image.ErrConflict, func() error {
			_, err := s.CreateNamespace(admin, image.NamespaceDetail{Namespace: image.Namespace{Name: "pub"}})
			return err
		}},
		{"bad visibility", image.ErrValidation, func() error {
			_, err := s.CreateNamespace(admin, image.NamespaceDetail{Namespace: image.Namespace{Name: "y",
				Visibility: "shared"}})
			return err
		}},
		{"reader sees public", nil, func() error { _, err := s.GetNamespace(alice, "pub"); return err }},
		{"others' private is hidden", image.ErrNotFound, func() error {
			_, err := s.GetNamespace(alice, "priv")
			return err
		}},
		{"member cannot add objects", image.ErrForbidden, func() error {
			_, err := s.CreateObject(alice, "pub", image.MetadefObject{Name: "o"})
			return err
		}},
		{"protected is kept", image.ErrForbidden, func() error { return s.DeleteNamespace(admin, "pub") }},
		{"property needs a type", image.ErrValidation, func() error {
			_, err := s.CreateProperty(admin, "pub", image.MetadefProperty{Name: "p",
				Schema: image.PropertySchema{Title: "P"}})
			return err
		}},
		{"duplicate tags in a request", image.ErrConflict, func() error {
			_, err := s.CreateMetadefTags(admin, "pub", []string{"a", "a"}, false)
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.err) && (tc.err != nil || err != nil) {
				t.Errorf("error = %v, want %v", err, tc.err)
			}
		})
	}

	list, err := s.ListNamespaces(alice, image.NamespaceFilter{})
	if err != nil || len(list) != 1 || list[0].Name != "pub" {
		t.Errorf("alice lists %+v, %v", list, err)
	}
	list, err = s.ListNamespaces(admin, image.NamespaceFilter{ResourceTypes: []string{"OS::Nova::Flavor"}})
	if err != nil || len(list) != 1 {
		t.Errorf("filtered by resource type: %+v, %v", list, err)
	}
	d, err := s.GetNamespace(admin, "pub")
	if err != nil || len(d.Tags) != 1 || len(d.ResourceTypes) != 1 {
		t.Errorf("detail %+v, %v", d, err)
	}

	// PUT semantics: unset visibility becomes private, unset protected false.
	ns, err := s.UpdateNamespace(admin, "pub", image.NamespaceUpdate{Name: "pub2"})
	if err != nil || ns.Visibility != image.Private || ns.Protected || ns.Owner != "p-admin" {
		t.Fatalf("update: %+v, %v", ns, err)
	}
	if err := s.DeleteNamespace(admin, "pub2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetNamespace(admin, "pub2"); !errors.Is(err, image.ErrNotFound) {
		t.Errorf("get deleted: %v", err)
	}
}

func TestMetadefTagsReplaceAndAppend(t *testing.T) {
	t.Parallel()
	s := newService(t, image.Config{})
	if _, err := s.CreateNamespace(admin, image.NamespaceDetail{Namespace: image.Namespace{Name: "ns"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateMetadefTags(admin, "ns", []string{"a", "b"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateMetadefTags(admin, "ns", []string{"c"}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateMetadefTags(admin, "ns", []string{"c"}, true); !errors.Is(err, image.ErrConflict) {
		t.Errorf("append existing: %v", err)
	}
	ts, err := s.ListMetadefTags(admin, "ns")
	if err != nil || len(ts) != 3 {
		t.Fatalf("after append: %+v, %v", ts, err)
	}
	if _, err := s.CreateMetadefTags(admin, "ns", []string{"z"}, false); err != nil {
		t.Fatal(err)
	}
	ts, _ = s.ListMetadefTags(admin, "ns")
	if len(ts) != 1 || ts[0].Name != "z" {
		t.Errorf("after replace: %+v", ts)
	}
	if _, err := s.UpdateMetadefTag(admin, "ns", "missing", "q"); !errors.Is(err, image.ErrNotFound) {
		t.Errorf("rename missing: %v", err)
	}
}
