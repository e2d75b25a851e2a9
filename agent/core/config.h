#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pkiwatch/v1/config.pb.h"

namespace pkiwatch::agent {

// Reads an AgentConfig from its protobuf JSON mapping. Unknown fields are an
// error (a misspelt key would otherwise be silently ignored).
absl::StatusOr<v1::AgentConfig> LoadConfigFile(const std::string& path);

// Fills every unset numeric setting with its documented default.
void ApplyDefaults(v1::AgentConfig* config);

// Checks what the agent cannot run without; the message names the setting.
absl::Status ValidateConfig(const v1::AgentConfig& config);

// The schedule of `probe`: the configured one or the default (CRL: 15 min,
// jitter 2 min).
v1::ProbeSchedule ScheduleFor(const v1::AgentConfig& config, std::string_view probe);

}  // namespace pkiwatch::agent
