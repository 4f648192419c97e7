// Command xctl-gateway is the REST/JSON face of xctld for browsers and
// webhooks: the unary RPCs through gRPC-Gateway (routes in xctl_http.yaml),
// the server streams as Server-Sent Events, the live dashboard at /, the
// OpenAPI spec at /openapi.json and xctld's health at /healthz.
//
//	xctl-gateway --listen 127.0.0.1:8080 --grpc 127.0.0.1:50051
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "HTTP listen address HOST:PORT (loopback by default)")
	upstream := flag.String("grpc", "127.0.0.1:50051", "xctld gRPC address HOST:PORT")
	portFile := flag.String("port-file", "", "write the bound port to this file once listening")
	webDir := flag.String("web-dir", "", "serve the dashboard from this folder instead of the embedded copy")
	tlsCert := flag.String("tls-cert", "", "serve HTTPS with this PEM certificate (with --tls-key)")
	tlsKey := flag.String("tls-key", "", "the PEM private key of --tls-cert")
	grpcCA := flag.String("grpc-ca", "", "connect to xctld over TLS, trusting this PEM CA or certificate")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if (*tlsCert == "") != (*tlsKey == "") {
		fmt.Fprintln(os.Stderr, "xctl-gateway: give both --tls-cert and --tls-key, or neither")
		os.Exit(2)
	}
	gw, err := New(Options{Upstream: *upstream, UpstreamCA: *grpcCA, WebDir: *webDir, Logger: logger})
	if err != nil {
		fmt.Fprintf(os.Stderr, "xctl-gateway: %v\n", err)
		os.Exit(2)
	}
	defer gw.Close()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "xctl-gateway: cannot listen on %s: %v\n", *listen, err)
		os.Exit(1)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if *portFile != "" {
		if err := writePortFile(*portFile, port); err != nil {
			fmt.Fprintf(os.Stderr, "xctl-gateway: %v\n", err)
			os.Exit(1)
		}
	}
	server := &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("gateway serving", "event", "gateway_serving", "listen", ln.Addr().String(),
		"upstream", *upstream, "dashboard", fmt.Sprintf("%s://%s/", map[bool]string{false: "http", true: "https"}[*tlsCert != ""], ln.Addr().String()))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		gw.Shutdown() // ends the event streams so Shutdown does not wait on them
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdownCtx)
	}()
	serve := func() error { return server.Serve(ln) }
	if *tlsCert != "" {
		serve = func() error { return server.ServeTLS(ln, *tlsCert, *tlsKey) }
	}
	if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "xctl-gateway: %v\n", err)
		os.Exit(1)
	}
	logger.Info("gateway stopped", "event", "gateway_stopped")
}

// writePortFile writes "PORT\n" atomically (a rename), so a reader never
// sees half a line.
func writePortFile(path string, port int) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d\n", port)), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
