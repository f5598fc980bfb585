package auth

import "testing"

func TestPermits(t *testing.T) {
	t.Parallel()
	c := &Caller{AccessRules: []AccessRule{
		{Service: "compute", Path: "/v2.1/servers/*/ips", Method: "GET"},
		{Service: "image", Path: "/v2/images/**", Method: "GET"},
	}}
	cases := []struct {
		service, method, path string
		want                  bool
	}{
		{"compute", "GET", "/v2.1/servers/abc/ips", true},
		{"compute", "get", "/v2.1/servers/abc/ips/", true},
		{"compute", "POST", "/v2.1/servers/abc/ips", false},
		{"compute", "GET", "/v2.1/servers/abc", false},
		{"compute", "GET", "/v2.1/servers/abc/ips/extra", false},
		{"image", "GET", "/v2/images", true},
		{"image", "GET", "/v2/images/a/file", true},
		{"identity", "GET", "/v2/images/a", false},
	}
	for _, tc := range cases {
		if got := c.Permits(tc.service, tc.method, tc.path); got != tc.want {
			t.Errorf("Permits(%s %s %s) = %v, want %v", tc.service, tc.method, tc.path, got, tc.want)
		}
	}
	if !(&Caller{}).Permits("identity", "DELETE", "/v3/users/x") {
		t.Error("a caller without access rules is limited")
	}
}
