#pragma once

// The agent's body, the same in the Linux daemon and the Windows service:
// the probes on their schedule, live event-log records through the event
// pipeline, everything through the durable spool to the collector; plus the
// one-shot import of exported logs. The platform entry points (agent/main.cc,
// agent/win/agent_main_win.cc) only gather configuration and decide when to
// stop.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "pkiwatch/v1/config.pb.h"
#include "pkiwatch/v1/ingest.pb.h"

namespace pkiwatch::agent {

// A live source of event records (on Windows: an event-log subscription).
// It calls its sink with each record's XML, from any thread; destroying the
// source stops it.
class EventSource {
 public:
  using Sink = std::function<void(std::string_view xml)>;
  virtual ~EventSource() = default;
};

// Starts the platform's event sources for `config`, feeding `sink`.
using EventSourceFactory = std::function<absl::StatusOr<std::vector<std::unique_ptr<EventSource>>>(
    const v1::AgentConfig& config, EventSource::Sink sink)>;

struct AgentRunOptions {
  v1::AgentConfig config;        // validated, defaults applied
  std::string enroll_secret;
  v1::HostFacts host;
  bool once = false;             // one round, wait for the acks, return
  absl::Duration once_timeout = absl::Seconds(120);
  std::vector<std::string> import_files;  // exported logs to replay first
  std::string import_site;
  EventSourceFactory event_sources;       // none when empty
  // How often flood windows of live events are closed and summarized.
  absl::Duration event_flush_interval = absl::Seconds(30);
  // On stop, how long to wait for the collector's acks of what is spooled.
  absl::Duration stop_grace = absl::Seconds(3);
};

// Runs until `stop` is notified (or, with once, until the round is
// delivered). Returns the process exit code: 0 success, 1 runtime failure
// (collector unreachable in once mode, spool error), 2 configuration error.
int RunAgent(const AgentRunOptions& options, const absl::Notification& stop);

}  // namespace pkiwatch::agent
