#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/core/spool.h"
#include "pkiwatch/v1/config.pb.h"
#include "pkiwatch/v1/ingest.pb.h"

namespace pkiwatch::agent {

// The agent's connection to the collector: enrollment, then one long-lived
// bidirectional stream that sends spooled findings in seq order and deletes
// them from the spool only when the collector acknowledges them as
// committed. A broken stream is reopened with exponential backoff and jitter;
// everything unacknowledged is sent again (the collector drops duplicates).
// gRPC stays inside uplink.cc so that this header is cheap to include.
class Uplink {
 public:
  struct Options {
    std::string collector;       // host:port
    std::string enroll_secret;   // used when there is no identity yet
    std::string identity_path;   // node id and key, written after enrollment
    v1::HostFacts host;
    v1::UplinkSettings settings;
    std::function<void(const v1::Command&)> on_command;
  };

  static absl::StatusOr<std::unique_ptr<Uplink>> Create(Options options, Spool* spool);
  virtual ~Uplink() = default;

  virtual void Start() = 0;
  virtual void Stop() = 0;  // idempotent; unacknowledged findings stay spooled
  // New findings are in the spool.
  virtual void Notify() = 0;
  // Waits until the spool is empty (everything acknowledged). Returns early
  // with the error when the collector refused this agent for good (wrong
  // enroll secret); DeadlineExceeded, naming the last error, at `deadline`.
  virtual absl::Status WaitDrained(absl::Time deadline) = 0;
};

}  // namespace pkiwatch::agent
