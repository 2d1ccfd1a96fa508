// Package nulls drops null-valued keys from a record's JSON (the
// filter_nulls option): a member of the record's object whose value is
// null goes, and every other byte of the record is kept as Close sent it
// (key order, number literals, string escapes, nested nulls).
//
// Only the record's own keys are filtered, so that every typed column reads
// the same either way: a scalar column is NULL for a null and for a missing
// key alike, and so is a JSON column (json_transform makes a JSON null
// NULL), but a JSON column holding an object (addresses, the event log's
// data and previous_data, where a null says what a field was) would change
// if the nulls inside it went.
package nulls

import (
	"errors"
	"fmt"
)

// Drop returns raw without the null-valued members of its object (raw that
// is not an object is returned as it is). Malformed JSON is an error naming
// the byte offset, never a half-filtered record.
func Drop(raw []byte) ([]byte, error) {
	s := scanner{b: raw}
	s.skipSpace()
	out := raw
	var err error
	if s.i < len(raw) && raw[s.i] == '{' {
		out, err = s.object(make([]byte, 0, len(raw)))
	} else {
		err = s.skip()
	}
	if err != nil {
		return nil, err
	}
	if s.skipSpace(); s.i != len(raw) {
		return nil, fmt.Errorf("filter nulls: unexpected %q after the value at byte %d", raw[s.i], s.i)
	}
	return out, nil
}

type scanner struct {
	b []byte
	i int
}

var errEnd = errors.New("filter nulls: the JSON ends early")

func (s *scanner) skipSpace() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
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

// key moves s.i past an object member's key and its colon, to the value,
// and returns the key as written (quotes included).
func (s *scanner) key() ([]byte, error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, fmt.Errorf("filter nulls: want a key at byte %d", s.i)
	}
	start := s.i
	if err := s.str(); err != nil {
		return nil, err
	}
	key := s.b[start:s.i]
	s.skipSpace()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return nil, fmt.Errorf("filter nulls: want ':' after the key %s at byte %d", key, s.i)
	}
	s.i++
	s.skipSpace()
	return key, nil
}

// skip moves s.i past the value at it, checking its shape.
func (s *scanner) skip() error {
	s.skipSpace()
	if s.i >= len(s.b) {
		return errEnd
	}
	switch c := s.b[s.i]; c {
	case '{', '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		s.i++
		for first := true; ; first = false {
			if done, err := s.next(end, first); err != nil || done {
				return err
			}
			if c == '{' {
				if _, err := s.key(); err != nil {
					return err
				}
			}
			if err := s.skip(); err != nil {
				return err
			}
		}
	case '"':
		return s.str()
	default:
		start := s.i
		for s.i < len(s.b) && !isDelim(s.b[s.i]) {
			s.i++
		}
		if s.i == start {
			return fmt.Errorf("filter nulls: unexpected %q at byte %d", s.b[s.i], s.i)
		}
		return nil
	}
}

func isDelim(c byte) bool {
	switch c {
	case ',', ']', '}', ':', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// str moves s.i past the string that starts at it.
func (s *scanner) str() error {
	for j := s.i + 1; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			j++
		case '"':
			s.i = j + 1
			return nil
		}
	}
	return errEnd
}

// next moves s.i to the next element of an object or array, past the
// comma before it unless it is the first; done says s.i was at the closing
// byte end (and moves past it).
func (s *scanner) next(end byte, first bool) (done bool, err error) {
	s.skipSpace()
	if s.i >= len(s.b) {
		return false, errEnd
	}
	if s.b[s.i] == end {
		s.i++
		return true, nil
	}
	if !first {
		if s.b[s.i] != ',' {
			return false, fmt.Errorf("filter nulls: want ',' or '%c' at byte %d, have %q", end, s.i, s.b[s.i])
		}
		s.i++
		s.skipSpace()
	}
	return false, nil
}

func (s *scanner) isNull() bool {
	if len(s.b)-s.i < 4 || string(s.b[s.i:s.i+4]) != "null" {
		return false
	}
	return s.i+4 == len(s.b) || isDelim(s.b[s.i+4])
}
