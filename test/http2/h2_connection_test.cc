// H2Connection in both roles over a real loopback TCP connection, inside one io_context.
//
// The server's handler picks a behaviour from the request's :path (echo, wait at a barrier, stall
// before reading, hold the stream open, drop the connection). Each test drives a client, lets the
// io_context run until all work is done (10 s at most, so that a hang fails instead of blocking),
// then checks what both sides recorded.
//
// GCC 12 coroutine rules followed here: no co_await in a loop condition or in ?:, no prvalue of a
// non-trivial type passed to a coroutine (named locals instead), no capturing coroutine lambdas.
#include "http2/h2_connection.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace strait::http2 {
namespace {

using namespace std::chrono_literals;
using Kind = H2Stream::Received::Kind;
using Role = H2Connection::Role;

std::string header_value(const HeaderList& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return "(missing)";
}

HeaderList request_head(std::string_view method, std::string_view path) {
  return {{":method", std::string(method)},
          {":scheme", "http"},
          {":authority", "test.local"},
          {":path", std::string(path)}};
}

// A payload whose bytes depend on their position, so that reordering or loss shows.
std::string pattern(std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Server side

struct ServerLog {
  int requests = 0;
  std::set<std::int32_t> stream_ids;
  std::vector<std::string> request_trailers;  // x-client values seen
  std::size_t data_events = 0;                // kData events the handlers received
  std::vector<std::uint32_t> resets;          // error codes of kReset seen by handlers
  int handlers_done = 0;
  // /barrier: every handler waits until `barrier_size` requests are open at once.
  std::optional<asio::steady_timer> barrier;
  int barrier_size = 0;
  int barrier_arrived = 0;
  int barrier_max_waiting = 0;
  // /stall: the handler reads nothing until this is notified.
  std::optional<net::Event> stall_release;
  // /hang: the server socket, which the handler shuts down.
  int server_fd = -1;
  std::function<void()> on_reset;  // /hold: called once the handler has seen the reset
};

// Reads the request body to its end, then answers 200 with the body and an x-count trailer.
asio::awaitable<void> echo(std::shared_ptr<H2Stream> stream, bool ended, ServerLog* log) {
  std::string body;
  bool done = ended;
  while (!done) {
    H2Stream::Received event = co_await stream->receive();
    if (event.kind == Kind::kData) {
      body += event.data;
      ++log->data_events;
    } else if (event.kind == Kind::kTrailers) {
      log->request_trailers.push_back(header_value(event.headers, "x-client"));
    } else if (event.kind == Kind::kEnd) {
      done = true;
    } else if (event.kind == Kind::kReset) {
      log->resets.push_back(event.error);
      co_return;
    }
  }
  const HeaderList head{{":status", "200"}, {"content-type", "application/octet-stream"}};
  if (!stream->send_headers(head, false)) co_return;
  const bool sent = co_await stream->send_data(body, false);
  if (!sent) co_return;
  const HeaderList trailers{{"x-count", std::to_string(body.size())}};
  stream->send_trailers(trailers);
}

asio::awaitable<void> wait_at_barrier(ServerLog* log) {
  ++log->barrier_arrived;
  log->barrier_max_waiting = std::max(log->barrier_max_waiting, log->barrier_arrived);
  if (log->barrier_arrived >= log->barrier_size) {
    // Wakes every waiter, and makes any later wait complete at once.
    log->barrier->expires_at(std::chrono::steady_clock::time_point::min());
    co_return;
  }
  const auto woken = co_await log->barrier->async_wait(net::kAsTuple);
  static_cast<void>(woken);
}

// Answers the head at once, then waits for the end of the request or its reset.
asio::awaitable<void> hold(std::shared_ptr<H2Stream> stream, ServerLog* log) {
  const HeaderList head{{":status", "200"}};
  stream->send_headers(head, false);
  while (true) {
    H2Stream::Received event = co_await stream->receive();
    if (event.kind == Kind::kReset) {
      log->resets.push_back(event.error);
      if (log->on_reset) log->on_reset();
      co_return;
    }
    if (event.kind == Kind::kEnd) co_return;
  }
}

asio::awaitable<void> serve(std::shared_ptr<H2Stream> stream, ServerLog* log) {
  ++log->requests;
  log->stream_ids.insert(stream->id());
  const std::string path = header_value(stream->headers(), ":path");
  H2Stream::Received head = co_await stream->receive();
  if (head.kind != Kind::kHeaders) {
    ADD_FAILURE() << "the first event of a stream is not its head";
    co_return;
  }
  if (path == "/echo") {
    co_await echo(stream, head.end_stream, log);
  } else if (path == "/barrier") {
    co_await wait_at_barrier(log);
    co_await echo(stream, head.end_stream, log);
  } else if (path == "/stall") {
    co_await log->stall_release->wait();
    co_await echo(stream, head.end_stream, log);
  } else if (path == "/hold") {
    co_await hold(stream, log);
  } else if (path == "/hang") {
    ::shutdown(log->server_fd, SHUT_RDWR);  // the connection dies with the request unanswered
    while (true) {  // the request's kEnd may still be queued; the reset follows
      H2Stream::Received event = co_await stream->receive();
      if (event.kind == Kind::kReset) {
        log->resets.push_back(event.error);
        break;
      }
    }
  } else {
    ADD_FAILURE() << "unexpected path " << path;
  }
  ++log->handlers_done;
}

// ---------------------------------------------------------------------------------------------
// Client side

struct Response {
  std::string status;
  std::string body;
  HeaderList trailers;
  std::size_t data_events = 0;
  bool ended = false;
  bool reset = false;
  std::uint32_t reset_error = 0;
};

// Everything the server sends on `stream`, until its end or reset.
asio::awaitable<Response> collect(std::shared_ptr<H2Stream> stream) {
  Response r;
  while (true) {
    H2Stream::Received event = co_await stream->receive();
    if (event.kind == Kind::kHeaders) {
      r.status = header_value(event.headers, ":status");
    } else if (event.kind == Kind::kData) {
      r.body += event.data;
      ++r.data_events;
    } else if (event.kind == Kind::kTrailers) {
      r.trailers = std::move(event.headers);
    } else if (event.kind == Kind::kEnd) {
      r.ended = true;
      break;
    } else {
      r.reset = true;
      r.reset_error = event.error;
      break;
    }
  }
  co_return r;
}

// Sends `body` in `chunk`-sized pieces, the last one ending the stream; `accepted` counts what
// send_data() took.
asio::awaitable<bool> send_body(std::shared_ptr<H2Stream> stream, std::string_view body,
                                std::size_t chunk, std::size_t* accepted) {
  for (std::size_t offset = 0; offset < body.size(); offset += chunk) {
    const std::string_view piece = body.substr(offset, chunk);
    const bool last = offset + chunk >= body.size();
    const bool ok = co_await stream->send_data(piece, last);
    if (!ok) co_return false;
    *accepted += piece.size();
  }
  co_return true;
}

// ---------------------------------------------------------------------------------------------
// Fixture: a connected client/server pair

class H2ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net::Tcp::acceptor acceptor(io_, net::Tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    net::Tcp::socket client_socket(io_);
    client_socket.connect(acceptor.local_endpoint());
    net::Tcp::socket server_socket = acceptor.accept();
    client_fd_ = client_socket.native_handle();
    log_.server_fd = server_socket.native_handle();

    auto on_request = [this](std::shared_ptr<H2Stream> stream) {
      asio::co_spawn(io_, serve(std::move(stream), &log_), asio::detached);
    };
    server_ = H2Connection::create(io_.get_executor(), net::Stream(std::move(server_socket)),
                                   Role::kServer, ConnectionSettings{}, on_request);
    client_ = H2Connection::create(io_.get_executor(), net::Stream(std::move(client_socket)),
                                   Role::kClient, ConnectionSettings{}, {});
    server_->start({}, [this] { ++server_closed_; });
    client_->start({}, [this] { ++client_closed_; });
  }

  // Runs until no work is left; fails the test if that takes longer than 10 s. The fixture lets go
  // of the connections first: like in the proxy, each lives as long as its own coroutines, and a
  // finished one is destroyed (which also releases its watchdog's timer).
  void run() {
    client_weak_ = client_;
    server_weak_ = server_;
    client_.reset();
    server_.reset();
    const auto start = std::chrono::steady_clock::now();
    io_.run_for(10s);
    EXPECT_TRUE(io_.stopped()) << "work left after 10 s: something hangs";
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  }

  // Ends the test's traffic: the client's socket shuts down, so both connections close.
  std::function<void()> finisher() {
    return [this] {
      if (client_closed_ == 0) ::shutdown(client_fd_, SHUT_RDWR);
    };
  }

  void expect_both_closed() {
    EXPECT_EQ(client_closed_, 1);  // on_closed runs exactly once
    EXPECT_EQ(server_closed_, 1);
    // Nothing keeps a finished connection alive (no stream <-> connection cycle).
    EXPECT_TRUE(client_weak_.expired());
    EXPECT_TRUE(server_weak_.expired());
  }

  asio::io_context io_;  // declared first: outlives everything bound to it
  ServerLog log_;
  int client_fd_ = -1;
  int client_closed_ = 0;
  int server_closed_ = 0;
  std::shared_ptr<H2Connection> server_;
  std::shared_ptr<H2Connection> client_;
  std::weak_ptr<H2Connection> server_weak_;
  std::weak_ptr<H2Connection> client_weak_;
};

// (a) One request with a body and trailers, one response with a body and trailers.
asio::awaitable<void> simple_exchange(std::shared_ptr<H2Connection> client, Response* out,
                                      std::function<void()> finish) {
  const HeaderList request = request_head("POST", "/echo");
  std::shared_ptr<H2Stream> stream = client->open(request, false);
  if (!stream) {
    ADD_FAILURE() << "open failed";
    finish();
    co_return;
  }
  const std::string body = "hello, h2";
  const bool sent = co_await stream->send_data(body, false);
  EXPECT_TRUE(sent);
  const HeaderList trailers{{"x-client", "yes"}};
  EXPECT_TRUE(stream->send_trailers(trailers));
  *out = co_await collect(stream);
  finish();
}

TEST_F(H2ConnectionTest, RequestAndResponseWithTrailers) {
  EXPECT_TRUE(client_->usable());
  Response response;
  const std::function<void()> finish = finisher();
  asio::co_spawn(io_, simple_exchange(client_, &response, finish), asio::detached);
  run();

  EXPECT_EQ(response.status, "200");
  EXPECT_EQ(response.body, "hello, h2");
  EXPECT_TRUE(response.ended);
  EXPECT_FALSE(response.reset);
  EXPECT_EQ(header_value(response.trailers, "x-count"), "9");
  EXPECT_EQ(log_.requests, 1);
  EXPECT_EQ(log_.request_trailers, std::vector<std::string>{"yes"});
  EXPECT_TRUE(log_.resets.empty());
  EXPECT_EQ(log_.handlers_done, 1);
  expect_both_closed();
}

// A request without a body (END_STREAM on the head) is answered too.
asio::awaitable<void> bodiless_exchange(std::shared_ptr<H2Connection> client, Response* out,
                                        std::function<void()> finish) {
  const HeaderList request = request_head("GET", "/echo");
  std::shared_ptr<H2Stream> stream = client->open(request, true);
  if (stream) *out = co_await collect(stream);
  finish();
}

TEST_F(H2ConnectionTest, RequestWithoutBody) {
  Response response;
  const std::function<void()> finish = finisher();
  asio::co_spawn(io_, bodiless_exchange(client_, &response, finish), asio::detached);
  run();
  EXPECT_EQ(response.status, "200");
  EXPECT_EQ(response.body, "");
  EXPECT_TRUE(response.ended);
  EXPECT_EQ(header_value(response.trailers, "x-count"), "0");
  expect_both_closed();
}

// (b) 50 streams open at once on one connection.
constexpr int kStreams = 50;

asio::awaitable<void> one_of_many(std::shared_ptr<H2Stream> stream, int index,
                                  std::vector<Response>* results, int* remaining,
                                  std::function<void()> finish) {
  const std::string body = "stream " + std::to_string(index) + ":" + pattern(index * 100);
  const bool sent = co_await stream->send_data(body, true);
  EXPECT_TRUE(sent) << index;
  (*results)[index] = co_await collect(stream);
  if (--*remaining == 0) finish();
}

TEST_F(H2ConnectionTest, ConcurrentStreamsAreMultiplexed) {
  log_.barrier.emplace(io_, std::chrono::steady_clock::time_point::max());
  log_.barrier_size = kStreams;
  const HeaderList request = request_head("POST", "/barrier");
  std::vector<std::shared_ptr<H2Stream>> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(client_->open(request, false));
    ASSERT_NE(streams.back(), nullptr) << i;
  }
  EXPECT_EQ(client_->active_streams(), static_cast<std::size_t>(kStreams));

