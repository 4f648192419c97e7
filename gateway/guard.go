package main

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
)

// requestGuard keeps other web sites out, in every mode (with or without
// tokens): a page the user opens must not trade through the gateway on
// loopback, and DNS rebinding must not let it read either.
//
//   - Host must be an allowed name (--allowed-hosts; loopback by default), on
//     every request: a rebinding page's requests carry its own name.
//   - Origin, when a request has one, must be an allowed origin:
//     http(s)://<allowed host> or one of --allowed-origins.
//   - Sec-Fetch-Site: cross-site is refused, except a plain navigation (a
//     link to the dashboard from elsewhere: GET, Sec-Fetch-Mode: navigate).
//   - A request that changes something (any method but GET, HEAD, OPTIONS,
//     TRACE) with a body must say Content-Type: application/json, which no
//     HTML form and no "simple" cross-origin fetch can send; a body-less one
//     may leave Content-Type out.
//
// Refusals are 403 or 415 with a JSON body and a reason (errors.go).
type requestGuard struct {
	hosts   []hostName
	origins map[string]bool // normalized --allowed-origins
	next    http.Handler
}

// DefaultAllowedHosts are the loopback names and addresses.
var DefaultAllowedHosts = []string{"localhost", "127.0.0.1", "[::1]"}

// hostName is one allowed Host: a lower-case name or address (IPv6 in
// brackets) and a port; without a port it matches the name alone and the
// name with the port the request arrived on (the listen port).
type hostName struct {
	name, port string
}

func newRequestGuard(hosts, origins []string, next http.Handler) (*requestGuard, error) {
	if hosts == nil {
		hosts = DefaultAllowedHosts
	}
	g := &requestGuard{origins: map[string]bool{}, next: next}
	for _, h := range hosts {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		name, port, ok := splitHost(h)
		if !ok || name == "" || strings.ContainsAny(name, "/*@ ") {
			return nil, fmt.Errorf("allowed host %q: want NAME, ADDRESS or NAME:PORT", h)
		}
		g.hosts = append(g.hosts, hostName{name, port})
	}
	if len(g.hosts) == 0 {
		return nil, fmt.Errorf("no allowed hosts: every request would be refused")
	}
	for _, o := range origins {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		norm, ok := normalizeOrigin(o)
		if !ok {
			return nil, fmt.Errorf("allowed origin %q: want http(s)://HOST[:PORT]", o)
		}
		g.origins[norm] = true
	}
	return g, nil
}

func (g *requestGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	port := localPort(r)
	if !g.hostAllowed(r.Host, port) {
		writeRefusal(w, http.StatusForbidden, codes.PermissionDenied, reasonHostNotAllowed,
			fmt.Sprintf("Host %q is not served here (allowed: --allowed-hosts)", r.Host))
		return
	}
	if origin, ok := r.Header["Origin"]; ok && !g.originAllowed(strings.Join(origin, ","), port) {
		writeRefusal(w, http.StatusForbidden, codes.PermissionDenied, reasonOriginNotAllowed,
			fmt.Sprintf("Origin %q may not call this gateway (allowed: its own hosts and --allowed-origins)",
				strings.Join(origin, ",")))
		return
	}
	safe := isSafeMethod(r.Method)
	if strings.EqualFold(r.Header.Get("Sec-Fetch-Site"), "cross-site") &&
		!(safe && strings.EqualFold(r.Header.Get("Sec-Fetch-Mode"), "navigate")) {
		writeRefusal(w, http.StatusForbidden, codes.PermissionDenied, reasonCrossSite,
			"a request from another web site is refused (Sec-Fetch-Site: cross-site)")
		return
	}
	if !safe && !jsonOrNoBody(r) {
		writeRefusal(w, http.StatusUnsupportedMediaType, codes.InvalidArgument, reasonUnsupportedMediaType,
			fmt.Sprintf("%s needs Content-Type: application/json, got %q", r.Method, r.Header.Get("Content-Type")))
		return
	}
	g.next.ServeHTTP(w, r)
}

func (g *requestGuard) hostAllowed(host, listenPort string) bool {
	name, port, ok := splitHost(host)
	if !ok || name == "" {
		return false
	}
	for _, h := range g.hosts {
		if h.name != name {
			continue
		}
		if h.port != "" && port == h.port || h.port == "" && (port == "" || port == listenPort) {
			return true
		}
	}
	return false
}

func (g *requestGuard) originAllowed(origin, listenPort string) bool {
	norm, ok := normalizeOrigin(origin)
	if !ok { // "null" (sandboxed frames, file:, privacy redirects) and anything odd
		return false
	}
	if g.origins[norm] {
		return true
	}
	u, _ := url.Parse(norm)
	return g.hostAllowed(u.Host, listenPort)
}

// isSafeMethod: the methods that change nothing (RFC 9110 9.2.1).
func isSafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// jsonOrNoBody: Content-Type is application/json (any parameters), or the
// request has neither a body nor a Content-Type (POST /v1/strategies/x:stop,
// DELETE /v1/strategies/x). A form always sends a Content-Type.
func jsonOrNoBody(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return r.ContentLength == 0
	}
	media, _, err := mime.ParseMediaType(ct)
	return err == nil && media == "application/json"
}

// localPort is the port the request's connection was accepted on.
func localPort(r *http.Request) string {
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if tcp, ok := addr.(*net.TCPAddr); ok {
			return strconv.Itoa(tcp.Port)
		}
	}
	return ""
}

// splitHost splits "name", "name:port", "[v6]", "[v6]:port" (and a bare
// IPv6 address) into a lower-case name (IPv6 in brackets) and a port.
func splitHost(h string) (name, port string, ok bool) {
	h = strings.ToLower(h)
	switch {
	case strings.HasPrefix(h, "["):
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", "", false
		}
		name, rest := h[:end+1], h[end+1:]
		if net.ParseIP(name[1:end]) == nil {
			return "", "", false
		}
		if rest == "" {
			return name, "", true
		}
		if !strings.HasPrefix(rest, ":") {
			return "", "", false
		}
		port = rest[1:]
		return name, port, validPort(port)
	case strings.Count(h, ":") > 1:
		if net.ParseIP(h) == nil {
			return "", "", false
		}
		return "[" + h + "]", "", true
	case strings.Contains(h, ":"):
		name, port, _ = strings.Cut(h, ":")
		return name, port, validPort(port)
	}
	return h, "", true
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536 && strconv.Itoa(n) == p
}

// normalizeOrigin: "scheme://host[:port]" in lower case, http or https only,
// without a default port or a trailing slash.
func normalizeOrigin(o string) (string, bool) {
	u, err := url.Parse(strings.ToLower(strings.TrimSpace(o)))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	name, port, ok := splitHost(u.Host)
	if !ok || name == "" {
		return "", false
	}
	if u.Scheme == "http" && port == "80" || u.Scheme == "https" && port == "443" {
		port = ""
	}
	host := name
	if port != "" {
		host += ":" + port
	}
	return u.Scheme + "://" + host, true
}
