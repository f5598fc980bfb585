package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// Personas of the glance decision table: project p1's admin, member and
// reader, a member of project p2, an admin holding only the admin role, a
// service user and a system-scoped administrator.
var (
	imgAdmin = Credentials{UserID: "admin", ProjectID: "admin-project",
		Roles: []string{"admin", "member", "reader"}, IsAdminProject: true}
	imgMember   = Credentials{UserID: "mia", ProjectID: "p1", Roles: []string{"member", "reader"}}
	imgReader   = Credentials{UserID: "rex", ProjectID: "p1", Roles: []string{"reader"}}
	otherMember = Credentials{UserID: "olga", ProjectID: "p2", Roles: []string{"member", "reader"}}
	bareAdmin   = Credentials{UserID: "root", ProjectID: "p3", Roles: []string{"admin"}}
	imgService  = Credentials{UserID: "nova", ProjectID: "service", Roles: []string{"service"}}
	imgSysAdmin = Credentials{UserID: "op", System: "all", Roles: []string{"admin", "member", "reader"}}
)

// imageOf is the target glance builds for an existing image: owner under
// project_id and owner, and member_id the caller's project when it sees a
// shared image it does not own.
func imageOf(owner, visibility string, memberID any) Target {
	return Target{"project_id": owner, "owner": owner, "visibility": visibility,
		"member_id": memberID, "id": "i1", "image_id": "i1"}
}

// proposed is the target of add_image and get_images: no image yet.
func proposed(owner, visibility string) Target {
	return Target{"project_id": owner, "owner": owner, "visibility": visibility}
}

func TestImageDefaultsRegister(t *testing.T) {
	t.Parallel()
	defs := ImageDefaults()
	if _, err := New(defs, Options{EnforceScope: true}); err != nil {
		t.Fatalf("New(ImageDefaults()): %v", err)
	}
	names := make([]string, 0, len(defs))
	for _, d := range defs {
		names = append(names, d.Name)
		if d.Description == "" {
			t.Errorf("%s has no description", d.Name)
		}
		if strings.Contains(d.Name, ":") {
			t.Errorf("%s: glance rule names carry no prefix", d.Name)
		}
	}
	for _, want := range []string{"add_image", "get_image", "publicize_image", "download_image",
		"upload_image", "add_member", "modify_member", "deactivate", "copy_image",
		"tasks_api_access", "stores_info_detail", "get_metadef_namespace"} {
		if !slices.Contains(names, want) {
			t.Errorf("rule %s missing", want)
		}
	}
	defs[3].ScopeTypes = append(defs[3].ScopeTypes, "mutated")
	if again := ImageDefaults(); len(again[3].ScopeTypes) != 1 {
		t.Error("ImageDefaults shares slices between calls")
	}
}

func TestGlanceDecisions(t *testing.T) {
	t.Parallel()
	e, err := New(ImageDefaults(), Options{EnforceScope: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := slices.Concat(imageDecisions(), imageMemberDecisions(), glanceAdminDecisions())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := e.Enforce(tt.rule, tt.target, tt.creds)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Enforce(%s): %v, want allowed", tt.rule, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Enforce(%s): %v, want %v", tt.rule, err, tt.want)
			}
		})
	}
}

