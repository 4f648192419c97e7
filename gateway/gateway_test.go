package main

// End-to-end tests: a real xctld (XCTL_XCTLD, built by CMake) on loopback
// with a paper tradingview strategy and a paper external strategy, and the
// gateway in front of it; every REST route with its error cases, and the
// event streams.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type server struct {
	gw   *Gateway
	http *httptest.Server
}

func startXctld(t *testing.T, extraYAML ...string) string {
	t.Helper()
	bin := os.Getenv("XCTL_XCTLD")
	if bin == "" {
		bin = "../build/server/xctld"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("xctld not built at %s (set XCTL_XCTLD): %v", bin, err)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "xctl.yaml")
	if err := os.WriteFile(config, []byte(strings.Join(extraYAML, "\n")+`
price: {source: simulated, pairs: [BTC-USDT, ETH-USDT], interval_ms: 100}
strategies:
  - {id: ext, type: external, pairs: [BTC-USDT, ETH-USDT]}
  - {id: tv, type: tradingview, pairs: [BTC-USDT], signal_secret_env: TV_SECRET}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	portFile := filepath.Join(dir, "port")
	cmd := exec.Command(bin, "--config="+config, "--db=sqlite:"+filepath.Join(dir, "x.db"),
		"--listen=127.0.0.1:0", "--port-file="+portFile)
	cmd.Env = append(os.Environ(), "TV_SECRET=hook-secret")
	logFile, _ := os.Create(filepath.Join(dir, "xctld.log"))
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	for i := 0; i < 300; i++ {
		if b, err := os.ReadFile(portFile); err == nil && strings.HasSuffix(string(b), "\n") {
			return "127.0.0.1:" + strings.TrimSpace(string(b))
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "xctld.log"))
	t.Fatalf("xctld did not start:\n%s", log)
	return ""
}

func newServer(t *testing.T) *server {
	t.Helper()
	return newServerWith(t, nil, nil)
}

// newServerWith starts xctld and the gateway with options changed by opts;
// with limits, behind the http.Server and listener main builds.
func newServerWith(t *testing.T, opts func(*Options), limits *ServerLimits) *server {
	t.Helper()
	return serveGateway(t, startXctld(t), opts, limits)
}

func serveGateway(t *testing.T, upstream string, opts func(*Options), limits *ServerLimits) *server {
	t.Helper()
	o := Options{Upstream: upstream, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if opts != nil {
		opts(&o)
	}
	gw, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewUnstartedServer(gw)
	if limits != nil {
		web.Config = limits.Server(gw)
		web.Listener = limits.Listener(web.Listener)
	}
	web.Start()
	s := &server{gw: gw, http: web}
	t.Cleanup(func() {
		gw.Shutdown()
		s.http.Close()
		gw.Close()
	})
	return s
}

func (s *server) do(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEveryRoute(t *testing.T) {
	s := newServer(t)
	order := `{"strategy_id":"ext","symbol":"BTC-USDT","side":"SIDE_BUY","type":"ORDER_TYPE_MARKET","quantity":{"value":"1"}}`
	cases := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"health", "GET", "/healthz", "", 200, `"SERVING"`},
		{"ready", "GET", "/readyz", "", 200, `"xctl.v1.ExchangeControl":"SERVING","xctl.v1.PriceFeed":"SERVING","xctl.v1.StrategyManager":"SERVING"},"status":"SERVING"`},
		{"openapi", "GET", "/openapi.json", "", 200, `"/v1/orders"`},
		{"dashboard", "GET", "/", "", 200, "<html"},
		{"prices", "GET", "/v1/prices", "", 200, `"pair":"BTC-USDT"`},
		{"price", "GET", "/v1/prices/ETH-USDT", "", 200, `"pair":"ETH-USDT"`},
		{"price not configured", "GET", "/v1/prices/DOGE-USDT", "", 404, `"code":5`},
		{"price malformed", "GET", "/v1/prices/btc", "", 400, `"code":3`},
		{"strategies", "GET", "/v1/strategies", "", 200, `"id":"ext"`},
		{"strategy", "GET", "/v1/strategies/tv", "", 200, `"type":"tradingview"`},
		{"strategy unknown", "GET", "/v1/strategies/nobody", "", 404, `"code":5`},
		{"order", "POST", "/v1/orders", order, 200, `"status":"ORDER_STATUS_FILLED"`},
		{"order retried", "POST", "/v1/orders", strings.Replace(order, `"quantity"`, `"client_order_id":"r1","quantity"`, 1), 200, `"mode":"TRADING_MODE_PAPER"`},
		{"order bad json", "POST", "/v1/orders", `{"strategy_id":`, 400, `"code":3`},
		{"order unknown field", "POST", "/v1/orders", `{"strategy":"ext"}`, 400, `"code":3`},
		{"order unknown strategy", "POST", "/v1/orders", strings.Replace(order, `"ext"`, `"nobody"`, 1), 404, `unknown strategy`},
		{"order bad quantity", "POST", "/v1/orders", strings.Replace(order, `"1"`, `"-1"`, 1), 400, `quantity`},
		{"positions", "GET", "/v1/positions?status=POSITION_STATUS_OPEN", "", 200, `"strategy_id":"ext"`},
		{"strategy positions", "GET", "/v1/strategies/ext/positions", "", 200, `"mark_price"`},
		{"positions bad page", "GET", "/v1/positions?page_size=5000", "", 400, `page_size`},
		{"orders", "GET", "/v1/orders", "", 200, `"client_order_id":"r1"`},
		{"strategy orders", "GET", "/v1/strategies/tv/orders", "", 200, `{}`},
		{"balance", "GET", "/v1/strategies/ext/balance", "", 200, `"currency":"USDT"`},
		{"instruments", "GET", "/v1/instruments", "", 200, `"contract_value"`},
		{"kpis", "GET", "/v1/kpis", "", 200, `"all":true`},
		{"strategy kpis", "GET", "/v1/strategies/ext/kpis", "", 200, `"strategy_id":"ext"`},
		{"reconcile", "POST", "/v1/strategies/ext:reconcile", "", 200, `{}`},
		{"close", "POST", "/v1/positions:close", `{"strategy_id":"ext","symbol":"BTC-USDT","quantity":{"value":"1"}}`, 200, `"closed_positions"`},
		{"close nothing", "POST", "/v1/positions:close", `{"strategy_id":"ext","symbol":"ETH-USDT"}`, 400, `no open position`},
		{"cancel unknown", "POST", "/v1/orders:cancel", `{"strategy_id":"ext","order_id":"999"}`, 404, `not found`},
		{"signal", "POST", "/v1/signals/tradingview", `{"strategy_id":"tv","action":"buy","symbol":"BTC-USDT","quantity":"1","secret":"hook-secret"}`, 200, `"status":"ORDER_STATUS_FILLED"`},
		{"signal wrong secret", "POST", "/v1/signals/tradingview", `{"strategy_id":"tv","action":"buy","symbol":"BTC-USDT","quantity":"1","secret":"nope"}`, 403, `secret`},
		{"create", "POST", "/v1/strategies", `{"strategy":{"id":"made","type":"external","pairs":["ETH-USDT"]},"start":true}`, 200, `"status":"STRATEGY_STATUS_RUNNING"`},
		{"create taken", "POST", "/v1/strategies", `{"strategy":{"id":"made","type":"external","pairs":["ETH-USDT"]}}`, 409, `"code":6`},
		{"update", "PATCH", "/v1/strategies/made", `{"strategy":{"name":"Renamed"},"update_mask":"name"}`, 200, `"name":"Renamed"`},
		{"stop", "POST", "/v1/strategies/made:stop", "", 200, `"status":"STRATEGY_STATUS_STOPPED"`},
		{"start", "POST", "/v1/strategies/made:start", "", 200, `"status":"STRATEGY_STATUS_RUNNING"`},
		{"delete running", "DELETE", "/v1/strategies/made", "", 400, `"code":9`},
		{"stop again", "POST", "/v1/strategies/made:stop", "", 200, `STOPPED`},
		{"delete", "DELETE", "/v1/strategies/made", "", 200, `{}`},
		{"unknown route", "GET", "/v1/nothing-here", "", 404, `"code":5`},
		{"wrong method", "TRACE", "/v1/kpis", "", 405, `TRACE is not allowed`},
		{"wrong method on a body route", "GET", "/v1/orders:cancel", "", 405, `not allowed`},
	}
	for _, c := range cases {
		status, body := s.do(t, c.method, c.path, c.body)
		if status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %s %s = %d %s; want %d containing %s", c.name, c.method, c.path, status,
				body, c.status, c.want)
		}
		if status >= 400 && !strings.HasPrefix(strings.TrimSpace(body), "{") {
			t.Errorf("%s: error body is not JSON: %s", c.name, body)
		}
	}
}

// readEvent reads one SSE event: its name ("" for data events) and data.
func readEvent(r *bufio.Reader) (string, string, error) {
	name, data := "", ""
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", "", err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			return name, data, nil
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

func TestEventStreamsRelayAndFreeUpstreamOnDisconnect(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", s.http.URL+"/v1/stream/prices?pairs=BTC-USDT", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	var kinds []string
	for len(kinds) < 2 {
		_, data, err := readEvent(r)
		if err != nil {
			t.Fatal(err)
		}
		var msg map[string]json.RawMessage
		if err := json.Unmarshal([]byte(data), &msg); err != nil {
			t.Fatalf("event is not JSON: %s", data)
		}
		for _, k := range []string{"snapshot", "update"} {
			if _, ok := msg[k]; ok {
				kinds = append(kinds, k)
			}
		}
	}
	if kinds[0] != "snapshot" || kinds[1] != "update" {
		t.Fatalf("events %v, want snapshot then update", kinds)
	}
	if n := s.gw.OpenStreams(); n != 1 {
		t.Fatalf("open streams %d, want 1", n)
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for s.gw.OpenStreams() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := s.gw.OpenStreams(); n != 0 {
		t.Fatalf("a closed browser stream left %d upstream streams open", n)
	}
}

func TestEventStreamsOfPositionsAndKpisAndTheirErrors(t *testing.T) {
	s := newServer(t)
	for _, path := range []string{"/v1/stream/positions?strategy_id=ext&include_closed=true",
		"/v1/stream/kpis?strategy_type=external"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", s.http.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, data, err := readEvent(bufio.NewReader(resp.Body))
		if err != nil || !strings.Contains(data, `"snapshot"`) {
			t.Errorf("%s: first event %q, %v", path, data, err)
		}
		resp.Body.Close()
		cancel()
	}
	for path, want := range map[string]int{
		"/v1/stream/kpis?strategy_id=Bad%20Id":      400,
		"/v1/stream/positions?include_closed=maybe": 400,
		"/v1/stream/prices?pairs=nope":              400,
	} {
		status, body := s.do(t, "GET", path, "")
		if status != want || !strings.Contains(body, `"message"`) {
			t.Errorf("%s = %d %s, want %d with a JSON message", path, status, body, want)
		}
	}
	if status, _ := s.do(t, "POST", "/v1/stream/kpis", ""); status != 405 {
		t.Errorf("POST to a stream = %d, want 405", status)
	}
}

func TestShutdownEndsStreamsWithAnEndEvent(t *testing.T) {
	s := newServer(t)
	resp, err := http.Get(s.http.URL + "/v1/stream/kpis")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if _, _, err := readEvent(r); err != nil {
		t.Fatal(err)
	}
	s.gw.Shutdown()
	for {
		name, data, err := readEvent(r)
		if err != nil {
			t.Fatalf("stream ended without an end event: %v", err)
		}
		if name == "end" {
			if !strings.Contains(data, fmt.Sprintf(`"code":%d`, 14)) {
				t.Errorf("end event %s, want UNAVAILABLE", data)
			}
			return
		}
	}
}

// With xctld gone, /readyz is 503 and names every service UNREACHABLE.
func TestReadyzWithoutXctldIsUnavailableAndSaysWhy(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	s := serveGateway(t, dead, nil, nil)
	status, body := s.do(t, "GET", "/readyz", "")
	if status != 503 || !strings.Contains(body, `"xctl.v1.PriceFeed":"UNREACHABLE"`) ||
		!strings.Contains(body, `"status":"NOT_SERVING"`) {
		t.Fatalf("/readyz without xctld = %d %s, want 503 with every service UNREACHABLE", status, body)
	}
}
