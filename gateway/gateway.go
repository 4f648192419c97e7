package main

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	xctlv1 "xctl/gateway/gen/xctl/v1"
)

//go:embed openapi/xctl.swagger.json
var openapiSpec []byte

// The dashboard (gateway/web): the page, its scripts and styles, and the
// chart library copied into web/vendor by web/build.sh (run by build.sh).
//
//go:embed web/*.html web/*.js web/*.css web/vendor
var webFiles embed.FS

// maxBodyBytes bounds request bodies (orders, strategies, webhooks).
const maxBodyBytes = 1 << 20

// Options configure a Gateway.
type Options struct {
	// Upstream is xctld's gRPC address.
	Upstream string
	// UpstreamCA, when set, is the PEM file of the CA (or self-signed
	// certificate) xctld's TLS certificate must chain to; empty: plaintext.
	UpstreamCA string
	// WebDir, when set, serves the dashboard from disk (development).
	WebDir string
	// AllowedHosts are the Host names served (guard.go); nil:
	// DefaultAllowedHosts, the loopback ones.
	AllowedHosts []string
	// AllowedOrigins are origins besides http(s)://<allowed host> that may
	// send requests (a TLS proxy's public name).
	AllowedOrigins []string
	// MaxStreams caps the open event streams; 0: DefaultMaxStreams.
	MaxStreams int
	// StreamWriteTimeout is how long one event may take to reach a client;
	// 0: DefaultStreamWriteTimeout.
	StreamWriteTimeout time.Duration
	Logger             *slog.Logger
}

// Gateway is the HTTP handler of xctl-gateway.
type Gateway struct {
	conn    *grpc.ClientConn
	mux     *http.ServeMux
	handler http.Handler // mux behind the request guard
	logger  *slog.Logger
	json    *restMarshaler // REST bodies and stream events (marshaler.go)
	metrics *gatewayMetrics

	maxStreams         int
	streamWriteTimeout time.Duration

	mu       sync.Mutex
	streams  map[*eventStream]struct{}
	closing  bool
	closedCh chan struct{}
}

// New connects (lazily) to xctld and builds the routes.
func New(opts Options) (*Gateway, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxStreams <= 0 {
		opts.MaxStreams = DefaultMaxStreams
	}
	if opts.StreamWriteTimeout <= 0 {
		opts.StreamWriteTimeout = DefaultStreamWriteTimeout
	}
	transport := insecure.NewCredentials()
	if opts.UpstreamCA != "" {
		tlsCreds, err := credentials.NewClientTLSFromFile(opts.UpstreamCA, "")
		if err != nil {
			return nil, fmt.Errorf("upstream CA %q: %w", opts.UpstreamCA, err)
		}
		transport = tlsCreds
	}
	metrics := newGatewayMetrics()
	conn, err := grpc.NewClient(opts.Upstream, grpc.WithTransportCredentials(transport),
		grpc.WithChainUnaryInterceptor(metrics.unaryInterceptor),
		grpc.WithChainStreamInterceptor(metrics.streamInterceptor))
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", opts.Upstream, err)
	}
	g := &Gateway{
		conn:     conn,
		mux:      http.NewServeMux(),
		logger:   opts.Logger,
		json:     newRestMarshaler(),
		metrics:  metrics,
		streams:  map[*eventStream]struct{}{},
		closedCh: make(chan struct{}),

		maxStreams:         opts.MaxStreams,
		streamWriteTimeout: opts.StreamWriteTimeout,
	}
	// Every request: counted (metrics.go), then the Host/Origin guard, then
	// 405 for a method the spec does not declare on one of its paths.
	methods, err := newMethodGuard(openapiSpec, g.mux)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	guard, err := newRequestGuard(opts.AllowedHosts, opts.AllowedOrigins, methods)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	g.handler = metrics.instrument(guard)

	rest := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, g.json),
		runtime.SetQueryParameterParser(&queryParser{}),
		runtime.WithMiddlewares(restRoute),
		// xctld's errors with their reason and details (errors.go).
		runtime.WithErrorHandler(func(ctx context.Context, mux *runtime.ServeMux,
			m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
			st := status.Convert(err)
			writeStatus(w, runtime.HTTPStatusFromCode(st.Code()), st)
		}),
		// A known path with the wrong method is 405 (gRPC-Gateway says 501);
		// methodGuard answers most of these first, with an Allow header.
		runtime.WithRoutingErrorHandler(func(ctx context.Context, mux *runtime.ServeMux,
			m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
			if httpStatus == http.StatusMethodNotAllowed {
				writeError(w, http.StatusMethodNotAllowed, codes.Unimplemented,
					fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path))
				return
			}
			runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
		}),
	)
	ctx := context.Background()
	for _, register := range []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		xctlv1.RegisterPriceFeedHandler,
		xctlv1.RegisterExchangeControlHandler,
		xctlv1.RegisterStrategyManagerHandler,
	} {
		if err := register(ctx, rest, conn); err != nil {
			return nil, err
		}
	}
	handle := func(route string, h http.Handler) { g.mux.Handle(route, routed(route, h)) }
	handle("/v1/stream/prices", http.HandlerFunc(g.streamPrices))
	handle("/v1/stream/positions", http.HandlerFunc(g.streamPositions))
	handle("/v1/stream/kpis", http.HandlerFunc(g.streamKpis))
	g.mux.Handle("/v1/", limitBody(rest)) // restRoute labels the routes
	handle("/healthz", http.HandlerFunc(g.healthz))
	handle("/readyz", http.HandlerFunc(g.readyz))
	handle("/openapi.json", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapiSpec)
	}))
	var web fs.FS
	if opts.WebDir != "" {
		web = os.DirFS(opts.WebDir)
	} else {
		sub, err := fs.Sub(webFiles, "web")
		if err != nil {
			return nil, err
		}
		web = sub
	}
	handle("/", http.FileServer(http.FS(web)))
	return g, nil
}

