// Command closefake serves the fake Close API of internal/closefake in a
// process of its own, so that a measurement of closesync (scripts/rss.sh:
// peak RSS under /usr/bin/time -v) counts closesync alone, not the fake's
// generated organisation.
//
//	go run ./internal/closefake/cmd/closefake --scale 5000 --addr 127.0.0.1:0
//
// It prints the API root (http://ADDR/api/v1) on one line of standard output
// once it listens, and serves until killed. The API key is
// closefake.DefaultAPIKey.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/closesync/closesync/internal/closefake"
)

func main() {
	scale := flag.Int("scale", 100, "number of leads of the organisation")
	seed := flag.Int64("seed", 1, "seed of the generated data")
	addr := flag.String("addr", "127.0.0.1:0", "listen address (port 0: any free port)")
	flag.Parse()
	fake := closefake.New(closefake.Options{Seed: *seed, Scale: *scale})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "closefake:", err)
		os.Exit(1)
	}
	fmt.Printf("http://%s/api/v1\n", ln.Addr())
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "closefake:", err)
		os.Exit(1)
	}
}
