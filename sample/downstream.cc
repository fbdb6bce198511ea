#include "downstream.h"

#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <charconv>
#include <chrono>

#include "sample.grpc.pb.h"

namespace strait::sample {
namespace {

constexpr auto kCallTimeout = std::chrono::seconds(5);

std::expected<std::pair<std::string, int>, std::string> host_and_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::unexpected("no :PORT");
  int port = 0;
  const auto digits = text.substr(colon + 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || port < 1 || port > 65535)
    return std::unexpected("the port must be from 1 to 65535");
  return std::pair{std::string(text.substr(0, colon)), port};
}

class HttpTarget final : public Target {
 public:
  HttpTarget(std::string text, std::string host, int port, std::string path, std::string proxy_host,
             int proxy_port)
      : text_(std::move(text)),
        host_(std::move(host)),
        port_(port),
        path_(std::move(path)),
        proxy_host_(std::move(proxy_host)),
        proxy_port_(proxy_port) {}

  CallResult call(const Headers& forwarded) const override {
    // A client per call: httplib's clients are not shared between threads. The sidecar keeps the
    // connections that matter (mTLS, pooled); this hop is loopback.
    httplib::Client client(host_, port_);
    if (!proxy_host_.empty()) client.set_proxy(proxy_host_, proxy_port_);
    client.set_connection_timeout(std::chrono::seconds(2));
    client.set_read_timeout(kCallTimeout);
    httplib::Headers headers;
    for (const auto& [name, value] : forwarded) headers.emplace(name, value);
    const auto answer = client.Get(path_, headers);
    if (!answer) return {text_ + " " + httplib::to_string(answer.error()), false};
    return {text_ + " " + std::to_string(answer->status),
            answer->status >= 200 && answer->status < 300};
  }
  const std::string& text() const override { return text_; }

 private:
  std::string text_, host_;
  int port_;
  std::string path_, proxy_host_;
  int proxy_port_;
};

std::string status_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::OK:
      return "OK";
    case grpc::CANCELLED:
      return "CANCELLED";
    case grpc::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::INTERNAL:
      return "INTERNAL";
    case grpc::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "CODE_" + std::to_string(static_cast<int>(code));
  }
}

class GrpcTarget final : public Target {
 public:
  GrpcTarget(std::string text, const std::string& address)
      : text_(std::move(text)),
        stub_(
            v1::Sample::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {
  }

  CallResult call(const Headers& forwarded) const override {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    for (const auto& [name, value] : forwarded) context.AddMetadata(name, value);
    v1::CallRequest request;
    request.set_path("/");
    v1::CallReply reply;
    const grpc::Status status = stub_->Call(&context, request, &reply);
    return {text_ + " " + status_name(status.error_code()), status.ok()};
  }
  const std::string& text() const override { return text_; }

 private:
  std::string text_;
  std::unique_ptr<v1::Sample::Stub> stub_;  // thread-safe; one HTTP/2 connection to the sidecar
};

}  // namespace

std::expected<std::unique_ptr<Target>, std::string> make_target(std::string_view text,
                                                                const std::string& proxy) {
  const std::string whole(text);
  if (text.starts_with("grpc://")) {
    auto address = host_and_port(text.substr(7));
    if (!address) return std::unexpected("--call " + whole + ": " + address.error());
    return std::make_unique<GrpcTarget>(whole, std::string(text.substr(7)));
  }
  if (!text.starts_with("http://"))
    return std::unexpected("--call " + whole + ": not http://HOST:PORT/PATH or grpc://HOST:PORT");
  std::string_view rest = text.substr(7);
  const auto slash = rest.find('/');
  const std::string path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  auto address = host_and_port(rest.substr(0, slash));
  if (!address) return std::unexpected("--call " + whole + ": " + address.error());
  std::string proxy_host;
  int proxy_port = 0;
  if (!proxy.empty()) {
    auto parsed = host_and_port(proxy);
    if (!parsed) return std::unexpected("--proxy " + proxy + ": " + parsed.error());
    proxy_host = parsed->first;
    proxy_port = parsed->second;
  }
  return std::make_unique<HttpTarget>(whole, address->first, address->second, path, proxy_host,
                                      proxy_port);
}

}  // namespace strait::sample