// MetricsHandler serves the gateway's Prometheus metrics (metrics.go); main
// serves it on --metrics-listen.
func (g *Gateway) MetricsHandler() http.Handler { return g.metrics.Handler() }

// ServeHTTP checks Host, Origin and Content-Type (guard.go) and logs each
// request (method, path, status, duration).
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	g.handler.ServeHTTP(rec, r)
	if !strings.HasPrefix(r.URL.Path, "/v1/stream/") {
		g.logger.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"ms", time.Since(start).Milliseconds())
	}
}

// Shutdown ends every open event stream with an "end" event.
func (g *Gateway) Shutdown() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closing {
		g.closing = true
		close(g.closedCh)
	}
}

// Close shuts down and releases the upstream connection.
func (g *Gateway) Close() {
	g.Shutdown()
	_ = g.conn.Close()
}

// OpenStreams is the number of event streams being served.
func (g *Gateway) OpenStreams() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.streams)
}

func (g *Gateway) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(g.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	w.Header().Set("Content-Type", "application/json")
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		w.WriteHeader(http.StatusServiceUnavailable)
		status := "UNREACHABLE"
		if err == nil {
			status = resp.GetStatus().String()
		}
		fmt.Fprintf(w, `{"status":%q}`, status)
		return
	}
	fmt.Fprint(w, `{"status":"SERVING"}`)
}

// readyServices are the xctld services /readyz reports (docs/api.md, "Health").
var readyServices = []string{"xctl.v1.PriceFeed", "xctl.v1.ExchangeControl", "xctl.v1.StrategyManager"}

// readyz answers 200 when every xctld service is SERVING and 503 otherwise,
// with each service's status, so an operator sees which part is down.
func (g *Gateway) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	client := healthpb.NewHealthClient(g.conn)
	services := make(map[string]string, len(readyServices))
	ready := true
	for _, name := range readyServices {
		status := "UNREACHABLE"
		if resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: name}); err == nil {
			status = resp.GetStatus().String()
		}
		services[name] = status
		ready = ready && status == "SERVING"
	}
	body := map[string]any{"status": "SERVING", "services": services}
	w.Header().Set("Content-Type", "application/json")
	if !ready {
		body["status"] = "NOT_SERVING"
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(body)
}

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Flush lets event streams push through the recorder.
func (s *statusRecorder) Flush() { _ = s.FlushError() }

// FlushError is Flush with the error (http.ResponseController prefers it).
func (s *statusRecorder) FlushError() error {
	return http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
