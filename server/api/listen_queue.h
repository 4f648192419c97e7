// The kernel's accept queue of a listening TCP port (Linux, /proc/net/tcp
// and /proc/net/tcp6): connections whose handshake the kernel completed and
// that the process has not accept()ed yet. A listener that works drains it
// within milliseconds, even when the server is slow to answer calls; one
// that stopped accepting (gRPC 1.51 after EMFILE, grpc/grpc#16058) leaves
// every new connection there. The listener watchdog uses it to tell a deaf
// listener from a busy server before it rebuilds anything.
#pragma once

namespace xctl::api {

// Connections waiting in the accept queue of the socket listening on
// `port` (IPv4 and IPv6 together); -1 when /proc/net cannot be read.
int AcceptQueueLength(int port);

}  // namespace xctl::api