  std::vector<Response> results(kStreams);
  int remaining = kStreams;
  const std::function<void()> finish = finisher();
  for (int i = 0; i < kStreams; ++i) {
    asio::co_spawn(io_, one_of_many(streams[i], i, &results, &remaining, finish), asio::detached);
  }
  streams.clear();
  run();

  EXPECT_EQ(remaining, 0);
  EXPECT_EQ(log_.requests, kStreams);
  EXPECT_EQ(log_.stream_ids.size(), static_cast<std::size_t>(kStreams));
  // Every handler waited until all 50 requests were open at the server at the same time.
  EXPECT_EQ(log_.barrier_max_waiting, kStreams);
  for (int i = 0; i < kStreams; ++i) {
    const std::string expected = "stream " + std::to_string(i) + ":" + pattern(i * 100);
    EXPECT_EQ(results[i].status, "200") << i;
    EXPECT_TRUE(results[i].ended) << i;
    EXPECT_EQ(results[i].body, expected) << i;
    EXPECT_EQ(header_value(results[i].trailers, "x-count"), std::to_string(expected.size())) << i;
  }
  EXPECT_EQ(log_.handlers_done, kStreams);
  expect_both_closed();
}

// (c) 4 MiB each way: far more than the stream (256 KiB) and connection (1 MiB) windows, so it
// only completes if receive() returns the window to the peer.
asio::awaitable<void> upload(std::shared_ptr<H2Connection> client, const std::string* payload,
                             Response* out, std::function<void()> finish) {
  const HeaderList request = request_head("POST", "/echo");
  std::shared_ptr<H2Stream> stream = client->open(request, false);
  std::size_t accepted = 0;
  const bool sent = co_await send_body(stream, *payload, 64 * 1024, &accepted);
  EXPECT_TRUE(sent);
  EXPECT_EQ(accepted, payload->size());
  *out = co_await collect(stream);
  finish();
}

