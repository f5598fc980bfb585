//go:build !unix

package fernet

// lockDir does nothing where flock is missing: there, run only one writer
// (setup or rotate) at a time per key directory.
func lockDir(string) (unlock func(), err error) { return func() {}, nil }

// syncDir does nothing where directories cannot be synced.
func syncDir(string) error { return nil }
