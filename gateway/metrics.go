package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The gateway's own Prometheus metrics (docs/gateway.md, "Metrics"), served
// by main on --metrics-listen. Each Gateway has its own registry (tests run
// several in one process).
//
//	xctl_gateway_http_requests_total{route,method,code}      requests answered
//	xctl_gateway_http_request_duration_seconds{route,method} latency (not streams)
//	xctl_gateway_streams_open{route}                         event streams being served
//	xctl_gateway_upstream_errors_total{method,code}          gRPC errors from xctld
//	xctl_gateway_build_info{version,commit}                  1
//
// plus the Go runtime's go_* and the process' process_* collectors. route
// is the route's pattern as xctl_http.yaml writes it
// (/v1/strategies/{strategy_id}/positions), or /healthz, /readyz,
// /openapi.json, /v1/stream/prices..., "/" for the dashboard's files, and
// "unmatched" for what reaches no route (404, a refused Host or method).
type gatewayMetrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	streams  *prometheus.GaugeVec
	upstream *prometheus.CounterVec
}

// DefaultMetricsListen is --metrics-listen's default (loopback; xctld's
// packaged metrics are on 9464). When it is taken (a second gateway on the
// machine) the gateway serves without metrics and says so; an address given
// on the command line that cannot be bound ends the start instead.
const DefaultMetricsListen = "127.0.0.1:9091"

// metricsHTTPServer serves handler at GET /metrics with the timeouts of
// limits (a scrape is a short request).
func metricsHTTPServer(handler http.Handler, limits ServerLimits) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", handler)
	return &http.Server{Handler: mux, ReadHeaderTimeout: limits.ReadHeaderTimeout,
		ReadTimeout: limits.ReadTimeout, WriteTimeout: limits.WriteTimeout, IdleTimeout: limits.IdleTimeout}
}

// routeUnmatched labels requests that reach no route.
const routeUnmatched = "unmatched"

func newGatewayMetrics() *gatewayMetrics {
	m := &gatewayMetrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xctl_gateway_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code (event streams when they end).",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "xctl_gateway_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, xctld's time included, by route pattern and method (not event streams).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		streams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "xctl_gateway_streams_open",
			Help: "Event streams (Server-Sent Events) being served, by route.",
		}, []string{"route"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xctl_gateway_upstream_errors_total",
			Help: "gRPC calls to xctld that ended in an error, by full method name and status name (NOT_FOUND; CANCELLED, a client going away, not counted).",
		}, []string{"method", "code"}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "xctl_gateway_build_info",
		Help:        "1, labelled with the gateway's version and git commit.",
		ConstLabels: prometheus.Labels{"version": version, "commit": commit},
	})
	build.Set(1)
	m.registry.MustRegister(m.requests, m.duration, m.streams, m.upstream, build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *gatewayMetrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// routeKey holds a request's *routeLabel in its context.
type routeKey struct{}

// routeLabel is set by whatever handler routes the request.
type routeLabel struct{ route string }

// setRoute names the route of the request r is part of (no-op outside
// instrument).
func setRoute(r *http.Request, route string) {
	if l, ok := r.Context().Value(routeKey{}).(*routeLabel); ok {
		l.route = route
	}
}

// instrument counts and times every request next answers.
func (m *gatewayMetrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		label := &routeLabel{}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), routeKey{}, label)))
		route := label.route
		if route == "" {
			route = routeUnmatched
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.status)).Inc()
		if !isStreamRoute(route) {
			m.duration.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
		}
	})
}

// routed wraps a handler of the mux to label its requests with route.
func routed(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setRoute(r, route)
		next.ServeHTTP(w, r)
	})
}

func isStreamRoute(route string) bool {
	return len(route) > len("/v1/stream/") && route[:len("/v1/stream/")] == "/v1/stream/"
}

// patternVar is a variable of runtime.Pattern.String(): {strategy_id=*}.
var patternVar = regexp.MustCompile(`\{([^=}]+)=\*\}`)

// restRoute is a gRPC-Gateway middleware labelling each request with its
// route's pattern as xctl_http.yaml writes it ({strategy_id}, not
// {strategy_id=*}).
func restRoute(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
		if p, ok := runtime.HTTPPattern(r.Context()); ok {
			setRoute(r, patternVar.ReplaceAllString(p.String(), "{$1}"))
		}
		next(w, r, pathParams)
	}
}

// upstreamCode is the code an upstream error is counted under, "" for
// none (success, end of stream, a canceled call).
func upstreamCode(err error) string {
	if err == nil || errors.Is(err, io.EOF) {
		return ""
	}
	c := status.Code(err)
	if c == codes.OK || c == codes.Canceled {
		return ""
	}
	if name, ok := code.Code_name[int32(c)]; ok {
		return name // "NOT_FOUND", as xctld's xctl_rpc_requests_total says
	}
	return c.String()
}

func (m *gatewayMetrics) countUpstream(method string, err error) {
	if code := upstreamCode(err); code != "" {
		m.upstream.WithLabelValues(method, code).Inc()
	}
}

// unaryInterceptor counts the errors of unary calls to xctld.
func (m *gatewayMetrics) unaryInterceptor(ctx context.Context, method string, req, reply any,
	cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	m.countUpstream(method, err)
	return err
}

// streamInterceptor counts the errors of streams from xctld: opening one,
// or its end other than io.EOF.
func (m *gatewayMetrics) streamInterceptor(ctx context.Context, desc *grpc.StreamDesc,
	cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		m.countUpstream(method, err)
		return nil, err
	}
	return &countedStream{ClientStream: s, metrics: m, method: method}, nil
}

type countedStream struct {
	grpc.ClientStream
	metrics *gatewayMetrics
	method  string
}

func (s *countedStream) RecvMsg(msg any) error {
	err := s.ClientStream.RecvMsg(msg)
	s.metrics.countUpstream(s.method, err)
	return err
}
