package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/rpc"
)

func TestParseVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want rpc.Version
		ok   bool
	}{
		{"1.0", rpc.V(1, 0), true},
		{"5.12", rpc.V(5, 12), true},
		{"0.0", rpc.V(0, 0), true},
		{"1", rpc.Version{}, false},
		{"1.2.3", rpc.Version{}, false},
		{"-1.0", rpc.Version{}, false},
		{"+1.0", rpc.Version{}, false},
		{"1.x", rpc.Version{}, false},
		{" 1.0", rpc.Version{}, false},
		{"", rpc.Version{}, false},
		{"1234567890.0", rpc.Version{}, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := rpc.ParseVersion(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("ParseVersion(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestVersionServes(t *testing.T) {
	t.Parallel()
	server := rpc.V(1, 4)
	for _, tc := range []struct {
		req  rpc.Version
		ok   bool
		says []string
	}{
		{rpc.V(1, 0), true, nil},
		{rpc.V(1, 4), true, nil},
		{rpc.V(1, 5), false, []string{"1.5", "1.4", "newer"}},
		{rpc.V(2, 0), false, []string{"2.0", "1.4", "major"}},
		{rpc.V(0, 9), false, []string{"0.9", "1.4", "major"}},
	} {
		err := server.CheckServes(tc.req, "compute.build")
		if (err == nil) != tc.ok || server.Serves(tc.req) != tc.ok {
			t.Errorf("1.4 serving %s: err %v, want ok=%v", tc.req, err, tc.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, rpc.ErrUnsupportedVersion) {
				t.Errorf("%s: %v is not UnsupportedVersion", tc.req, err)
			}
			for _, s := range append(tc.says, "compute.build") {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%s: %q does not say %q", tc.req, err, s)
				}
			}
		}
	}
	if !rpc.V(1, 9).Less(rpc.V(1, 10)) || rpc.V(2, 0).Less(rpc.V(1, 10)) {
		t.Error("Less orders minors numerically and majors first")
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	t.Parallel()
	sent := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	e := &rpc.Envelope{Kind: rpc.Call, Namespace: "scheduler", Method: "select_destinations", Version: rpc.V(1, 2),
		MessageID: "m-1", SentAt: sent, ReplyTo: "reply_x", TimeoutMS: 60000,
		Context: rpc.Context{RequestID: "req-1", UserID: "u", ProjectID: "p", Roles: []string{"admin"}},
		Payload: json.RawMessage(`{"spec":{"vcpus":2}}`)}
	b, err := e.Encode(0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"version":"1.2"`) || !strings.Contains(string(b), `"nimbus.rpc":1`) {
		t.Errorf("wire form %s lacks the version string or format", b)
	}
	got, err := rpc.DecodeEnvelope(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name() != "scheduler.select_destinations" || got.Version != e.Version || !got.SentAt.Equal(sent) ||
		got.Context.RequestID != "req-1" || got.Context.Roles[0] != "admin" || string(got.Payload) != `{"spec":{"vcpus":2}}` ||
		got.ReplyTo != "reply_x" || got.TimeoutMS != 60000 {
		t.Errorf("round trip changed the envelope: %+v", got)
	}
}

func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	valid := `{"nimbus.rpc":1,"kind":"cast","method":"m","message_id":"1","version":"1.0","payload":{}}`
	for _, tc := range []struct {
		name, body string
		max        int
		want       error
		says       string
	}{
		{"too large", valid, 10, rpc.ErrTooLarge, "limit is 10"},
		{"not json", "\x00", 0, rpc.ErrMalformed, ""},
		{"trailing", valid + "{}", 0, rpc.ErrMalformed, "after top-level value"},
		{"other format", strings.Replace(valid, `"nimbus.rpc":1`, `"nimbus.rpc":2`, 1), 0, rpc.ErrMalformed, "format 2"},
		{"no method", strings.Replace(valid, `"method":"m",`, "", 1), 0, rpc.ErrMalformed, "method"},
		{"no id", strings.Replace(valid, `"message_id":"1",`, "", 1), 0, rpc.ErrMalformed, "message_id"},
		{"bad kind", strings.Replace(valid, `"cast"`, `"shout"`, 1), 0, rpc.ErrMalformed, "shout"},
		{"call without reply_to", strings.Replace(valid, `"cast"`, `"call"`, 1), 0, rpc.ErrMalformed, "reply_to"},
		{"bad version", strings.Replace(valid, `"1.0"`, `"1"`, 1), 0, rpc.ErrMalformed, "major.minor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rpc.DecodeEnvelope([]byte(tc.body), tc.max)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("got %v, want %v saying %q", err, tc.want, tc.says)
			}
		})
	}
	if _, err := rpc.DecodeEnvelope([]byte(valid), 0); err != nil {
		t.Errorf("valid envelope refused: %v", err)
	}
	if _, err := (&rpc.Envelope{Kind: rpc.Cast, Method: "m", MessageID: "1", Payload: []byte(`"` + strings.Repeat("x", 100) + `"`)}).Encode(50); !errors.Is(err, rpc.ErrTooLarge) {
		t.Errorf("encode beyond the limit: %v", err)
	}
}

func TestReplyErrors(t *testing.T) {
	t.Parallel()
	noValidHost := rpc.NewKind("NoValidHost")
	r := &rpc.Reply{MessageID: "1", Error: rpc.AsError(fmt.Errorf("no host has 64 GiB free: %w", noValidHost))}
	b, err := r.Encode(0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rpc.DecodeReply(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(got.Error, noValidHost) || !got.Error.Remote || !strings.Contains(got.Error.Error(), "64 GiB") {
		t.Errorf("decoded error %v lost its kind, message or remoteness", got.Error)
	}
	if errors.Is(got.Error, rpc.ErrInternal) {
		t.Error("NoValidHost matches InternalError")
	}
	if e := rpc.AsError(errors.New("disk full")); e.Kind != rpc.KindInternal || e.Message != "disk full" {
		t.Errorf("plain error became %+v, want InternalError", e)
	}
	if _, err := rpc.DecodeReply([]byte(`{"nimbus.rpc":1}`), 0); !errors.Is(err, rpc.ErrMalformed) {
		t.Errorf("reply without message_id: %v", err)
	}
}

func TestContext(t *testing.T) {
	t.Parallel()
	c := &auth.Caller{Token: "gAAAA-secret", UserID: "u", UserName: "alice", ProjectID: "p", ProjectDomainID: "default",
		Roles: []auth.Role{{ID: "1", Name: "member"}, {ID: "2", Name: "reader"}}}
	rc := rpc.FromCaller(c, "req-9")
	if rc.RequestID != "req-9" || rc.UserID != "u" || rc.ProjectID != "p" || !rc.HasRole("reader") || rc.HasRole("admin") {
		t.Errorf("FromCaller = %+v", rc)
	}
	b, _ := json.Marshal(rc)
	if strings.Contains(string(b), "secret") {
		t.Errorf("the token travels: %s", b)
	}
	ctx := rpc.WithContext(context.Background(), rc)
	if got := rpc.FromContext(ctx); got.UserName != "alice" {
		t.Errorf("FromContext = %+v", got)
	}
	if got := rpc.FromContext(context.Background()); got.RequestID != "" {
		t.Errorf("empty ctx carries %+v", got)
	}
	if rpc.FromCaller(nil, "req-1").RequestID != "req-1" {
		t.Error("FromCaller(nil) lost the request id")
	}
}
