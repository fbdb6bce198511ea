// What straitctl's verbs share: their one-line failure, their output, their connection to straitd,
// and how they name a workload.
#pragma once

#include <expected>
#include <nlohmann/json.hpp>
#include <string>

#include "ctl/api_client.h"
#include "ctl/commands.h"

namespace strait::ctl {

// "straitctl: MESSAGE" on stderr; returns the failure exit status (1).
int fail(const std::string& message);
// Writes `text` to stdout and flushes it.
void print(const std::string& text);

// The client for --server / $STRAIT_SERVER with the admin credential.
[[nodiscard]] std::expected<ApiClient, std::string> connect(const GlobalOptions& global);

// GETs `target` for a verb that prints the answer as JSON or YAML when asked (-o) and as text of
// its own otherwise: the answer for that text, or the exit status when nothing is left to print
// (a failure, said on stderr, or the answer printed as asked).
[[nodiscard]] std::expected<nlohmann::json, int> get_or_print(const GlobalOptions& global,
                                                              const std::string& output,
                                                              const std::string& target);

// A workload as the CLI takes it: "name" (in `ns`), "name.namespace" (a proxy id), or
// "namespace/name"; as the API's "namespace/name".
[[nodiscard]] std::string workload_path(const std::string& text, const std::string& ns);

}  // namespace strait::ctl
