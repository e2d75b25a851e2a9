#pragma once

// The agent's command line, the same on Linux and Windows: flags that
// override the configuration (file, then Group Policy on Windows) and flags
// that shape the run (--once, --import-events). Both entry points parse the
// command line with Abseil and then call these.

#include <string>

#include "absl/status/statusor.h"
#include "agent/core/agent_runtime.h"
#include "common/command_line.h"
#include "pkiwatch/v1/config.pb.h"

namespace pkiwatch::agent {

// --config, else `default_path` when that file exists, else an empty
// configuration.
absl::StatusOr<v1::AgentConfig> LoadConfigFromFlags(const std::string& default_path);

// --collector, --enroll-secret-file, --state-dir, --site and the repeatable
// --watch-url and --cert-dir (which replace the configured lists).
void ApplyConfigFlags(const CommandLine& command_line, v1::AgentConfig* config);

// The run of a validated `config`: its enroll secret (read from the file),
// this host's facts and the run flags (--once, --once-timeout, the
// repeatable --import-events, --import-site).
absl::StatusOr<AgentRunOptions> RunOptionsFor(const CommandLine& command_line,
                                              const v1::AgentConfig& config);

// --list-probes was given.
bool ListProbesRequested();

// The first line of the enroll secret file, trimmed; "" without a path.
absl::StatusOr<std::string> ReadEnrollSecret(const std::string& path);

}  // namespace pkiwatch::agent
