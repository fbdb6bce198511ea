#include "http2/h2_connection.h"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <charconv>
#include <cstring>

namespace strait::http2 {
namespace {

constexpr std::size_t kOutboxLimit = 64 * 1024;
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kWriteBatch = 64 * 1024;

std::vector<nghttp2_nv> to_nv(const HeaderList& headers) {
  std::vector<nghttp2_nv> out;
  out.reserve(headers.size());
  for (const auto& [name, value] : headers) {
    out.push_back(nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                             reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())),
                             name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return out;
}

bool is_interim_response(const HeaderList& headers) {
  for (const auto& [name, value] : headers) {
    if (name == ":status") return value.size() == 3 && value[0] == '1';
  }
  return false;
}

}  // namespace

HeaderList trailers_from_http1(std::string_view lines) {
  HeaderList out;
  while (!lines.empty()) {
    const auto end = lines.find("\r\n");
    const std::string_view line = lines.substr(0, end);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name(line.substr(0, colon));
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
      out.emplace_back(std::move(name), std::string(value));
    }
    if (end == std::string_view::npos) break;
    lines.remove_prefix(end + 2);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// H2Stream

H2Stream::H2Stream(std::shared_ptr<H2Connection> connection, std::int32_t id)
    : connection_(std::move(connection)),
      id_(id),
      inbox_ready_(connection_->executor_),
      outbox_space_(connection_->executor_) {}

namespace {

std::uint64_t field_bytes(const HeaderList& fields) {
  std::uint64_t total = 0;
  for (const auto& [name, value] : fields) total += name.size() + value.size();
  return total;
}

}  // namespace

void H2Stream::deliver(Received event) {
  bytes_received_ +=
      event.kind == Received::Kind::kData ? event.data.size() : field_bytes(event.headers);
  inbox_.push_back(std::move(event));
  inbox_ready_.notify();
}

asio::awaitable<H2Stream::Received> H2Stream::receive() {
  while (true) {
    if (!inbox_.empty()) break;
    if (closed_) co_return Received{.kind = Received::Kind::kReset, .error = NGHTTP2_CANCEL};
    co_await inbox_ready_.wait();
  }
  Received event = std::move(inbox_.front());
  inbox_.pop_front();
  if (event.kind == Received::Kind::kData && !connection_->closed_) {
    // The handler has the bytes: only now may the peer send more (backpressure).
    nghttp2_session_consume(connection_->session_, id_, event.data.size());
    connection_->want_write();
  }
  co_return event;
}

bool H2Stream::send_headers(const HeaderList& headers, bool end_stream) {
  if (closed_ || connection_->closed_) return false;
  const auto nv = to_nv(headers);
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = &H2Connection::read_data;
  const int rv = nghttp2_submit_response(connection_->session_, id_, nv.data(), nv.size(),
                                         end_stream ? nullptr : &provider);
  data_provider_attached_ = !end_stream;
  bytes_sent_ += field_bytes(headers);
  for (const auto& [name, value] : headers) {
    if (name != ":status") continue;
    std::from_chars(value.data(), value.data() + value.size(), sent_status_);
    break;
  }
  connection_->want_write();
  return rv == 0;
}

void H2Stream::send_interim(int status) {
  if (closed_ || connection_->closed_) return;
  const std::string code = std::to_string(status);
  const HeaderList head{{":status", code}};
  const auto nv = to_nv(head);
  nghttp2_submit_headers(connection_->session_, NGHTTP2_FLAG_NONE, id_, nullptr, nv.data(), nv.size(), nullptr);
  connection_->want_write();
}

asio::awaitable<bool> H2Stream::send_data(std::string_view data, bool end_stream) {
  while (true) {
    if (closed_ || connection_->closed_) co_return false;
    if (outbox_.size() - outbox_sent_ < kOutboxLimit) break;
    co_await outbox_space_.wait();
  }
  outbox_.append(data);
  bytes_sent_ += data.size();
  outbox_end_ = outbox_end_ || end_stream;
  if (outbox_deferred_) {
    outbox_deferred_ = false;
    nghttp2_session_resume_data(connection_->session_, id_);
  }
  connection_->want_write();
  co_return true;
}

bool H2Stream::send_trailers(const HeaderList& trailers) {
  if (closed_ || connection_->closed_) return false;
  trailers_ = trailers;
  bytes_sent_ += field_bytes(trailers);
  trailers_pending_ = true;
  outbox_end_ = true;
  if (outbox_deferred_) {
    outbox_deferred_ = false;
    nghttp2_session_resume_data(connection_->session_, id_);
  }
  connection_->want_write();
  return true;
}

void H2Stream::reset(std::uint32_t error_code) {
  if (closed_ || connection_->closed_) return;
  nghttp2_submit_rst_stream(connection_->session_, NGHTTP2_FLAG_NONE, id_, error_code);
  connection_->want_write();
}

void H2Stream::stop_request_after_response() {
  if (closed_ || connection_->closed_) return;
  if (response_end_sent_) {
    if (nghttp2_session_get_stream_remote_close(connection_->session_, id_) == 0)
      reset(NGHTTP2_NO_ERROR);
    return;
  }
  reset_after_response_ = true;  // on_frame_send resets when the END_STREAM frame is out
}

ssize_t H2Stream::provide(std::uint8_t* buffer, std::size_t length, std::uint32_t* flags) {
  // Sent bytes are skipped by an offset rather than erased per frame: a large body handed over in one
  // call is not moved once per frame.
  const std::size_t n = std::min(length, outbox_.size() - outbox_sent_);
  if (n > 0) {
    std::memcpy(buffer, outbox_.data() + outbox_sent_, n);
    outbox_sent_ += n;
    if (outbox_sent_ == outbox_.size()) {
      outbox_.clear();
      outbox_sent_ = 0;
    } else if (outbox_sent_ >= kOutboxLimit && outbox_sent_ * 2 >= outbox_.size()) {
      // Drop the sent prefix once it is at least half the buffer: each byte is moved at most once
      // more, and a sender that keeps the outbox from ever draining cannot grow it without bound.
      outbox_.erase(0, outbox_sent_);
      outbox_sent_ = 0;
    }
    outbox_space_.notify();
  }
  if (outbox_.empty()) {
    if (!outbox_end_) {
      if (n > 0) return static_cast<ssize_t>(n);
      outbox_deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (trailers_pending_) {
      trailers_pending_ = false;
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      const auto nv = to_nv(trailers_);
      nghttp2_submit_trailer(connection_->session_, id_, nv.data(), nv.size());
    }
  }
  return static_cast<ssize_t>(n);
}

// ---------------------------------------------------------------------------------------------
// H2Connection

H2Connection::H2Connection(asio::any_io_executor executor, net::Stream stream, Role role,
                           const ConnectionSettings& settings, RequestHandler on_request)
    : executor_(executor),
      stream_(std::move(stream)),
      role_(role),
      settings_(settings),
      on_request_(std::move(on_request)),
      write_ready_(executor),
      watchdog_(executor) {}

std::shared_ptr<H2Connection> H2Connection::create(asio::any_io_executor executor,
                                                   net::Stream stream, Role role,
                                                   const ConnectionSettings& settings,
                                                   RequestHandler on_request) {
  auto connection = std::shared_ptr<H2Connection>(
      new H2Connection(executor, std::move(stream), role, settings, std::move(on_request)));
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &H2Connection::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &H2Connection::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &H2Connection::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &H2Connection::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &H2Connection::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &H2Connection::on_frame_send);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  // Rapid-reset (CVE-2023-44487) and CONTINUATION flood limits.
  nghttp2_option_set_stream_reset_rate_limit(option, 1000, 33);
  nghttp2_option_set_max_continuations(option, 8);
  nghttp2_option_set_max_send_header_block_length(option, settings.max_header_list_size);
  if (role == Role::kServer) {
    nghttp2_session_server_new2(&connection->session_, callbacks, connection.get(), option);
  } else {
    nghttp2_session_client_new2(&connection->session_, callbacks, connection.get(), option);
  }
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);

  std::vector<nghttp2_settings_entry> entries{
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings.initial_window_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(settings.max_header_list_size)},
  };
  if (role == Role::kServer) {
    entries.push_back({NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings.max_concurrent_streams});
  } else {
    entries.push_back({NGHTTP2_SETTINGS_ENABLE_PUSH, 0});
  }
  nghttp2_submit_settings(connection->session_, NGHTTP2_FLAG_NONE, entries.data(), entries.size());
  nghttp2_session_set_local_window_size(connection->session_, NGHTTP2_FLAG_NONE, 0,
                                        settings.connection_window_size);
  return connection;
}

