package virt_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// TestMigrateDataCrossesAsJSON: migrate data embedded in a message comes
// out as the document the destination wrote, and what a driver cannot read
// is ErrInvalidSpec.
func TestMigrateDataCrossesAsJSON(t *testing.T) {
	t.Parallel()
	type incoming struct {
		Addr  string   `json:"addr"`
		Disks []string `json:"disks"`
	}
	data, err := virt.NewMigrateData(incoming{Addr: "192.0.2.1:4444", Disks: []string{"vda"}})
	if err != nil {
		t.Fatal(err)
	}
	type message struct {
		Data virt.MigrateData `json:"migrate_data"`
	}
	wire, err := json.Marshal(message{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"migrate_data":{"addr":"192.0.2.1:4444","disks":["vda"]}}`; string(wire) != want {
		t.Errorf("on the wire %s, want %s", wire, want)
	}
	var got message
	if err := json.Unmarshal(wire, &got); err != nil {
		t.Fatal(err)
	}
	var in incoming
	if err := got.Data.Decode(&in); err != nil || in.Addr != "192.0.2.1:4444" || len(in.Disks) != 1 {
		t.Errorf("decoded %+v, %v", in, err)
	}
	for name, bad := range map[string]virt.MigrateData{"none": nil, "blank": virt.MigrateData(" "),
		"not an object": virt.MigrateData(`["x"]`), "no json": virt.MigrateData(`{`)} {
		if err := bad.Decode(&in); !errors.Is(err, virt.ErrInvalidSpec) {
			t.Errorf("%s: %v, want ErrInvalidSpec", name, err)
		}
	}
	if b, err := json.Marshal(message{}); err != nil || string(b) != `{"migrate_data":null}` {
		t.Errorf("empty migrate data on the wire: %s, %v", b, err)
	}
}
