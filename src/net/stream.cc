#include "net/stream.h"

#include <asio/error.hpp>
#include <asio/ssl/error.hpp>
#include <asio/write.hpp>
#include <array>

namespace strait::net {

asio::awaitable<IoResult> Stream::read_some(asio::mutable_buffer buffer) {
  if (auto* tls = std::get_if<TlsStream>(&impl_)) {
    auto [ec, n] = co_await tls->async_read_some(buffer, kAsTuple);
    co_return IoResult{ec, n};
  }
  auto [ec, n] = co_await std::get<Tcp::socket>(impl_).async_read_some(buffer, kAsTuple);
  co_return IoResult{ec, n};
}

asio::awaitable<std::error_code> Stream::write_all(asio::const_buffer buffer) {
  if (auto* tls = std::get_if<TlsStream>(&impl_)) {
    auto [ec, n] = co_await asio::async_write(*tls, buffer, kAsTuple);
    co_return ec;
  }
  auto [ec, n] = co_await asio::async_write(std::get<Tcp::socket>(impl_), buffer, kAsTuple);
  co_return ec;
}

asio::awaitable<std::error_code> Stream::write_all(asio::const_buffer first,
                                                   asio::const_buffer second) {
  const std::array<asio::const_buffer, 2> buffers{first, second};
  if (auto* tls = std::get_if<TlsStream>(&impl_)) {
    auto [ec, n] = co_await asio::async_write(*tls, buffers, kAsTuple);
    co_return ec;
  }
  auto [ec, n] = co_await asio::async_write(std::get<Tcp::socket>(impl_), buffers, kAsTuple);
  co_return ec;
}

asio::awaitable<std::error_code> Stream::handshake(asio::ssl::stream_base::handshake_type role) {
  auto* tls = std::get_if<TlsStream>(&impl_);
  if (tls == nullptr) co_return std::error_code{};
  auto [ec] = co_await tls->async_handshake(role, kAsTuple);
  co_return ec;
}

void Stream::shutdown_send() {
  std::error_code ignored;
  socket().shutdown(Tcp::socket::shutdown_send, ignored);
}

void Stream::close() {
  std::error_code ignored;
  socket().close(ignored);
}

void Stream::cancel() {
  std::error_code ignored;
  socket().cancel(ignored);
}

SSL* Stream::ssl() {
  if (auto* tls = std::get_if<TlsStream>(&impl_)) return tls->native_handle();
  return nullptr;
}

Tcp::socket& Stream::socket() {
  if (auto* tls = std::get_if<TlsStream>(&impl_)) return tls->next_layer();
  return std::get<Tcp::socket>(impl_);
}

bool Stream::is_open() { return socket().is_open(); }

bool is_end_of_stream(const std::error_code& error) {
  return error == asio::error::eof || error == asio::ssl::error::stream_truncated;
}

}  // namespace strait::net
