// One HTTP/2 connection (nghttp2) in either role, and its streams, as coroutine-friendly objects.
//
// A connection runs two coroutines on its worker: the reader feeds received bytes to nghttp2 (whose
// callbacks fill the streams' inboxes) and the writer sends whatever nghttp2 has to send. A stream
// is what a proxy handler holds: it receives the peer's headers, data and trailers in order, and
// sends its own. Flow control provides the backpressure: the window is only returned to the peer
// when the handler has taken the data out of the inbox, and send_data() waits while the stream's
// outbox is full.
#pragma once

#include <nghttp2/nghttp2.h>

#include <asio/awaitable.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "net/event.h"
#include "net/read_buffer.h"
#include "net/stream.h"
#include "net/watchdog.h"

namespace strait::http2 {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// HTTP/1.1 trailer field lines ("Name: value\r\n"..., already validated by the chunked decoder) as
// HTTP/2 trailers: names lower-cased, values trimmed.
[[nodiscard]] HeaderList trailers_from_http1(std::string_view lines);

// The HTTP/2 connection preface a client sends first (RFC 9113 3.4).
inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct ConnectionSettings {
  std::uint32_t max_concurrent_streams = 100;
  std::uint32_t initial_window_size = 256 * 1024;   // per stream
  std::int32_t connection_window_size = 1 << 20;
  std::size_t max_header_list_size = 64 * 1024;
  std::chrono::milliseconds idle_timeout{300'000};  // no frame either way
};

class H2Connection;

class H2Stream {
 public:
  struct Received {
    enum class Kind : std::uint8_t { kHeaders, kData, kTrailers, kEnd, kReset };
    Kind kind = Kind::kEnd;
    HeaderList headers;     // kHeaders, kTrailers
    std::string data;       // kData
    std::uint32_t error = 0;  // kReset: the HTTP/2 error code
    bool end_stream = false;  // kHeaders: no body follows
  };

  H2Stream(std::shared_ptr<H2Connection> connection, std::int32_t id);

  [[nodiscard]] std::int32_t id() const { return id_; }
  [[nodiscard]] const HeaderList& headers() const { return head_; }  // request (server) or response (client)
  [[nodiscard]] bool head_ends_stream() const { return head_ends_stream_; }
  // The stream is over (reset by either side, or its connection is gone): nothing more can be sent.
  [[nodiscard]] bool closed() const { return closed_; }

  // The next thing the peer sent, in order. Never fails: a dead connection yields kReset.
  asio::awaitable<Received> receive();

  // Sending. Each returns false when the stream or connection is gone.
  bool send_headers(const HeaderList& headers, bool end_stream);  // response head (server only)
  void send_interim(int status);  // a 1xx response before the head (server only)
  asio::awaitable<bool> send_data(std::string_view data, bool end_stream);
  bool send_trailers(const HeaderList& trailers);
  void reset(std::uint32_t error_code);
  // Server, after a complete response was handed over while the request body is still coming:
  // RST_STREAM(NO_ERROR) once the response's last frame is sent (RFC 9113 8.1), so the peer stops
  // sending. An immediate reset would drop the response: nghttp2 refuses to send frames on a
  // stream it is closing.
  void stop_request_after_response();

  // What went through the stream, for telemetry: bytes of fields (name and value) and DATA each
  // way, the :status of the head sent (0: none yet), and whether the last frame of the response
  // went out.
  [[nodiscard]] std::uint64_t bytes_received() const { return bytes_received_; }
  [[nodiscard]] std::uint64_t bytes_sent() const { return bytes_sent_; }
  [[nodiscard]] int sent_status() const { return sent_status_; }
  [[nodiscard]] bool response_complete() const { return response_end_sent_; }

 private:
  friend class H2Connection;
  void deliver(Received event);
  ssize_t provide(std::uint8_t* buffer, std::size_t length, std::uint32_t* flags);

  std::shared_ptr<H2Connection> connection_;
  std::int32_t id_;
  HeaderList pending_headers_;  // being received
  HeaderList head_;
  bool head_received_ = false;
  bool head_ends_stream_ = false;
  std::deque<Received> inbox_;
  net::Event inbox_ready_;
  std::string outbox_;
  std::size_t outbox_sent_ = 0;  // bytes at the front of outbox_ already handed to nghttp2
  bool outbox_end_ = false;
  bool outbox_deferred_ = false;
  bool data_provider_attached_ = false;
  bool trailers_pending_ = false;
  HeaderList trailers_;
  net::Event outbox_space_;
  bool response_end_sent_ = false;     // the frame carrying END_STREAM went out
  bool reset_after_response_ = false;  // stop_request_after_response() waits for that frame
  bool closed_ = false;
  std::uint64_t bytes_received_ = 0;
  std::uint64_t bytes_sent_ = 0;
  int sent_status_ = 0;
};

class H2Connection : public std::enable_shared_from_this<H2Connection> {
 public:
  enum class Role : std::uint8_t { kServer, kClient };
  using RequestHandler = std::function<void(std::shared_ptr<H2Stream>)>;

  // `initial` holds bytes already read from `stream` (e.g. the h2c preface).
  static std::shared_ptr<H2Connection> create(asio::any_io_executor executor, net::Stream stream,
                                              Role role, const ConnectionSettings& settings,
                                              RequestHandler on_request);
  ~H2Connection();

  // Starts the reader and writer; `initial` bytes are processed first. `on_closed` runs once when
  // the connection has ended.
  void start(std::string_view initial, std::function<void()> on_closed = {});

  // Client: opens a stream carrying a request. The body follows with send_data() unless end_stream.
  std::shared_ptr<H2Stream> open(const HeaderList& request, bool end_stream);
  // Client: whether new streams may be opened here.
  [[nodiscard]] bool usable() const;
  [[nodiscard]] std::size_t active_streams() const { return streams_.size(); }
  // Server: graceful shutdown (GOAWAY; streams in flight finish).
  void shutdown_gracefully();
  [[nodiscard]] bool closed() const { return closed_; }

 private:
  friend class H2Stream;
  H2Connection(asio::any_io_executor executor, net::Stream stream, Role role,
               const ConnectionSettings& settings, RequestHandler on_request);
  // Each loop owns the connection through `self`, taken when start() spawns it: the caller may let
  // go of its own reference at once, before the loops first run.
  asio::awaitable<void> read_loop(std::shared_ptr<H2Connection> self, std::string initial);
  asio::awaitable<void> write_loop(std::shared_ptr<H2Connection> self);
  bool feed(std::string_view data);
  void terminate();
  void stream_closed(std::int32_t id, std::uint32_t error);
  H2Stream* find(std::int32_t id);
  void want_write() { write_ready_.notify(); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_header(nghttp2_session*, const nghttp2_frame*, const std::uint8_t*, std::size_t,
                       const std::uint8_t*, std::size_t, std::uint8_t, void*);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t, const std::uint8_t*,
                           std::size_t, void*);
  static int on_stream_close(nghttp2_session*, std::int32_t, std::uint32_t, void*);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame*, void*);
  static ssize_t read_data(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t,
                           std::uint32_t*, nghttp2_data_source*, void*);

  asio::any_io_executor executor_;
  net::Stream stream_;
  Role role_;
  ConnectionSettings settings_;
  RequestHandler on_request_;
  std::function<void()> on_closed_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, std::shared_ptr<H2Stream>> streams_;
  net::Event write_ready_;
  net::Watchdog watchdog_;
  bool closed_ = false;
  bool goaway_received_ = false;
  bool readers_done_ = false;
  int loops_running_ = 0;
};

}  // namespace strait::http2
