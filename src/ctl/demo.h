// straitctl demo: a live local mesh from the built binaries. straitd, the sample application's
// services each with its sidecar on loopback ports, and a steady light traffic generator; the
// demo's config applied; the URLs and commands to try printed. Ctrl-C (or --duration) stops every
// process it started.
#pragma once

#include <string>

namespace strait::ctl {

struct DemoOptions {
  int api_port = 15014;   // straitd's REST API and dashboard; 0: a free port
  int grpc_port = 15012;  // straitd's gRPC port for the proxies; 0: a free port
  std::string dir;        // kept after the stop; empty: a temporary directory, removed
  std::string duration;   // stop after this long (e.g. 60s); empty: until Ctrl-C
};

int run_demo(const DemoOptions& options);

}  // namespace strait::ctl
