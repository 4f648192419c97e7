package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// The start rules of docs/security.md, checked by main before it listens
// (a refusal is exit code 2 and one line):
//
//   - --listen on anything but loopback needs --tls-cert/--tls-key and
//     --allow-remote. The gateway checks no tokens itself and cannot know
//     whether xctld does; --allow-remote is the operator saying it does
//     (xctld refuses a non-loopback listen without tokens, but behind a
//     gateway it listens on loopback and would serve every caller).
//   - --grpc on anything but loopback needs --grpc-ca: the gateway forwards
//     the callers' bearer tokens, which must not cross a network in clear.

// checkListen applies the first rule to --listen.
func checkListen(listen string, tls, allowRemote bool) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--listen %s: want HOST:PORT", listen)
	}
	if isLoopbackHost(host) {
		return nil
	}
	switch {
	case !tls && !allowRemote:
		return fmt.Errorf("--listen %s is reachable from other machines: listen on 127.0.0.1, or give "+
			"--tls-cert, --tls-key and --allow-remote with tokens in xctld (docs/security.md)", listen)
	case !tls:
		return fmt.Errorf("--listen %s is reachable from other machines: --allow-remote also needs "+
			"--tls-cert and --tls-key, tokens must not cross a network in clear (docs/security.md)", listen)
	case !allowRemote:
		return fmt.Errorf("--listen %s is reachable from other machines: say --allow-remote once xctld "+
			"checks tokens (auth.tokens), the gateway checks none itself (docs/security.md)", listen)
	}
	return nil
}

// checkMetricsListen: --metrics-listen on anything but loopback needs
// --allow-remote (the page is plain HTTP without tokens: routes, error
// rates and stream counts are for the operator's network only). "" is off.
func checkMetricsListen(listen string, allowRemote bool) error {
	if listen == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--metrics-listen %s: want HOST:PORT, or empty for no metrics", listen)
	}
	if isLoopbackHost(host) || allowRemote {
		return nil
	}
	return fmt.Errorf("--metrics-listen %s is reachable from other machines: listen on 127.0.0.1, or say "+
		"--allow-remote to serve the metrics (plain HTTP, no tokens) to the network (docs/gateway.md)", listen)
}

// checkUpstream applies the second rule to --grpc.
func checkUpstream(target, ca string) error {
	if ca != "" {
		return nil
	}
	host, local := upstreamHost(target)
	if local || isLoopbackHost(host) {
		return nil
	}
	return fmt.Errorf("--grpc %s is not a loopback address: give --grpc-ca so that bearer tokens "+
		"reach xctld over TLS, not in clear (docs/security.md)", target)
}

// upstreamHost is the host of a gRPC target ("host:port", "dns:///host:port",
// "passthrough:///host:port"); local is true for Unix sockets.
func upstreamHost(target string) (host string, local bool) {
	if strings.HasPrefix(target, "unix:") || strings.HasPrefix(target, "unix-abstract:") {
		return "", true
	}
	endpoint := target
	if i := strings.Index(target, "://"); i >= 0 {
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "dns" && u.Scheme != "passthrough") {
			return "", false // a resolver we cannot see through: not known to be loopback
		}
		endpoint = strings.TrimPrefix(u.Path, "/")
	} else if strings.HasPrefix(target, "dns:") {
		endpoint = strings.TrimPrefix(target, "dns:")
	}
	if h, _, err := net.SplitHostPort(endpoint); err == nil {
		return h, false
	}
	return strings.Trim(endpoint, "[]"), false
}

// isLoopbackHost: a loopback address, "localhost", or a name whose every
// address is loopback. "" (every interface) and names that do not resolve
// are not.
func isLoopbackHost(host string) bool {
	if host == "" {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil || len(addrs) == 0 {
		return false
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return false
		}
	}
	return true
}