TEST_F(H2ConnectionTest, LargeBodyFlowsThroughTheWindows) {
  const std::string payload = pattern(4 * 1024 * 1024);
  Response response;
  const std::function<void()> finish = finisher();
  asio::co_spawn(io_, upload(client_, &payload, &response, finish), asio::detached);
  run();

  EXPECT_EQ(response.status, "200");
  EXPECT_TRUE(response.ended);
  EXPECT_EQ(response.body.size(), payload.size());
  EXPECT_TRUE(response.body == payload) << "the echoed body differs";
  EXPECT_EQ(header_value(response.trailers, "x-count"), std::to_string(payload.size()));
  // Frames are at most 16 KiB: the body arrived in many pieces both ways.
  EXPECT_GE(log_.data_events, payload.size() / 16384);
  EXPECT_GE(response.data_events, payload.size() / 16384);
  expect_both_closed();
}

// (c') Backpressure: while the server's handler does not call receive(), the client can hand
// send_data() no more than the stream window plus the stream's outbox.
struct StallState {
  std::size_t accepted = 0;
  std::size_t accepted_while_stalled = 0;
};

asio::awaitable<void> stalled_upload(std::shared_ptr<H2Connection> client,
                                     const std::string* payload, StallState* state, Response* out,
                                     std::function<void()> finish) {
  const HeaderList request = request_head("POST", "/stall");
  std::shared_ptr<H2Stream> stream = client->open(request, false);
  const bool sent = co_await send_body(stream, *payload, 16 * 1024, &state->accepted);
  EXPECT_TRUE(sent);
  *out = co_await collect(stream);
  finish();
}

