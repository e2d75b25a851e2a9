#include "agent/core/event_pipeline.h"

#include <utility>

#include "agent/eventlog/event_finding.h"

namespace pkiwatch::agent {

EventPipeline::EventPipeline(DedupOptions dedup, Sink sink)
    : dedup_(dedup), sink_(std::move(sink)) {}

void EventPipeline::Add(const eventlog::ParsedEvent& event, eventlog::EventTime now) {
  ++stats_.records;
  eventlog::EventResult result = eventlog::ClassifyEvent(event);
  if (!result.pki_relevant) {
    ++stats_.not_pki;
    return;
  }
  const eventlog::EventTime t = result.time_created.value_or(now);
  std::string key = result.pattern_key;
  dedup_.Add(key, t, std::move(result), emitted_);
  Emit(emitted_, now);
}

void EventPipeline::Flush(eventlog::EventTime now) {
  dedup_.Flush(now, emitted_);
  Emit(emitted_, now);
}

void EventPipeline::FlushAll() {
  dedup_.FlushAll(emitted_);
  Emit(emitted_, eventlog::EventTime{});
}

void EventPipeline::Emit(std::vector<Dedup::Emitted>& emitted, eventlog::EventTime now) {
  for (Dedup::Emitted& e : emitted) {
    if (e.kind == DedupEmitKind::kSummary) stats_.suppressed += e.count;
    ++stats_.findings;
    sink_(eventlog::EventToFinding(e.payload, eventlog::OccurrencesOf(e), now));
  }
  emitted.clear();
}

}  // namespace pkiwatch::agent
