package main

import (
	"runtime"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// cmdBcryptBound measures how many bcrypt password checks per second this
// machine does at a cost with c goroutines: every password token issue does one,
// so this is the ceiling for token issue, measured beside it.
func cmdBcryptBound(args []string) error {
	fs := newFlags("bcrypt-bound")
	conc := fs.Int("c", 1, "goroutines checking at once")
	cost := fs.Int("cost", 12, "bcrypt cost (keystone's password_hash_rounds)")
	n := fs.Int("n", 20, "checks to time")
	limit := fs.Duration("timeout", 5*time.Minute, "stop timing after this long even if checks remain")
	if err := fs.Parse(args); err != nil {
		return err
	}
	password := []byte("nimbus-bench correct horse battery staple")
	hash, err := bcrypt.GenerateFromPassword(password, *cost)
	if err != nil {
		return err
	}
	newOp := func() func() error {
		return func() error { return bcrypt.CompareHashAndPassword(hash, password) }
	}
	if err := warmUp(*conc, *conc, newOp); err != nil {
		return err
	}
	cpu := startCPU(0)
	r := runLoop(*n, *conc, *limit, newOp)
	out := r.fields(*n, *conc)
	cpu.add(out, len(r.lat))
	out["test"] = "bcrypt_bound"
	out["cost"] = *cost
	out["num_cpu"] = runtime.NumCPU()
	out["gomaxprocs"] = runtime.GOMAXPROCS(0)
	emit(out)
	return nil
}
