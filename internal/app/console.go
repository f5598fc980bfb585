package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/compute"
	"github.com/nimbus-cloud/nimbus/internal/compute/computesql"
	"github.com/nimbus-cloud/nimbus/internal/conductor"
	"github.com/nimbus-cloud/nimbus/internal/console"
	"github.com/nimbus-cloud/nimbus/internal/console/novncproxy"
	"github.com/nimbus-cloud/nimbus/internal/virt/fake"
)

// consoles are this process's console auth tokens and console proxy.
type consoles struct {
	tokens *console.Tokens
	// baseURL is the effective [vnc] novncproxy_base_url; "" when this
	// process serves no proxy.
	baseURL string
	// display is the fake driver's console, made on first use.
	display *fake.Display
}

// startConsoles makes the console auth tokens, kept in the compute
// database (store), and returns their lookup for the compute API. With a
// compute plane and [vnc] enabled it also serves the noVNC console proxy
// (nova-novncproxy) and lets the API's conductor hand consoles out.
func (c *Cloud) startConsoles(store *computesql.Store) (compute.ConsoleTokens, error) {
	ttl := time.Duration(c.cfg.ConsoleAuth.TokenTTL) * time.Second
	cs := &consoles{tokens: console.NewTokens(store, console.Options{TTL: ttl})}
	c.consoles = cs
	if c.plane == nil || !c.cfg.VNC.Enabled {
		return computeConsoles{cs.tokens}, nil
	}
	addr := net.JoinHostPort(c.cfg.VNC.NovncproxyHost, strconv.Itoa(c.cfg.VNC.NovncproxyPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("console proxy: listen on %s: %w", addr, err)
	}
	cs.baseURL = c.cfg.NoVNCBaseURL(ln.Addr().(*net.TCPAddr).Port)
	log := c.log.With("service", "novncproxy")
	checked := checkedTokens{tokens: cs.tokens, instances: store, ports: c.plane.client}
	proxy := novncproxy.New(checked, novncproxy.Options{AllowedOrigins: c.cfg.Console.Origins(), Log: log})
	if !novncproxy.Built(novncproxy.Embedded()) {
		log.Warn("console proxy serves no web client: " + novncproxy.NotBuilt)
	}
	c.plane.client.ConsolesWith(consoleAuthorizer{tokens: cs.tokens, baseURL: cs.baseURL})
	c.serve(ln, proxy)

	// Expired tokens are removed as new ones are issued, and regularly, as
	// nova's compute hosts clean them.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(max(ttl, time.Minute))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := cs.tokens.Cleanup(ctx); err != nil && ctx.Err() == nil {
					log.Warn("clean expired console tokens", "error", err)
				}
			}
		}
	})
	c.closers = append(c.closers, func() error {
		cancel()
		wg.Wait()
		proxy.Close()
		return nil
	})
	log.Info("console proxy listening", "address", ln.Addr().String(), "base_url", cs.baseURL)
	return computeConsoles{cs.tokens}, nil
}

// ConsoleURL is the console proxy's [vnc] novncproxy_base_url; "" when
// this process serves no console proxy.
func (c *Cloud) ConsoleURL() string {
	if c.consoles == nil {
		return ""
	}
	return c.consoles.baseURL
}

// fakeDisplay is the VNC server the fake driver's instances share as
// their console, made on first use and closed with the cloud; nil when
// [vnc] is disabled or it cannot listen on my_ip (the consoles are then
// made-up ports, as the fake driver reports without one).
func (c *Cloud) fakeDisplay() *fake.Display {
	if !c.cfg.VNC.Enabled || c.consoles == nil {
		return nil
	}
	if c.consoles.display == nil {
		d, err := fake.NewDisplay(c.cfg.Default.MyIP, "Nimbus fake display")
		if err != nil {
			c.log.Warn("fake driver without a console display", "error", err)
			return nil
		}
		c.consoles.display = d
		c.closers = append(c.closers, d.Close)
	}
	return c.consoles.display
}

// consoleAuthorizer issues console tokens for the API's conductor.
type consoleAuthorizer struct {
	tokens  *console.Tokens
	baseURL string
}

func (a consoleAuthorizer) AuthorizeConsole(ctx context.Context, instanceUUID, kind, host string, port int) (string, error) {
	token, _, err := a.tokens.Authorize(ctx, console.Connection{InstanceUUID: instanceUUID, ConsoleType: kind,
		Host: host, Port: port, AccessURLBase: a.baseURL})
	if err != nil {
		return "", err
	}
	return console.AccessURL(a.baseURL, kind, token), nil
}

// computeConsoles is the compute API's view of console tokens.
type computeConsoles struct{ tokens *console.Tokens }

func (cc computeConsoles) ConsoleConnection(ctx context.Context, token string) (compute.ConsoleConnection, error) {
	c, err := cc.tokens.Validate(ctx, token)
	if errors.Is(err, console.ErrNotFound) {
		return compute.ConsoleConnection{}, compute.ErrNotFound
	}
	if err != nil {
		return compute.ConsoleConnection{}, err
	}
	return compute.ConsoleConnection{InstanceUUID: c.InstanceUUID, ConsoleType: c.ConsoleType, Host: c.Host, Port: c.Port,
		InternalAccessPath: c.InternalAccessPath}, nil
}

// checkedTokens are the console proxy's tokens: a live token whose
// instance still has its console where the token says, as nova's proxy
// checks with the compute host before it connects.
type checkedTokens struct {
	tokens    *console.Tokens
	instances *computesql.Store
	ports     *conductor.Client
}

// consolePortTimeout bounds the question to the instance's host.
const consolePortTimeout = 10 * time.Second

func (ct checkedTokens) Validate(ctx context.Context, token string) (console.Connection, error) {
	conn, err := ct.tokens.Validate(ctx, token)
	if err != nil {
		return console.Connection{}, err
	}
	inst, err := ct.instances.GetInstance(ctx, conn.InstanceUUID, false)
	if errors.Is(err, compute.ErrNotFound) {
		return console.Connection{}, console.ErrNotFound
	}
	if err != nil {
		return console.Connection{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, consolePortTimeout)
	defer cancel()
	ok, err := ct.ports.ValidateConsolePort(ctx, inst, conn.Host, conn.Port)
	if err != nil {
		return console.Connection{}, fmt.Errorf("%w: %w", console.ErrUnreachable, err)
	}
	if !ok {
		return console.Connection{}, console.ErrNotFound
	}
	return conn, nil
}
