package closeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

var (
	// ErrTooLarge reports a successful response longer than the cap
	// (64 MiB). It is refused while it streams: no more than the cap is
	// ever read.
	ErrTooLarge = errors.New("response too large")
	// ErrNotAPage reports a 200 whose body does not have the shape the
	// endpoint's paging needs (a "data" array and its paging fields), or an
	// object endpoint's body that is not an object with an id. Never read
	// as an empty page.
	ErrNotAPage = errors.New("response is not a page")
)

// tooLargeError is a response past the cap; it matches ErrTooLarge and is
// not retried.
type tooLargeError struct{ limit int64 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("response larger than the %d MiB cap", e.limit>>20)
}

func (e *tooLargeError) Is(target error) bool { return target == ErrTooLarge }

// cappedReader reads at most limit bytes of r; reading past them fails
// with a *tooLargeError (http.MaxBytesReader without the ResponseWriter).
type cappedReader struct {
	r     io.Reader
	left  int64 // bytes still allowed
	limit int64
	err   error
}

func newCappedReader(r io.Reader, limit int64) *cappedReader {
	return &cappedReader{r: r, left: limit, limit: limit}
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if int64(n) <= c.left {
		c.left -= int64(n)
		c.err = err
		return n, err
	}
	n = int(c.left)
	c.left = 0
	c.err = &tooLargeError{limit: c.limit}
	return n, c.err
}

// bufferBody reads r whole into memory, refusing it once it passes limit:
// chunks of growing size, so nothing is copied while it grows and no more
// than limit plus one small read is ever held.
func bufferBody(r io.Reader, limit int64) (io.Reader, error) {
	cr := newCappedReader(r, limit)
	var chunks [][]byte
	size := 32 << 10
	for {
		buf := make([]byte, size)
		n, err := 0, error(nil)
		for n < len(buf) && err == nil {
			var m int
			m, err = cr.Read(buf[n:])
			n += m
		}
		if n > 0 {
			chunks = append(chunks, buf[:n])
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		size = min(size*2, 1<<20)
	}
	readers := make([]io.Reader, len(chunks))
	for i, c := range chunks {
		readers[i] = bytes.NewReader(c)
	}
	return io.MultiReader(readers...), nil
}

// headRecorder keeps the first bytes read through it, for error messages.
type headRecorder struct {
	r    io.Reader
	head []byte
}

const headBytes = 512

func (h *headRecorder) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if room := headBytes - len(h.head); room > 0 {
		h.head = append(h.head, p[:min(n, room)]...)
	}
	return n, err
}

// quoteHead is the start of a body for an error message: at most 200
// bytes, the API key (also as a Basic credential, also cut short at the
// end) removed.
func (c *Client) quoteHead(head []byte) string {
	if len(bytes.TrimSpace(head)) == 0 {
		return "empty body"
	}
	s, cut := string(head), false
	if len(s) > 200 {
		s, cut = s[:200], true
	}
	s = c.redact(s)
	for _, secret := range []string{c.key, strings.TrimPrefix(c.auth, "Basic ")} {
		for k := min(len(secret)-1, len(s)); k >= 4; k-- {
			if strings.HasSuffix(s, secret[:k]) {
				s = s[:len(s)-k] + "[redacted]"
				break
			}
		}
	}
	s = strings.ToValidUTF8(s, "")
	if cut {
		s += "…"
	}
	return fmt.Sprintf("%q", s)
}

// streamDecoder is implemented by response types that decode themselves
// token by token from the response stream and check their own shape.
type streamDecoder interface {
	decodeStream(dec *json.Decoder) error
}

// pageShape is what a list response of one paging style must carry.
type pageShape int

const (
	shapeOffset pageShape = iota // data and has_more
	shapeCursor                  // data and cursor_next (string or null)
	shapeSearch                  // data and cursor (string or null)
	shapeSingle                  // data only (statuses, pipelines)
)

// shapeFields names the paging field each shape requires.
var shapeFields = map[pageShape]string{shapeOffset: "has_more", shapeCursor: "cursor_next", shapeSearch: "cursor"}

type pageBody struct {
	shape        pageShape
	Data         []json.RawMessage
	HasMore      *bool
	TotalResults *int64
	CursorNext   *string
	Cursor       *string
	seen         map[string]bool
}