asio::awaitable<void> release_after(std::chrono::milliseconds delay, StallState* state,
                                    net::Event* release) {
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, delay);
  const auto waited = co_await timer.async_wait(net::kAsTuple);
  static_cast<void>(waited);
  state->accepted_while_stalled = state->accepted;
  release->notify();
}

TEST_F(H2ConnectionTest, UnreadDataStopsTheSender) {
  log_.stall_release.emplace(io_.get_executor());
  const std::string payload = pattern(1024 * 1024);
  StallState state;
  Response response;
  const std::function<void()> finish = finisher();
  asio::co_spawn(io_, stalled_upload(client_, &payload, &state, &response, finish), asio::detached);
  const std::chrono::milliseconds stall = 300ms;
  asio::co_spawn(io_, release_after(stall, &state, &*log_.stall_release), asio::detached);
  run();

  const ConnectionSettings settings;
  constexpr std::size_t kOutboxAndOneChunk = 64 * 1024 + 16 * 1024;
  EXPECT_GT(state.accepted_while_stalled, 0U);
  EXPECT_LE(state.accepted_while_stalled, settings.initial_window_size + kOutboxAndOneChunk);
  // Once the handler reads, everything goes through.
  EXPECT_EQ(state.accepted, payload.size());
  EXPECT_EQ(response.status, "200");
  EXPECT_TRUE(response.body == payload) << "the echoed body differs";
  expect_both_closed();
}

