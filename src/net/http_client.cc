#include "net/http_client.h"

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <charconv>
#include <optional>

#include "http/parser.h"

namespace strait::net {
namespace {

constexpr std::size_t kMaxBody = 64 * 1024 * 1024;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

std::string describe(const std::error_code& ec) {
  if (ec == asio::error::connection_refused) return "connection refused";
  if (ec == asio::error::connection_reset) return "connection reset by peer";
  if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again)
    return "host not found";
  if (ec == asio::error::network_unreachable) return "network unreachable";
  if (ec == asio::error::host_unreachable) return "host unreachable";
  return lower(ec.message());
}

std::string timeout_text(std::chrono::milliseconds timeout) {
  const auto ms = timeout.count();
  return "timed out after " +
         (ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms");
}

// One connection driven by asynchronous operations, each run to completion or to its deadline.
class Connection {
 public:
  explicit Connection(std::chrono::milliseconds timeout) : timeout_(timeout) {}

  std::optional<TransportError> connect(const Url& url) {
    asio::ip::tcp::resolver resolver(io_);
    std::error_code ec;
    auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
    if (ec) return TransportError{TransportError::Kind::kConnect, describe(ec)};
    bool done = false;
    asio::async_connect(socket_, endpoints,
                        [&](const std::error_code& e, const asio::ip::tcp::endpoint&) {
                          ec = e;
                          done = true;
                        });
    if (!wait(done))
      return TransportError{TransportError::Kind::kConnect, timeout_text(timeout_) + " connecting"};
    if (ec) return TransportError{TransportError::Kind::kConnect, describe(ec)};
    return std::nullopt;
  }

  std::optional<TransportError> write_all(const std::string& data) {
    std::error_code ec;
    bool done = false;
    asio::async_write(socket_, asio::buffer(data), [&](const std::error_code& e, std::size_t) {
      ec = e;
      done = true;
    });
    if (!wait(done)) return TransportError{TransportError::Kind::kTimeout, timeout_text(timeout_)};
    if (ec)
      return TransportError{TransportError::Kind::kIo, "sending the request: " + describe(ec)};
    return std::nullopt;
  }

  // Appends what arrives to `buffer`; sets `eof` at the end of the stream.
  std::optional<TransportError> read_some(std::string& buffer, bool& eof) {
    char chunk[16 * 1024];
    std::error_code ec;
    std::size_t n = 0;
    bool done = false;
    socket_.async_read_some(asio::buffer(chunk), [&](const std::error_code& e, std::size_t count) {
      ec = e;
      n = count;
      done = true;
    });
    if (!wait(done))
      return TransportError{TransportError::Kind::kTimeout,
                            timeout_text(timeout_) + " waiting for a response"};
    buffer.append(chunk, n);
    if (ec == asio::error::eof) {
      eof = true;
      return std::nullopt;
    }
    if (ec)
      return TransportError{TransportError::Kind::kIo, "reading the response: " + describe(ec)};
    return std::nullopt;
  }

 private:
  // Runs the io_context until `done` or the deadline; on timeout the socket is closed and the
  // aborted handler drained (it refers to the caller's locals).
  bool wait(bool& done) {
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    io_.restart();
    while (!done) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        std::error_code ignored;
        socket_.close(ignored);
        io_.restart();
        io_.run();
        return false;
      }
      io_.run_one_for(deadline - now);
    }
    return true;
  }

  std::chrono::milliseconds timeout_;
  asio::io_context io_;
  asio::ip::tcp::socket socket_{io_};
};

std::string serialize(const Url& url, const Request& request) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != 80) host += ":" + std::to_string(url.port);
  std::string out = request.method + " " + url.prefix + request.target + " HTTP/1.1\r\n";
  out += "Host: " + host + "\r\n";
  out += "Connection: close\r\n";
  for (const auto& [name, value] : request.headers) out += name + ": " + value + "\r\n";
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT")
    out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  out += "\r\n";
  out += request.body;
  return out;
}

TransportError protocol(std::string reason) {
  return {TransportError::Kind::kProtocol, std::move(reason)};
}

}  // namespace

