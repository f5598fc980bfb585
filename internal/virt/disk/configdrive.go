package disk

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// ConfigDriveLabel is the label cloud-init looks for.
const ConfigDriveLabel = "config-2"

// metaData is openstack/latest/meta_data.json as nova writes it.
type metaData struct {
	UUID             string            `json:"uuid"`
	Name             string            `json:"name"`
	Hostname         string            `json:"hostname"`
	LaunchIndex      int               `json:"launch_index"`
	AvailabilityZone *string           `json:"availability_zone"`
	ProjectID        string            `json:"project_id"`
	Meta             map[string]string `json:"meta"`
	PublicKeys       map[string]string `json:"public_keys,omitempty"`
	Keys             []metaKey         `json:"keys,omitempty"`
	Devices          []any             `json:"devices"`
	Files            []any             `json:"files"`
	RandomSeed       []byte            `json:"random_seed"`
}

type metaKey struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Data string `json:"data"`
}

// networkData is openstack/latest/network_data.json.
type networkData struct {
	Links    []netLink    `json:"links"`
	Networks []netNetwork `json:"networks"`
	Services []any        `json:"services"`
}

type netLink struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	MAC  string `json:"ethernet_mac_address"`
	MTU  *int   `json:"mtu"`
	// VIFID is the port.
	VIFID string `json:"vif_id,omitempty"`
}

type netNetwork struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Link      string `json:"link"`
	NetworkID string `json:"network_id,omitempty"`
}

// Link is one network card of the instance as the config drive's
// network_data.json names it: the i-th card is spec.Network's i-th port.
type Link struct {
	ID  string
	MAC string
}

// ConfigDriveFiles are the config drive's files by path.
func ConfigDriveFiles(spec *virt.InstanceSpec, nics []Link) (map[string][]byte, error) {
	host := spec.Hostname
	if host == "" {
		host = spec.Name
	}
	md := metaData{UUID: spec.UUID, Name: spec.Name, Hostname: host, ProjectID: spec.ProjectID,
		Meta: spec.Metadata, Devices: []any{}, Files: []any{}, RandomSeed: make([]byte, 512)}
	if md.Meta == nil {
		md.Meta = map[string]string{}
	}
	if _, err := rand.Read(md.RandomSeed); err != nil {
		return nil, err
	}
	if spec.KeyData != "" {
		md.PublicKeys = map[string]string{spec.KeyName: spec.KeyData}
		md.Keys = []metaKey{{Name: spec.KeyName, Type: "ssh", Data: spec.KeyData}}
	}
	nd := networkData{Links: []netLink{}, Networks: []netNetwork{}, Services: []any{}}
	for i, n := range nics {
		link := netLink{ID: "tap" + n.ID, Type: "ethernet", MAC: n.MAC}
		var netID string
		if i < len(spec.Network) {
			v := spec.Network[i]
			link.VIFID, netID = v.PortID, v.NetworkID
			if v.MTU > 0 {
				link.MTU = &v.MTU
			}
		}
		nd.Links = append(nd.Links, link)
		nd.Networks = append(nd.Networks, netNetwork{ID: fmt.Sprintf("network%d", i), Type: "ipv4_dhcp", Link: link.ID, NetworkID: netID})
	}
	files := map[string][]byte{}
	var err error
	if files["openstack/latest/meta_data.json"], err = json.Marshal(md); err != nil {
		return nil, err
	}
	if files["openstack/latest/network_data.json"], err = json.Marshal(nd); err != nil {
		return nil, err
	}
	files["openstack/latest/vendor_data.json"] = []byte("{}")
	files["openstack/latest/vendor_data2.json"] = []byte("{}")
	if len(spec.UserData) > 0 {
		files["openstack/latest/user_data"] = spec.UserData
	}
	return files, nil
}

// isoTools are the ISO 9660 makers tried in turn, with nova's arguments
// (Rock Ridge and Joliet, so names keep their case and length).
var isoTools = [][]string{
	{"genisoimage", "-ldots", "-allow-lowercase", "-allow-multidot", "-l", "-publisher", "Nimbus", "-quiet", "-J", "-r", "-V", ConfigDriveLabel, "-o"},
	{"mkisofs", "-ldots", "-allow-lowercase", "-allow-multidot", "-l", "-publisher", "Nimbus", "-quiet", "-J", "-r", "-V", ConfigDriveLabel, "-o"},
	{"xorrisofs", "-quiet", "-J", "-r", "-V", ConfigDriveLabel, "-o"},
}

// BuildConfigDrive writes the config drive to path in format (iso9660 or
// vfat).
func BuildConfigDrive(ctx context.Context, path, format string, files map[string][]byte) error {
	stage, err := os.MkdirTemp(filepath.Dir(path), ".configdrive-")
	if err != nil {
		return fmt.Errorf("config drive: %w", err)
	}
	defer os.RemoveAll(stage)
	for name, data := range files {
		p := filepath.Join(stage, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return fmt.Errorf("config drive: %w", err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return fmt.Errorf("config drive: %w", err)
		}
	}
	switch format {
	case "iso9660":
		for _, tool := range isoTools {
			if _, err := exec.LookPath(tool[0]); err != nil {
				continue
			}
			return run(ctx, tool[0], append(tool[1:], path, stage)...)
		}
		return fmt.Errorf("%w: a config drive needs genisoimage, mkisofs or xorrisofs (apt-get install genisoimage)", virt.ErrNotSupported)
	case "vfat":
		if _, err := exec.LookPath("mkfs.vfat"); err != nil {
			return fmt.Errorf("%w: a vfat config drive needs mkfs.vfat (dosfstools)", virt.ErrNotSupported)
		}
		if _, err := exec.LookPath("mcopy"); err != nil {
			return fmt.Errorf("%w: a vfat config drive needs mcopy (mtools)", virt.ErrNotSupported)
		}
		// 64 MiB, as nova's vfat config drive.
		if err := run(ctx, "mkfs.vfat", "-C", "-n", ConfigDriveLabel, path, "65536"); err != nil {
			return err
		}
		entries, err := os.ReadDir(stage)
		if err != nil {
			return fmt.Errorf("config drive: %w", err)
		}
		args := []string{"-s", "-i", path}
		for _, e := range entries {
			args = append(args, filepath.Join(stage, e.Name()))
		}
		return run(ctx, "mcopy", append(args, "::/")...)
	}
	return fmt.Errorf("%w: config drive format %q is not iso9660 or vfat", virt.ErrInvalidSpec, format)
}

func run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}
