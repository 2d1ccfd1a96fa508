package schema

import (
	"fmt"
	"time"
)

// Bookmark is how far a report's data is complete: the newest replication
// key value (or day) a run committed. It is a time with one text encoding,
// RFC 3339 with nanoseconds in UTC, which is how sync.state stores it; the
// zero Bookmark means "none yet" and encodes as "".
type Bookmark struct {
	t time.Time
}

// BookmarkAt returns the bookmark at t (the zero time gives no bookmark).
func BookmarkAt(t time.Time) Bookmark {
	if t.IsZero() {
		return Bookmark{}
	}
	return Bookmark{t: t.UTC()}
}

// ParseBookmark reads a bookmark's text encoding; "" is no bookmark. It also
// accepts RFC 3339 without fractional seconds, which older versions wrote
// for daily reports.
func ParseBookmark(s string) (Bookmark, error) {
	if s == "" {
		return Bookmark{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Bookmark{}, fmt.Errorf("bookmark %q is not an RFC 3339 time", s)
	}
	return BookmarkAt(t), nil
}

// Time is the bookmark's time, the zero time when there is none.
func (b Bookmark) Time() time.Time { return b.t }

// IsZero reports whether there is no bookmark.
func (b Bookmark) IsZero() bool { return b.t.IsZero() }

// Before reports whether b is earlier than o.
func (b Bookmark) Before(o Bookmark) bool { return b.t.Before(o.t) }

// After reports whether b is later than o.
func (b Bookmark) After(o Bookmark) bool { return b.t.After(o.t) }

// String is the text encoding ("" when there is none).
func (b Bookmark) String() string {
	if b.t.IsZero() {
		return ""
	}
	return b.t.Format(time.RFC3339Nano)
}

// MarshalText implements encoding.TextMarshaler.
func (b Bookmark) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *Bookmark) UnmarshalText(p []byte) error {
	v, err := ParseBookmark(string(p))
	if err != nil {
		return err
	}
	*b = v
	return nil
}
