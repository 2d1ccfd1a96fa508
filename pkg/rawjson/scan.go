package rawjson

import (
	"errors"
	"fmt"
)

// scanner walks a JSON text byte by byte, checking its shape, so that an
// edit can copy every byte it does not change as it was sent.
type scanner struct {
	b []byte
	i int
}

var errEnd = errors.New("the JSON ends early")

func (s *scanner) skipSpace() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// key moves s.i past an object member's key and its colon, to the value,
// and returns the key as written (quotes included).
func (s *scanner) key() ([]byte, error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, fmt.Errorf("want a key at byte %d", s.i)
	}
	start := s.i
	if err := s.str(); err != nil {
		return nil, err
	}
	key := s.b[start:s.i]
	s.skipSpace()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return nil, fmt.Errorf("want ':' after the key %s at byte %d", key, s.i)
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
			return fmt.Errorf("unexpected %q at byte %d", s.b[s.i], s.i)
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
			return false, fmt.Errorf("want ',' or '%c' at byte %d, have %q", end, s.i, s.b[s.i])
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

// end checks that nothing but white space follows the value.
func (s *scanner) end() error {
	if s.skipSpace(); s.i != len(s.b) {
		return fmt.Errorf("unexpected %q after the value at byte %d", s.b[s.i], s.i)
	}
	return nil
}