H2Connection::~H2Connection() { nghttp2_session_del(session_); }

void H2Connection::start(std::string_view initial, std::function<void()> on_closed) {
  on_closed_ = std::move(on_closed);
  watchdog_.arm(settings_.idle_timeout, &stream_);
  loops_running_ = 2;
  std::string initial_bytes(initial);
  auto self = shared_from_this();
  asio::co_spawn(executor_, read_loop(self, std::move(initial_bytes)), asio::detached);
  asio::co_spawn(executor_, write_loop(self), asio::detached);
}

bool H2Connection::feed(std::string_view data) {
  const auto rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(data.data()),
                                           data.size());
  want_write();
  return rv >= 0;
}

asio::awaitable<void> H2Connection::read_loop([[maybe_unused]] std::shared_ptr<H2Connection> self,
                                              std::string initial) {
  net::ReadBuffer buffer(kReadChunk);
  bool ok = initial.empty() || feed(initial);
  while (ok && !closed_) {
    auto [error, n] = co_await stream_.read_some(buffer.prepare(kReadChunk));
    if (error) break;
    watchdog_.touch();
    buffer.commit(n);
    ok = feed(buffer.data());
    buffer.consume(buffer.size());
  }
  // Let the writer flush what nghttp2 still has to say (GOAWAY after a protocol error).
  readers_done_ = true;
  want_write();
  if (--loops_running_ == 0) terminate();
}

