#include "tls/client_hello.h"

#include <optional>

namespace strait::tls {
namespace {

// A bounds-checked reader over one buffer: every read fails once the data runs out.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  std::optional<std::uint32_t> number(std::size_t octets) {
    if (data_.size() < octets) return std::nullopt;
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < octets; ++i)
      value = (value << 8) | static_cast<std::uint8_t>(data_[i]);
    data_.remove_prefix(octets);
    return value;
  }
  std::optional<std::string_view> bytes(std::size_t n) {
    if (data_.size() < n) return std::nullopt;
    auto out = data_.substr(0, n);
    data_.remove_prefix(n);
    return out;
  }
  // A vector with a length prefix of `octets` bytes.
  std::optional<Reader> vector(std::size_t octets) {
    auto length = number(octets);
    if (!length) return std::nullopt;
    auto body = bytes(*length);
    if (!body) return std::nullopt;
    return Reader(*body);
  }
  [[nodiscard]] bool empty() const { return data_.empty(); }

 private:
  std::string_view data_;
};

constexpr std::uint8_t kHandshakeRecord = 22;
constexpr std::uint8_t kClientHello = 1;
constexpr std::uint16_t kServerNameExtension = 0;
constexpr std::uint8_t kHostName = 0;
constexpr std::size_t kRecordHeader = 5;
constexpr std::size_t kMaxRecord = 16384 + 2048;  // TLSPlaintext limit, with room for old clients

}  // namespace

ClientHelloSni read_client_hello_sni(std::string_view bytes) {
  ClientHelloSni out;
  if (bytes.empty()) return out;
  if (static_cast<std::uint8_t>(bytes[0]) != kHandshakeRecord) {
    out.status = ClientHelloSni::Status::kNotTls;
    return out;
  }
  if (bytes.size() < kRecordHeader) return out;
  Reader header(bytes.substr(0, kRecordHeader));
  header.number(1);  // content type, checked above
  const auto major = header.number(1);
  header.number(1);  // minor version: 1 for most ClientHellos, any for old clients
  const auto length = header.number(2);
  if (major != 3u || *length == 0 || *length > kMaxRecord) {
    out.status = ClientHelloSni::Status::kNotTls;
    return out;
  }
  if (bytes.size() < kRecordHeader + *length) return out;
  out.status = ClientHelloSni::Status::kNotTls;
  Reader record(bytes.substr(kRecordHeader, *length));
  const auto type = record.number(1);
  const auto hello_length = record.number(3);
  if (type != kClientHello || !hello_length) return out;
  // A ClientHello longer than its record continues in the next one: what is here is read, and
  // the fields that do not fit are treated as absent.
  out.status = ClientHelloSni::Status::kDone;
  Reader hello = record;
  if (!hello.bytes(2) || !hello.bytes(32)) return out;  // client_version, random
  if (!hello.vector(1) || !hello.vector(2) || !hello.vector(1))
    return out;  // session id, suites, compression
  auto extensions = hello.vector(2);
  while (extensions && !extensions->empty()) {
    const auto ext_type = extensions->number(2);
    auto body = extensions->vector(2);
    if (!ext_type || !body) break;
    if (*ext_type != kServerNameExtension) continue;
    auto list = body->vector(2);
    while (list && !list->empty()) {
      const auto name_type = list->number(1);
      auto name = list->vector(2);
      if (!name_type || !name) break;
      if (*name_type != kHostName) continue;
      // A DNS name in ASCII; anything else (control bytes, UTF-8) is taken as no name.
      std::string host;
      while (!name->empty()) {
        char c = static_cast<char>(*name->number(1));
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        const bool allowed =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
        if (!allowed) return out;
        host.push_back(c);
      }
      if (!host.empty() && host.back() == '.') host.pop_back();
      // Empty labels ("a..b", ".a", "a..") make no DNS name.
      if (host.starts_with('.') || host.ends_with('.') || host.find("..") != std::string::npos) return out;
      out.server_name = std::move(host);
      return out;
    }
    break;
  }
  return out;
}

}  // namespace strait::tls
