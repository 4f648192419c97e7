// Command xctl-gateway is the REST/JSON face of xctld for browsers and
// webhooks: the unary RPCs through gRPC-Gateway (routes in xctl_http.yaml),
// the server streams as Server-Sent Events, the live dashboard at /, the
// OpenAPI spec at /openapi.json and xctld's health at /healthz; its own
// Prometheus metrics at /metrics on --metrics-listen (metrics.go).
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
	"strings"
	"syscall"
	"time"
)

// Set by build.sh (-ldflags -X): the CMake project's version and the git commit.
var (
	version = "unknown"
	commit  = "unknown"
)

func main() {
	limits := DefaultServerLimits()
	showVersion := flag.Bool("version", false, "print the version and exit")
	listen := flag.String("listen", "127.0.0.1:8080", "HTTP listen address HOST:PORT (loopback by default; anything else needs --tls-cert, --tls-key and --allow-remote)")
	upstream := flag.String("grpc", "127.0.0.1:50051", "xctld gRPC address HOST:PORT (anything but loopback needs --grpc-ca)")
	portFile := flag.String("port-file", "", "write the bound port to this file once listening")
	webDir := flag.String("web-dir", "", "serve the dashboard from this folder instead of the embedded copy")
	tlsCert := flag.String("tls-cert", "", "serve HTTPS with this PEM certificate (with --tls-key)")
	tlsKey := flag.String("tls-key", "", "the PEM private key of --tls-cert")
	grpcCA := flag.String("grpc-ca", "", "connect to xctld over TLS, trusting this PEM CA or certificate")
	allowRemote := flag.Bool("allow-remote", false, "allow a --listen address other machines can reach (with --tls-cert/--tls-key; xctld must check tokens)")
	allowedHosts := flag.String("allowed-hosts", strings.Join(DefaultAllowedHosts, ","), "comma-separated Host names served, NAME or NAME:PORT (NAME alone: with the listen port or without); other Hosts are refused (DNS rebinding)")
	allowedOrigins := flag.String("allowed-origins", "", "comma-separated origins, http(s)://HOST[:PORT], that may send requests besides http(s)://<an allowed host> (a TLS proxy's public address)")
	maxStreams := flag.Int("max-streams", DefaultMaxStreams, "most event streams open at once; more are refused with 503 TOO_MANY_STREAMS")
	maxConns := flag.Int("max-conns", limits.MaxConns, "most client connections open at once; more wait to be accepted (above --max-streams)")
	flag.DurationVar(&limits.ReadHeaderTimeout, "read-header-timeout", limits.ReadHeaderTimeout, "time a client has to send a request's headers")
	flag.DurationVar(&limits.ReadTimeout, "read-timeout", limits.ReadTimeout, "time a client has to send a whole request, body included (not event streams)")
	flag.DurationVar(&limits.WriteTimeout, "write-timeout", limits.WriteTimeout, "time to answer a request, xctld's included (not event streams)")
	flag.DurationVar(&limits.IdleTimeout, "idle-timeout", limits.IdleTimeout, "how long an idle keep-alive connection stays open")
	metricsListen := flag.String("metrics-listen", DefaultMetricsListen, "serve Prometheus metrics at GET /metrics on HOST:PORT (loopback unless --allow-remote; empty: off)")
	streamWriteTimeout := flag.Duration("stream-write-timeout", DefaultStreamWriteTimeout, "time one event may take to reach a client; a client that stops reading is dropped")
	flag.Parse()
	if *showVersion {
		fmt.Printf("xctl-gateway %s (git %s)\n", version, commit)
		return
	}
	limits.MaxConns = *maxConns

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if (*tlsCert == "") != (*tlsKey == "") {
		refuse("give both --tls-cert and --tls-key, or neither")
	}
	if err := checkListen(*listen, *tlsCert != "", *allowRemote); err != nil {
		refuse(err.Error())
	}
	if err := checkUpstream(*upstream, *grpcCA); err != nil {
		refuse(err.Error())
	}
	if err := checkMetricsListen(*metricsListen, *allowRemote); err != nil {
		refuse(err.Error())
	}
	switch {
	case *maxStreams < 1:
		refuse("--max-streams must be at least 1")
	case *maxConns <= *maxStreams:
		refuse(fmt.Sprintf("--max-conns (%d) must be above --max-streams (%d): a refused stream needs a connection to hear why", *maxConns, *maxStreams))
	case limits.ReadHeaderTimeout <= 0 || limits.ReadTimeout <= 0 || limits.WriteTimeout <= 0 ||
		limits.IdleTimeout <= 0 || *streamWriteTimeout <= 0:
		refuse("the timeouts must be above zero")
	}
	gw, err := New(Options{Upstream: *upstream, UpstreamCA: *grpcCA, WebDir: *webDir, Logger: logger,
		AllowedHosts: splitList(*allowedHosts), AllowedOrigins: splitList(*allowedOrigins),
		MaxStreams: *maxStreams, StreamWriteTimeout: *streamWriteTimeout})
	if err != nil {
		refuse(err.Error())
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
	var metricsServer *http.Server
	if *metricsListen != "" {
		mln, err := net.Listen("tcp", *metricsListen)
		switch {
		case err == nil:
			metricsServer = metricsHTTPServer(gw.MetricsHandler(), limits)
			logger.Info("metrics serving", "event", "metrics_serving", "metrics", mln.Addr().String())
			go func() { _ = metricsServer.Serve(mln) }()
		case flagGiven("metrics-listen"):
			fmt.Fprintf(os.Stderr, "xctl-gateway: cannot listen on %s (--metrics-listen): %v\n", *metricsListen, err)
			os.Exit(1)
		default:
			logger.Warn("metrics off: the default --metrics-listen address is taken", "event", "metrics_off",
				"metrics", *metricsListen, "error", err.Error())
		}
	}
	server := limits.Server(gw)
	ln = limits.Listener(ln)
	logger.Info("gateway serving", "event", "gateway_serving", "listen", ln.Addr().String(),
		"upstream", *upstream, "dashboard", fmt.Sprintf("%s://%s/", map[bool]string{false: "http", true: "https"}[*tlsCert != ""], ln.Addr().String()),
		"allowed_hosts", *allowedHosts, "max_streams", *maxStreams, "max_conns", *maxConns)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		gw.Shutdown() // ends the event streams so Shutdown does not wait on them
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if metricsServer != nil {
			_ = metricsServer.Shutdown(shutdownCtx)
		}
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

// refuse ends a start that breaks a rule: one line, exit code 2.
func refuse(message string) {
	fmt.Fprintf(os.Stderr, "xctl-gateway: %s\n", message)
	os.Exit(2)
}

// flagGiven says whether the command line set the flag name.
func flagGiven(name string) bool {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// splitList splits a comma-separated flag; "" is an empty list.
func splitList(v string) []string {
	out := []string{}
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
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
