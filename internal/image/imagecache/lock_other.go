//go:build !unix

package imagecache

import "os"

// lockPath does nothing where flock is missing: there, only one process may
// use a cache directory; the in-process mutex still serializes writers.
func lockPath(string) (unlock func(), err error) { return func() {}, nil }

// tryLock always succeeds where flock is missing.
func tryLock(*os.File) (bool, error) { return true, nil }

// syncDir does nothing where directories cannot be synced.
func syncDir(string) error { return nil }

// lockFile does nothing where flock is missing.
func lockFile(*os.File) error { return nil }
