package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

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

type eventStream struct{}

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
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, codes.Internal, "streaming unsupported")
		return
	}
	stream := &eventStream{}
	if !g.register(stream) {
		writeError(w, http.StatusServiceUnavailable, codes.Unavailable, "gateway shutting down")
		return
	}
	defer g.unregister(stream)

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-g.closedCh:
			cancel()
		case <-ctx.Done():
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
		writeError(w, runtime.HTTPStatusFromCode(st.Code()), st.Code(), st.Message())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	for msg := first; ; {
		data, err := g.marshal.Marshal(msg)
		if err != nil {
			break
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return // the browser went away; ctx cancels upstream
		}
		flusher.Flush()
		msg, err = recv()
		if err != nil {
			st := status.Convert(err)
			if ctx.Err() != nil && r.Context().Err() != nil {
				return
			}
			if ctx.Err() != nil {
				st = status.New(codes.Unavailable, "gateway shutting down")
			}
			fmt.Fprintf(w, "event: end\ndata: {\"code\":%d,\"message\":%q}\n\n", st.Code(), st.Message())
			flusher.Flush()
			return
		}
	}
}

func (g *Gateway) register(s *eventStream) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	g.streams[s] = struct{}{}
	return true
}

func (g *Gateway) unregister(s *eventStream) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.streams, s)
}

// writeError answers like gRPC-Gateway's errors: {"code","message"}.
func writeError(w http.ResponseWriter, httpStatus int, code codes.Code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	// encoding/json, not %q: Go's quoting (\x00) is not JSON.
	body, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{int(code), message})
	_, _ = w.Write(body)
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
