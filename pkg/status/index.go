package status

import (
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"
)

// endpoint is one route of the status listener.
type endpoint struct {
	method, path, about string
	handler             http.Handler
}

// index answers / with the list of endpoints, one line each, as plain text
// (readable in a browser and with curl).
func index(eps []endpoint) http.Handler {
	var b strings.Builder
	b.WriteString("closesync status endpoint\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, ep := range eps {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", ep.method, ep.path, ep.about)
	}
	_ = tw.Flush() // a strings.Builder does not fail
	body := b.String()
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprint(w, body) // nobody to tell of a client gone away
	})
}
