package placementhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestSchemaMessages(t *testing.T) {
	t.Parallel()
	inv := inventorySchema
	cases := []struct {
		name, doc string
		s         schema
		want      string // "" for valid
	}{
		{"valid inventory", `{"total": 8, "resource_provider_generation": 0, "allocation_ratio": 1.5}`, inv, ""},
		{"missing", `{"total": 8}`, inv, "'resource_provider_generation' is a required property\n\nFailed validating 'required'"},
		{"minimum", `{"total": 0, "resource_provider_generation": 0}`, inv,
			"0 is less than the minimum of 1\n\nFailed validating 'minimum' in schema['properties']['total']"},
		{"maximum", `{"total": 2147483648, "resource_provider_generation": 0}`, inv, "Failed validating 'maximum'"},
		{"float is no integer", `{"total": 1.0, "resource_provider_generation": 0}`, inv, "1.0 is not of type 'integer'"},
		{"extra", `{"total": 1, "resource_provider_generation": 0, "foo": 1}`, inv,
			"Additional properties are not allowed ('foo' was unexpected)"},
		{"name too long", `{"name": "` + strings.Repeat("x", 201) + `"}`, createProviderSchema(mv(20)), "is too long"},
		{"bad uuid", `{"name": "a", "uuid": "nope"}`, createProviderSchema(mv(20)), "'nope' is not a 'uuid'"},
		{"dashless uuid", `{"name": "a", "uuid": "3a35d6a39c1e4aa6b3bc1a6d4d3a1c8f"}`, createProviderSchema(mv(20)), ""},
		{"null parent", `{"name": "a", "parent_provider_uuid": null}`, createProviderSchema(mv(14)), ""},
		{"parent before 1.14", `{"name": "a", "parent_provider_uuid": null}`, createProviderSchema(mv(13)), "'parent_provider_uuid' was unexpected"},
		{"class pattern", `{"name": "CUSTOM_lower"}`, classSchema, "does not match '^CUSTOM_[A-Z0-9_]+$'"},
		{"not a provider key", `{"allocations": {"nope": {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u"}`,
			consumerSchema(mv(12), false), "'nope' does not match any of the regexes: '^[0-9a-fA-F-]{36}$'"},
		{"empty allocations 1.12", `{"allocations": {}, "project_id": "p", "user_id": "u"}`, consumerSchema(mv(12), false),
			"{} does not have enough properties"},
		{"empty allocations 1.28", `{"allocations": {}, "project_id": "p", "user_id": "u", "consumer_generation": null}`,
			consumerSchema(mv(28), false), ""},
		{"consumer type 1.38", `{"allocations": {}, "project_id": "p", "user_id": "u", "consumer_generation": 1}`,
			consumerSchema(mv(38), false), "'consumer_type' is a required property"},
		{"duplicate aggregates", `["3a35d6a3-9c1e-4aa6-b3bc-1a6d4d3a1c8f", "3a35d6a3-9c1e-4aa6-b3bc-1a6d4d3a1c8f"]`, aggregateList,
			"has non-unique elements"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := tc.s.check(decode(t, tc.doc))
			switch {
			case tc.want == "" && e != nil:
				t.Errorf("valid document refused: %s", e)
			case tc.want != "" && e == nil:
				t.Errorf("invalid document accepted, want %q", tc.want)
			case tc.want != "" && !strings.Contains(e.String(), tc.want):
				t.Errorf("message %q does not contain %q", e.String(), tc.want)
			}
		})
	}
}

func TestParseTraits(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		values    []string
		v         api.Version
		required  [][]string
		forbidden []string
		err       string
	}{
		{"plain", []string{"A,B"}, mv(39), [][]string{{"A"}, {"B"}}, nil, ""},
		{"forbidden", []string{"A,!B"}, mv(22), [][]string{{"A"}}, []string{"B"}, ""},
		{"forbidden before 1.22", []string{"!B"}, mv(21), nil, nil, "HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: !B"},
		{"any of", []string{"in:A,B", "C"}, mv(39), [][]string{{"A", "B"}, {"C"}}, nil, ""},
		{"repeat before 1.39 keeps the last", []string{"A", "C"}, mv(38), [][]string{{"C"}}, nil, ""},
		{"any of before 1.39", []string{"in:A,B"}, mv(38), nil, nil, "only supported since microversion 1.39"},
		{"forbidden in any of", []string{"in:A,!B"}, mv(39), nil, nil, "does not support forbidden traits"},
		{"empty", []string{"A,,B"}, mv(39), nil, nil, "Got an empty trait"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tq, err := parseTraits(tc.values, tc.v)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(tq.required, tc.required) || !reflect.DeepEqual(tq.forbidden, tc.forbidden) {
				t.Errorf("got %+v err %v, want required %v forbidden %v", tq, err, tc.required, tc.forbidden)
			}
		})
	}
}

