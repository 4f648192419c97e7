package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	xctlv1 "xctl/gateway/gen/xctl/v1"
)

// The server-streaming RPCs reach browsers as Server-Sent Events: one
// `data: <JSON>` event per gRPC message (snapshot, update, heartbeat,
// status, exactly as the gRPC stream sends them, proto field names), and a
// final `event: end` with {"code","message"} when the upstream ends. A
// browser that goes away cancels its upstream stream at once.

// eventStream is one open stream. Not zero-sized: Go may give every
// zero-sized value the same address, and the streams are a map of pointers.
type eventStream struct{ path string }

// receiver yields the next upstream message.
type receiver func() (proto.Message, error)

func (g *Gateway) streamPrices(w http.ResponseWriter, r *http.Request) {
	req := &xctlv1.StreamPricesRequest{Pairs: listParam(r, "pairs")}
	g.serveEvents(w, r, func(ctx context.Context) (receiver, error) {
		s, err := xctlv1.NewPriceFeedClient(g.conn).StreamPrices(ctx, req)
		if err != nil {
			return nil, err
		}
		return func() (proto.Message, error) { return s.Recv() }, nil
	})
}

func (g *Gateway) streamPositions(w http.ResponseWriter, r *http.Request) {
	includeClosed, err := boolParam(r, "include_closed")
	if err != nil {
		writeError(w, http.StatusBadRequest, codes.InvalidArgument, err.Error())
		return
	}
	req := &xctlv1.StreamPositionsRequest{
		StrategyId:    r.URL.Query().Get("strategy_id"),
		StrategyType:  r.URL.Query().Get("strategy_type"),
		IncludeClosed: includeClosed,
	}
	g.serveEvents(w, r, func(ctx context.Context) (receiver, error) {
		s, err := xctlv1.NewExchangeControlClient(g.conn).StreamPositions(ctx, req)
		if err != nil {
			return nil, err
		}
		return func() (proto.Message, error) { return s.Recv() }, nil
	})
}

func (g *Gateway) streamKpis(w http.ResponseWriter, r *http.Request) {
	req := &xctlv1.StreamKpisRequest{
		StrategyId:   r.URL.Query().Get("strategy_id"),
		StrategyType: r.URL.Query().Get("strategy_type"),
	}
	g.serveEvents(w, r, func(ctx context.Context) (receiver, error) {
		s, err := xctlv1.NewExchangeControlClient(g.conn).StreamKpis(ctx, req)
		if err != nil {
			return nil, err
		}
		return func() (proto.Message, error) { return s.Recv() }, nil
	})
}

// serveEvents relays one upstream stream. Errors before the first message
// (a bad filter, xctld down) are plain HTTP errors with a JSON body.
func (g *Gateway) serveEvents(w http.ResponseWriter, r *http.Request,
	open func(ctx context.Context) (receiver, error)) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, codes.Unimplemented, "event streams are GET only")
		return
	}
	stream := &eventStream{path: r.URL.Path}
	switch err := g.register(stream); err {
	case nil:
	case errTooManyStreams:
		w.Header().Set("Retry-After", "5")
		writeRefusal(w, http.StatusServiceUnavailable, codes.Unavailable, reasonTooManyStreams,
			fmt.Sprintf("%d event streams are open, the most this gateway serves (--max-streams)", g.maxStreams))
		return
	default:
		writeError(w, http.StatusServiceUnavailable, codes.Unavailable, err.Error())
		return
	}
	defer g.unregister(stream)
	// A stream lives long: the server's read and write timeouts are for
	// requests. No read deadline (net/http lifts it for HTTP/1 once the
	// request is read; said here for every protocol), and each event gets
	// its own write deadline, which replaces the server's write timeout.
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return
	}
	send := func(format string, args ...any) error {
		err := rc.SetWriteDeadline(time.Now().Add(g.streamWriteTimeout))
		if err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return err
		}
		return rc.Flush()
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	done := ctx.Done() // not ctx itself: it is reassigned below
	go func() {
		select {
		case <-g.closedCh:
			cancel()
		case <-done:
		}
	}()
	if auth := r.Header.Get("Authorization"); auth != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", auth)
	}
	recv, err := open(ctx)
	var first proto.Message
	if err == nil {
		first, err = recv()
	}
	if err != nil {
		st := status.Convert(err)
		writeStatus(w, runtime.HTTPStatusFromCode(st.Code()), st)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	for msg := first; ; {
		data, err := g.json.Marshal(msg)
		if err != nil {
			break
		}
		if err := send("data: %s\n\n", data); err != nil {
			// The browser went away, or stopped reading for longer than the
			// write deadline; ctx cancels upstream.
			if errors.Is(err, os.ErrDeadlineExceeded) {
				g.logger.Warn("event stream client stopped reading", "event", "stream_write_timeout",
					"path", r.URL.Path, "remote", r.RemoteAddr, "timeout", g.streamWriteTimeout)
			}
			return
		}
		msg, err = recv()
		if err != nil {
			st := status.Convert(err)
			if ctx.Err() != nil && r.Context().Err() != nil {
				return
			}
			if ctx.Err() != nil {
				st = status.New(codes.Unavailable, "gateway shutting down")
			}
			end, _ := json.Marshal(errorBody{Code: int(st.Code()), Message: st.Message()})
			_ = send("event: end\ndata: %s\n\n", end)
			return
		}
	}
}

// listParam reads ?name=a,b and ?name=a&name=b.
func listParam(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s: expected true or false, got %q", name, v)
	}
	return b, nil
}
