package main

// The request guard (guard.go): what a hostile web page can send through the
// user's browser, refused before xctld sees it; and what the dashboard and
// other clients send, still served.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// refusal decodes a refusal body, failing the test when it is not one.
func refusal(t *testing.T, what, body string) (code int, reason string) {
	t.Helper()
	var b struct {
		Code    int    `json:"code"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil || b.Message == "" {
		t.Errorf("%s: refusal body %q is not {code, reason, message} (%v)", what, body, err)
	}
	return b.Code, b.Reason
}

// Without xctld: the guard alone, on a request that arrived on port 8080.
func TestRequestGuardRules(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	guard, err := newRequestGuard(nil, []string{"https://xctl.example.com:443/"}, next)
	if err != nil {
		t.Fatal(err)
	}
	const ok = http.StatusTeapot
	for _, c := range []struct {
		name, method, host string
		headers            map[string]string
		body               string
		status             int
		reason             string
	}{
		{"loopback name", "GET", "localhost:8080", nil, "", ok, ""},
		{"loopback name without port", "GET", "LOCALHOST", nil, "", ok, ""},
		{"IPv4 loopback", "GET", "127.0.0.1:8080", nil, "", ok, ""},
		{"IPv6 loopback", "GET", "[::1]:8080", nil, "", ok, ""},
		{"IPv6 loopback without port", "GET", "[::1]", nil, "", ok, ""},
		{"rebinding name", "GET", "evil.example:8080", nil, "", 403, reasonHostNotAllowed},
		{"loopback name, another port", "GET", "localhost:9999", nil, "", 403, reasonHostNotAllowed},
		{"subdomain of localhost", "GET", "a.localhost:8080", nil, "", 403, reasonHostNotAllowed},
		{"no Host", "GET", "", nil, "", 403, reasonHostNotAllowed},
		{"other loopback address", "GET", "127.0.0.2:8080", nil, "", 403, reasonHostNotAllowed},
		{"JSON POST without Origin", "POST", "127.0.0.1:8080", map[string]string{"Content-Type": "application/json; charset=utf-8"}, "{}", ok, ""},
		{"JSON POST same origin", "POST", "127.0.0.1:8080", map[string]string{"Content-Type": "application/json",
			"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"}, "{}", ok, ""},
		{"JSON POST from an allowed host", "POST", "127.0.0.1:8080", map[string]string{"Content-Type": "application/json",
			"Origin": "http://localhost:8080"}, "{}", ok, ""},
		{"JSON POST from --allowed-origins", "POST", "127.0.0.1:8080", map[string]string{"Content-Type": "application/json",
			"Origin": "https://XCTL.example.com"}, "{}", ok, ""},
		{"POST without a body", "POST", "127.0.0.1:8080", nil, "", ok, ""},
		{"DELETE without a body", "DELETE", "127.0.0.1:8080", nil, "", ok, ""},
		{"text/plain POST", "POST", "127.0.0.1:8080", map[string]string{"Content-Type": "text/plain"}, "{}", 415, reasonUnsupportedMediaType},
		{"form POST", "POST", "127.0.0.1:8080", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "a=b", 415, reasonUnsupportedMediaType},
		{"multipart POST", "POST", "127.0.0.1:8080", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, "--x--", 415, reasonUnsupportedMediaType},
		{"empty form POST", "POST", "127.0.0.1:8080", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "", 415, reasonUnsupportedMediaType},
		{"body without Content-Type", "POST", "127.0.0.1:8080", nil, "{}", 415, reasonUnsupportedMediaType},
		{"PATCH text/plain", "PATCH", "127.0.0.1:8080", map[string]string{"Content-Type": "text/plain"}, "{}", 415, reasonUnsupportedMediaType},
		{"foreign Origin", "POST", "127.0.0.1:8080", map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"}, "{}", 403, reasonOriginNotAllowed},
		{"loopback Origin on another port", "POST", "127.0.0.1:8080", map[string]string{"Content-Type": "application/json", "Origin": "http://localhost:3000"}, "{}", 403, reasonOriginNotAllowed},
		{"null Origin", "POST", "127.0.0.1:8080", map[string]string{"Content-Type": "application/json", "Origin": "null"}, "{}", 403, reasonOriginNotAllowed},
		{"foreign Origin on a GET", "GET", "127.0.0.1:8080", map[string]string{"Origin": "http://evil.example"}, "", 403, reasonOriginNotAllowed},
		{"cross-site POST without Origin", "POST", "127.0.0.1:8080", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, "{}", 403, reasonCrossSite},
		{"cross-site EventSource", "GET", "127.0.0.1:8080", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}, "", 403, reasonCrossSite},
		{"cross-site link to the dashboard", "GET", "127.0.0.1:8080", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}, "", ok, ""},
		{"cross-site form navigation", "POST", "127.0.0.1:8080", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate",
			"Content-Type": "application/x-www-form-urlencoded"}, "a=b", 403, reasonCrossSite},
	} {
		req := httptest.NewRequest(c.method, "/v1/orders", strings.NewReader(c.body))
		req.Host = c.host
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey,
			&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}))
		rec := httptest.NewRecorder()
		guard.ServeHTTP(rec, req)
		if rec.Code != c.status {
			t.Errorf("%s: HTTP %d %s, want %d", c.name, rec.Code, rec.Body.String(), c.status)
			continue
		}
		if c.status != ok {
			if _, reason := refusal(t, c.name, rec.Body.String()); reason != c.reason {
				t.Errorf("%s: reason %q, want %q", c.name, reason, c.reason)
			}
		}
	}
	for _, bad := range [][]string{{""}, {"evil.example/x"}, {"*.example"}, {"localhost:http"}} {
		if _, err := newRequestGuard(bad, nil, next); err == nil {
			t.Errorf("allowed hosts %q accepted", bad)
		}
	}
	if _, err := newRequestGuard(nil, []string{"evil.example"}, next); err == nil {
		t.Errorf("an origin without a scheme was accepted")
	}
}

// attack sends one request to the gateway; host "" keeps the real one.
func (s *server) attack(t *testing.T, method, path, host string, headers map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for b.Len() < 1<<16 { // a stream that was not refused would never end
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil || resp.Header.Get("Content-Type") == "text/event-stream" {
			break
		}
	}
	return resp.StatusCode, b.String()
}

// orderJSON is a market order of the external strategy "ext" whose client
// order id tells which request placed it.
func orderJSON(clientOrderID string) string {
	return fmt.Sprintf(`{"strategy_id":"ext","symbol":"BTC-USDT","side":"SIDE_BUY","type":"ORDER_TYPE_MARKET",`+
		`"quantity":{"value":"1"},"client_order_id":%q}`, clientOrderID)
}

// placedOrders are the client order ids of every order xctld holds.
func (s *server) placedOrders(t *testing.T) map[string]bool {
	t.Helper()
	status, body := s.do(t, "GET", "/v1/orders?page_size=1000", "")
	if status != 200 {
		t.Fatalf("list orders: %d %s", status, body)
	}
	var list struct {
		Orders []struct {
			ClientOrderID string `json:"client_order_id"`
		} `json:"orders"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("list orders: %v: %s", err, body)
	}
	out := map[string]bool{}
	for _, o := range list.Orders {
		out[o.ClientOrderID] = true
	}
	return out
}

