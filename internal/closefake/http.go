package closefake

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const apiPrefix = "/api/v1"

// Close's error texts (see close-api.md §1, §3.1 and §12; the paging ones
// are flask-mongorest's, the framework Close's API is built on).
const (
	msgUnauthorized = "The server could not verify that you are authorized to access the URL requested.  You either supplied the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the credentials required."
	msgNotFound     = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."
	msgNotAllowed   = "The method is not allowed for the requested URL."
	msgMaxSkip      = "The skip you set is larger than the maximum skip for this resource (max_skip = %d). Please refine your search query."
	msgMaxLimit     = "The limit you set is larger than the maximum limit for this resource (max_limit = %d)."
	msgNotJSON      = "Please send valid JSON with a 'Content-Type: application/json' header."
	msgBadJSON      = "The request contains invalid JSON."
)

// apiError is an error response: a status and a JSON body.
type apiError struct {
	status int
	body   any
}

func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status, map[string]any{"error": fmt.Sprintf(format, args...)}}
}

// fieldError is Close's validation error shape.
func fieldError(field, msg string) *apiError {
	return &apiError{http.StatusBadRequest, map[string]any{"errors": []any{}, "field-errors": map[string]any{field: msg}}}
}

// request is an API request after the middleware: its parameters come
// from the query string or, for a POST overridden to GET, from the body's
// _params.
type request struct {
	*http.Request
	path   string // below /api/v1, with the trailing slash
	method string // after X-HTTP-Method-Override
	q      url.Values
	body   []byte
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error": "internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b) // a client that went away has nobody to tell
}

func writeErr(w http.ResponseWriter, e *apiError) { writeJSON(w, e.status, e.body) }

// nginxTitles are the status lines of nginx's built-in error pages.
var nginxTitles = map[int]string{
	http.StatusRequestURITooLong:  "414 Request-URI Too Large",
	http.StatusBadGateway:         "502 Bad Gateway",
	http.StatusServiceUnavailable: "503 Service Temporarily Unavailable",
	http.StatusGatewayTimeout:     "504 Gateway Time-out",
}

// writeGatewayError answers a 414, 502, 503 or 504 as Close does: they come
// from the nginx in front of the API, as its built-in HTML page, not as
// the API's JSON.
func writeGatewayError(w http.ResponseWriter, status int) {
	title := nginxTitles[status]
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", title, title)
}

// defaultMaxURLLength is Options.MaxURLLength's default.
const defaultMaxURLLength = 2000

// ServeHTTP serves the API under /api/v1. In order: latency, the URL
// length (Options.MaxURLLength, checked by the nginx in front), the trailing
// slash redirect (before authentication, as Werkzeug's routing does),
// authentication, injected failures (FailNext, FailureRate), Options.Deny,
// Options.NonPage, the rate limit, then the endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.opts.Latency > 0 {
		t := time.NewTimer(s.opts.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if strings.HasPrefix(r.URL.Path, exportFilesPrefix) {
		s.serveExportFile(w, r) // a signed storage link: no API key, no rate limit
		return
	}
	if limit := s.opts.MaxURLLength; limit >= 0 && len(r.URL.RequestURI()) > cmp.Or(limit, defaultMaxURLLength) {
		writeGatewayError(w, http.StatusRequestURITooLong)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, apiPrefix)
	if !ok || path == "" {
		writeErr(w, errorf(http.StatusNotFound, msgNotFound))
		return
	}
	if !strings.HasSuffix(path, "/") {
		if s.known(path + "/") {
			// Werkzeug redirects to the canonical slashed URL; 308 keeps
			// a POST a POST.
			u := *r.URL
			u.Path += "/"
			u.Scheme, u.Host = "http", r.Host
			if r.TLS != nil {
				u.Scheme = "https"
			}
			code := http.StatusMovedPermanently
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				code = http.StatusPermanentRedirect
			}
			http.Redirect(w, r, u.String(), code)
			return
		}
		writeErr(w, errorf(http.StatusNotFound, msgNotFound))
		return
	}
	if !s.authorized(r) {
		writeErr(w, errorf(http.StatusUnauthorized, msgUnauthorized))
		return
	}
	group := endpointGroup(r.Method, path)
	if status := s.injectedFailure(); status != 0 {
		if status == http.StatusTooManyRequests {
			s.limiter.tooMany(w, group, 1)
			return
		}
		if _, ok := nginxTitles[status]; ok {
			writeGatewayError(w, status)
			return
		}
		writeErr(w, errorf(status, "%s", http.StatusText(status)))
		return
	}
	if status, ok := s.opts.Deny[path]; ok {
		msg := map[int]string{
			http.StatusForbidden:       "You don't have permission to access this resource.",
			http.StatusPaymentRequired: "Your plan does not include this feature.",
			http.StatusBadRequest:      "You don't have access to the event log.",
		}[status]
		writeErr(w, errorf(status, "%s", msg))
		return
	}
	if s.opts.NonPage != nil {
		if body, ok := s.opts.NonPage(path); ok {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, body) // as in writeJSON
			return
		}
	}
	if !s.limiter.admit(w, group) {
		return
	}
	req, err := newRequest(r, path)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.route(w, req)
}

// endpointGroup is the rate limit bucket: method and first path segment
// (GET /lead/ and GET /lead/{id}/ share one; POST /activity/ is another).
func endpointGroup(method, path string) string {
	first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return method + " /" + first + "/"
}

func newRequest(r *http.Request, path string) (*request, *apiError) {
	req := &request{Request: r, path: path, method: r.Method, q: r.URL.Query()}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		b, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
		if err != nil {
			return nil, errorf(http.StatusBadRequest, msgBadJSON)
		}
		req.body = b
		if ct := r.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "json") {
			return nil, errorf(http.StatusBadRequest, msgNotJSON)
		}
	}
	// Long filter lists: POST with X-HTTP-Method-Override: GET and the
	// parameters in the body's _params (close-api.md §2).
	if o := r.Header.Get("X-HTTP-Method-Override"); o != "" && r.Method == http.MethodPost {
		req.method = strings.ToUpper(o)
		var body struct {
			Params map[string]any `json:"_params"`
		}
		if len(req.body) > 0 {
			if err := json.Unmarshal(req.body, &body); err != nil {
				return nil, errorf(http.StatusBadRequest, msgBadJSON)
			}
		}
		for k, v := range body.Params {
			req.q.Set(k, paramString(v))
		}
	}
	return req, nil
}

// paramString renders a _params value the way it would appear in a query
// string (lists become comma lists).
func paramString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = paramString(p)
		}
		return strings.Join(parts, ",")
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprint(int64(x))
		}
	}
	return fmt.Sprint(v)
}

// authorized accepts only what Close accepts for an API key: HTTP Basic
// with the key as username and an empty password. A Bearer header (Close
// takes Bearer only for OAuth access tokens, never for an API key) or a
// key in the query string is refused like a wrong key.
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	enc, ok := strings.CutPrefix(h, "Basic ")
	if !ok {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return false
	}
	user, pass, _ := strings.Cut(string(b), ":")
	return user == s.opts.APIKey && pass == ""
}

func (s *Server) injectedFailure() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext > 0 {
		s.failNext--
		return s.failCode
	}
	if s.opts.FailureRate > 0 && s.failRNG.Float64() < s.opts.FailureRate {
		return []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}[s.failRNG.IntN(3)]
	}
	return 0
}
