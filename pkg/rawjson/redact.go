package rawjson

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Action is what a privacy rule does to the value at its path.
type Action int

// The actions of the exclude and hash options.
const (
	// Exclude removes the member (key and value) from its object.
	Exclude Action = iota + 1
	// Hash replaces every scalar below the path by its salted SHA-256, as
	// lowercase hex in a JSON string: hex(sha256(salt || value)), where a
	// string's value is its text (escapes decoded) and any other scalar's
	// is its JSON literal as sent. Nulls stay null; objects and arrays keep
	// their keys and shape, so child views still find their rows.
	Hash
)

// Rules are the privacy rules of one report: each a path from the record's
// root and an action. Every byte they do not change is kept as sent.
type Rules struct {
	root node
	salt []byte
	n    int
}

type node struct {
	action   Action // 0: only rules below this place
	children map[string]*node
}

// NewRules returns empty rules that hash with salt.
func NewRules(salt []byte) *Rules { return &Rules{salt: slices.Clone(salt)} }

// Add adds the rule of action at path, whose segments are object keys from
// the record's root; an array on the way is crossed (the rule applies to
// every element). A rule at or below an excluded path is redundant; exclude
// wins over hash at one place, and a rule below a hashed one adds nothing.
func (r *Rules) Add(path []string, a Action) error {
	if len(path) == 0 {
		return errors.New("privacy: an empty path")
	}
	if a != Exclude && a != Hash {
		return fmt.Errorf("privacy: unknown action %d", a)
	}
	n := &r.root
	for _, seg := range path {
		if n.action != 0 {
			return nil // an excluded or hashed place already covers it
		}
		if n.children == nil {
			n.children = map[string]*node{}
		}
		c := n.children[seg]
		if c == nil {
			c = &node{}
			n.children[seg] = c
		}
		n = c
	}
	if n.action == 0 || a == Exclude {
		n.action, n.children = a, nil
	}
	r.n++
	return nil
}

// Empty reports whether r holds no rule (a nil Rules is empty).
func (r *Rules) Empty() bool { return r == nil || r.n == 0 }

// HashString is the hash Apply writes for the string s: what a query
// computes as sha256(salt || s) to find a value it knows.
func (r *Rules) HashString(s string) string { return r.hash([]byte(s)) }

func (r *Rules) hash(v []byte) string {
	h := sha256.New()
	h.Write(r.salt)
	h.Write(v)
	return hex.EncodeToString(h.Sum(nil))
}

// Apply returns raw with the rules applied. Malformed JSON is an error
// naming the byte offset; raw is never returned half-edited.
func (r *Rules) Apply(raw []byte) ([]byte, error) {
	if r.Empty() {
		return raw, nil
	}
	s := scanner{b: raw}
	out, err := r.value(&s, &r.root, make([]byte, 0, len(raw)))
	if err == nil {
		err = s.end()
	}
	if err != nil {
		return nil, fmt.Errorf("privacy: %w", err)
	}
	return out, nil
}

// value appends the value at s.i to dst with the rules of n applied; n is
// nil where no rule reaches, and the value is copied as it is.
func (r *Rules) value(s *scanner, n *node, dst []byte) ([]byte, error) {
	s.skipSpace()
	if s.i >= len(s.b) {
		return nil, errEnd
	}
	if n != nil && n.action == Hash {
		return r.hashed(s, dst)
	}
	c := s.b[s.i]
	if n == nil || (c != '{' && c != '[') {
		start := s.i
		if err := s.skip(); err != nil {
			return nil, err
		}
		return append(dst, s.b[start:s.i]...), nil
	}
	return r.container(s, dst, func(key []byte, name string) (*node, bool) {
		if key == nil {
			return n, true // an array's element: the rules pass through
		}
		child := n.children[name]
		return child, child == nil || child.action != Exclude
	}, r.value)
}

// hashed appends the value at s.i with every scalar below it hashed.
func (r *Rules) hashed(s *scanner, dst []byte) ([]byte, error) {
	switch c := s.b[s.i]; {
	case c == '{' || c == '[':
		return r.container(s, dst, func([]byte, string) (*node, bool) { return nil, true },
			func(s *scanner, _ *node, dst []byte) ([]byte, error) { s.skipSpace(); return r.hashed(s, dst) })
	case s.isNull():
		s.i += len("null")
		return append(dst, "null"...), nil
	}
	start := s.i
	if err := s.skip(); err != nil {
		return nil, err
	}
	v := s.b[start:s.i]
	if v[0] == '"' {
		text, err := unquote(v)
		if err != nil {
			return nil, fmt.Errorf("the string at byte %d: %w", start, err)
		}
		v = text
	}
	return append(append(append(dst, '"'), r.hash(v)...), '"'), nil
}

// container appends the object or array at s.i, each element through elem
// with the node that place asks for: keep(key, name) gives it (key is nil
// for an array's elements) and whether the member stays at all.
func (r *Rules) container(s *scanner, dst []byte, keep func(key []byte, name string) (*node, bool),
	elem func(*scanner, *node, []byte) ([]byte, error)) ([]byte, error) {
	open := s.b[s.i]
	end := byte('}')
	if open == '[' {
		end = ']'
	}
	dst = append(dst, open)
	s.i++
	wrote := false
	for first := true; ; first = false {
		done, err := s.next(end, first)
		if err != nil {
			return nil, err
		}
		if done {
			return append(dst, end), nil
		}
		var key []byte
		name := ""
		if open == '{' {
			if key, err = s.key(); err != nil {
				return nil, err
			}
			if name, err = keyName(key); err != nil {
				return nil, err
			}
		}
		n, stays := keep(key, name)
		if !stays {
			if err := s.skip(); err != nil {
				return nil, err
			}
			continue
		}
		if wrote {
			dst = append(dst, ',')
		}
		wrote = true
		if key != nil {
			dst = append(append(dst, key...), ':')
		}
		if dst, err = elem(s, n, dst); err != nil {
			return nil, err
		}
	}
}

// keyName is an object key's text, quotes removed and escapes decoded.
func keyName(key []byte) (string, error) {
	text, err := unquote(key)
	return string(text), err
}

// unquote is the text of the JSON string q (quotes included).
func unquote(q []byte) ([]byte, error) {
	if !slices.Contains(q, '\\') {
		return q[1 : len(q)-1], nil
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}
