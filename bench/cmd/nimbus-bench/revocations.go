package main

import (
	"fmt"
	"net/http"
	"time"
)

// cmdRevocations makes revocation events cheaply, then measures validation at
// c=1 and c=8, to show what events cost validation. Each event: exchange an
// unscoped token for a new one with the token method (no password check), then
// DELETE /v3/auth/tokens that new token.
func cmdRevocations(args []string) error {
	fs := newFlags("revocations")
	events := fs.Int("events", 10000, "revocation events to make before measuring")
	existing := fs.Int("existing", 0, "events the cloud already holds (recorded in the output only)")
	conc := fs.Int("c", 4, "concurrent clients making events")
	var lf loopFlags
	lf.registerCommon(fs, 20000, "validations to time at each of c=1 and c=8")
	if err := fs.Parse(args); err != nil {
		return err
	}
	creds, err := credentialsFromEnv()
	if err != nil {
		return err
	}
	k := &keystone{creds: creds, client: newClient(8)}
	if *events > 0 {
		if err := makeRevocations(k, *events, *conc, lf.limit, *existing); err != nil {
			return err
		}
	}
	total := *existing + *events
	for _, c := range []int{1, 8} {
		lf.conc = c
		out, err := measureValidate(k, lf)
		if err != nil {
			return err
		}
		out["test"] = "validate_revoked"
		out["events"] = total
		emit(out)
	}
	return nil
}

// makeRevocations revokes n fresh tokens derived from one unscoped token, and
// checks that the first revoked token is refused.
func makeRevocations(k *keystone, n, conc int, limit time.Duration, existing int) error {
	admin, err := k.issue(k.creds.passwordBody())
	if err != nil {
		return err
	}
	base, err := k.issue(k.creds.unscopedPasswordBody())
	if err != nil {
		return err
	}
	exchange := tokenMethodBody(base)
	revoke := func() (string, error) {
		tok, err := k.issue(exchange)
		if err != nil {
			return "", err
		}
		status, rb, _, err := k.do(k.tokenRequest(http.MethodDelete, admin, tok))
		if err != nil {
			return "", err
		}
		if status != http.StatusNoContent {
			return "", fmt.Errorf("DELETE /v3/auth/tokens: HTTP %d: %.200s", status, rb)
		}
		return tok, nil
	}
	first, err := revoke()
	if err != nil {
		return err
	}
	status, _, _, err := k.do(k.tokenRequest(http.MethodGet, admin, first))
	if err != nil {
		return err
	}
	if status != http.StatusNotFound {
		return fmt.Errorf("a revoked token still validates: GET /v3/auth/tokens answered HTTP %d, want 404", status)
	}
	r := runLoop(n-1, conc, limit, func() func() error {
		return func() error { _, err := revoke(); return err }
	})
	made := len(r.lat) + 1
	out := map[string]any{"test": "revocation_events", "made": made, "errors": r.errors,
		"concurrency": conc, "wall_s": round3(r.wall.Seconds()), "events_per_s": r.rps(),
		"events": existing + made, "latency": summarize(r.lat)}
	if r.firstErr != nil {
		out["first_error"] = r.firstErr.Error()
	}
	emit(out)
	if r.errors > 0 {
		return fmt.Errorf("%d of %d revocations failed: %v", r.errors, n, r.firstErr)
	}
	return nil
}