asio::awaitable<void> H2Connection::write_loop([[maybe_unused]] std::shared_ptr<H2Connection> self) {
  std::string out;
  while (true) {
    out.clear();
    while (out.size() < kWriteBatch) {
      const std::uint8_t* data = nullptr;
      const auto n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (!out.empty()) {
      if (co_await stream_.write_all(asio::buffer(out))) break;
      watchdog_.touch();
      continue;
    }
    if (closed_ || readers_done_) break;
    if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) break;
    co_await write_ready_.wait();
  }
  stream_.shutdown_send();
  stream_.cancel();  // wakes the reader if the peer is still connected
  if (--loops_running_ == 0) terminate();
}

void H2Connection::terminate() {
  if (closed_) return;
  closed_ = true;
  watchdog_.disarm();
  stream_.close();
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, s] : streams) {
    s->closed_ = true;
    s->inbox_ready_.notify();
    s->outbox_space_.notify();
  }
  write_ready_.notify();
  if (on_closed_) std::exchange(on_closed_, {})();
}

std::shared_ptr<H2Stream> H2Connection::open(const HeaderList& request, bool end_stream) {
  if (!usable()) return nullptr;
  const auto nv = to_nv(request);
  nghttp2_data_provider provider{};
  provider.read_callback = &H2Connection::read_data;
  // The stream object must exist before submit, since nghttp2 may call read_data at once.
  auto stream = std::make_shared<H2Stream>(shared_from_this(), 0);
  provider.source.ptr = stream.get();
  const std::int32_t id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(),
                                                 end_stream ? nullptr : &provider, nullptr);
  if (id < 0) return nullptr;
  stream->id_ = id;
  stream->data_provider_attached_ = !end_stream;
  streams_.emplace(id, stream);
  want_write();
  return stream;
}

bool H2Connection::usable() const {
  return !closed_ && !goaway_received_ &&
         nghttp2_session_check_request_allowed(session_) != 0 &&
         streams_.size() < settings_.max_concurrent_streams;
}

void H2Connection::shutdown_gracefully() {
  if (closed_) return;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  want_write();
}

