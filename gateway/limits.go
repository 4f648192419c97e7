package main

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// What one client can hold of the gateway: event streams (--max-streams),
// connections (--max-conns), and how long it may take to send a request or
// to read an event (the timeouts). A stream's events are sent each under its
// own write deadline, so a client that stops reading is dropped and its
// upstream stream ends, instead of holding a goroutine and an xctld stream
// for ever.

const (
	DefaultMaxStreams         = 256
	DefaultStreamWriteTimeout = 10 * time.Second
)

var (
	errShuttingDown   = errors.New("gateway shutting down")
	errTooManyStreams = errors.New("too many event streams are open")
)

// register counts a stream in, unless the gateway is shutting down or
// --max-streams streams are open.
func (g *Gateway) register(s *eventStream) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return errShuttingDown
	}
	if len(g.streams) >= g.maxStreams {
		return errTooManyStreams
	}
	g.streams[s] = struct{}{}
	g.metrics.streams.WithLabelValues(s.path).Inc()
	return nil
}

func (g *Gateway) unregister(s *eventStream) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.streams, s)
	g.metrics.streams.WithLabelValues(s.path).Dec()
}

// ServerLimits are the http.Server's timeouts and the connection cap.
type ServerLimits struct {
	MaxConns          int           // accepted connections at once; more wait in the kernel's backlog
	ReadHeaderTimeout time.Duration // to send the request line and headers
	ReadTimeout       time.Duration // to send a whole request, body included (not event streams)
	WriteTimeout      time.Duration // to answer a request, xctld's time included (not event streams)
	IdleTimeout       time.Duration // a keep-alive connection between requests
}

// DefaultServerLimits are the flags' defaults.
func DefaultServerLimits() ServerLimits {
	return ServerLimits{MaxConns: 1024, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
}

// Server builds the http.Server. Event streams lift the read deadline and
// set a write deadline per event themselves (events.go).
func (l ServerLimits) Server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
}

// Listener caps ln at MaxConns open connections (as x/net/netutil's
// LimitListener does): Accept waits until one of them is closed.
func (l ServerLimits) Listener(ln net.Listener) net.Listener {
	return &limitedListener{Listener: ln, slots: make(chan struct{}, l.MaxConns), done: make(chan struct{})}
}

type limitedListener struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitedListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *limitedListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