// A page on another site posts to http://127.0.0.1:PORT/v1/orders the ways a
// browser lets it without a CORS preflight, and with one: nothing is placed.
func TestCrossSiteRequestsPlaceNoOrder(t *testing.T) {
	s := newServer(t)
	origin := "http://evil.example"
	attacks := []struct {
		name, id string
		headers  map[string]string
		body     string
		status   int
		reason   string
	}{
		{"cross-site text/plain POST", "textplain",
			map[string]string{"Content-Type": "text/plain;charset=UTF-8", "Origin": origin, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},
			orderJSON("textplain"), 403, reasonOriginNotAllowed},
		{"text/plain POST, no Origin (an old browser)", "textplainbare",
			map[string]string{"Content-Type": "text/plain"}, orderJSON("textplainbare"), 415, reasonUnsupportedMediaType},
		{"cross-site form POST", "form",
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": origin, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"},
			orderJSON("form") + "=", 403, reasonOriginNotAllowed},
		{"form POST, no Origin", "formbare",
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, orderJSON("formbare") + "=", 415, reasonUnsupportedMediaType},
		{"JSON POST with a foreign Origin", "foreign",
			map[string]string{"Content-Type": "application/json", "Origin": origin}, orderJSON("foreign"), 403, reasonOriginNotAllowed},
		{"JSON POST with Origin null", "nullorigin",
			map[string]string{"Content-Type": "application/json", "Origin": "null"}, orderJSON("nullorigin"), 403, reasonOriginNotAllowed},
		{"JSON POST marked cross-site", "crosssite",
			map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, orderJSON("crosssite"), 403, reasonCrossSite},
	}
	for _, a := range attacks {
		status, body := s.attack(t, "POST", "/v1/orders", "", a.headers, a.body)
		if status != a.status {
			t.Errorf("%s: HTTP %d %s, want %d", a.name, status, body, a.status)
			continue
		}
		if code, reason := refusal(t, a.name, body); reason != a.reason || code == 0 {
			t.Errorf("%s: code %d reason %q, want reason %q", a.name, code, reason, a.reason)
		}
	}
	// The same order from the page itself (same origin, JSON) is placed, so
	// the refusals above are the guard's and not a bad order.
	status, body := s.attack(t, "POST", "/v1/orders", "", map[string]string{"Content-Type": "application/json",
		"Origin": s.http.URL, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}, orderJSON("sameorigin"))
	if status != 200 {
		t.Fatalf("same-origin JSON POST: %d %s", status, body)
	}
	placed := s.placedOrders(t)
	if !placed["sameorigin"] {
		t.Fatalf("the same-origin order is not listed: %v", placed)
	}
	for _, a := range attacks {
		if placed[a.id] {
			t.Errorf("%s placed an order", a.name)
		}
	}
}

