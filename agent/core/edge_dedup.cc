#include "agent/core/edge_dedup.h"

#include <iterator>

namespace pkiwatch::agent {

DedupTable::DedupTable(DedupOptions options) : options_(options) {
  if (options_.window <= std::chrono::nanoseconds::zero()) {
    options_.window = std::chrono::nanoseconds(1);
  }
  if (options_.max_patterns == 0) options_.max_patterns = 1;
  entries_.reserve(options_.max_patterns < 1024 ? options_.max_patterns : 1024);
}

uint32_t DedupTable::AllocateSlot() {
  if (!free_slots_.empty()) {
    const uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    return slot;
  }
  return next_slot_++;
}

void DedupTable::Close(std::unordered_map<std::string, Entry>::iterator it,
                       SummaryReason reason, std::optional<Summary>* out) {
  Entry& e = it->second;
  if (e.pending > 0 && out != nullptr) {
    *out = Summary{e.slot, it->first, e.pending, e.pending_first, e.pending_last, reason};
    ++stats_.emitted_summaries;
  }
  free_slots_.push_back(e.slot);
  order_.erase(e.order);
  entries_.erase(it);
  stats_.open_windows = entries_.size();
}

DedupTable::Observation DedupTable::Observe(std::string_view key, DedupTime t) {
  ++stats_.observed;
  Observation o;
  // Heterogeneous lookup needs C++20 transparent hashing; one string per
  // call is cheap next to parsing the event.
  std::string k(key);
  auto it = entries_.find(k);
  if (it != entries_.end()) {
    Entry& e = it->second;
    if (t < e.window_start + options_.window) {
      // Inside the window (or earlier: clocks may step back).
      if (e.pending == 0) {
        e.pending_first = t;
        e.pending_last = t;
      } else {
        if (t < e.pending_first) e.pending_first = t;
        if (t > e.pending_last) e.pending_last = t;
      }
      ++e.pending;
      ++stats_.suppressed;
      o.slot = e.slot;
      return o;
    }
    // The window is over: close it, then open a new one below.
    Close(it, SummaryReason::kWindowEnd, &o.closed);
  } else if (entries_.size() >= options_.max_patterns) {
    // Full: the oldest window goes first, its summary with it.
    auto oldest = entries_.find(order_.front());
    ++stats_.evictions;
    Close(oldest, SummaryReason::kEvicted, &o.closed);
  }
  order_.push_back(k);
  Entry e;
  e.slot = AllocateSlot();
  e.window_start = t;
  e.order = std::prev(order_.end());
  o.slot = e.slot;
  o.emit_first = true;
  entries_.emplace(std::move(k), e);
  stats_.open_windows = entries_.size();
  ++stats_.emitted_first;
  return o;
}

void DedupTable::Flush(DedupTime now, std::vector<Summary>& out) {
  // Windows open in arrival order, which is time order unless the caller's
  // clock stepped back, so scan them all: at most max_patterns entries.
  for (auto o = order_.begin(); o != order_.end();) {
    auto it = entries_.find(*o);
    ++o;  // Close erases the current position
    if (it->second.window_start + options_.window <= now) {
      std::optional<Summary> s;
      Close(it, SummaryReason::kWindowEnd, &s);
      if (s) out.push_back(std::move(*s));
    }
  }
}

void DedupTable::FlushAll(std::vector<Summary>& out) {
  while (!order_.empty()) {
    std::optional<Summary> s;
    Close(entries_.find(order_.front()), SummaryReason::kFlushAll, &s);
    if (s) out.push_back(std::move(*s));
  }
}

}  // namespace pkiwatch::agent
