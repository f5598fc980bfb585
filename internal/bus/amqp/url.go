package amqp

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Broker is one RabbitMQ node to connect to.
type Broker struct {
	Host     string
	Port     int
	Username string
	Password string
	Vhost    string
}

// Addr is host:port.
func (b Broker) Addr() string { return net.JoinHostPort(b.Host, strconv.Itoa(b.Port)) }

// ParseTransportURL reads an oslo.messaging transport URL:
//
//	rabbit://user:pass@host:port,user:pass@host2:port/vhost
//
// Hosts are separated by commas and each may carry its own credentials; a host
// without them uses the previous host's (guest/guest by default). The port
// defaults to 5672. The path is the virtual host, percent-decoded; an empty
// path is "/". amqp:// is accepted as a synonym of rabbit://.
func ParseTransportURL(s string) ([]Broker, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return nil, fmt.Errorf("transport_url %q: no scheme (want rabbit://)", redact(s))
	}
	switch strings.ToLower(scheme) {
	case "rabbit", "amqp":
	default:
		return nil, fmt.Errorf("transport_url: scheme %q is not supported (want rabbit://)", scheme)
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		return nil, fmt.Errorf("transport_url: options after %q are not supported; set them in [oslo_messaging_rabbit]", rest[i:i+1])
	}
	hosts, path, _ := strings.Cut(rest, "/")
	vhost, err := url.PathUnescape(path)
	if err != nil {
		return nil, fmt.Errorf("transport_url: virtual host %q: %w", path, err)
	}
	if vhost == "" {
		vhost = "/"
	}
	user, pass := "guest", "guest"
	var out []Broker
	for _, h := range strings.Split(hosts, ",") {
		if h == "" {
			return nil, fmt.Errorf("transport_url %q: empty host", redact(s))
		}
		if at := strings.LastIndex(h, "@"); at >= 0 {
			cred := h[:at]
			h = h[at+1:]
			u, p, _ := strings.Cut(cred, ":")
			if user, err = url.PathUnescape(u); err != nil {
				return nil, fmt.Errorf("transport_url: user name: %w", err)
			}
			if pass, err = url.PathUnescape(p); err != nil {
				return nil, fmt.Errorf("transport_url: password of %s: %w", user, err)
			}
		}
		host, port := h, 5672
		if hh, pp, err := net.SplitHostPort(h); err == nil {
			host = hh
			if port, err = strconv.Atoi(pp); err != nil || port < 1 || port > 65535 {
				return nil, fmt.Errorf("transport_url: port %q of %s is not a port number", pp, hh)
			}
		} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
			host = h[1 : len(h)-1]
		}
		if host == "" {
			return nil, fmt.Errorf("transport_url %q: empty host", redact(s))
		}
		out = append(out, Broker{Host: host, Port: port, Username: user, Password: pass, Vhost: vhost})
	}
	return out, nil
}

// redact hides passwords in a transport URL for error messages.
func redact(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return "(unparsable)"
	}
	hosts, path, hasPath := strings.Cut(rest, "/")
	parts := strings.Split(hosts, ",")
	for i, h := range parts {
		if at := strings.LastIndex(h, "@"); at >= 0 {
			u, _, _ := strings.Cut(h[:at], ":")
			parts[i] = u + ":***@" + h[at+1:]
		}
	}
	out := scheme + "://" + strings.Join(parts, ",")
	if hasPath {
		out += "/" + path
	}
	return out
}