func TestParseMemberOf(t *testing.T) {
	t.Parallel()
	a, b := "3a35d6a3-9c1e-4aa6-b3bc-1a6d4d3a1c8f", "4a35d6a3-9c1e-4aa6-b3bc-1a6d4d3a1c8f"
	aq, err := parseMemberOf("member_of", []string{"in:" + a + "," + b, "!" + a}, mv(32))
	if err != nil || len(aq.memberOf) != 1 || len(aq.memberOf[0]) != 2 || len(aq.forbidden) != 1 {
		t.Errorf("member_of in: and !: %+v %v", aq, err)
	}
	for name, tc := range map[string]struct {
		values []string
		v      api.Version
		err    string
	}{
		"two bare uuids":          {[]string{a + "," + b}, mv(39), "must be prefixed with the 'in:'"},
		"repeated before 1.24":    {[]string{a, b}, mv(23), "Multiple member_of parameters are not supported"},
		"forbidden before 1.32":   {[]string{"!" + a}, mv(31), "Forbidden member_of parameters are not supported"},
		"not a uuid":              {[]string{"in:" + a + ",x"}, mv(39), "Got: x"},
		"forbidden list 1.32 ok!": {[]string{"!in:" + a + "," + b}, mv(32), ""},
	} {
		_, err := parseMemberOf("member_of", tc.values, tc.v)
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: err %v, want %q", name, err, tc.err)
		}
	}
}

func TestParseResources(t *testing.T) {
	t.Parallel()
	got, err := parseResources("VCPU:2,MEMORY_MB:1024")
	if err != nil || got["VCPU"] != 2 || got["MEMORY_MB"] != 1024 {
		t.Errorf("got %v %v", got, err)
	}
	for in, want := range map[string]string{
		"":         "Got: empty string",
		"VCPU":     "Got: VCPU.",
		"VCPU:x":   "expected positive integer amount",
		"VCPU:0":   "requires amount >= 1",
		"VCPU:1:2": "Got: VCPU:1:2.",
	} {
		if _, err := parseResources(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseResources(%q): %v, want %q", in, err, want)
		}
	}
}

const uuidA = "3a35d6a3-9c1e-4aa6-b3bc-1a6d4d3a1c8f"

func TestCandidateRequestParsing(t *testing.T) {
	t.Parallel()
	q, _ := url.ParseQuery("resources=VCPU:1&resources_NET=SRIOV_NET_VF:1&required_NET=CUSTOM_PHYSNET1&group_policy=isolate" +
		"&limit=5&root_required=COMPUTE_X,!COMPUTE_Y&same_subtree=_NET,_NUMA&required_NUMA=HW_NUMA_ROOT")
	req, err := parseCandidateRequest(q, mv(39))
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Groups) != 3 || req.Groups[0].Suffix != "" || req.Groups[1].Suffix != "_NET" || req.Limit != 5 ||
		!reflect.DeepEqual(req.RootRequired, []string{"COMPUTE_X"}) || !reflect.DeepEqual(req.RootForbidden, []string{"COMPUTE_Y"}) ||
		!reflect.DeepEqual(req.SameSubtrees, [][]string{{"_NET", "_NUMA"}}) || !req.NestedAware {
		t.Errorf("parsed %+v", req)
	}
	for query, want := range map[string]struct {
		v    api.Version
		code string
		msg  string
	}{
		"required=A":                                     {mv(35), "", "orphaned traits keys: required"},
		"resources=VCPU:1&member_of2=" + uuidA:           {mv(35), "", "orphaned member_of keys: member_of2"},
		"resources=VCPU:1&required1=A":                   {mv(35), "", "orphaned traits keys: required1"},
		"required=A&":                                    {mv(36), placement.CodeQueryMissingValue, "at least one resources"},
		"resources=VCPU:1&required_X=A":                  {mv(36), placement.CodeQueryBadValue, "bad group(s) - ['_X']"},
		"resources=VCPU:1&same_subtree=_Y":               {mv(36), placement.CodeQueryBadValue, "['_Y'] not found"},
		"resources=VCPU:1&same_subtree=,_Y":              {mv(36), placement.CodeQueryBadValue, "Empty string"},
		"resources=VCPU:1&required=A,!A":                 {mv(22), "", "required: (A)"},
		"resources=VCPU:1&root_required=A,!A":            {mv(35), placement.CodeQueryBadValue, "root_required: A"},
		"resources=VCPU:1&root_required=in:A,B":          {mv(39), "", "only supported since microversion 1.39"},
		"resources=VCPU:1&resources1=VCPU:1&in_tree1=xx": {mv(39), "", "'in_tree' parameter to be a format of uuid"},
	} {
		q, _ := url.ParseQuery(query)
		_, err := parseCandidateRequest(q, want.v)
		var pe *placement.Error
		var ae *api.Error
		switch {
		case err == nil:
			t.Errorf("%s at %s: no error, want %q", query, want.v, want.msg)
		case errors.As(err, &pe):
			if pe.Code != want.code || !strings.Contains(pe.Message, want.msg) {
				t.Errorf("%s: %q code %q, want %q %q", query, pe.Message, pe.Code, want.msg, want.code)
			}
		case errors.As(err, &ae):
			if want.code != "" || !strings.Contains(ae.Message, want.msg) {
				t.Errorf("%s: %q, want %q code %q", query, ae.Message, want.msg, want.code)
			}
		default:
			t.Errorf("%s: unexpected error type %T", query, err)
		}
	}
}

