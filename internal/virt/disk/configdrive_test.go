package disk

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

func configSpec() *virt.InstanceSpec {
	return &virt.InstanceSpec{UUID: "7b0b1b0e-3b7e-4c55-9a8e-5d1f0c2b4a10", Name: "web-1", Hostname: "web-1", ProjectID: "proj",
		Metadata: map[string]string{"role": "web"}, KeyName: "mykey", KeyData: "ssh-ed25519 AAAAC3Nz test@host",
		UserData: []byte("#cloud-config\npackages: [nginx]\n"),
		Network:  []virt.VIF{{PortID: "3f1c2a9b-1e4d-4c1b-8d7e-6a5b4c3d2e1f", NetworkID: "net-a", MAC: "fa:16:3e:aa:bb:cc", MTU: 1450}}}
}

// links are configSpec's network cards.
var links = []Link{{ID: "net0", MAC: "fa:16:3e:aa:bb:cc"}}

func TestConfigDriveContent(t *testing.T) {
	t.Parallel()
	spec := configSpec()
	files, err := ConfigDriveFiles(spec, links)
	if err != nil {
		t.Fatal(err)
	}
	var md metaData
	if err := json.Unmarshal(files["openstack/latest/meta_data.json"], &md); err != nil {
		t.Fatal(err)
	}
	if md.UUID != spec.UUID || md.Hostname != "web-1" || md.Name != "web-1" || md.ProjectID != "proj" || md.Meta["role"] != "web" ||
		md.PublicKeys["mykey"] != spec.KeyData || len(md.Keys) != 1 || md.Keys[0].Type != "ssh" || len(md.RandomSeed) != 512 {
		t.Errorf("meta_data %+v", md)
	}
	var nd networkData
	if err := json.Unmarshal(files["openstack/latest/network_data.json"], &nd); err != nil {
		t.Fatal(err)
	}
	if len(nd.Links) != 1 || nd.Links[0].MAC != "fa:16:3e:aa:bb:cc" || nd.Links[0].VIFID != spec.Network[0].PortID ||
		nd.Links[0].MTU == nil || *nd.Links[0].MTU != 1450 || len(nd.Networks) != 1 || nd.Networks[0].Type != "ipv4_dhcp" ||
		nd.Networks[0].Link != nd.Links[0].ID || nd.Networks[0].NetworkID != "net-a" {
		t.Errorf("network_data %+v", nd)
	}
	if string(files["openstack/latest/user_data"]) != string(spec.UserData) || string(files["openstack/latest/vendor_data.json"]) != "{}" {
		t.Errorf("user_data %q vendor_data %q", files["openstack/latest/user_data"], files["openstack/latest/vendor_data.json"])
	}
	spec.UserData, spec.KeyData = nil, ""
	files, _ = ConfigDriveFiles(spec, links)
	if _, ok := files["openstack/latest/user_data"]; ok {
		t.Error("user_data written without user data")
	}
	if strings.Contains(string(files["openstack/latest/meta_data.json"]), "public_keys") {
		t.Error("public_keys written without a key")
	}
}

// tool skips a test when a tool it reads the drive with is missing.
func tool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed (apt-get install %s)", name, pkg)
	}
}

func TestConfigDriveISO9660(t *testing.T) {
	t.Parallel()
	tool(t, "genisoimage", "genisoimage")
	tool(t, "isoinfo", "genisoimage")
	spec := configSpec()
	files, err := ConfigDriveFiles(spec, links)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "disk.config")
	if err := BuildConfigDrive(t.Context(), path, "iso9660", files); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("isoinfo", "-d", "-i", path).Output()
	if err != nil || !strings.Contains(string(out), "Volume id: config-2") {
		t.Errorf("isoinfo -d: %v\n%s", err, out)
	}
	for name, want := range files {
		got, err := exec.Command("isoinfo", "-R", "-i", path, "-x", "/"+name).Output()
		if err != nil || string(got) != string(want) {
			t.Errorf("%s on the drive: %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestConfigDriveVFAT(t *testing.T) {
	t.Parallel()
	tool(t, "mkfs.vfat", "dosfstools")
	tool(t, "mtype", "mtools")
	spec := configSpec()
	files, err := ConfigDriveFiles(spec, links)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "disk.config")
	if err := BuildConfigDrive(t.Context(), path, "vfat", files); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("mlabel", "-s", "-i", path, "::")
	cmd.Env = append(cmd.Environ(), "MTOOLS_SKIP_CHECK=1")
	if out, err := cmd.Output(); err != nil || !strings.Contains(strings.ToLower(string(out)), "config-2") {
		t.Errorf("label: %v %q", err, out)
	}
	for name, want := range files {
		cmd := exec.Command("mtype", "-i", path, "::/"+name)
		cmd.Env = append(cmd.Environ(), "MTOOLS_SKIP_CHECK=1")
		got, err := cmd.Output()
		if err != nil || string(got) != string(want) {
			t.Errorf("%s on the drive: %q, %v", name, got, err)
		}
	}
	if err := BuildConfigDrive(t.Context(), path+"2", "udf", files); err == nil {
		t.Error("an unknown config drive format was accepted")
	}
}
