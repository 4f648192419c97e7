package main

// Limits (limits.go): the cap on event streams, the per-event write deadline
// that drops a client which stopped reading, the server's timeouts (which
// must not cut a stream), and the cap on connections.

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	xctlv1 "xctl/gateway/gen/xctl/v1"
)

// openStream opens an event stream and reads its first event.
func openStream(t *testing.T, s *server, path string) (*http.Response, *bufio.Reader) {
	t.Helper()
	resp, err := http.Get(s.http.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("%s: HTTP %d %s", path, resp.StatusCode, b)
	}
	r := bufio.NewReader(resp.Body)
	if _, data, err := readEvent(r); err != nil || !strings.Contains(data, "snapshot") {
		t.Fatalf("%s: first event %q, %v", path, data, err)
	}
	return resp, r
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStreamCapAnswers503WithAReason(t *testing.T) {
	s := newServerWith(t, func(o *Options) { o.MaxStreams = 2 }, nil)
	a, _ := openStream(t, s, "/v1/stream/prices")
	defer a.Body.Close()
	b, _ := openStream(t, s, "/v1/stream/kpis")
	defer b.Body.Close()

	resp, err := http.Get(s.http.URL + "/v1/stream/positions")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("third stream over a cap of 2: HTTP %d %q %s, want 503 JSON", resp.StatusCode,
			resp.Header.Get("Content-Type"), body)
	}
	if code, reason := refusal(t, "over the cap", string(body)); reason != reasonTooManyStreams || code != 14 {
		t.Fatalf("over the cap: code %d reason %q, want 14 %s", code, reason, reasonTooManyStreams)
	}
	if n := s.gw.OpenStreams(); n != 2 {
		t.Fatalf("open streams %d, want 2", n)
	}
	// REST is not capped, and a closed stream frees its slot.
	if status, body := s.do(t, "GET", "/v1/prices", ""); status != 200 {
		t.Fatalf("REST at the stream cap: %d %s", status, body)
	}
	a.Body.Close()
	waitFor(t, "the closed stream's slot is freed", 10*time.Second, func() bool { return s.gw.OpenStreams() == 1 })
	c, _ := openStream(t, s, "/v1/stream/positions")
	c.Body.Close()
}

// floodFeed streams 64 KiB snapshots as fast as the gateway takes them, and
// says when its stream ended.
type floodFeed struct {
	xctlv1.UnimplementedPriceFeedServer
	started, ended atomic.Int32
}

func (f *floodFeed) StreamPrices(_ *xctlv1.StreamPricesRequest, s xctlv1.PriceFeed_StreamPricesServer) error {
	f.started.Add(1)
	defer f.ended.Add(1)
	big := &xctlv1.PriceSnapshot{Ticks: []*xctlv1.Tick{{Pair: strings.Repeat("X", 64<<10)}}}
	for seq := uint64(1); ; seq++ {
		err := s.Send(&xctlv1.StreamPricesResponse{Sequence: seq,
			Payload: &xctlv1.StreamPricesResponse_Snapshot{Snapshot: big}})
		if err != nil {
			return err
		}
	}
}

func startFlood(t *testing.T) (*floodFeed, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	feed := &floodFeed{}
	srv := grpc.NewServer()
	xctlv1.RegisterPriceFeedServer(srv, feed)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return feed, ln.Addr().String()
}

// A client that opens a stream and never reads fills the socket buffers;
// the next event's write deadline then expires, the gateway drops the client
// and ends the upstream stream. Without the deadline the write blocks for
// ever, holding both.
func TestNeverReadingClientIsDroppedAfterTheWriteDeadline(t *testing.T) {
	feed, upstream := startFlood(t)
	limits := DefaultServerLimits()
	s := serveGateway(t, upstream, func(o *Options) { o.StreamWriteTimeout = 300 * time.Millisecond }, &limits)

	conn, err := net.Dial("tcp", s.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /v1/stream/prices HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n",
		s.http.Listener.Addr())
	// ... and never reads.
	waitFor(t, "the stream opens", 10*time.Second, func() bool { return feed.started.Load() == 1 })
	start := time.Now()
	waitFor(t, "the gateway drops the client and its upstream stream", 15*time.Second,
		func() bool { return s.gw.OpenStreams() == 0 && feed.ended.Load() == 1 })
	t.Logf("dropped %v after the stream opened", time.Since(start).Round(time.Millisecond))
}

// The deadline is per event, and the server's read and write timeouts are
// for requests: a client that reads keeps its stream far longer than all of
// them.
func TestReadingClientKeepsItsStreamPastEveryTimeout(t *testing.T) {
	limits := DefaultServerLimits()
	limits.ReadTimeout, limits.WriteTimeout, limits.IdleTimeout = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
	s := newServerWith(t, func(o *Options) { o.StreamWriteTimeout = 200 * time.Millisecond }, &limits)
	resp, r := openStream(t, s, "/v1/stream/prices")
	defer resp.Body.Close()
	until := time.Now().Add(1500 * time.Millisecond)
	updates := 0
	for time.Now().Before(until) {
		name, data, err := readEvent(r)
		if err != nil || name == "end" {
			t.Fatalf("the stream ended after %d updates: %q %v", updates, data, err)
		}
		if strings.Contains(data, `"update"`) {
			updates++
		}
	}
	if updates < 5 {
		t.Fatalf("%d updates in 1.5 s at 100 ms", updates)
	}
	if n := s.gw.OpenStreams(); n != 1 {
		t.Fatalf("open streams %d", n)
	}
}

// A client that sends half a request is cut off after ReadHeaderTimeout.
func TestSlowHeadersAreCutOff(t *testing.T) {
	limits := DefaultServerLimits()
	limits.ReadHeaderTimeout = 200 * time.Millisecond
	gw, err := New(Options{Upstream: "127.0.0.1:1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := limits.Server(gw)
	go srv.Serve(limits.Listener(ln))
	defer srv.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\n", ln.Addr()) // no final CRLF
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the connection was still open after 5 s")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed after %v, want about 200 ms", d)
	}
}

// Connections over --max-conns wait until one closes.
func TestConnectionCap(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := ServerLimits{MaxConns: 2}.Listener(inner)
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	var held []net.Conn
	for i := 0; i < 2; i++ {
		select {
		case c := <-accepted:
			held = append(held, c)
		case <-time.After(5 * time.Second):
			t.Fatalf("connection %d was not accepted", i+1)
		}
	}
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted over a cap of 2")
	case <-time.After(300 * time.Millisecond):
	}
	held[0].Close()
	held[0].Close() // closing twice frees one slot, not two
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the third connection was not accepted after one closed")
	}
	held[1].Close()
	ln.Close()
	if _, ok := <-accepted; ok {
		t.Fatal("Accept returned a connection after Close")
	}
}
