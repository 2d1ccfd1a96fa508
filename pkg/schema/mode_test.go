package schema

import (
	"encoding/json"
	"testing"
)

func TestParseWriteMode(t *testing.T) {
	for in, want := range map[string]WriteMode{"": Upsert, "upsert": Upsert, "append": Append, "replace": Replace} {
		got, err := ParseWriteMode(in)
		if err != nil || got != want {
			t.Errorf("ParseWriteMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"Upsert", "merge", " append"} {
		if got, err := ParseWriteMode(in); err == nil {
			t.Errorf("ParseWriteMode(%q) = %q, want an error", in, got)
		} else if want := `unknown mode "` + in + `" (valid: upsert, append, replace)`; err.Error() != want {
			t.Errorf("ParseWriteMode(%q) error %q, want %q", in, err, want)
		}
	}
}

func TestWriteModeText(t *testing.T) {
	var v struct{ Mode WriteMode }
	if err := json.Unmarshal([]byte(`{"Mode":"replace"}`), &v); err != nil || v.Mode != Replace {
		t.Errorf("unmarshal replace: %q, %v", v.Mode, err)
	}
	if err := json.Unmarshal([]byte(`{"Mode":""}`), &v); err != nil || v.Mode != Upsert {
		t.Errorf("unmarshal empty: %q, %v", v.Mode, err)
	}
	if err := json.Unmarshal([]byte(`{"Mode":"merge"}`), &v); err == nil {
		t.Error("unmarshal merge: no error")
	}
	b, err := json.Marshal(struct{ Mode WriteMode }{Append})
	if err != nil || string(b) != `{"Mode":"append"}` {
		t.Errorf("marshal = %s, %v", b, err)
	}
	if Append.String() != "append" {
		t.Errorf("String = %q", Append.String())
	}
}
