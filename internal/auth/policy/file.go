package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"

	"gopkg.in/yaml.v3"
)

// readPolicyFile reads an oslo-format policy file: one mapping from rule name
// to check string, in JSON or YAML.
func readPolicyFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy file: %w", err)
	}
	checks, err := decodePolicy(data)
	if err != nil {
		return nil, fmt.Errorf("policy file %s: %w", path, err)
	}
	return checks, nil
}

// decodePolicy decodes JSON when the text is valid JSON and YAML otherwise,
// as oslo.policy tries one and then the other.
func decodePolicy(data []byte) (map[string]string, error) {
	var raw map[string]any
	if json.Valid(data) {
		dec := json.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("decode JSON: %w", err)
		}
	} else if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("decode YAML: %w", err)
	}
	checks := make(map[string]string, len(raw))
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		switch v := raw[name].(type) {
		case string:
			checks[name] = v
		case nil:
			return nil, fmt.Errorf("rule %q: no check string (write \"\" to allow everyone)", name)
		default:
			return nil, fmt.Errorf("rule %q: check must be a string, not %T", name, v)
		}
	}
	return checks, nil
}