// (d) A client's RST_STREAM reaches the server's handler as kReset.
asio::awaitable<void> reset_after_head(std::shared_ptr<H2Connection> client, Response* out) {
  const HeaderList request = request_head("POST", "/hold");
  std::shared_ptr<H2Stream> stream = client->open(request, false);
  const std::string some = "partial body";
  const bool sent = co_await stream->send_data(some, false);
  EXPECT_TRUE(sent);
  H2Stream::Received head = co_await stream->receive();
  EXPECT_EQ(head.kind, Kind::kHeaders);
  out->status = header_value(head.headers, ":status");
  stream->reset(NGHTTP2_CANCEL);
  // Our side of the stream ends too.
  H2Stream::Received after = co_await stream->receive();
  out->reset = after.kind == Kind::kReset;
  out->reset_error = after.error;
}

TEST_F(H2ConnectionTest, ClientResetReachesTheServerHandler) {
  log_.on_reset = finisher();
  Response response;
  asio::co_spawn(io_, reset_after_head(client_, &response), asio::detached);
  run();

  EXPECT_EQ(response.status, "200");
  EXPECT_TRUE(response.reset);
  EXPECT_EQ(response.reset_error, static_cast<std::uint32_t>(NGHTTP2_CANCEL));
  ASSERT_EQ(log_.resets.size(), 1U);
  EXPECT_EQ(log_.resets[0], static_cast<std::uint32_t>(NGHTTP2_CANCEL));
  EXPECT_EQ(log_.handlers_done, 1);
  expect_both_closed();
}

// (e) The server's socket goes away while the client waits for a response.
asio::awaitable<void> wait_for_dead_server(std::shared_ptr<H2Connection> client, Response* out,
                                           bool* usable_after) {
  const HeaderList request = request_head("GET", "/hang");
  std::shared_ptr<H2Stream> stream = client->open(request, true);
  *out = co_await collect(stream);
  *usable_after = client->usable();
  // Nothing more can be sent on the dead connection.
  const std::string more = "x";
  const bool sent = co_await stream->send_data(more, true);
  EXPECT_FALSE(sent);
  EXPECT_EQ(client->open(request, true), nullptr);
}

TEST_F(H2ConnectionTest, ClosedServerSocketResetsPendingReceives) {
  Response response;
  bool usable_after = true;
  asio::co_spawn(io_, wait_for_dead_server(client_, &response, &usable_after), asio::detached);
  run();

  EXPECT_TRUE(response.reset);
  EXPECT_FALSE(response.ended);
  EXPECT_EQ(response.status, "");
  EXPECT_FALSE(usable_after);
  EXPECT_EQ(log_.requests, 1);
  EXPECT_EQ(log_.handlers_done, 1);
  ASSERT_EQ(log_.resets.size(), 1U);  // the server's handler saw its connection die too
  expect_both_closed();
}

}  // namespace
}  // namespace strait::http2
