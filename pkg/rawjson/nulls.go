package rawjson

// filter_nulls: a member of the record's object whose value is null goes,
// and every other byte of the record is kept as Close sent it (key order,
// number literals, string escapes, nested nulls).
//
// Only the record's own keys are filtered, so that every typed column reads
// the same either way: a scalar column is NULL for a null and for a missing
// key alike, and so is a JSON column (json_transform makes a JSON null
// NULL), but a JSON column holding an object (addresses, the event log's
// data and previous_data, where a null says what a field was) would change
// if the nulls inside it went.

import "fmt"

// DropNulls returns raw without the null-valued members of its object (raw that
// is not an object is returned as it is). Malformed JSON is an error naming
// the byte offset, never a half-filtered record.
func DropNulls(raw []byte) ([]byte, error) {
	s := scanner{b: raw}
	s.skipSpace()
	out := raw
	var err error
	if s.i < len(raw) && raw[s.i] == '{' {
		out, err = s.object(make([]byte, 0, len(raw)))
	} else {
		err = s.skip()
	}
	if err == nil {
		err = s.end()
	}
	if err != nil {
		return nil, fmt.Errorf("filter nulls: %w", err)
	}
	return out, nil
}

// object appends the record's object at s.i to dst without its null-valued
// members; every other member's value is copied byte for byte.
func (s *scanner) object(dst []byte) ([]byte, error) {
	dst = append(dst, '{')
	s.i++
	for first := true; ; first = false {
		if done, err := s.next('}', first); err != nil || done {
			return append(dst, '}'), err
		}
		key, err := s.key()
		if err != nil {
			return nil, err
		}
		if s.isNull() {
			s.i += len("null")
			continue
		}
		start := s.i
		if err := s.skip(); err != nil {
			return nil, err
		}
		if dst[len(dst)-1] != '{' { // values never end with '{'
			dst = append(dst, ',')
		}
		dst = append(append(append(dst, key...), ':'), s.b[start:s.i]...)
	}
}
