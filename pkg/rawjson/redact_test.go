package rawjson

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

// h is the hash of v with the salt "s", as DuckDB's sha256('s' || v).
func h(v string) string {
	sum := sha256.Sum256([]byte("s" + v))
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func TestRulesApply(t *testing.T) {
	t.Parallel()
	type rule struct {
		path   string
		action Action
	}
	for _, tt := range []struct {
		name  string
		rules []rule
		in    string
		want  string
	}{
		{"exclude a top-level key", []rule{{"name", Exclude}}, `{"id":"l1","name":"Acme","url":null}`, `{"id":"l1","url":null}`},
		{"exclude the first and the last", []rule{{"a", Exclude}, {"z", Exclude}}, `{"a":1,"id":"x","z":[1]}`, `{"id":"x"}`},
		{"hash a string", []rule{{"email", Hash}}, `{"id":"c1","email":"a@b.co"}`, `{"id":"c1","email":` + h("a@b.co") + `}`},
		{"hash decodes escapes", []rule{{"email", Hash}}, `{"email":"a\u0040b.co"}`, `{"email":` + h("a@b.co") + `}`},
		{"hash a number's literal", []rule{{"n", Hash}}, `{"n":1.50}`, `{"n":` + h("1.50") + `}`},
		{"null stays null", []rule{{"email", Hash}}, `{"email":null}`, `{"email":null}`},
		{"through arrays", []rule{{"emails.email", Hash}},
			`{"emails":[{"type":"office","email":"a@b.co"},{"email":"c@d.co"}]}`,
			`{"emails":[{"type":"office","email":` + h("a@b.co") + `},{"email":` + h("c@d.co") + `}]}`},
		{"nested arrays", []rule{{"contacts.emails.email", Hash}, {"contacts.phones", Exclude}},
			`{"contacts":[{"name":"Ann","emails":[{"email":"a@b.co"}],"phones":[{"phone":"+1"}]}]}`,
			`{"contacts":[{"name":"Ann","emails":[{"email":` + h("a@b.co") + `}]}]}`},
		{"hash a container keeps its shape", []rule{{"addresses", Hash}},
			`{"addresses":[{"city":"Oslo","zip":null,"n":2}],"id":"x"}`,
			`{"addresses":[{"city":` + h("Oslo") + `,"zip":null,"n":` + h("2") + `}],"id":"x"}`},
		{"exclude wins over hash", []rule{{"a", Hash}, {"a", Exclude}}, `{"a":"x","b":1}`, `{"b":1}`},
		{"below an excluded path", []rule{{"a", Exclude}, {"a.b", Hash}}, `{"a":{"b":"x"},"c":1}`, `{"c":1}`},
		{"a key with a dot", []rule{{"custom.cf_1", Hash}}, `{"custom.cf_1":"v","custom":{"cf_1":"w"}}`, `{"custom.cf_1":` + h("v") + `,"custom":{"cf_1":"w"}}`},
		{"an escaped key", []rule{{"é", Exclude}}, `{"\u00e9":1,"e":2}`, `{"e":2}`},
		{"untouched bytes stay", []rule{{"x", Exclude}}, `{"z":"\u00e9<","a":1e3, "o": { "p" : [ 1 , 2 ] },"x":0}`, `{"z":"\u00e9<","a":1e3,"o":{ "p" : [ 1 , 2 ] }}`},
		{"a scalar where an object was expected", []rule{{"a.b", Hash}}, `{"a":"text"}`, `{"a":"text"}`},
		{"not an object", []rule{{"a", Exclude}}, `[{"a":1},{"b":2}]`, `[{},{"b":2}]`},
		{"strings that look like keys", []rule{{"a", Exclude}}, `{"b":"\"a\":1","a":"x"}`, `{"b":"\"a\":1"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewRules([]byte("s"))
			for _, ru := range tt.rules {
				p := strings.Split(ru.path, ".")
				if ru.path == "custom.cf_1" {
					p = []string{ru.path} // a key with a dot is one segment
				}
				if err := r.Add(p, ru.action); err != nil {
					t.Fatal(err)
				}
			}
			got, err := r.Apply([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Apply(%s)\n = %s\nwant %s", tt.in, got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("Apply(%s) = %s: not JSON", tt.in, got)
			}
		})
	}
}

func TestRulesRefuseMalformedJSON(t *testing.T) {
	t.Parallel()
	r := NewRules(nil)
	if err := r.Add([]string{"a"}, Hash); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{``, `{`, `{"a":`, `{"a" 1}`, `{"a":1 "b":2}`, `{,"a":1}`, `[1 2]`, `{"a":"x}`, `{"a":1}}`, `{1:2}`, `{"a":"\x"}`} {
		if got, err := r.Apply([]byte(in)); err == nil || !strings.HasPrefix(err.Error(), "privacy:") {
			t.Errorf("Apply(%q) = %q, %v; want a privacy error", in, got, err)
		}
	}
}

func TestRulesAdd(t *testing.T) {
	t.Parallel()
	r := NewRules(nil)
	if !r.Empty() || !(*Rules)(nil).Empty() {
		t.Error("new rules are not empty")
	}
	if err := r.Add(nil, Hash); err == nil {
		t.Error("an empty path was taken")
	}
	if err := r.Add([]string{"a"}, Action(9)); err == nil {
		t.Error("an unknown action was taken")
	}
	got, err := r.Apply([]byte(`{"a":1}`))
	if err != nil || string(got) != `{"a":1}` {
		t.Errorf("empty rules changed the record: %s, %v", got, err)
	}
	if r.HashString("x") != strings.Trim(hashOf("", "x"), `"`) {
		t.Error("HashString differs from sha256(salt || value)")
	}
}

func hashOf(salt, v string) string {
	sum := sha256.Sum256([]byte(salt + v))
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// FuzzRulesApply: on any valid JSON, Apply gives valid JSON, and with a
// rule that matches nothing it gives the input's value unchanged.
func FuzzRulesApply(f *testing.F) {
	for _, s := range []string{`{"a":{"b":[{"c":"x"}]},"d":1}`, `[{"a":null}]`, `"x"`, `{"a":[1,{"b":"\u00e9"}]}`} {
		f.Add(s)
	}
	hashing, none := NewRules([]byte("salt")), NewRules(nil)
	for _, p := range [][]string{{"a", "b", "c"}, {"d"}, {"a", "b"}} {
		_ = hashing.Add(p, Hash)
	}
	_ = hashing.Add([]string{"e"}, Exclude)
	_ = none.Add([]string{"no such key anywhere"}, Exclude)
	f.Fuzz(func(t *testing.T, in string) {
		if !json.Valid([]byte(in)) {
			return
		}
		got, err := hashing.Apply([]byte(in))
		if err != nil {
			t.Fatalf("Apply(%q): %v", in, err)
		}
		if !json.Valid(got) {
			t.Fatalf("Apply(%q) = %q: not JSON", in, got)
		}
		same, err := none.Apply([]byte(in))
		if err != nil {
			t.Fatalf("Apply(%q): %v", in, err)
		}
		a, b := decodeNumbers(t, []byte(in)), decodeNumbers(t, same)
		if ja, jb := mustJSON(t, a), mustJSON(t, b); ja != jb {
			t.Fatalf("Apply(%q) with no matching rule = %q", in, same)
		}
	})
}

// decodeNumbers decodes JSON with its numbers as written, however large.
func decodeNumbers(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}
