package main

// The gateway's Prometheus metrics (metrics.go), scraped after real
// requests through a real xctld and parsed with Prometheus' own text
// parser: in process, and from the built binary on --metrics-listen.

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape GETs url and parses Prometheus' text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s = %d %s", url, resp.StatusCode, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("%s is not Prometheus text: %v", url, err)
	}
	return families
}

// sample is the value of the family's series with exactly these labels
// (counter, gauge, or a histogram's count); -1 when there is none.
func sample(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := families[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

func TestMetricsCountRequestsStreamsAndUpstreamErrors(t *testing.T) {
	s := newServer(t)
	metrics := httptest.NewServer(s.gw.MetricsHandler())
	defer metrics.Close()

	for _, r := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/v1/strategies/ext/positions", "", 200},
		{"GET", "/v1/strategies/tv/positions", "", 200},
		{"GET", "/v1/prices/DOGE-USDT", "", 404},       // xctld's NOT_FOUND
		{"POST", "/v1/orders", `{"strategy_id":`, 400}, // never reaches xctld
		{"PATCH", "/v1/strategies/nobody", `{"strategy":{"name":"x"},"update_mask":"name"}`, 404},
		{"GET", "/v1/nothing-here", "", 404},
		{"PUT", "/v1/orders", "", 405},
		{"GET", "/healthz", "", 200},
	} {
		if status, body := s.do(t, r.method, r.path, r.body); status != r.status {
			t.Fatalf("%s %s = %d %s, want %d", r.method, r.path, status, body, r.status)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.http.URL+"/v1/stream/prices?pairs=BTC-USDT", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := readEvent(bufio.NewReader(resp.Body)); err != nil {
		t.Fatal(err)
	}
	open := scrape(t, metrics.URL)
	if v := sample(open, "xctl_gateway_streams_open", map[string]string{"route": "/v1/stream/prices"}); v != 1 {
		t.Errorf("xctl_gateway_streams_open{route=/v1/stream/prices} = %v with one stream open, want 1", v)
	}
	resp.Body.Close()
	for deadline := time.Now().Add(10 * time.Second); s.gw.OpenStreams() != 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}

	got := scrape(t, metrics.URL)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"xctl_gateway_http_requests_total", map[string]string{"route": "/v1/strategies/{strategy_id}/positions", "method": "GET", "code": "200"}, 2},
		{"xctl_gateway_http_requests_total", map[string]string{"route": "/v1/prices/{pair}", "method": "GET", "code": "404"}, 1},
		{"xctl_gateway_http_requests_total", map[string]string{"route": "/v1/orders", "method": "POST", "code": "400"}, 1},
		{"xctl_gateway_http_requests_total", map[string]string{"route": "/v1/strategies/{strategy.id}", "method": "PATCH", "code": "404"}, 1},
		{"xctl_gateway_http_requests_total", map[string]string{"route": "unmatched", "method": "GET", "code": "404"}, 1},
		{"xctl_gateway_http_requests_total", map[string]string{"route": "unmatched", "method": "PUT", "code": "405"}, 1},
		{"xctl_gateway_http_requests_total", map[string]string{"route": "/healthz", "method": "GET", "code": "200"}, 1},
		{"xctl_gateway_http_requests_total", map[string]string{"route": "/v1/stream/prices", "method": "GET", "code": "200"}, 1},
		{"xctl_gateway_http_request_duration_seconds", map[string]string{"route": "/v1/strategies/{strategy_id}/positions", "method": "GET"}, 2},
		{"xctl_gateway_http_request_duration_seconds", map[string]string{"route": "/v1/stream/prices", "method": "GET"}, -1},
		{"xctl_gateway_streams_open", map[string]string{"route": "/v1/stream/prices"}, 0},
		{"xctl_gateway_upstream_errors_total", map[string]string{"method": "/xctl.v1.PriceFeed/GetPrice", "code": "NOT_FOUND"}, 1},
		{"xctl_gateway_upstream_errors_total", map[string]string{"method": "/xctl.v1.StrategyManager/UpdateStrategy", "code": "NOT_FOUND"}, 1},
		{"xctl_gateway_upstream_errors_total", map[string]string{"method": "/xctl.v1.PriceFeed/StreamPrices", "code": "CANCELLED"}, -1},
		{"xctl_gateway_build_info", map[string]string{"version": version, "commit": commit}, 1},
	} {
		if v := sample(got, c.name, c.labels); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total",
		"process_open_fds", "process_resident_memory_bytes"} {
		if got[name] == nil {
			t.Errorf("no %s (the Go and process collectors)", name)
		}
	}
}

// The binary serves the metrics on --metrics-listen; a remote address
// needs --allow-remote.
func TestMetricsListenFlag(t *testing.T) {
	bin := buildGateway(t)
	upstream := startXctld(t)
	cmd := exec.Command(bin, "--listen=127.0.0.1:0", "--grpc="+upstream, "--metrics-listen=127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// The log names both addresses: metrics first, then the gateway's.
	addrs := map[string]string{}
	lines := bufio.NewScanner(stderr)
	field := regexp.MustCompile(`\b(metrics|listen)=(127\.0\.0\.1:[0-9]+)`)
	for len(addrs) < 2 && lines.Scan() {
		for _, m := range field.FindAllStringSubmatch(lines.Text(), -1) {
			addrs[m[1]] = m[2]
		}
	}
	if len(addrs) < 2 {
		t.Fatalf("the gateway logged no metrics and listen addresses: %v", addrs)
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	resp, err := http.Get("http://" + addrs["listen"] + "/v1/kpis")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := scrape(t, "http://"+addrs["metrics"]+"/metrics")
	if v := sample(got, "xctl_gateway_http_requests_total", map[string]string{"route": "/v1/kpis", "method": "GET", "code": "200"}); v != 1 {
		t.Errorf("xctl_gateway_http_requests_total{route=/v1/kpis,GET,200} = %v from the binary, want 1", v)
	}
	if got["go_goroutines"] == nil || got["process_cpu_seconds_total"] == nil {
		t.Error("the binary's metrics lack the Go and process collectors")
	}

	code, out := runGateway(t, bin, "--listen=127.0.0.1:0", "--metrics-listen=0.0.0.0:0")
	if code != 2 || !strings.Contains(out, "--metrics-listen 0.0.0.0:0 is reachable from other machines") {
		t.Errorf("--metrics-listen 0.0.0.0:0 = exit %d %q, want 2 and the rule", code, out)
	}
	if code, out := runGateway(t, bin, "--listen=127.0.0.1:0", "--metrics-listen="); code != -1 {
		t.Errorf("--metrics-listen= (off) = exit %d %q, want it to serve", code, out)
	}
}
