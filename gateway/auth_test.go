package main

// The Authorization header reaches xctld as gRPC metadata on REST calls and
// on event streams; checked against a recording PriceFeed server.

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	xctlv1 "xctl/gateway/gen/xctl/v1"
)

type recordingFeed struct {
	xctlv1.UnimplementedPriceFeedServer
	mu   sync.Mutex
	auth []string
}

func (f *recordingFeed) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = append(f.auth, md.Get("authorization")...)
}

func (f *recordingFeed) GetPrice(ctx context.Context, r *xctlv1.GetPriceRequest) (*xctlv1.GetPriceResponse, error) {
	f.record(ctx)
	return &xctlv1.GetPriceResponse{Tick: &xctlv1.Tick{Pair: r.GetPair()}}, nil
}

func (f *recordingFeed) StreamPrices(r *xctlv1.StreamPricesRequest, s xctlv1.PriceFeed_StreamPricesServer) error {
	f.record(s.Context())
	return s.Send(&xctlv1.StreamPricesResponse{Sequence: 1,
		Payload: &xctlv1.StreamPricesResponse_Snapshot{Snapshot: &xctlv1.PriceSnapshot{}}})
}

func TestAuthorizationHeaderIsForwarded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	feed := &recordingFeed{}
	srv := grpc.NewServer()
	xctlv1.RegisterPriceFeedServer(srv, feed)
	go srv.Serve(ln)
	defer srv.Stop()

	gw, err := New(Options{Upstream: ln.Addr().String(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	web := httptest.NewServer(gw)
	defer web.Close()

	for _, path := range []string{"/v1/prices/BTC-USDT", "/v1/stream/prices"} {
		req, _ := http.NewRequest("GET", web.URL+path, nil)
		req.Header.Set("Authorization", "Bearer token-"+path)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: HTTP %d", path, resp.StatusCode)
		}
	}
	feed.mu.Lock()
	defer feed.mu.Unlock()
	want := []string{"Bearer token-/v1/prices/BTC-USDT", "Bearer token-/v1/stream/prices"}
	if len(feed.auth) != 2 || feed.auth[0] != want[0] || feed.auth[1] != want[1] {
		t.Fatalf("xctld saw authorization %q, want %q", feed.auth, want)
	}
}
