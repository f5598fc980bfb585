package virt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// MigrateData is what a live migration's destination tells its source
// (nova's migrate_data): a JSON document only the driver that wrote it
// reads. The caller carries it unchanged from the destination's
// PreLiveMigration to the source's LiveMigrate, across processes, so a
// driver puts in it everything the source needs (addresses the source can
// reach, the disks to copy) and nothing of its memory.
type MigrateData json.RawMessage

// NewMigrateData encodes v, a driver's own description of an incoming
// migration, as MigrateData.
func NewMigrateData(v any) (MigrateData, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode migrate data: %w", err)
	}
	return MigrateData(b), nil
}

// Decode reads m into v, a pointer to the driver's own description; data
// that is missing or no JSON object fails with ErrInvalidSpec. Fields v
// does not know are ignored, so a newer destination can add some.
func (m MigrateData) Decode(v any) error {
	if len(bytes.TrimSpace(m)) == 0 {
		return fmt.Errorf("%w: no migrate data from the destination", ErrInvalidSpec)
	}
	if err := json.Unmarshal(m, v); err != nil {
		return fmt.Errorf("%w: migrate data from the destination: %w", ErrInvalidSpec, err)
	}
	return nil
}

// MarshalJSON writes m as the JSON it holds; empty is null.
func (m MigrateData) MarshalJSON() ([]byte, error) {
	if len(m) == 0 {
		return []byte("null"), nil
	}
	return json.RawMessage(m).MarshalJSON()
}

// UnmarshalJSON keeps a copy of b, which must be valid JSON.
func (m *MigrateData) UnmarshalJSON(b []byte) error {
	if m == nil {
		return errors.New("virt.MigrateData: UnmarshalJSON on nil pointer")
	}
	if !json.Valid(b) {
		return fmt.Errorf("%w: migrate data is no JSON", ErrInvalidSpec)
	}
	*m = append((*m)[:0], b...)
	return nil
}