func TestCandidateQuerySchema(t *testing.T) {
	t.Parallel()
	for query, want := range map[string]struct {
		v   api.Version
		err string
	}{
		"resources=VCPU:1&limit=0":             {mv(16), "does not match '^[1-9][0-9]*$'"},
		"resources=VCPU:1&limit=2":             {mv(15), "'limit' was unexpected"},
		"resources1=VCPU:1":                    {mv(24), "'resources1' was unexpected"},
		"resources_X=VCPU:1&group_policy=none": {mv(32), "'resources_X' does not match any of the regexes"},
		"resources_X=VCPU:1&group_policy=all":  {mv(33), "'all' is not one of ['none', 'isolate']"},
		"group_policy=none&resources_X=VCPU:1": {mv(33), ""},
	} {
		q, _ := url.ParseQuery(query)
		err := candidateQuery(want.v).validate(q)
		if (want.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want.err)) {
			t.Errorf("%s at %s: %v, want %q", query, want.v, err, want.err)
		}
	}
}

func TestCandidatesJSONShapes(t *testing.T) {
	t.Parallel()
	res := placement.CandidateResult{
		Requests: []placement.AllocationRequest{{Resources: []placement.RequestResource{
			{ProviderUUID: "a", ResourceClass: "VCPU", Amount: 1}, {ProviderUUID: "a", ResourceClass: "MEMORY_MB", Amount: 64},
			{ProviderUUID: "s", ResourceClass: "DISK_GB", Amount: 10}}, Mappings: map[string][]string{"": {"a", "s"}}}},
		Summaries: []placement.ProviderSummary{{UUID: "a", RootUUID: "a", Traits: []string{"T"},
			Resources: []placement.SummaryResource{{ResourceClass: "VCPU", Capacity: 8}, {ResourceClass: "PCPU", Capacity: 2}}}},
	}
	req := placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: map[string]int64{"VCPU": 1}}}}
	var old struct {
		Requests []struct {
			Allocations []struct {
				RP struct {
					UUID string `json:"uuid"`
				} `json:"resource_provider"`
				Resources map[string]int `json:"resources"`
			} `json:"allocations"`
		} `json:"allocation_requests"`
		Summaries map[string]map[string]any `json:"provider_summaries"`
	}
	if err := json.Unmarshal(appendCandidates(nil, res, req, mv(10)), &old); err != nil {
		t.Fatal(err)
	}
	if len(old.Requests[0].Allocations) != 2 || old.Requests[0].Allocations[0].Resources["MEMORY_MB"] != 64 {
		t.Errorf("1.10 requests: %+v", old.Requests)
	}
	if s := old.Summaries["a"]; len(s["resources"].(map[string]any)) != 1 || s["traits"] != nil {
		t.Errorf("1.10 summary lists only requested classes and no traits: %v", s)
	}
	req.WithTraits, req.NestedAware = true, true
	var cur struct {
		Requests []struct {
			Allocations map[string]struct {
				Resources map[string]int `json:"resources"`
			} `json:"allocations"`
			Mappings map[string][]string `json:"mappings"`
		} `json:"allocation_requests"`
		Summaries map[string]map[string]any `json:"provider_summaries"`
	}
	if err := json.Unmarshal(appendCandidates(nil, res, req, mv(39)), &cur); err != nil {
		t.Fatal(err)
	}
	if cur.Requests[0].Allocations["s"].Resources["DISK_GB"] != 10 || len(cur.Requests[0].Mappings[""]) != 2 {
		t.Errorf("1.39 request: %+v", cur.Requests[0])
	}
	if s := cur.Summaries["a"]; len(s["resources"].(map[string]any)) != 2 || s["parent_provider_uuid"] != nil ||
		s["root_provider_uuid"] != "a" || len(s["traits"].([]any)) != 1 {
		t.Errorf("1.39 summary: %v", s)
	}
}
