// A connection's byte stream: plaintext TCP or TLS over TCP, behind one coroutine interface.
// Every operation reports errors as values (no exceptions on the data path).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/use_awaitable.hpp>
#include <cstddef>
#include <system_error>
#include <utility>
#include <variant>

namespace strait::net {

using Tcp = asio::ip::tcp;
using TlsStream = asio::ssl::stream<Tcp::socket>;

// Completion token for coroutines that want (error_code, result...) instead of exceptions.
inline constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);

struct IoResult {
  std::error_code error;
  std::size_t bytes = 0;
};

class Stream {
 public:
  explicit Stream(Tcp::socket socket) : impl_(std::move(socket)) {}
  explicit Stream(TlsStream tls) : impl_(std::move(tls)) {}
  Stream(Stream&&) = default;
  Stream& operator=(Stream&&) = default;

  asio::awaitable<IoResult> read_some(asio::mutable_buffer buffer);
  // Writes every byte of `buffer` (or fails).
  asio::awaitable<std::error_code> write_all(asio::const_buffer buffer);
  asio::awaitable<std::error_code> write_all(asio::const_buffer first, asio::const_buffer second);

  // TLS only: performs the handshake in the given role (plaintext streams succeed at once).
  asio::awaitable<std::error_code> handshake(asio::ssl::stream_base::handshake_type role);

  // Ends our sending direction: TCP FIN for plaintext. For TLS this also sends FIN on the socket
  // without waiting for the peer's close_notify (see ARCHITECTURE.md, "half-close over TLS").
  void shutdown_send();
  void close();
  // Cancels pending operations (they complete with operation_aborted).
  void cancel();

  [[nodiscard]] bool is_tls() const { return std::holds_alternative<TlsStream>(impl_); }
  [[nodiscard]] SSL* ssl();  // nullptr for plaintext
  [[nodiscard]] Tcp::socket& socket();
  [[nodiscard]] bool is_open();

 private:
  std::variant<Tcp::socket, TlsStream> impl_;
};

// True for errors that mean "the peer finished sending" rather than a failure: EOF, and a TLS
// stream that ended without close_notify (our own half-close, see shutdown_send()).
[[nodiscard]] bool is_end_of_stream(const std::error_code& error);

}  // namespace strait::net
