#pragma once

// Flood control at the edge: identical events (same pattern key) within a
// window become one result with a count and the first and last time.
//
// Per pattern and window: the first occurrence is emitted at once (count 1),
// later ones are only counted, and when the window ends (Flush) one summary
// carries their count, the time of the first and the last of them, and the
// payload of the last. So a flood of N identical events in one window costs
// two results whose counts add up to N. An occurrence after the window has
// ended opens a new window (and first emits the old window's summary, if
// Flush was not called in between).
//
// Time is the caller's clock (event time or receipt time), passed in: no
// threads, no sleeps, deterministic in tests. Times that go backwards are
// counted in the current window.
//
// Memory is bounded: at most max_patterns open windows. Opening one more
// evicts the window that was opened first; its pending summary is emitted at
// once (reason kEvicted) and counted in Stats::evictions.
//
// Portable core: standard library only (it is also built with mingw-w64 for
// pkiwatch-diag.exe, where Abseil is not available). Not thread-safe: one
// event pipeline owns an instance.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pkiwatch::agent {

// Same type as eventlog::EventTime.
using DedupTime =
    std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;

struct DedupOptions {
  std::chrono::nanoseconds window = std::chrono::minutes(5);  // > 0
  size_t max_patterns = 10000;                                // >= 1
};

enum class DedupEmitKind {
  kFirst,    // first occurrence in a window, emitted at once, count 1
  kSummary,  // the rest of a window, emitted at its end
};

enum class SummaryReason {
  kNone,       // (kFirst)
  kWindowEnd,  // Flush found the window over, or a new occurrence did
  kEvicted,    // the table was full and this was the oldest window
  kFlushAll,   // FlushAll (shutdown)
};

struct DedupStats {
  uint64_t observed = 0;      // occurrences passed in
  uint64_t emitted_first = 0;
  uint64_t emitted_summaries = 0;
  uint64_t suppressed = 0;    // occurrences folded into summaries
  uint64_t evictions = 0;     // windows closed early because the table was full
  size_t open_windows = 0;
};

// The bookkeeping without payloads: keys, windows, counts, eviction order.
// Slots index the payload storage of EdgeDedup; a slot handed out stays
// valid until the summary naming it has been returned.
class DedupTable {
 public:
  struct Summary {
    uint32_t slot = 0;
    std::string key;
    uint64_t count = 0;        // occurrences after the first, >= 1
    DedupTime first_seen{};    // of those occurrences
    DedupTime last_seen{};
    SummaryReason reason = SummaryReason::kWindowEnd;
  };

  struct Observation {
    uint32_t slot = 0;
    bool emit_first = false;          // opens a window: emit this occurrence now
    std::optional<Summary> closed;    // emit before it (ended or evicted window)
  };

  // Options out of range are clamped (window >= 1 ns, max_patterns >= 1).
  explicit DedupTable(DedupOptions options);
  DedupTable(const DedupTable&) = delete;
  DedupTable& operator=(const DedupTable&) = delete;

  Observation Observe(std::string_view key, DedupTime t);
  // Windows that ended by `now` (start + window <= now): their summaries
  // (only windows with suppressed occurrences have one) are appended to
  // `out`; all of them are closed.
  void Flush(DedupTime now, std::vector<Summary>& out);
  // Closes every window (shutdown).
  void FlushAll(std::vector<Summary>& out);

  const DedupStats& stats() const { return stats_; }
  const DedupOptions& options() const { return options_; }

 private:
  struct Entry {
    uint32_t slot = 0;
    DedupTime window_start{};
    uint64_t pending = 0;
    DedupTime pending_first{};
    DedupTime pending_last{};
    std::list<std::string>::iterator order;  // position in order_
  };

  uint32_t AllocateSlot();
  // Removes `it` from the table; appends its summary to `out` when pending.
  void Close(std::unordered_map<std::string, Entry>::iterator it, SummaryReason reason,
             std::optional<Summary>* out);

  DedupOptions options_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> order_;  // keys, oldest window first
  std::vector<uint32_t> free_slots_;
  uint32_t next_slot_ = 0;
  DedupStats stats_;
};

// DedupTable plus the payloads: the first occurrence's payload goes out at
// once, the last suppressed one is kept for the summary.
template <typename Payload>
class EdgeDedup {
 public:
  struct Emitted {
    DedupEmitKind kind = DedupEmitKind::kFirst;
    SummaryReason reason = SummaryReason::kNone;
    std::string key;
    uint64_t count = 1;
    DedupTime first_seen{};
    DedupTime last_seen{};
    Payload payload;
  };

  explicit EdgeDedup(DedupOptions options = {}) : table_(options) {}

  // One occurrence of `key` at `t`. Appends 0, 1 or 2 results to `out`.
  void Add(std::string_view key, DedupTime t, Payload payload, std::vector<Emitted>& out) {
    DedupTable::Observation o = table_.Observe(key, t);
    if (o.closed) out.push_back(Take(std::move(*o.closed)));
    if (o.emit_first) {
      out.push_back(Emitted{DedupEmitKind::kFirst, SummaryReason::kNone, std::string(key), 1, t,
                            t, std::move(payload)});
      return;
    }
    if (payloads_.size() <= o.slot) payloads_.resize(o.slot + 1);
    payloads_[o.slot] = std::move(payload);
  }

  // Summaries of the windows that ended by `now`.
  void Flush(DedupTime now, std::vector<Emitted>& out) {
    summaries_.clear();
    table_.Flush(now, summaries_);
    for (DedupTable::Summary& s : summaries_) out.push_back(Take(std::move(s)));
  }

  void FlushAll(std::vector<Emitted>& out) {
    summaries_.clear();
    table_.FlushAll(summaries_);
    for (DedupTable::Summary& s : summaries_) out.push_back(Take(std::move(s)));
  }

  const DedupStats& stats() const { return table_.stats(); }

 private:
  Emitted Take(DedupTable::Summary s) {
    Emitted e{DedupEmitKind::kSummary, s.reason, std::move(s.key), s.count, s.first_seen,
              s.last_seen, Payload{}};
    if (s.slot < payloads_.size() && payloads_[s.slot]) {
      e.payload = std::move(*payloads_[s.slot]);
      payloads_[s.slot].reset();
    }
    return e;
  }

  DedupTable table_;
  std::vector<std::optional<Payload>> payloads_;  // by slot
  std::vector<DedupTable::Summary> summaries_;     // reused buffer
};

}  // namespace pkiwatch::agent