// DNS rebinding: evil.example resolves to 127.0.0.1 after the page loaded,
// so the browser sends Host: evil.example:PORT. Refused on reads (the
// dashboard, the API, the streams) and on writes.
func TestRebindingHostIsRefused(t *testing.T) {
	s := newServer(t)
	port := s.http.Listener.Addr().(*net.TCPAddr).Port
	for _, host := range []string{fmt.Sprintf("evil.example:%d", port), "evil.example", "127.0.0.1.evil.example"} {
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/", ""},
			{"GET", "/app.js", ""},
			{"GET", "/v1/prices", ""},
			{"GET", "/v1/strategies", ""},
			{"GET", "/v1/stream/prices", ""},
			{"GET", "/v1/stream/kpis", ""},
			{"POST", "/v1/orders", orderJSON("rebound")},
			{"POST", "/v1/strategies/ext:stop", ""},
		} {
			headers := map[string]string{"Origin": "http://" + host}
			if c.method == "GET" {
				headers = nil // a same-origin GET carries no Origin
			} else if c.body != "" {
				headers["Content-Type"] = "application/json"
			}
			status, body := s.attack(t, c.method, c.path, host, headers, c.body)
			if status != 403 {
				t.Errorf("Host %s: %s %s = %d %.200s, want 403", host, c.method, c.path, status, body)
				continue
			}
			if _, reason := refusal(t, c.path, body); reason != reasonHostNotAllowed {
				t.Errorf("Host %s: %s %s: reason %q", host, c.method, c.path, reason)
			}
		}
	}
	if s.placedOrders(t)["rebound"] {
		t.Error("a rebinding POST placed an order")
	}
	if status, body := s.do(t, "GET", "/v1/strategies/ext", ""); status != 200 || !strings.Contains(body, "RUNNING") {
		t.Errorf("a rebinding POST stopped the strategy: %d %s", status, body)
	}
	if n := s.gw.OpenStreams(); n != 0 {
		t.Errorf("%d streams opened for a rebinding Host", n)
	}
}

// What the dashboard sends (gateway/web: GETs with fetch and EventSource,
// same origin, no Origin header) and what scripts send (curl, the CLI's
// JSON) still works, under each loopback name.
func TestDashboardAndSameOriginRequestsStillWork(t *testing.T) {
	s := newServerWith(t, func(o *Options) { o.AllowedOrigins = []string{"https://xctl.example.com"} }, nil)
	port := s.http.Listener.Addr().(*net.TCPAddr).Port
	browser := map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Accept": "application/json"}
	for _, host := range []string{"", fmt.Sprintf("localhost:%d", port), "localhost"} {
		for _, c := range []struct {
			path, want string
			headers    map[string]string
		}{
			{"/", "<html", map[string]string{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"}},
			{"/app.js", "EventSource", nil},
			{"/streams.js", "EventSource", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}},
			{"/v1/strategies", `"id":"ext"`, browser},
			{"/v1/positions?status=POSITION_STATUS_CLOSED&page_size=20&strategy_id=ext", "{", browser},
			{"/healthz", "SERVING", nil},
			{"/v1/stream/kpis", `"snapshot"`, map[string]string{"Accept": "text/event-stream", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}},
			{"/v1/stream/prices", `"snapshot"`, map[string]string{"Accept": "text/event-stream"}},
		} {
			status, body := s.attack(t, "GET", c.path, host, c.headers, "")
			if status != 200 || !strings.Contains(body, c.want) {
				t.Errorf("Host %q: GET %s = %d %.200s, want 200 with %s", host, c.path, status, body, c.want)
			}
		}
	}
	for id, headers := range map[string]map[string]string{
		"curl":    {"Content-Type": "application/json"},
		"page":    {"Content-Type": "application/json", "Origin": s.http.URL, "Sec-Fetch-Site": "same-origin"},
		"alias":   {"Content-Type": "application/json", "Origin": fmt.Sprintf("http://localhost:%d", port), "Sec-Fetch-Site": "same-site"},
		"proxied": {"Content-Type": "application/json; charset=utf-8", "Origin": "https://xctl.example.com"},
		"charset": {"Content-Type": "Application/JSON;charset=UTF-8"},
	} {
		if status, body := s.attack(t, "POST", "/v1/orders", "", headers, orderJSON(id)); status != 200 {
			t.Errorf("POST from %s: %d %s", id, status, body)
		}
	}
	// Body-less calls need no Content-Type.
	if status, body := s.attack(t, "POST", "/v1/strategies/ext:reconcile", "", nil, ""); status != 200 {
		t.Errorf("body-less POST: %d %s", status, body)
	}
	placed := s.placedOrders(t)
	for _, id := range []string{"curl", "page", "alias", "proxied", "charset"} {
		if !placed[id] {
			t.Errorf("order %s was not placed", id)
		}
	}
}
