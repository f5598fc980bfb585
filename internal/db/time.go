package db

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// Time stores a UTC instant as BIGINT microseconds since the epoch, the one time
// representation that sorts, compares and round-trips the same on every engine.
// The zero Time is stored as NULL.
type Time struct{ time.Time }

// At wraps t for storage.
func At(t time.Time) Time { return Time{t} }

// Value implements driver.Valuer.
func (t Time) Value() (driver.Value, error) {
	if t.IsZero() {
		return nil, nil
	}
	return t.UTC().UnixMicro(), nil
}

// Scan implements sql.Scanner.
func (t *Time) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		t.Time = time.Time{}
	case int64:
		t.Time = time.UnixMicro(v).UTC()
	case []byte:
		var n int64
		if _, err := fmt.Sscan(string(v), &n); err != nil {
			return fmt.Errorf("scan time from %q: %w", v, err)
		}
		t.Time = time.UnixMicro(n).UTC()
	default:
		return fmt.Errorf("scan time: unsupported type %T", src)
	}
	return nil
}

func nowMicro() int64 { return time.Now().UTC().UnixMicro() }
