package extraspecs

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, key, value string
		// wantMsg is nova's message; "" wants the spec accepted.
		wantMsg string
	}{
		{"enum ok", "hw:cpu_policy", "dedicated", ""},
		{"enum bad", "hw:cpu_policy", "pinned", "Validation failed; 'pinned' is not one of: dedicated, shared, mixed."},
		{"bool ok", "hw:boot_menu", "Yes", ""},
		{"bool bad", "hw:boot_menu", "maybe", "Validation failed; 'maybe' is not a valid boolean-like value."},
		{"int ok", "hw:numa_nodes", "2", ""},
		{"int not a number", "hw:numa_nodes", "two", "Validation failed; 'two' is not a valid integer value."},
		{"int below min", "hw:numa_nodes", "0", "Validation failed; '0' is less than the min value of '1'."},
		{"int above max", "hw:redirected_usb_ports", "16", "Validation failed; '16' is greater than the max value of '15'."},
		{"format ok", "hw:mem_page_size", "2MiB", ""},
		{"format bad", "hw:mem_page_size", "huge", "Validation failed; 'huge' is not of the format '(large|small|any|\\d+([kKMGT]i?)?(b|bit|B)?)'."},
		{"parameterised name", "hw:numa_cpus.0", "0-3,^2", ""},
		{"parameterised value bad", "hw:numa_mem.1", "x", "Validation failed; 'x' is not a valid integer value."},
		{"standard resource", "resources:VCPU", "2", ""},
		{"grouped custom resource", "resources1:CUSTOM_GPU", "1", ""},
		{"standard trait", "trait:HW_CPU_X86_AVX2", "required", ""},
		{"trait bad value", "trait:HW_CPU_X86_AVX2", "wanted", "Validation failed; 'wanted' is not one of: required, forbidden."},
		{"custom trait in group", "trait_gpu:CUSTOM_FAST", "forbidden", ""},
		{"unknown trait", "trait:NOT_A_TRAIT", "required",
			"Validation failed; extra spec 'trait:NOT_A_TRAIT' does not appear to be a valid extra spec."},
		{"unknown key in known namespace", "hw:cpu_polcy", "dedicated",
			"Validation failed; extra spec 'hw:cpu_polcy' does not appear to be a valid extra spec."},
		{"unknown namespace passes", "acme:fast", "anything", ""},
		{"no namespace passes", "speed", "fast", ""},
		{"aggregate spec", "aggregate_instance_extra_specs:ssd", "true", ""},
		{"capability with filter", "capabilities:cpu_info:features", "<in> aes", ""},
		{"null namespace", "group_policy", "pack", "Validation failed; 'pack' is not one of: isolate, none."},
		{"pci alias", "pci_passthrough:alias", "a1:2, b2:1", ""},
		{"pci alias bad", "pci_passthrough:alias", "a1", "Validation failed; 'a1' is not of the format '[^:]+:\\d+(?:\\s*,\\s*[^:]+:\\d+)*'."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Default.Validate(tc.key, tc.value)
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("Validate(%q, %q) = %v, want nil", tc.key, tc.value, err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Message != tc.wantMsg {
				t.Fatalf("Validate(%q, %q) = %v\nwant %s", tc.key, tc.value, err, tc.wantMsg)
			}
		})
	}
}

func TestParseBool(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{"1": true, "TRUE": true, "on": true, "y": true, "0": false, "No": false, "off": false} {
		if got, ok := ParseBool(in); !ok || got != want {
			t.Errorf("ParseBool(%q) = %v, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "2", "yess", "none"} {
		if _, ok := ParseBool(in); ok {
			t.Errorf("ParseBool(%q) accepted", in)
		}
	}
}

func BenchmarkValidateParameterised(b *testing.B) {
	for b.Loop() {
		_ = Default.Validate("trait_g1:CUSTOM_X", "required")
	}
}
