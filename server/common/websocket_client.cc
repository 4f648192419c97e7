// The only file of xctl that includes Boost.Beast (it is heavy to compile):
// everything else sees WebSocketClient's small header.
#include "server/common/websocket_client.h"

#include <chrono>
#include <functional>
#include <optional>
#include <variant>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace xctl {
namespace {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

using PlainStream = websocket::stream<beast::tcp_stream>;
using TlsStream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

struct Url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // "/ws/public"
};

absl::StatusOr<Url> ParseUrl(absl::string_view url) {
  Url out;
  absl::string_view rest = url;
  if (absl::ConsumePrefix(&rest, "wss://")) {
    out.tls = true;
  } else if (!absl::ConsumePrefix(&rest, "ws://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("websocket url \"", url, "\" must start with wss:// or ws://"));
  }
  size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  out.target = slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  size_t colon = authority.rfind(':');
  if (colon != absl::string_view::npos && authority.find(']', colon) == absl::string_view::npos) {
    out.host = std::string(authority.substr(0, colon));
    out.port = std::string(authority.substr(colon + 1));
    int port = 0;
    if (!absl::SimpleAtoi(out.port, &port) || port < 1 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("websocket url \"", url, "\": bad port"));
    }
  } else {
    out.host = std::string(authority);
    out.port = out.tls ? "443" : "80";
  }
  if (out.host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("websocket url \"", url, "\" has no host"));
  }
  return out;
}

SteadyTime After(absl::Duration d) {
  return std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(d);
}

}  // namespace

class WebSocketClient::Impl {
 public:
  explicit Impl(Options options) : options_(options), tls_(ssl::context::tls_client) {}

  ~Impl() {
    CloseSocket();
    Drain();
  }

  absl::Status Connect(absl::string_view url_text) {
    if (!std::holds_alternative<std::monostate>(stream_)) {
      return absl::FailedPreconditionError("websocket: Connect called twice");
    }
    auto url = ParseUrl(url_text);
    if (!url.ok()) return url.status();
    host_ = url->host;
    const SteadyTime deadline = After(absl::Milliseconds(options_.connect_timeout_ms));

    tcp::resolver resolver(ioc_);
    tcp::resolver::results_type endpoints;
    absl::Status s = Wait(
        [&](auto done) {
          resolver.async_resolve(url->host, url->port,
                                 [&, done](beast::error_code ec, tcp::resolver::results_type r) {
                                   endpoints = std::move(r);
                                   done(ec);
                                 });
        },
        deadline, [&] { resolver.cancel(); }, "resolving");
    if (!s.ok()) return s;

    if (url->tls) {
      tls_.set_default_verify_paths();
      tls_.set_verify_mode(ssl::verify_peer);
      auto& ws = stream_.emplace<TlsStream>(ioc_, tls_);
      // SNI, and the certificate must name the host.
      if (!SSL_set_tlsext_host_name(ws.next_layer().native_handle(), url->host.c_str())) {
        return absl::UnavailableError(absl::StrCat("websocket ", host_, ": cannot set TLS SNI"));
      }
      ws.next_layer().set_verify_callback(ssl::host_name_verification(url->host));
    } else {
      stream_.emplace<PlainStream>(ioc_);
    }
    if (url->tls) return Handshake(std::get<TlsStream>(stream_), *url, endpoints, deadline);
    return Handshake(std::get<PlainStream>(stream_), *url, endpoints, deadline);
  }

  absl::Status SendText(absl::string_view text) {
    if (!connected_) return NotConnected();
    std::string copy(text);
    return Visit([&](auto& ws) {
      ws.text(true);
      absl::Status s = Wait(
          [&](auto done) {
            ws.async_write(net::buffer(copy),
                           [done](beast::error_code ec, size_t) { done(ec); });
          },
          After(absl::Milliseconds(options_.write_timeout_ms)), [this] { CloseSocket(); },
          "sending");
      if (!s.ok()) connected_ = false;
      return s;
    });
  }

