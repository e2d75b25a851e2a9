#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/probes/probe.h"
#include "pkiwatch/v1/config.pb.h"

namespace pkiwatch::agent {

struct ScheduledProbe {
  ProbePtr probe;
  absl::Duration interval;
  absl::Duration jitter;
};

// Builds every probe the configuration asks for, each with its schedule
// (ScheduleFor). The one place where probes are constructed from
// configuration; an error names the probe and the setting that is wrong.
absl::StatusOr<std::vector<ScheduledProbe>> BuildProbes(const v1::AgentConfig& config);

}  // namespace pkiwatch::agent
