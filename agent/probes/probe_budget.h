// The wall-time budget of one probe run, and the small finding helpers the
// portable probes share (one-line text, timestamps, the "skipped" finding).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch {

// AgentConfig.probe_budget_seconds when unset.
inline constexpr absl::Duration kDefaultProbeBudget = absl::Seconds(120);

// AgentConfig.probe_budget_seconds -> budget (0 means the default).
absl::Duration ProbeBudgetFromSeconds(uint32_t seconds);

// Measures one run against its budget with the monotonic clock. A probe asks
// Spent() before it starts a target; a target that has started runs to its
// own (per-request) time limits, so a run ends within budget + one target.
// Not thread-safe; one per run.
class RunBudget {
 public:
  explicit RunBudget(absl::Duration budget)
      : budget_(budget), start_(std::chrono::steady_clock::now()) {}

  absl::Duration budget() const { return budget_; }
  absl::Duration Elapsed() const {
    return absl::FromChrono(std::chrono::steady_clock::now() - start_);
  }
  absl::Duration Remaining() const { return budget_ - Elapsed(); }
  bool Spent() const { return Elapsed() >= budget_; }

 private:
  const absl::Duration budget_;
  const std::chrono::steady_clock::time_point start_;
};

// The finding for a target that was not started because the run's budget was
// spent: STATUS_PROBE_ERROR, ERROR_TIMEOUT, a summary naming the budget, and
// the given dimensions (so the collector still sees which CA / URL it was).
// `probe` must be a ProbeInfo name.
v1::Finding MakeBudgetSkippedFinding(std::string_view probe, std::string_view target,
                                     absl::Time observed_at, absl::Duration budget,
                                     const v1::Dimensions& dimensions);

// Order of badness for combining checks: FAIL > PROBE_ERROR > WARN > OK
// (a target that answered wrongly outranks one that could not be checked).
int StatusSeverity(v1::Status status);

// Outside text (server answers, curl/OpenSSL messages) as one line of valid
// UTF-8 of at most `max_bytes` bytes: control characters become spaces.
std::string OneLine(std::string_view s, size_t max_bytes);

// google.protobuf.Timestamp / Duration setters with correctly signed nanos.
void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out);
void SetDuration(absl::Duration d, google::protobuf::Duration* out);

// "3d4h", "5h12m", "42m", "17s", "850ms": short enough for a summary line.
std::string HumanDuration(absl::Duration d);

// RFC 3339 UTC, second precision: "2031-03-14T12:00:00Z".
std::string Rfc3339(absl::Time t);

}  // namespace pkiwatch
