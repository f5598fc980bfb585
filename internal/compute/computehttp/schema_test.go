package computehttp

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPyRepr(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		`"it's"`:                      `"it's"`,
		`"a\\b\n"`:                    `'a\\b\n'`,
		`{"b": [1, true], "a": null}`: `{'a': None, 'b': [1, True]}`,
		`2.50`:                        `2.50`,
		`false`:                       `False`,
	}
	for in, want := range cases {
		if got := pyRepr(decode(t, in)); got != want {
			t.Errorf("pyRepr(%s) = %s, want %s", in, got, want)
		}
	}
	if pyStr("plain") != "plain" {
		t.Error("pyStr quotes strings")
	}
}

func TestPyFloatString(t *testing.T) {
	t.Parallel()
	for f, want := range map[float64]string{1: "1.0", 1.5: "1.5", 1e3: "1000.0", 1e20: "1e+20", 1.5e-5: "1.5e-05",
		0: "0.0", 3.40282e+38: "3.40282e+38"} {
		if got := pyFloatString(f); got != want {
			t.Errorf("pyFloatString(%g) = %s, want %s", f, got, want)
		}
	}
	if got := pyNumberString(json.Number("1e3")); got != "1000.0" {
		t.Errorf("str(1e3) = %s", got)
	}
	if got := pyNumberString(json.Number("12")); got != "12" {
		t.Errorf("str(12) = %s", got)
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{"web server": true, "": true, " lead": false, "trail ": false,
		"tab\tinside": false, "ünïcödé": true, "emoji 🙂": false, "nbsp\u00a0end\u00a0": false} {
		if got := validName(s); got != want {
			t.Errorf("validName(%q) = %v", s, got)
		}
	}
	for s, want := range map[string]bool{" padded ": true, "   ": false, "a": true} {
		if got := validNameWithSpaces(s); got != want {
			t.Errorf("validNameWithSpaces(%q) = %v", s, got)
		}
	}
	if validDescription("line\nbreak") || !validDescription("spaces and ünïcödé") {
		t.Error("description check")
	}
	if !validFlavorID("m1.small_2") || validFlavorID(" x") || validFlavorID("a/b") {
		t.Error("flavor id check")
	}
}

func TestSchemaOrderAndMessages(t *testing.T) {
	t.Parallel()
	// Properties are checked in nova's order, then required, then unknown
	// keys: a bad ram is named before a missing disk or an unknown key.
	err := validateBody(flavorCreateV21, decode(t, `{"flavor": {"name": "x", "ram": 0, "vcpus": 1, "zzz": 1}}`))
	if err == nil || err.Message != "Invalid input for field/attribute ram. Value: 0. 0 is less than the minimum of 1" {
		t.Fatalf("got %v", err)
	}
	err = validateBody(flavorCreateV21, decode(t, `{"flavor": {"name": "x", "ram": 1, "vcpus": 1, "zzz": 1, "yyy": 2}}`))
	if err == nil || !strings.HasSuffix(err.Message, "'disk' is a required property") {
		t.Fatalf("got %v", err)
	}
	err = validateBody(flavorCreateV21, decode(t, `{"flavor": {"name": "x", "ram": 1, "vcpus": 1, "disk": 0, "zzz": 1, "yyy": 2}}`))
	if err == nil || !strings.HasSuffix(err.Message, "Additional properties are not allowed ('yyy', 'zzz' were unexpected)") {
		t.Fatalf("got %v", err)
	}
	if err := validateBody(flavorCreateV21, decode(t, `{"flavor": {"name": "x", "ram": "1", "vcpus": 2.0, "disk": "0"}}`)); err != nil {
		t.Fatalf("valid body refused: %v", err)
	}
	if err := validateQuery(flavorQuery, url.Values{"limit": {"5", "x"}}); err == nil ||
		err.Message != "Invalid input for query parameters limit. Value: x. 'x' does not match '^[0-9]*$'" {
		t.Fatalf("every value of a parameter is checked: %v", err)
	}
}