  absl::StatusOr<std::string> ReadText(absl::Duration timeout) {
    if (!connected_ && !read_done_) return NotConnected();
    if (!read_pending_ && !read_done_) StartRead();
    const SteadyTime deadline = After(timeout);
    while (!read_done_ && !interrupted_) {
      if (std::chrono::steady_clock::now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "websocket ", host_, ": no message within ", absl::FormatDuration(timeout)));
      }
      RunOneUntil(deadline);
    }
    if (!read_done_) return Cancelled();
    read_done_ = false;
    if (read_ec_) {
      connected_ = false;
      return Broken(read_ec_, "reading");
    }
    std::string out = beast::buffers_to_string(read_buffer_.data());
    read_buffer_.consume(read_buffer_.size());
    return out;
  }

  absl::Status Close() {
    if (!connected_) return absl::OkStatus();
    connected_ = false;
    absl::Status s = Visit([&](auto& ws) {
      return Wait([&](auto done) { ws.async_close(websocket::close_code::normal, done); },
                  After(absl::Milliseconds(options_.write_timeout_ms)), [this] { CloseSocket(); },
                  "closing");
    });
    CloseSocket();
    Drain();
    return s;
  }

  void Interrupt() {
    interrupted_ = true;
    net::post(ioc_, [this] { CloseSocket(); });
  }

  bool connected() const { return connected_ && !interrupted_; }

 private:
  // TCP connect, TLS handshake (wss), WebSocket handshake, by `deadline`.
  template <class Stream>
  absl::Status Handshake(Stream& ws, const Url& url, const tcp::resolver::results_type& endpoints,
                         SteadyTime deadline) {
    auto close = [this] { CloseSocket(); };
    absl::Status st = Wait(
        [&](auto done) {
          beast::get_lowest_layer(ws).async_connect(
              endpoints, [done](beast::error_code ec, const tcp::endpoint&) { done(ec); });
        },
        deadline, close, "connecting");
    if (!st.ok()) return st;
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().set_option(tcp::no_delay(true), ignored);
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      st = Wait([&](auto done) { ws.next_layer().async_handshake(ssl::stream_base::client, done); },
                deadline, close, "TLS handshake");
      if (!st.ok()) return st;
    }
    ws.read_message_max(options_.max_message_bytes);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "xctl");
    }));
    const bool default_port = url.port == (url.tls ? "443" : "80");
    const std::string host_header =
        default_port ? url.host : absl::StrCat(url.host, ":", url.port);
    st = Wait([&](auto done) { ws.async_handshake(host_header, url.target, done); }, deadline,
              close, "websocket handshake");
    if (!st.ok()) return st;
    connected_ = true;
    return absl::OkStatus();
  }

  absl::Status NotConnected() const {
    if (interrupted_) return Cancelled();
    return absl::UnavailableError(absl::StrCat("websocket ", host_, ": not connected"));
  }
  absl::Status Cancelled() const {
    return absl::CancelledError(absl::StrCat("websocket ", host_, ": interrupted"));
  }

  absl::Status Broken(const beast::error_code& ec, absl::string_view what) const {
    if (ec == websocket::error::closed) {
      return absl::UnavailableError(absl::StrCat(
          "websocket ", host_, ": closed by the server (code ", close_code_, ")"));
    }
    return absl::UnavailableError(
        absl::StrCat("websocket ", host_, ": ", what, ": ", ec.message()));
  }

  // Runs the asynchronous operation `start(done)` until `done(ec)` is called.
  // At `deadline` (or on Interrupt) `cancel` aborts it; the call then
  // returns DEADLINE_EXCEEDED (or CANCELLED) once the operation has ended.
  template <class Start, class Cancel>
  absl::Status Wait(Start start, SteadyTime deadline, Cancel cancel, absl::string_view what) {
    if (interrupted_) return Cancelled();
    bool done = false;
    beast::error_code result;
    start([&done, &result](beast::error_code ec) {
      done = true;
      result = ec;
    });
    bool timed_out = false;
    bool cancelled = false;
    while (!done) {
      if (!cancelled && (interrupted_ || std::chrono::steady_clock::now() >= deadline)) {
        timed_out = !interrupted_;
        cancelled = true;
        cancel();
      }
      RunOneUntil(cancelled ? SteadyTime::max() : deadline);
    }
    if (interrupted_) return Cancelled();
    if (timed_out) {
      return absl::DeadlineExceededError(absl::StrCat(
          "websocket ", host_, ": ", what, ": no answer within the timeout"));
    }
    if (result) return Broken(result, what);
    return absl::OkStatus();
  }

  void StartRead() {
    read_pending_ = true;
    Visit([&](auto& ws) {
      ws.async_read(read_buffer_, [this, &ws](beast::error_code ec, size_t) {
        read_pending_ = false;
        read_done_ = true;
        read_ec_ = ec;
        if (ec == websocket::error::closed) close_code_ = ws.reason().code;
      });
      return absl::OkStatus();
    }).IgnoreError();
  }

  void RunOneUntil(SteadyTime deadline) {
    if (ioc_.stopped()) ioc_.restart();
    if (deadline == SteadyTime::max()) {
      ioc_.run_one();
    } else {
      ioc_.run_one_until(deadline);
    }
  }

  // Runs every handler still queued (after the socket is closed they all
  // complete with an error), so none outlives this object.
  void Drain() {
    ioc_.restart();
    ioc_.run();
  }

  void CloseSocket() {
    std::visit(
        [](auto& ws) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(ws)>, std::monostate>) {
            beast::error_code ignored;
            beast::get_lowest_layer(ws).socket().close(ignored);
          }
        },
        stream_);
  }

  template <class F>
  absl::Status Visit(F f) {
    return std::visit(
        [&](auto& ws) -> absl::Status {
          if constexpr (std::is_same_v<std::decay_t<decltype(ws)>, std::monostate>) {
            return NotConnected();
          } else {
            return f(ws);
          }
        },
        stream_);
  }

  const Options options_;
  net::io_context ioc_{1};
  ssl::context tls_;
  std::variant<std::monostate, PlainStream, TlsStream> stream_;
  std::string host_;
  bool connected_ = false;
  std::atomic<bool> interrupted_{false};
  beast::flat_buffer read_buffer_;
  bool read_pending_ = false;
  bool read_done_ = false;
  beast::error_code read_ec_;
  int close_code_ = 0;
};

WebSocketClient::WebSocketClient() : WebSocketClient(Options()) {}
WebSocketClient::WebSocketClient(Options options) : impl_(std::make_unique<Impl>(options)) {}
WebSocketClient::~WebSocketClient() = default;
absl::Status WebSocketClient::Connect(absl::string_view url) { return impl_->Connect(url); }
absl::Status WebSocketClient::SendText(absl::string_view text) { return impl_->SendText(text); }
absl::StatusOr<std::string> WebSocketClient::ReadText(absl::Duration timeout) {
  return impl_->ReadText(timeout);
}
absl::Status WebSocketClient::Close() { return impl_->Close(); }
void WebSocketClient::Interrupt() { impl_->Interrupt(); }
bool WebSocketClient::connected() const { return impl_->connected(); }

}  // namespace xctl
