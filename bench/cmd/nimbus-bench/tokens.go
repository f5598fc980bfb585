package main

import (
	"flag"
	"fmt"
	"net/http"
	"time"
)

// loopFlags are the flags of a timed HTTP loop.
type loopFlags struct {
	n, conc, warm int
	limit         time.Duration
	pid           int
}

// register adds -n (default n), -c, -warmup, -timeout and -pid to fs.
func (l *loopFlags) register(fs *flag.FlagSet, n int) {
	fs.IntVar(&l.conc, "c", 1, "concurrent clients, each on its own kept-alive connection")
	l.registerCommon(fs, n, "requests to time")
}

// registerCommon adds the flags other than -c.
func (l *loopFlags) registerCommon(fs *flag.FlagSet, n int, nUsage string) {
	fs.IntVar(&l.n, "n", n, nUsage)
	fs.IntVar(&l.warm, "warmup", 5, "untimed requests first (at least one per client)")
	fs.DurationVar(&l.limit, "timeout", 5*time.Minute, "stop timing after this long even if requests remain")
	fs.IntVar(&l.pid, "pid", 0, "the server's process id, when it runs on this machine: also report its CPU time per request")
}

// cmdTokenIssue measures POST /v3/auth/tokens with the password method and the
// project scope of the credentials, as upstream's token_issue does.
func cmdTokenIssue(args []string) error {
	fs := newFlags("token-issue")
	var lf loopFlags
	lf.register(fs, 100)
	nocatalog := fs.Bool("nocatalog", false, "ask for ?nocatalog")
	if err := fs.Parse(args); err != nil {
		return err
	}
	creds, err := credentialsFromEnv()
	if err != nil {
		return err
	}
	k := &keystone{creds: creds, client: newClient(lf.conc)}
	body := creds.passwordBody()
	if *nocatalog {
		k.issueQuery = "?nocatalog"
	}
	newOp := func() func() error {
		return func() error {
			_, err := k.issue(body)
			return err
		}
	}
	if err := warmUp(lf.warm, lf.conc, newOp); err != nil {
		return err
	}
	cpu := startCPU(lf.pid)
	r := runLoop(lf.n, lf.conc, lf.limit, newOp)
	out := r.fields(lf.n, lf.conc)
	cpu.add(out, len(r.lat))
	out["test"] = "token_issue"
	emit(out)
	return nil
}

// cmdTokenValidate measures GET /v3/auth/tokens: an admin token in
// X-Auth-Token checks another token in X-Subject-Token, as upstream's
// token_validate does. The answer carries the catalog, as upstream's did.
func cmdTokenValidate(args []string) error {
	fs := newFlags("token-validate")
	var lf loopFlags
	lf.register(fs, 5000)
	if err := fs.Parse(args); err != nil {
		return err
	}
	creds, err := credentialsFromEnv()
	if err != nil {
		return err
	}
	k := &keystone{creds: creds, client: newClient(lf.conc)}
	out, err := measureValidate(k, lf)
	if err != nil {
		return err
	}
	out["test"] = "token_validate"
	emit(out)
	return nil
}

// measureValidate issues an admin token and a subject token by password, then
// times lf.n validations and returns the figures.
func measureValidate(k *keystone, lf loopFlags) (map[string]any, error) {
	body := k.creds.passwordBody()
	admin, err := k.issue(body)
	if err != nil {
		return nil, err
	}
	subject, err := k.issue(body)
	if err != nil {
		return nil, err
	}
	newOp := func() func() error {
		req := k.tokenRequest(http.MethodGet, admin, subject)
		return func() error { return k.validate(req) }
	}
	if err := warmUp(lf.warm, lf.conc, newOp); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	cpu := startCPU(lf.pid)
	r := runLoop(lf.n, lf.conc, lf.limit, newOp)
	out := r.fields(lf.n, lf.conc)
	cpu.add(out, len(r.lat))
	return out, nil
}