// decodeStream reads a page object token by token, so that a huge page
// is never held twice: each element of data is decoded on its own. It
// fails with ErrNotAPage unless the body is one JSON object with a data
// array of objects and the paging field of its shape.
func (p *pageBody) decodeStream(dec *json.Decoder) error {
	p.seen = map[string]bool{}
	tok, err := dec.Token()
	if err == io.EOF {
		return fmt.Errorf("%w: the body is empty", ErrNotAPage)
	}
	if err != nil {
		return notJSON(err)
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("%w: the body is %s, not an object", ErrNotAPage, describeToken(tok))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return notJSON(err)
		}
		key, _ := tok.(string)
		p.seen[key] = true
		switch key {
		case "data":
			if err := p.decodeData(dec); err != nil {
				return err
			}
		case "has_more":
			if err := decodeField(dec, key, &p.HasMore); err != nil {
				return err
			}
		case "total_results":
			if err := decodeField(dec, key, &p.TotalResults); err != nil {
				return err
			}
		case "cursor_next":
			if err := decodeField(dec, key, &p.CursorNext); err != nil {
				return err
			}
		case "cursor":
			if err := decodeField(dec, key, &p.Cursor); err != nil {
				return err
			}
		default:
			var skip struct{}
			if err := dec.Decode(&skip); err != nil {
				if !isTypeError(err) {
					return notJSON(err)
				}
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return notJSON(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return notJSON(err)
		}
		return fmt.Errorf("%w: data after the page object", ErrNotAPage)
	}
	if p.Data == nil {
		if p.seen["data"] {
			return fmt.Errorf("%w: data is null, not an array", ErrNotAPage)
		}
		return fmt.Errorf("%w: no data array", ErrNotAPage)
	}
	if f, ok := shapeFields[p.shape]; ok && !p.seen[f] {
		return fmt.Errorf("%w: no %s field", ErrNotAPage, f)
	}
	if p.shape == shapeOffset && p.HasMore == nil {
		return fmt.Errorf("%w: has_more is null, not true or false", ErrNotAPage)
	}
	return nil
}

func (p *pageBody) decodeData(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return notJSON(err)
	}
	if tok == nil {
		return nil // data: null, refused by the caller
	}
	if tok != json.Delim('[') {
		return fmt.Errorf("%w: data is %s, not an array", ErrNotAPage, describeToken(tok))
	}
	p.Data = []json.RawMessage{}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return notJSON(err)
		}
		if len(raw) == 0 || raw[0] != '{' {
			return fmt.Errorf("%w: data[%d] is %.40s, not an object", ErrNotAPage, len(p.Data), raw)
		}
		p.Data = append(p.Data, raw)
	}
	_, err = dec.Token() // ]
	if err != nil {
		return notJSON(err)
	}
	return nil
}

// decodeField decodes one paging field into *dst (left nil for null).
func decodeField[T any](dec *json.Decoder, key string, dst **T) error {
	var v *T
	if err := dec.Decode(&v); err != nil {
		if isTypeError(err) {
			return fmt.Errorf("%w: %s is not a %T", ErrNotAPage, key, *new(T))
		}
		return notJSON(err)
	}
	*dst = v
	return nil
}

func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

// notJSON wraps a syntax or read error. Read errors (the cap, a dropped
// connection) pass through unchanged for the caller to name.
func notJSON(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
		// The parser's error is detail, not a cause: wrapping a truncated
		// body's io.ErrUnexpectedEOF would make Temporary retry a page
		// that is malformed, not cut short in transit.
		return fmt.Errorf("%w: not JSON (%v)", ErrNotAPage, err) //nolint:errorlint // see above: err deliberately not wrapped
	}
	return err
}

func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

// SinglePage is the response of an endpoint that returns its whole list
// at once (/status/lead/, /pipeline/): Get fails with ErrNotAPage unless
// the body is an object with a data array of objects.
type SinglePage struct {
	Data []json.RawMessage
}

func (s *SinglePage) decodeStream(dec *json.Decoder) error {
	p := pageBody{shape: shapeSingle}
	if err := p.decodeStream(dec); err != nil {
		return err
	}
	s.Data = p.Data
	return nil
}

// UnmarshalJSON applies the same checks to a body already in memory.
func (s *SinglePage) UnmarshalJSON(b []byte) error {
	return s.decodeStream(json.NewDecoder(bytes.NewReader(b)))
}

// Object is the response of an endpoint that returns one object
// (/me/, /organization/{id}/): Get fails with ErrNotAPage unless the body
// is a JSON object with a non-empty string id.
type Object struct {
	Raw json.RawMessage
}

func (o *Object) decodeStream(dec *json.Decoder) error {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if err == io.EOF {
			return fmt.Errorf("%w: the body is empty", ErrNotAPage)
		}
		return notJSON(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the object", ErrNotAPage)
	}
	return o.UnmarshalJSON(raw)
}

// UnmarshalJSON checks that b is an object with an id.
func (o *Object) UnmarshalJSON(b []byte) error {
	var obj struct {
		ID *json.RawMessage `json:"id"`
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("%w: not a JSON object", ErrNotAPage)
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("%w: %w", ErrNotAPage, err)
	}
	var id string
	if obj.ID == nil || json.Unmarshal(*obj.ID, &id) != nil || id == "" {
		return fmt.Errorf("%w: an object without an id", ErrNotAPage)
	}
	o.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// bufferSuccess reads a successful response of a retryable request into
// memory inside its attempt (so a body cut short is retried), refusing it
// at once when Content-Length passes the cap and, while it streams, as
// soon as it does: the rest is never read.
func (t *retryTransport) bufferSuccess(ctx, actx context.Context, resp *http.Response, done func()) (*http.Response, []byte, error) {
	defer done()
	defer resp.Body.Close()
	if resp.ContentLength > maxBodyBytes {
		return nil, nil, &tooLargeError{limit: maxBodyBytes}
	}
	body, err := bufferBody(resp.Body, maxBodyBytes)
	if err != nil {
		if !errors.Is(err, ErrTooLarge) {
			err = fmt.Errorf("read response: %w", t.classify(ctx, actx, err))
		}
		return nil, nil, err
	}
	resp.Body = io.NopCloser(body)
	resp.ContentLength = -1
	resp.Header.Del("Content-Length")
	return resp, nil, nil
}
