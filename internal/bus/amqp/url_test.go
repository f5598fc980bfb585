package amqp

import (
	"strings"
	"testing"
)

func TestParseTransportURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []Broker
		err  string
	}{
		{"rabbit://openstack:secret@controller:5672/", []Broker{{"controller", 5672, "openstack", "secret", "/"}}, ""},
		{"rabbit://controller", []Broker{{"controller", 5672, "guest", "guest", "/"}}, ""},
		{"amqp://u:p@10.0.0.1:5673/nova", []Broker{{"10.0.0.1", 5673, "u", "p", "nova"}}, ""},
		{"rabbit://u:p@h1:5672,v:q@h2:5673,h3/", []Broker{
			{"h1", 5672, "u", "p", "/"}, {"h2", 5673, "v", "q", "/"}, {"h3", 5672, "v", "q", "/"}}, ""},
		{"rabbit://u:p%40ss%2Fw@h//", []Broker{{"h", 5672, "u", "p@ss/w", "/"}}, ""},
		{"rabbit://u:p@[::1]:5672/%2Fvh", []Broker{{"::1", 5672, "u", "p", "/vh"}}, ""},
		{"rabbit://u:p@[fe80::1]/", []Broker{{"fe80::1", 5672, "u", "p", "/"}}, ""},
		{"kafka://h/", nil, `scheme "kafka"`},
		{"controller:5672", nil, "no scheme"},
		{"rabbit://u:secret@h:99999/", nil, "not a port"},
		{"rabbit://u:secret@h1,,h2/", nil, "empty host"},
		{"rabbit://u:secret@h/?ssl=1", nil, "not supported"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTransportURL(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want an error saying %q", got, err, tc.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("broker %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	m := &connManager{o: Options{RetryInterval: 1e9, RetryBackoff: 2e9, RetryMax: 6e9}}
	want := []int64{1e9, 3e9, 5e9, 6e9, 6e9}
	for n, w := range want {
		if got := m.backoff(n); int64(got) != w {
			t.Errorf("backoff(%d) = %v, want %v", n, got, w)
		}
	}
}