// imageDecisions covers creating, reading, changing and downloading images.
func imageDecisions() []decision {
	private := imageOf("p1", "private", nil)
	return []decision{
		{"member creates an image in own project", "add_image", proposed("p1", "private"), imgMember, nil},
		{"member cannot create for another owner", "add_image", proposed("p2", "private"), imgMember, ErrForbidden},
		{"admin creates for any owner", "add_image", proposed("p2", "private"), imgAdmin, nil},
		{"reader cannot create", "add_image", proposed("p1", "private"), imgReader, ErrForbidden},
		{"reader lists", "get_images", proposed("p1", "private"), imgReader, nil},
		{"owner member modifies own image", "modify_image", private, imgMember, nil},
		{"reader cannot modify", "modify_image", private, imgReader, ErrForbidden},
		{"member of another project cannot modify", "modify_image", private, otherMember, ErrForbidden},
		{"admin publicizes", "publicize_image", private, imgAdmin, nil},
		{"member cannot publicize", "publicize_image", private, imgMember, ErrForbidden},
		{"member communitizes own image", "communitize_image", private, imgMember, nil},
		{"reader gets own private image", "get_image", private, imgReader, nil},
		{"other project cannot get a private image", "get_image", private, otherMember, ErrForbidden},
		{"other project gets a public image", "get_image", imageOf("p1", "public", nil), otherMember, nil},
		{"other project gets a community image", "get_image", imageOf("p1", "community", nil), otherMember, nil},
		{"image member gets a shared image", "get_image", imageOf("p1", "shared", "p2"), otherMember, nil},
		{"reader cannot download", "download_image", private, imgReader, ErrForbidden},
		{"member downloads a public image", "download_image", imageOf("p9", "public", nil), otherMember, nil},
		{"other project cannot download a private image", "download_image", private, otherMember, ErrForbidden},
		{"owner member uploads", "upload_image", private, imgMember, nil},
		{"reader cannot upload", "upload_image", private, imgReader, ErrForbidden},
		{"member deletes own image", "delete_image", private, imgMember, nil},
		{"member cannot delete another's public image", "delete_image", imageOf("p9", "public", nil),
			imgMember, ErrForbidden},
		{"member deactivates own image", "deactivate", private, imgMember, nil},
		{"member cannot copy", "copy_image", private, imgMember, ErrForbidden},
		{"reader reads locations", "get_image_location", private, imgReader, nil},
		{"member cannot delete a location", "delete_image_location", private, imgMember, ErrForbidden},
		{"service adds a location", "add_image_location", private, imgService, nil},
		{"owner member adds a location", "add_image_location", private, imgMember, nil},
		{"member cannot list locations", "fetch_image_location", private, imgMember, ErrForbidden},
		{"service lists locations", "fetch_image_location", private, imgService, nil},
	}
}

// imageMemberDecisions covers sharing: the owner shares, the member accepts.
func imageMemberDecisions() []decision {
	owned := imageOf("p1", "shared", nil)     // as the owner sees it
	asMember := imageOf("p1", "shared", "p2") // as project p2, a member, sees it
	return []decision{
		{"owner member shares", "add_member", owned, imgMember, nil},
		{"owner reader cannot share", "add_member", owned, imgReader, ErrForbidden},
		{"image member cannot share further", "add_member", asMember, otherMember, ErrForbidden},
		{"owner reader lists members", "get_members", owned, imgReader, nil},
		{"image member lists members", "get_members", asMember, otherMember, nil},
		{"image member accepts", "modify_member", asMember, otherMember, nil},
		{"owner cannot accept for the member", "modify_member", owned, imgMember, ErrForbidden},
		{"owner removes a member", "delete_member", owned, imgMember, nil},
		{"image member cannot remove itself", "delete_member", asMember, otherMember, ErrForbidden},
	}
}

// glanceAdminDecisions covers admin-only APIs, precedence and scope.
func glanceAdminDecisions() []decision {
	return []decision{
		// "admin or role:reader and (...)": and binds tighter, so an admin
		// without the reader role still passes.
		{"bare admin lists members", "get_members", imageOf("p1", "shared", nil), bareAdmin, nil},
		{"member cannot use the tasks API", "tasks_api_access", Target{}, imgMember, ErrForbidden},
		{"admin uses the tasks API", "tasks_api_access", Target{}, imgAdmin, nil},
		{"member cannot see store details", "stores_info_detail", Target{}, imgMember, ErrForbidden},
		{"member cannot manage the cache", "cache_list", Target{}, imgMember, ErrForbidden},
		{"reader reads a public namespace", "get_metadef_namespace",
			Target{"project_id": "p9", "visibility": "public"}, imgReader, nil},
		{"member cannot create a namespace", "add_metadef_namespace", Target{"project_id": "p1"},
			imgMember, ErrForbidden},
		{"system token is refused", "get_images", proposed("", "private"), imgSysAdmin, ErrInvalidScope},
	}
}
