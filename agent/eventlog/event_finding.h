#pragma once

// EventResult (+ flood counts) -> pkiwatch.v1.Finding, and the core's
// Result errors -> absl::Status. Links protobuf and pkiwatch_common, so it
// is part of pkiwatch_eventlog (the agent) and not of the mingw-built core.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "agent/eventlog/event_classifier.h"
#include "common/result.h"
#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch::eventlog {

// Finding.probe of every event-log finding.
inline constexpr char kEventlogProbeName[] = "eventlog";
// Bounds on the free-text fields (event text is outside input).
inline constexpr size_t kMaxSummaryBytes = 512;
inline constexpr size_t kMaxDetailBytes = 2048;

// How often the event occurred: one for a single event, or a flood collapsed
// by EdgeDedup (count, first and last occurrence).
struct EventOccurrences {
  uint64_t count = 1;
  std::optional<EventTime> first_seen;  // defaults to the event's time
  std::optional<EventTime> last_seen;
};

// Fills probe "eventlog", target = pattern key, observed_at = last_seen
// (else the event time, else `fallback_now`), status, summary (with the
// count when > 1), error = MakeErrorInfo(hresult, detail) when the event
// carries a code or is not OK, dimensions (url normalized with NormalizeUrl -
// kept as written when it does not parse -, url_kind, ca, template_name),
// event origin (channel, provider, id, record id, count, first/last) and
// target_cert.subject. Text is sanitized to valid UTF-8 and bounded.
v1::Finding EventToFinding(const EventResult& result, const EventOccurrences& occurrences,
                           EventTime fallback_now);

// Counts of an EdgeDedup<EventResult>::Emitted (any type with count,
// first_seen and last_seen).
template <typename Emitted>
EventOccurrences OccurrencesOf(const Emitted& e) {
  return EventOccurrences{e.count, e.first_seen, e.last_seen};
}

v1::Status ToProtoStatus(EventStatus status);
v1::UrlKind ToProtoUrlKind(UrlKind kind);

// A core error as absl::Status (InvalidArgument: the input was bad).
template <typename T>
absl::Status ToStatus(const Result<T>& r) {
  return r.ok() ? absl::OkStatus() : absl::InvalidArgumentError(r.error());
}

}  // namespace pkiwatch::eventlog
