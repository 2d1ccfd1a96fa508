package privacy

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/closesync/closesync/pkg/extract"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want Field
		err  string
	}{
		{in: "name", want: Field{Text: "name", Path: []string{"name"}}},
		{in: "emails.email", want: Field{Text: "emails.email", Path: []string{"emails", "email"}}},
		{in: "custom.Deal Size (USD)", want: Field{Text: "custom.Deal Size (USD)", Custom: "Deal Size (USD)"}},
		{in: "custom.a.b", want: Field{Text: "custom.a.b", Custom: "a.b"}},
		{in: "contacts.custom.cf_1", want: Field{Text: "contacts.custom.cf_1", Path: []string{"contacts"}, Custom: "cf_1"}},
		{in: "custom", want: Field{Text: "custom", Path: []string{"custom"}}},
		{in: " ", err: "is blank"},
		{in: "a..b", err: "empty segment"},
		{in: ".a", err: "empty segment"},
		{in: "a.", err: "ends with a dot"},
		{in: "custom.", err: "names no custom field"},
	} {
		got, err := Parse(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Parse(%q) = %+v, %v; want an error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		report, field string
		hash          bool
		want          string // "" or a part of the problem
	}{
		{"contacts", "emails.email", true, ""},
		{"contacts", "phones", false, ""},
		{"leads", "contacts.emails.email", true, ""},
		{"leads", "custom.Lead Source", true, ""},
		{"leads", "name", true, ""},
		{"leads", "id", false, "is the key of leads (column id)"},
		{"leads", "date_updated", false, "date_updated is read by the incremental walk of leads: it must stay"},
		{"leads", "date_created", true, "is read by the incremental walk of leads"},
		{"opportunities", "value", true, "a hash is text"},
		{"opportunities", "value", false, ""},
		{"users", "custom.X", false, "users has no custom fields"},
		{"users", "a..b", false, "empty segment"},
	} {
		rep, ok := extract.Lookup(tt.report)
		if !ok {
			t.Fatalf("no report %s", tt.report)
		}
		got := Check(extract.Root(rep), tt.field, tt.hash)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("Check(%s, %q, hash %v) = %q, want %q", tt.report, tt.field, tt.hash, got, tt.want)
		}
	}
}

// TestRules: a custom field named by name becomes every place Close puts
// its value, in _raw and in the custom column; one that cannot be
// resolved fails rather than pass the value through.
func TestRules(t *testing.T) {
	t.Parallel()
	spec, err := NewSpec([]string{"custom.Secret"}, []string{"emails.email", "custom.cf_b"}, []byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	if spec.NamesCustomFields() != true {
		t.Error("custom.Secret is a name, not an id")
	}
	resolve := func(_ context.Context, name string) ([]string, error) {
		switch name {
		case "Secret":
			return []string{"cf_a"}, nil
		case "cf_b":
			return []string{"cf_b"}, nil
		}
		return nil, errors.New("unknown")
	}
	raw, custom, err := spec.Rules(context.Background(), resolve)
	if err != nil {
		t.Fatal(err)
	}
	in := `{"id":"c1","custom.cf_a":"s","custom.cf_b":"b","custom":{"Secret":"s","cf_a":"s"},"emails":[{"email":"x@y.z"}]}`
	got, err := raw.Apply([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	hb, hx := raw.HashString("b"), raw.HashString("x@y.z")
	if want := `{"id":"c1","custom.cf_b":"` + hb + `","custom":{},"emails":[{"email":"` + hx + `"}]}`; string(got) != want {
		t.Errorf("raw = %s\nwant %s", got, want)
	}
	gotCustom, err := custom.Apply([]byte(`{"cf_a":"s","cf_b":"b","cf_c":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"cf_b":"` + hb + `","cf_c":1}`; string(gotCustom) != want {
		t.Errorf("custom = %s, want %s", gotCustom, want)
	}
	if _, _, err := spec.Rules(context.Background(), func(context.Context, string) ([]string, error) {
		return nil, errors.New("no custom field is named")
	}); err == nil {
		t.Error("an unresolved custom field did not fail")
	}
	if _, err := NewSpec(nil, []string{"x"}, nil); err == nil {
		t.Error("hash without a salt was taken")
	}
}