std::expected<Url, std::string> parse_url(std::string_view text) {
  Url url;
  url.text = std::string(text);
  std::string_view rest = text;
  if (rest.starts_with("https://"))
    return std::unexpected(url.text + ": https is not supported yet (use http://)");
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.find("://") != std::string_view::npos) {
    return std::unexpected(url.text + ": unsupported scheme (use http://HOST:PORT)");
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    url.prefix = std::string(rest.substr(slash));
    while (!url.prefix.empty() && url.prefix.back() == '/') url.prefix.pop_back();
  }
  std::string_view port_text;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::unexpected(url.text + ": unterminated '['");
    url.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return std::unexpected(url.text + ": expected ':' after ']'");
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const auto colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
  }
  if (url.host.empty()) return std::unexpected(url.text + ": missing host");
  if (authority.find('@') != std::string_view::npos)
    return std::unexpected(url.text + ": credentials in the URL are not supported");
  if (has_port) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535)
      return std::unexpected(url.text + ": bad port '" + std::string(port_text) + "'");
    url.port = static_cast<std::uint16_t>(port);
  }
  return url;
}

std::string Response::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (http::iequals(n, name)) return v;
  return {};
}

std::expected<Response, TransportError> send_request(const Url& url, const Request& request,
                                                     std::chrono::milliseconds timeout) {
  try {
    Connection conn(timeout);
    if (auto err = conn.connect(url)) return std::unexpected(*err);
    if (auto err = conn.write_all(serialize(url, request))) return std::unexpected(*err);

    std::string buffer;
    bool eof = false;
    http::ParserLimits limits;
    http::ResponseHead head;
    Response response;
    // The head; 1xx interim responses are skipped.
    for (;;) {
      head = http::ResponseHead{};
      const auto result = http::parse_response_head(buffer, limits, request.method, head);
      if (result.status == http::ParseStatus::kError)
        return std::unexpected(
            protocol("malformed response head (" + std::string(http::name_of(result.error)) + ")"));
      if (result.status == http::ParseStatus::kComplete) {
        if (head.status >= 100 && head.status < 200) {
          buffer.erase(0, head.head_size);
          continue;
        }
        break;
      }
      if (eof)
        return std::unexpected(protocol(buffer.empty()
                                            ? "the server closed the connection without answering"
                                            : "the connection closed inside the response head"));
      if (auto err = conn.read_some(buffer, eof)) return std::unexpected(*err);
    }
    response.status = head.status;
    response.reason = std::string(head.reason);
    for (const auto& h : head.headers)
      response.headers.emplace_back(std::string(h.name), std::string(h.value));
    const auto framing = head.framing;
    const auto content_length = head.content_length;
    buffer.erase(0, head.head_size);  // the views in `head` are dead from here on

    switch (framing) {
      case http::BodyFraming::kNone:
        break;
      case http::BodyFraming::kContentLength:
        if (content_length > kMaxBody) return std::unexpected(protocol("response body too large"));
        while (buffer.size() < content_length) {
          if (eof)
            return std::unexpected(protocol("the connection closed inside the response body"));
          if (auto err = conn.read_some(buffer, eof)) return std::unexpected(*err);
        }
        response.body = buffer.substr(0, content_length);
        break;
      case http::BodyFraming::kChunked: {
        http::ChunkedDecoder decoder;
        std::size_t offset = 0;
        for (;;) {
          const auto step = decoder.next(std::string_view(buffer).substr(offset));
          offset += step.consumed;
          if (step.status == http::ChunkedDecoder::Status::kError)
            return std::unexpected(protocol("malformed chunked response body"));
          if (step.status == http::ChunkedDecoder::Status::kDone) break;
          if (step.status == http::ChunkedDecoder::Status::kData) {
            response.body.append(step.data);
            if (response.body.size() > kMaxBody)
              return std::unexpected(protocol("response body too large"));
            continue;
          }
          if (eof)
            return std::unexpected(
                protocol("the connection closed inside the chunked response body"));
          buffer.erase(0, offset);
          offset = 0;
          if (auto err = conn.read_some(buffer, eof)) return std::unexpected(*err);
        }
        break;
      }
      case http::BodyFraming::kUntilClose:
        while (!eof) {
          if (buffer.size() > kMaxBody) return std::unexpected(protocol("response body too large"));
          if (auto err = conn.read_some(buffer, eof)) return std::unexpected(*err);
        }
        response.body = std::move(buffer);
        break;
    }
    return response;
  } catch (const std::exception& e) {
    return std::unexpected(TransportError{TransportError::Kind::kIo, e.what()});
  }
}

}  // namespace strait::net
