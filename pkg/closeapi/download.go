package closeapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Download GETs a link Close handed out (an export's download_url) and
// returns its body unread, for the caller to stream and close. The link is
// a signed storage URL, not the API: it is sent without the API key (a
// signed link refuses a second credential, and the key must not leave for
// another host), without rate-limit budget and without retries (a failed
// download fails its run; the next run starts the export again). The body
// is handed on as sent: a gzip-encoded file stays compressed. Errors name
// the link without its query, which holds the signature.
func (c *Client) Download(ctx context.Context, link string) (io.ReadCloser, error) {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("download: %q is not an absolute http(s) URL", redactQuery(link))
	}
	shown := redactQuery(link)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", shown, err)
	}
	req.Header.Set("User-Agent", c.ua)
	// Asking for gzip ourselves keeps the transport from decompressing
	// behind our back: the caller checks what it got.
	req.Header.Set("Accept-Encoding", "gzip")
	if s := statsFrom(ctx); s != nil {
		s.Requests.Add(1)
	}
	resp, err := c.rt.next.RoundTrip(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("download %s: %w", shown, scrubURLError(err))
	}
	if resp.StatusCode != http.StatusOK {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		resp.Body.Close()
		return nil, fmt.Errorf("download %s: HTTP %d: %s", shown, resp.StatusCode, c.redact(string(head)))
	}
	return resp.Body, nil
}

// redactQuery is link without its query and fragment.
func redactQuery(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return "(unparseable link)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}
