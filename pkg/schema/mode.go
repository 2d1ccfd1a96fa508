package schema

import "fmt"

// WriteMode is how a report's rows are written (Domo's update options).
type WriteMode string

// Write modes.
const (
	// Upsert keeps one row per key, the newest version (the default).
	Upsert WriteMode = "upsert"
	// Append keeps every distinct version of a row (history mode); the table
	// has no primary key.
	Append WriteMode = "append"
	// Replace rebuilds the table from each full run and swaps it in atomically
	// at the end, so rows deleted at the source disappear.
	Replace WriteMode = "replace"
)

// ParseWriteMode parses a config mode; "" is Upsert.
func ParseWriteMode(s string) (WriteMode, error) {
	switch WriteMode(s) {
	case "", Upsert:
		return Upsert, nil
	case Append, Replace:
		return WriteMode(s), nil
	}
	return "", fmt.Errorf("unknown mode %q (valid: upsert, append, replace)", s)
}

// String is the mode's config name.
func (m WriteMode) String() string { return string(m) }

// MarshalText implements encoding.TextMarshaler.
func (m WriteMode) MarshalText() ([]byte, error) { return []byte(m), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseWriteMode.
func (m *WriteMode) UnmarshalText(p []byte) error {
	v, err := ParseWriteMode(string(p))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
