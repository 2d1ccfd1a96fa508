package rawjson

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestDrop(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, in, want string
	}{
		{"no nulls", `{"id":"lead_1","n":1.50,"ok":true}`, `{"id":"lead_1","n":1.50,"ok":true}`},
		{"top level", `{"id":"lead_1","url":null,"name":"A"}`, `{"id":"lead_1","name":"A"}`},
		{"first and last", `{"a":null,"id":"x","z":null}`, `{"id":"x"}`},
		{"all null", `{"a":null,"b":null}`, `{}`},
		{"nested nulls stay", `{"addresses":[{"city":null,"zip":"1"}],"o":{"p":{"q":null}},"x":null}`, `{"addresses":[{"city":null,"zip":"1"}],"o":{"p":{"q":null}}}`},
		{"array elements stay", `{"a":[null,1,null],"b":[]}`, `{"a":[null,1,null],"b":[]}`},
		{"strings that look like null", `{"a":"null","b":"x\":null","c":"\\","d":null}`, `{"a":"null","b":"x\":null","c":"\\"}`},
		{"escapes and order kept", `{"z":"\u00e9<","a":1e3,"m":null}`, `{"z":"\u00e9<","a":1e3}`},
		{"whitespace", "{ \"a\" : null , \"b\" : [ 1 , null ], \"c\": { \"d\" : null } }", `{"b":[ 1 , null ],"c":{ "d" : null }}`},
		{"event log", `{"data":{"status":null},"previous_data":{"x":null,"y":{"z":null}},"meta":null}`,
			`{"data":{"status":null},"previous_data":{"x":null,"y":{"z":null}}}`},
		{"not an object", `[{"a":null},null]`, `[{"a":null},null]`},
		{"key named null", `{"null":null,"nullx":1}`, `{"nullx":1}`},
		{"a bare value", `null`, `null`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DropNulls([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("DropNulls(%s) = %s, want %s", tt.in, got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("DropNulls(%s) = %s: not JSON", tt.in, got)
			}
		})
	}
}

func TestDropRefusesMalformedJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{``, `{`, `{"a":`, `{"a" 1}`, `{"a":1 "b":2}`, `{,"a":1}`, `[1 2]`, `{"a":"x}`, `{"a":1}}`, `{1:2}`} {
		if got, err := DropNulls([]byte(in)); err == nil || !strings.HasPrefix(err.Error(), "filter nulls:") {
			t.Errorf("DropNulls(%q) = %q, %v; want a filter nulls error", in, got, err)
		}
	}
}

// FuzzDrop: on any valid JSON, Drop gives valid JSON equal to the input
// without the null members of its top-level object (compared through
// encoding/json).
func FuzzDrop(f *testing.F) {
	for _, s := range []string{`{"a":null,"b":{"c":null,"d":[null,{"e":null}]}}`, `[{"a":null}]`, `"x"`, `{"data":{"a":null}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !json.Valid([]byte(in)) || duplicateKeys(in) {
			return // with a key twice, which member counts is the reader's choice
		}
		got, err := DropNulls([]byte(in))
		if err != nil {
			t.Fatalf("DropNulls(%q): %v", in, err)
		}
		want, err := decode([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		have, err := decode(got)
		if err != nil {
			t.Fatalf("DropNulls(%q) = %q: %v", in, got, err)
		}
		if m, ok := want.(map[string]any); ok {
			for k, v := range m {
				if v == nil {
					delete(m, k)
				}
			}
		}
		if w, h := mustJSON(t, want), mustJSON(t, have); w != h {
			t.Errorf("DropNulls(%q) = %s, want %s", in, h, w)
		}
	})
}

func decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// duplicateKeys reports whether an object of the JSON in has a key twice.
func duplicateKeys(in string) bool {
	d := json.NewDecoder(strings.NewReader(in))
	type level struct {
		keys  map[string]bool
		isKey bool // the next token of this object is a key
	}
	var stack []*level
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch tok {
		case json.Delim('{'):
			if top != nil && top.keys != nil {
				top.isKey = true
			}
			stack = append(stack, &level{keys: map[string]bool{}, isKey: true})
			continue
		case json.Delim('['):
			if top != nil && top.keys != nil {
				top.isKey = true
			}
			stack = append(stack, &level{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		if top == nil || top.keys == nil {
			continue
		}
		if top.isKey {
			k := tok.(string)
			if top.keys[k] {
				return true
			}
			top.keys[k] = true
		}
		top.isKey = !top.isKey
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
