package logging

import (
	"bytes"
	"os"
	"testing"

	"github.com/creack/pty"
)

// TestIsTerminal: a pty is a terminal, and so is a Routed on one; /dev/null
// (a character device), a pipe and a buffer are not.
func TestIsTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, tt := range []struct {
		name string
		w    any
		want bool
	}{
		{"pty", tty, true},
		{"routed pty", NewRouted(tty), true},
		{"/dev/null", null, false},
		{"pipe", w, false},
		{"routed buffer", NewRouted(&bytes.Buffer{}), false},
		{"buffer", &bytes.Buffer{}, false},
	} {
		if got := IsTerminal(tt.w); got != tt.want {
			t.Errorf("IsTerminal(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestRoutedSendsWritesWhereRouted: writes go to the base, then where
// routed, then to the base again.
func TestRoutedSendsWritesWhereRouted(t *testing.T) {
	var base, above bytes.Buffer
	r := NewRouted(&base)
	log, err := New("info", "console", r, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	log.Info("one")
	r.Route(&above)
	log.Info("two")
	r.Route(nil)
	log.Info("three")
	if b, a := base.String(), above.String(); !bytes.Contains(base.Bytes(), []byte("one")) || !bytes.Contains(base.Bytes(), []byte("three")) ||
		bytes.Contains(base.Bytes(), []byte("two")) || !bytes.Contains(above.Bytes(), []byte("two")) || bytes.Contains(above.Bytes(), []byte("one")) {
		t.Errorf("base got %q, the route %q", b, a)
	}
}
