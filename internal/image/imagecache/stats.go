package imagecache

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"time"
)

// statsSize is the length of a stats file: hits, then the last access in
// Unix nanoseconds, both little-endian 64-bit.
const statsSize = 16

// stats is what a stats file holds.
type stats struct {
	hits         int64
	lastAccessed time.Time
}

func (st stats) encode() []byte {
	var b [statsSize]byte
	binary.LittleEndian.PutUint64(b[0:8], uint64(st.hits))
	binary.LittleEndian.PutUint64(b[8:16], uint64(st.lastAccessed.UnixNano()))
	return b[:]
}

// decodeStats reads a stats file's content; ok is false when it is short.
func decodeStats(b []byte) (stats, bool) {
	if len(b) < statsSize {
		return stats{}, false
	}
	return stats{hits: int64(binary.LittleEndian.Uint64(b[0:8])),
		lastAccessed: time.Unix(0, int64(binary.LittleEndian.Uint64(b[8:16]))).UTC()}, true
}

// withStats runs fn on id's stats file, open and flock'd; create makes it
// when missing.
func (c *Cache) withStats(id string, create bool, fn func(f *os.File) error) error {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(c.statsPath(id), flag, 0o600)
	if err != nil {
		return fmt.Errorf("open cache stats of %s: %w", id, err)
	}
	defer f.Close() // releases the lock
	if err := lockFile(f); err != nil {
		return fmt.Errorf("lock cache stats of %s: %w", id, err)
	}
	return fn(f)
}

// hit counts one access to id's copy and returns the new stats. The update
// is one 16-byte write in place: cheaper than rewriting the index for every
// download.
func (c *Cache) hit(id string) (stats, error) {
	var st stats
	// Created when missing: a stats file lost in a crash starts again at
	// zero rather than leaving its copy uncounted.
	err := c.withStats(id, true, func(f *os.File) error {
		var b [statsSize]byte
		if n, err := f.ReadAt(b[:], 0); err != nil && (err != io.EOF || n != 0) {
			return fmt.Errorf("read cache stats of %s: %w", id, err)
		}
		st, _ = decodeStats(b[:])
		st.hits++
		st.lastAccessed = c.now().UTC()
		if _, err := f.WriteAt(st.encode(), 0); err != nil {
			return fmt.Errorf("write cache stats of %s: %w", id, err)
		}
		return nil
	})
	return st, err
}

// writeStats sets id's stats, creating the file.
func (c *Cache) writeStats(id string, st stats) error {
	return c.withStats(id, true, func(f *os.File) error {
		if _, err := f.WriteAt(st.encode(), 0); err != nil {
			return fmt.Errorf("write cache stats of %s: %w", id, err)
		}
		return f.Truncate(statsSize)
	})
}

// readStats returns id's stats; a missing or short file reads as no hits,
// last accessed when the copy was installed.
func (c *Cache) readStats(id string, r record) stats {
	st := stats{lastAccessed: r.LastModified}
	_ = c.withStats(id, false, func(f *os.File) error {
		var b [statsSize]byte
		if n, _ := f.ReadAt(b[:], 0); n == statsSize {
			st, _ = decodeStats(b[:])
		}
		return nil
	})
	return st
}
