package bytesize

import "testing"

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"64MB", 64e6, true},
		{"256 MiB", 256 << 20, true},
		{"1.5 GiB", 1.5 * (1 << 30), true},
		{"64mb", 64e6, true},
		{" 2GB ", 2e9, true},
		{"10B", 10, true},
		{"lots", 0, false},
		{"64 megabytes", 0, false},
		{"64", 0, false},
		{"", 0, false},
		{"-1MB", 0, false},
	} {
		got, ok := Parse(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
