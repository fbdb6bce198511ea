// straitctl's verbs. Each prints its results to stdout, a one-line reason to stderr on failure, and
// returns the exit status (0 success, 1 failure).
#pragma once

#include <string>
#include <vector>

namespace strait::ctl {

struct GlobalOptions {
  std::string server;      // --server (empty: $STRAIT_SERVER or the default)
  std::string token_file;  // --token-file
};

// apply -f PATH|- ... [-n NS]: validated locally, then one POST per file.
int run_apply(const GlobalOptions& global, const std::vector<std::string>& paths,
              const std::string& ns);

// get KIND [NAME] [-n NS] [-A] [-o json|yaml|wide]
int run_get(const GlobalOptions& global, const std::string& kind, const std::string& name,
            const std::string& ns, bool all_namespaces, const std::string& output);

// delete KIND NAME [-n NS], or delete -f PATH ... (every resource in the files).
int run_delete(const GlobalOptions& global, const std::string& kind, const std::string& name,
               const std::vector<std::string>& paths, const std::string& ns);

// token create --namespace NS --service-account SA [--ttl D]: prints the join token alone, so that
// scripts can capture it; token list; token revoke ID.
int run_token_create(const GlobalOptions& global, const std::string& ns, const std::string& service_account,
                     const std::string& ttl);
int run_token_list(const GlobalOptions& global);
int run_token_revoke(const GlobalOptions& global, const std::string& id);

// proxy-status [-o json|yaml|wide]: every proxy's sync status (SYNCED, STALE, NACKED with the
// error, DISCONNECTED), config version, certificate expiry and proxy version.
int run_proxy_status(const GlobalOptions& global, const std::string& output);
// proxy-config PROXY [-o json|yaml]: the config the proxy acknowledged.
int run_proxy_config(const GlobalOptions& global, const std::string& proxy, const std::string& output);
// describe service NAME [-n NS]: endpoints and their health, routes, subsets and policies.
int run_describe_service(const GlobalOptions& global, const std::string& name, const std::string& ns,
                         const std::string& output);

// version: the client's, then straitd's.
int run_version(const GlobalOptions& global);

// ca status: the roots, the phase of a rotation and who it waits for. ca rotate [--wait]: starts a
// root rotation (and follows it to the end).
int run_ca_status(const GlobalOptions& global, const std::string& output);
int run_ca_rotate(const GlobalOptions& global, bool wait, int timeout_seconds);

// describe workload NAME [-n NS]: its effective mTLS mode per port and the policies that select it.
int run_describe_workload(const GlobalOptions& global, const std::string& name,
                          const std::string& ns, const std::string& output);

// check mtls FROM TO [--port N]: whether a call would be mTLS, plaintext or refused, and why.
// FROM may be "external" (a caller without a sidecar).
int run_check_mtls(const GlobalOptions& global, const std::string& from, const std::string& to,
                   const std::string& ns, int port, const std::string& output);

// traces [--service S] [--limit N] [--min-duration D]: the trace collector's recent traces, newest
// first; traces TRACE_ID: one trace as a waterfall. -o json|yaml prints straitd's answer.
int run_traces(const GlobalOptions& global, const std::string& trace_id, const std::string& service,
               int limit, const std::string& min_duration, const std::string& output);

// top [-n NS] [--window 1m] [--once] [-o json|yaml]: each service's rate, success, 4xx and latency
// percentiles, then the edges between workloads, from straitd's live traffic view; refreshed every
// 2 s until Ctrl-C, or printed once.
int run_top(const GlobalOptions& global, const std::string& ns, const std::string& window,
            bool once, const std::string& output);

// tap WORKLOAD [-n NS] [--duration D] [--count N] [-o json]: every request through the workload's
// sidecar from now on, one line each (live_commands.cc), until Ctrl-C, D or N requests.
int run_tap(const GlobalOptions& global, const std::string& workload, const std::string& ns,
            const std::string& duration, int count, const std::string& output);

// dashboard [--open]: prints a one-time sign-in URL for the web dashboard (and opens it).
int run_dashboard(const GlobalOptions& global, bool open_browser);

}  // namespace strait::ctl
