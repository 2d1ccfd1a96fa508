package extract

import (
	"strings"
	"testing"
)

// TestMapExportRecord: the export file's shape maps back to the list
// API's: custom fields by name become custom.<id> keys at the places that
// hold them, original-format timestamps take the API's form (no fraction
// when zero), a record already in the API's shape is unchanged, and names
// that are unknown, ambiguous or where no custom fields belong are errors.
func TestMapExportRecord(t *testing.T) {
	names := fieldNames{
		"":         {"Lead Source": "cf_src", "Region": "cf_reg", "Twice": ""},
		"contacts": {"LinkedIn": "cf_li"},
	}
	cases := []struct {
		name, in, want, err string
		emptyCustom         bool
	}{
		{name: "custom by name and dates", in: `{"id":"lead_1","custom":{"Lead Source":"Web","Region":null},` +
			`"date_created":"2024-01-02 03:04:05.123000+00:00","date_updated":"2024-01-02 03:04:05.000000+00:00"}`,
			want: `{"custom.cf_reg":null,"custom.cf_src":"Web","date_created":"2024-01-02T03:04:05.123000+00:00","date_updated":"2024-01-02T03:04:05+00:00","id":"lead_1"}`},
		{name: "embedded items have their own names", in: `{"custom":{},"contacts":[{"custom":{"LinkedIn":"x"},"emails":[]}]}`,
			want: `{"contacts":[{"custom.cf_li":"x","emails":[]}]}`},
		{name: "the deprecated empty custom object kept", emptyCustom: true, in: `{"custom":{"Lead Source":"Web"}}`,
			want: `{"custom":{},"custom.cf_src":"Web"}`},
		{name: "API shape passes", in: `{"custom.cf_src":"Web","n":1.50,"date_won":"2024-01-02","at":"2024-01-02T03:04:05+00:00","t":"a <b> & c"}`,
			want: `{"at":"2024-01-02T03:04:05+00:00","custom.cf_src":"Web","date_won":"2024-01-02","n":1.50,"t":"a <b> & c"}`},
		{name: "unknown name", in: `{"custom":{"Nope":1}}`, err: `"Nope" names no custom field`},
		{name: "ambiguous name", in: `{"custom":{"Twice":1}}`, err: "two custom fields have that name"},
		{name: "custom where none belong", in: `{"tasks":[{"custom":{"Lead Source":1}}]}`, err: "where no custom fields belong"},
		{name: "not an object", in: `[1]`, err: "not a JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _, err := mapExportRecord([]byte(c.in), names, c.emptyCustom)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one naming %q", err, c.err)
				}
				return
			}
			if err != nil || string(got) != c.want {
				t.Fatalf("got %s (%v)\nwant %s", got, err, c.want)
			}
		})
	}
}