H2Stream* H2Connection::find(std::int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void H2Connection::stream_closed(std::int32_t id, std::uint32_t error) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  auto stream = std::move(it->second);
  streams_.erase(it);
  stream->closed_ = true;
  if (error != NGHTTP2_NO_ERROR) {
    stream->deliver(H2Stream::Received{.kind = H2Stream::Received::Kind::kReset, .error = error});
  }
  stream->inbox_ready_.notify();
  stream->outbox_space_.notify();
}

int H2Connection::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<H2Connection*>(user);
  if (self->role_ == Role::kServer && frame->hd.type == NGHTTP2_HEADERS &&
      frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    self->streams_.emplace(frame->hd.stream_id,
                           std::make_shared<H2Stream>(self->shared_from_this(), frame->hd.stream_id));
  }
  return 0;
}

int H2Connection::on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                            std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                            std::uint8_t, void* user) {
  auto* self = static_cast<H2Connection*>(user);
  H2Stream* stream = self->find(frame->hd.stream_id);
  if (stream == nullptr) return 0;
  stream->pending_headers_.emplace_back(std::string(reinterpret_cast<const char*>(name), namelen),
                                        std::string(reinterpret_cast<const char*>(value), valuelen));
  return 0;
}

int H2Connection::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<H2Connection*>(user);
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    self->goaway_received_ = true;
    return 0;
  }
  H2Stream* stream = self->find(frame->hd.stream_id);
  if (stream == nullptr) return 0;
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  using Kind = H2Stream::Received::Kind;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    HeaderList headers = std::move(stream->pending_headers_);
    stream->pending_headers_.clear();
    if (!stream->head_received_) {
      if (self->role_ == Role::kClient && is_interim_response(headers)) return 0;
      stream->head_received_ = true;
      stream->head_ = headers;
      stream->head_ends_stream_ = end_stream;
      stream->deliver({.kind = Kind::kHeaders, .headers = std::move(headers), .end_stream = end_stream});
      if (self->role_ == Role::kServer && self->on_request_) {
        self->on_request_(self->streams_.at(frame->hd.stream_id));
      }
    } else {
      stream->deliver({.kind = Kind::kTrailers, .headers = std::move(headers)});
    }
  }
  if (end_stream && (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA)) {
    stream->deliver({.kind = Kind::kEnd});
  }
  return 0;
}

int H2Connection::on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t stream_id,
                                const std::uint8_t* data, std::size_t len, void* user) {
  auto* self = static_cast<H2Connection*>(user);
  H2Stream* stream = self->find(stream_id);
  if (stream == nullptr) {
    // Nobody will read it: give the window back at once.
    nghttp2_session_consume(self->session_, stream_id, len);
    return 0;
  }
  stream->deliver({.kind = H2Stream::Received::Kind::kData,
                   .data = std::string(reinterpret_cast<const char*>(data), len)});
  return 0;
}

int H2Connection::on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error,
                                  void* user) {
  static_cast<H2Connection*>(user)->stream_closed(stream_id, error);
  return 0;
}

int H2Connection::on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<H2Connection*>(user);
  if (self->role_ != Role::kServer ||
      (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0)
    return 0;
  H2Stream* stream = self->find(frame->hd.stream_id);
  if (stream == nullptr) return 0;
  stream->response_end_sent_ = true;
  if (stream->reset_after_response_) {
    stream->reset_after_response_ = false;
    // The request may have ended meanwhile: the stream then closes, and no reset is due.
    if (nghttp2_session_get_stream_remote_close(self->session_, frame->hd.stream_id) == 0)
      nghttp2_submit_rst_stream(self->session_, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                NGHTTP2_NO_ERROR);
  }
  return 0;
}

ssize_t H2Connection::read_data(nghttp2_session*, std::int32_t, std::uint8_t* buffer,
                                std::size_t length, std::uint32_t* flags,
                                nghttp2_data_source* source, void*) {
  return static_cast<H2Stream*>(source->ptr)->provide(buffer, length, flags);
}

}  // namespace strait::http2
