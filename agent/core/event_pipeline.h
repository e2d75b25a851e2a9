#pragma once

// The agent's path for event-log records, shared by the live subscription
// (Windows) and the import of exported logs (every platform):
//   event XML -> ParsedEvent -> ClassifyEvent -> flood control -> Finding.
// Records outside the PKI families are dropped; identical events within the
// dedup window become one finding with a count (agent/core/edge_dedup.h).
// Times are the events' own (TimeCreated), so a replayed export collapses
// exactly as it would have live.
//
// Not thread-safe: one pipeline per event source (or per computer when an
// import holds many).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/edge_dedup.h"
#include "agent/eventlog/event_classifier.h"
#include "agent/eventlog/event_xml.h"
#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch::agent {

struct EventPipelineStats {
  uint64_t records = 0;        // events passed in (parsed)
  uint64_t not_pki = 0;        // outside the PKI families: dropped
  uint64_t findings = 0;       // findings handed to the sink
  uint64_t suppressed = 0;     // occurrences folded into a flood summary
};

class EventPipeline {
 public:
  using Sink = std::function<void(v1::Finding)>;

  EventPipeline(DedupOptions dedup, Sink sink);

  // One parsed event. `now` stands in for a missing TimeCreated.
  void Add(const eventlog::ParsedEvent& event, eventlog::EventTime now);
  // Emits the summaries of flood windows that ended by `now`.
  void Flush(eventlog::EventTime now);
  // Emits every pending summary (end of an import, shutdown).
  void FlushAll();

  const EventPipelineStats& stats() const { return stats_; }

 private:
  using Dedup = EdgeDedup<eventlog::EventResult>;
  void Emit(std::vector<Dedup::Emitted>& emitted, eventlog::EventTime now);

  Dedup dedup_;
  Sink sink_;
  EventPipelineStats stats_;
  std::vector<Dedup::Emitted> emitted_;  // reused buffer
};

}  // namespace pkiwatch::agent
