// The end-to-end benchmark's upstream: Go's net/http answering every request with the same
// 1 KiB body over keep-alive, on one listener per address given (the two subsets' endpoints),
// so the proxies under test, not the upstream, are the bottleneck. Stdlib only; the harness
// builds it with `go build` into a temporary folder.
//
// Usage: upstream <host:port> [<host:port> ...]   (port 0: any free port)
// Prints "listening <host:port> ..." once every listener is bound, then serves until killed.
package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: upstream <host:port> [<host:port> ...]")
		os.Exit(2)
	}
	// Same size for every listener: only the weighted split decides which one answers.
	body := bytes.Repeat([]byte("x"), 1024)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// The mTLS mode's check (bench/e2e/mtls-check.ts): what the sidecar told the app about its
		// peer, echoed only when asked so the measured responses stay the same size.
		if r.Header.Get("X-Bench-Echo-Xfcc") != "" {
			h["X-Bench-Xfcc"] = r.Header.Values("X-Forwarded-Client-Cert")
		}
		h["Content-Type"] = []string{"text/plain"}
		h["Content-Length"] = []string{"1024"}
		w.Write(body)
	})
	bound := make([]string, 0, len(os.Args)-1)
	for _, addr := range os.Args[1:] {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "upstream: cannot listen on %s: %v\n", addr, err)
			os.Exit(1)
		}
		bound = append(bound, ln.Addr().String())
		go func() {
			err := http.Serve(ln, handler)
			fmt.Fprintf(os.Stderr, "upstream: %v\n", err)
			os.Exit(1)
		}()
	}
	fmt.Printf("listening %s\n", strings.Join(bound, " "))
	select {}
}
