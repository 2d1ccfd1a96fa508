package schema

import (
	"encoding/json"
	"testing"
	"time"
)

func TestBookmarkRoundTrip(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	for _, tt := range []struct {
		at   time.Time
		text string
	}{
		{time.Date(2024, 3, 1, 12, 30, 45, 123456789, time.UTC), "2024-03-01T12:30:45.123456789Z"},
		{time.Date(2024, 3, 1, 12, 30, 45, 120000000, time.UTC), "2024-03-01T12:30:45.12Z"},
		// A whole second, as Daily reports' days are stored.
		{time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), "2024-03-01T00:00:00Z"},
		// Any zone is stored in UTC.
		{time.Date(2024, 3, 1, 13, 0, 0, 0, paris), "2024-03-01T12:00:00Z"},
	} {
		b := BookmarkAt(tt.at)
		if got := b.String(); got != tt.text {
			t.Errorf("BookmarkAt(%s) = %q, want %q", tt.at, got, tt.text)
		}
		back, err := ParseBookmark(tt.text)
		if err != nil || back != b || !back.Time().Equal(tt.at) || back.Time().Location() != time.UTC {
			t.Errorf("ParseBookmark(%q) = %v, %v; want %v", tt.text, back, err, b)
		}
		text, err := b.MarshalText()
		if err != nil || string(text) != tt.text {
			t.Errorf("MarshalText = %q, %v", text, err)
		}
		var u Bookmark
		if err := u.UnmarshalText(text); err != nil || u != b {
			t.Errorf("UnmarshalText(%q) = %v, %v", text, u, err)
		}
	}
}

func TestBookmarkZero(t *testing.T) {
	var zero Bookmark
	if !zero.IsZero() || zero.String() != "" || !zero.Time().IsZero() {
		t.Errorf("zero bookmark: %v %q %v", zero.IsZero(), zero.String(), zero.Time())
	}
	if b := BookmarkAt(time.Time{}); b != zero {
		t.Errorf("BookmarkAt(zero time) = %v", b)
	}
	if b, err := ParseBookmark(""); err != nil || b != zero {
		t.Errorf(`ParseBookmark("") = %v, %v`, b, err)
	}
	b, err := json.Marshal(struct{ B Bookmark }{})
	if err != nil || string(b) != `{"B":""}` {
		t.Errorf("marshal zero = %s, %v", b, err)
	}
	var v struct{ B Bookmark }
	if err := json.Unmarshal([]byte(`{"B":""}`), &v); err != nil || !v.B.IsZero() {
		t.Errorf("unmarshal empty = %v, %v", v.B, err)
	}
}

// TestBookmarkOldFormats: what older versions stored in sync.state reads
// back as the same instant.
func TestBookmarkOldFormats(t *testing.T) {
	for text, want := range map[string]time.Time{
		"2024-03-01T00:00:00Z":          time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		"2024-03-01T12:30:45.5Z":        time.Date(2024, 3, 1, 12, 30, 45, 500000000, time.UTC),
		"2024-03-01T13:30:45+01:00":     time.Date(2024, 3, 1, 12, 30, 45, 0, time.UTC),
		"2024-03-01T12:30:45.000+00:00": time.Date(2024, 3, 1, 12, 30, 45, 0, time.UTC),
	} {
		b, err := ParseBookmark(text)
		if err != nil || !b.Time().Equal(want) {
			t.Errorf("ParseBookmark(%q) = %v, %v; want %s", text, b, err, want)
		}
	}
	for _, text := range []string{"bm", "2024-03-01", "2024-03-01 12:00:00"} {
		if b, err := ParseBookmark(text); err == nil {
			t.Errorf("ParseBookmark(%q) = %v, want an error", text, b)
		}
	}
}

func TestBookmarkOrder(t *testing.T) {
	a, b := BookmarkAt(time.Unix(100, 0)), BookmarkAt(time.Unix(200, 0))
	if !a.Before(b) || a.After(b) || !b.After(a) || b.Before(a) || a.Before(a) {
		t.Error("Before/After disagree with time order")
	}
}
