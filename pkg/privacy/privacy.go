// Package privacy turns a report's exclude and hash options into the rules
// that edit each record before it is stored (rawjson.Rules): a field is a
// dotted path of object keys from the record's root (arrays crossed:
// emails.email is the email of every element of emails), or ends with
// custom.<name or id>, a custom field of the object at that place. The
// typed columns, the custom column and the child views all come from the
// edited record, so a value excluded or hashed in _raw is so everywhere.
package privacy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/rawjson"
	"github.com/closesync/closesync/pkg/schema"
)

// customKey is the segment before a custom field's name or id.
const customKey = "custom"

// Field is one entry of an exclude or hash list.
type Field struct {
	Text   string   // as configured
	Path   []string // object keys from the record's root, up to the custom field
	Custom string   // the custom field's name or id; "": not a custom field
}

// Parse reads a field. Everything after a custom segment is the custom
// field's name or id, dots included ("custom.Deal Size (USD)").
func Parse(text string) (Field, error) {
	if strings.TrimSpace(text) == "" {
		return Field{}, errors.New("is blank: name a field, e.g. emails.email or custom.<field name>")
	}
	f := Field{Text: text}
	rest := text
	for rest != "" {
		seg, after, dotted := strings.Cut(rest, ".")
		if strings.TrimSpace(seg) == "" {
			return Field{}, fmt.Errorf("%q has an empty segment", text)
		}
		if seg == customKey && dotted {
			if strings.TrimSpace(after) == "" {
				return Field{}, fmt.Errorf("%q names no custom field after custom", text)
			}
			f.Custom = after
			return f, nil
		}
		if dotted && after == "" {
			return Field{}, fmt.Errorf("%q ends with a dot", text)
		}
		f.Path = append(f.Path, seg)
		rest = after
	}
	return f, nil
}

// Check reports what is wrong with excluding (hash false) or hashing the
// field text on report rep, or "" when nothing is: the report's key and
// the fields its incremental walk reads cannot go, and a typed column that
// is not text cannot hold a hash.
func Check(rep *extract.Report, text string, hash bool) string {
	f, err := Parse(text)
	if err != nil {
		return err.Error()
	}
	t := rep.Table
	if f.Custom != "" {
		if len(f.Path) == 0 && !hasCustom(t) {
			return fmt.Sprintf("%s has no custom fields", rep.Name)
		}
		return ""
	}
	joined := strings.Join(f.Path, ".")
	for _, k := range t.Key {
		if c, ok := t.Column(k); ok && covers(joined, c.JSONPath()) {
			return fmt.Sprintf("%s is the key of %s (column %s): every row needs it", text, rep.Name, c.Name)
		}
	}
	for _, fld := range []string{rep.Strategy.Field, rep.Strategy.Keyset, rep.Strategy.OrderBy} {
		if fld == "" || !covers(joined, fld) {
			continue
		}
		if fld == joined {
			return fmt.Sprintf("%s is read by the incremental walk of %s: it must stay", text, rep.Name)
		}
		return fmt.Sprintf("%s holds %s, which the incremental walk of %s reads: it must stay", text, fld, rep.Name)
	}
	if !hash {
		return ""
	}
	for _, c := range t.Columns {
		if c.Source != schema.FromJSON || !covers(joined, c.JSONPath()) {
			continue
		}
		switch c.Type {
		case schema.Text, schema.JSON, schema.TextList:
		default:
			return fmt.Sprintf("%s is the %s column %s: a hash is text, so it would be NULL there; exclude it instead",
				text, strings.ToUpper(c.Type.String()), c.Name)
		}
	}
	return ""
}

// covers reports whether the rule at path reaches the value at col.
func covers(path, col string) bool { return col == path || strings.HasPrefix(col, path+".") }

func hasCustom(t schema.Table) bool {
	return slices.ContainsFunc(t.Columns, func(c schema.Column) bool { return c.Source == schema.FromCustom })
}

// Spec is a report's privacy options, ready to become rules once its
// custom fields are known.
type Spec struct {
	Exclude, Hash []Field
	Salt          []byte
}

// NewSpec parses a report's lists (config validation has checked them).
func NewSpec(exclude, hash []string, salt []byte) (*Spec, error) {
	if len(exclude) == 0 && len(hash) == 0 {
		return nil, nil
	}
	s := &Spec{Salt: salt}
	for _, list := range []struct {
		texts []string
		into  *[]Field
	}{{exclude, &s.Exclude}, {hash, &s.Hash}} {
		for _, text := range list.texts {
			f, err := Parse(text)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", text, err)
			}
			*list.into = append(*list.into, f)
		}
	}
	if len(s.Hash) > 0 && len(salt) == 0 {
		return nil, errors.New("hash needs a salt")
	}
	return s, nil
}

// CustomNames lists the custom fields the spec names, to be resolved.
func (s *Spec) CustomNames() []string {
	var out []string
	for _, f := range slices.Concat(s.Exclude, s.Hash) {
		if f.Custom != "" && !slices.Contains(out, f.Custom) {
			out = append(out, f.Custom)
		}
	}
	return out
}

// NamesCustomFields reports whether a custom field is named by name, not
// id (cf_...), so that its definitions must be read first (nil: none).
func (s *Spec) NamesCustomFields() bool {
	if s == nil {
		return false
	}
	return slices.ContainsFunc(s.CustomNames(), func(n string) bool { return !IsCustomFieldID(n) })
}

// IsCustomFieldID reports whether a custom field's name is its id: Close's
// ids start with cf_.
func IsCustomFieldID(name string) bool {
	return strings.HasPrefix(name, "cf_") && !strings.ContainsAny(name, " .")
}

// Resolver gives the ids of the custom fields named name (or whose id is
// name) in the organisation's definitions; none is an error that says so.
type Resolver func(ctx context.Context, name string) ([]string, error)

// Rules builds the rules of a report run: raw edits _raw; custom edits the
// custom column (field id -> value), derived from _raw before the edit. A
// custom field that resolve does not know is an error: the run must stop
// rather than store it in clear.
func (s *Spec) Rules(ctx context.Context, resolve Resolver) (raw, custom *rawjson.Rules, err error) {
	if s == nil {
		return nil, nil, nil
	}
	raw, custom = rawjson.NewRules(s.Salt), rawjson.NewRules(s.Salt)
	ids := map[string][]string{}
	for _, name := range s.CustomNames() {
		got, err := resolve(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		ids[name] = got
	}
	for _, list := range []struct {
		fields []Field
		action rawjson.Action
	}{{s.Exclude, rawjson.Exclude}, {s.Hash, rawjson.Hash}} {
		for _, f := range list.fields {
			if f.Custom == "" {
				if err := raw.Add(f.Path, list.action); err != nil {
					return nil, nil, err
				}
				continue
			}
			for _, id := range ids[f.Custom] {
				// Close's list API keys a record's custom values
				// "custom.<id>"; the deprecated custom object keys them
				// by name, and the export by id or name.
				for _, p := range [][]string{
					append(slices.Clone(f.Path), customKey+"."+id),
					append(slices.Clone(f.Path), customKey, id),
				} {
					if err := raw.Add(p, list.action); err != nil {
						return nil, nil, err
					}
				}
				if len(f.Path) == 0 {
					if err := custom.Add([]string{id}, list.action); err != nil {
						return nil, nil, err
					}
				}
			}
			if err := raw.Add(append(slices.Clone(f.Path), customKey, f.Custom), list.action); err != nil {
				return nil, nil, err
			}
		}
	}
	return raw, custom, nil
}
