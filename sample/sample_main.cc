// strait-sample: a small service for the demo and the tests. It serves HTTP and gRPC, calls the
// services named by --call on every request (through its sidecar), forwards the trace headers, and
// can be told to answer late or fail a share of its requests. Or, with --generate, it is the
// traffic generator instead of a server. It links no mesh library: everything the mesh does, the
// sidecars do.
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "behaviour.h"
#include "downstream.h"
#include "sample.grpc.pb.h"
#include "traffic_generator.h"

namespace {

using namespace strait::sample;

struct Identity {
  std::string service, version, instance;
};

struct Served {
  Identity identity;
  Behaviour behaviour;
  std::vector<std::unique_ptr<Target>> targets;
};

std::vector<std::string> call_all(const Served& served, const Headers& forwarded, bool& all_ok) {
  std::vector<std::string> lines;
  all_ok = true;
  for (const auto& target : served.targets) {
    CallResult result = target->call(forwarded);
    all_ok = all_ok && result.ok;
    lines.push_back(std::move(result.line));
  }
  return lines;
}

void serve_http(httplib::Server& server, const Served& served) {
  server.Get(".*", [&served](const httplib::Request& request, httplib::Response& response) {
    add_latency(served.behaviour);
    if (fails_now(served.behaviour)) {
      response.status = 503;
      response.set_content("{\"error\":\"failure injected by --fail-percent\"}\n",
                           "application/json");
      return;
    }
    Headers forwarded;
    for (const auto name : kForwardedHeaders) {
      const std::string key(name);
      if (request.has_header(key)) forwarded.emplace_back(key, request.get_header_value(key));
    }
    bool all_ok = true;
    const nlohmann::json body{{"service", served.identity.service},
                              {"version", served.identity.version},
                              {"instance", served.identity.instance},
                              {"path", request.path},
                              {"calls", call_all(served, forwarded, all_ok)}};
    // A page whose parts failed is still a page: 200, with each call's status in the body.
    response.set_content(body.dump() + "\n", "application/json");
  });
}

class SampleService final : public strait::sample::v1::Sample::Service {
 public:
  explicit SampleService(const Served& served) : served_(served) {}

  grpc::Status Call(grpc::ServerContext* context, const v1::CallRequest*,
                    v1::CallReply* reply) override {
    add_latency(served_.behaviour);
    if (fails_now(served_.behaviour))
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "failure injected by --fail-percent");
    Headers forwarded;
    for (const auto name : kForwardedHeaders) {
      const auto it = context->client_metadata().find(grpc::string_ref(name.data(), name.size()));
      if (it != context->client_metadata().end())
        forwarded.emplace_back(std::string(name),
                               std::string(it->second.data(), it->second.size()));
    }
    bool all_ok = true;
    for (auto& line : call_all(served_, forwarded, all_ok)) reply->add_calls(std::move(line));
    reply->set_service(served_.identity.service);
    reply->set_version(served_.identity.version);
    reply->set_instance(served_.identity.instance);
    return grpc::Status::OK;
  }

 private:
  const Served& served_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"strait-sample: the demo's HTTP and gRPC service (and its traffic generator)"};
  Served served;
  int http_port = 0, grpc_port = 0;
  int latency_ms = 0;
  std::string proxy;
  std::vector<std::string> calls;
  double generate = 0;
  app.add_option("--service", served.identity.service, "The service name it reports")
      ->default_val("sample");
  app.add_option("--version", served.identity.version, "The version it reports")->default_val("v1");
  app.add_option("--instance", served.identity.instance, "The instance name it reports");
  app.add_option("--http-port", http_port, "Serve HTTP/1.1 on 127.0.0.1:PORT")
      ->check(CLI::Range(1, 65535));
  app.add_option("--grpc-port", grpc_port, "Serve gRPC (h2c) on 127.0.0.1:PORT")
      ->check(CLI::Range(1, 65535));
  app.add_option("--call", calls,
                 "Call http://HOST:PORT/PATH or grpc://HOST:PORT on every request (repeatable)");
  app.add_option("--proxy", proxy,
                 "The sidecar's outbound listener HOST:PORT, used for http:// calls");
  app.add_option("--latency-ms", latency_ms, "Add this many milliseconds to every answer")
      ->check(CLI::Range(0, 60000));
  app.add_option("--fail-percent", served.behaviour.fail_percent,
                 "Answer this share of requests 503 / UNAVAILABLE")
      ->check(CLI::Range(0.0, 100.0));
  app.add_option("--generate", generate,
                 "Be the traffic generator: call every --call this many times a second")
      ->check(CLI::Range(0.1, 1000.0));
  CLI11_PARSE(app, argc, argv);
  served.behaviour.latency = std::chrono::milliseconds(latency_ms);
  if (served.identity.instance.empty())
    served.identity.instance = served.identity.service + "-" + served.identity.version;
  if (generate == 0 && http_port == 0 && grpc_port == 0) {
    std::fprintf(stderr, "strait-sample: give --http-port and/or --grpc-port, or --generate\n");
    return 2;
  }
  if (generate > 0 && calls.empty()) {
    std::fprintf(stderr, "strait-sample: --generate needs at least one --call\n");
    return 2;
  }
  for (const auto& text : calls) {
    auto target = make_target(text, proxy);
    if (!target) {
      std::fprintf(stderr, "strait-sample: %s\n", target.error().c_str());
      return 2;
    }
    served.targets.push_back(std::move(*target));
  }

  // SIGINT/SIGTERM are taken by one thread, which stops the servers; the others never see them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::atomic<bool> stopping{false};

  httplib::Server http;
  std::unique_ptr<grpc::Server> grpc_server;
  SampleService grpc_service(served);
  std::thread signal_thread([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    stopping = true;
    http.stop();
    if (grpc_server)
      grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  });

  if (generate > 0) {
    std::printf("strait-sample: generating %.1f calls/s to each of %zu targets\n", generate,
                calls.size());
    std::fflush(stdout);
    generate_traffic(served.targets, generate, stopping);
    signal_thread.join();
    return 0;
  }
  if (grpc_port != 0) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(grpc_port),
                             grpc::InsecureServerCredentials());
    builder.RegisterService(&grpc_service);
    grpc_server = builder.BuildAndStart();
    if (!grpc_server) {
      std::fprintf(stderr, "strait-sample: cannot serve gRPC on 127.0.0.1:%d\n", grpc_port);
      return 1;
    }
  }
  std::printf("strait-sample: %s %s (%s) http=%d grpc=%d\n", served.identity.service.c_str(),
              served.identity.version.c_str(), served.identity.instance.c_str(), http_port,
              grpc_port);
  std::fflush(stdout);
  if (http_port != 0) {
    serve_http(http, served);
    if (!http.listen("127.0.0.1", http_port) && !stopping) {
      std::fprintf(stderr, "strait-sample: cannot serve HTTP on 127.0.0.1:%d\n", http_port);
      kill(getpid(), SIGTERM);  // let the signal thread stop the gRPC server
      signal_thread.join();
      return 1;
    }
  } else {
    grpc_server->Wait();
  }
  signal_thread.join();
  if (grpc_server) grpc_server->Wait();
  return 0;
}
