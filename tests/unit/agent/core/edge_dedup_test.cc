#include "agent/core/edge_dedup.h"

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace pkiwatch::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// A fixed epoch for the caller's clock.
const DedupTime kT0 = DedupTime(std::chrono::nanoseconds(1700000000LL * 1000000000LL));

using Dedup = EdgeDedup<int>;
using Emitted = Dedup::Emitted;

uint64_t TotalCount(const std::vector<Emitted>& out, const std::string& key) {
  uint64_t n = 0;
  for (const Emitted& e : out) n += e.key == key ? e.count : 0;
  return n;
}

TEST(EdgeDedup, TenThousandIdentical4107sInAMinute) {
  Dedup dedup;  // 5-minute window
  std::vector<Emitted> out;
  const std::string key = "Microsoft-Windows-CAPI2|4107|FAIL|0x800B0101|http://x/authrootstl.cab";
  for (int i = 0; i < 10000; ++i) {
    dedup.Add(key, kT0 + milliseconds(i * 6), i, out);  // 10,000 in 60 s
    dedup.Flush(kT0 + milliseconds(i * 6), out);          // a caller flushing often
  }
  ASSERT_EQ(out.size(), 1u);  // only the first so far
  EXPECT_EQ(out[0].kind, DedupEmitKind::kFirst);
  EXPECT_EQ(out[0].count, 1u);
  EXPECT_EQ(out[0].payload, 0);

  dedup.Flush(kT0 + minutes(5), out);  // window end
  ASSERT_EQ(out.size(), 2u);
  const Emitted& s = out[1];
  EXPECT_EQ(s.kind, DedupEmitKind::kSummary);
  EXPECT_EQ(s.reason, SummaryReason::kWindowEnd);
  EXPECT_EQ(s.count, 9999u);
  EXPECT_EQ(s.first_seen, kT0 + milliseconds(6));
  EXPECT_EQ(s.last_seen, kT0 + milliseconds(9999 * 6));
  EXPECT_EQ(s.payload, 9999);  // the last occurrence
  EXPECT_EQ(TotalCount(out, key), 10000u);

  const DedupStats& st = dedup.stats();
  EXPECT_EQ(st.observed, 10000u);
  EXPECT_EQ(st.emitted_first, 1u);
  EXPECT_EQ(st.emitted_summaries, 1u);
  EXPECT_EQ(st.suppressed, 9999u);
  EXPECT_EQ(st.open_windows, 0u);
}

TEST(EdgeDedup, MixedPatternsAreCountedApart) {
  Dedup dedup;
  std::vector<Emitted> out;
  const std::vector<std::string> keys = {"a", "b", "c"};
  // a x5, b x1, c x3, interleaved within a minute.
  const std::vector<int> sequence = {0, 0, 1, 2, 0, 2, 0, 2, 0};
  for (size_t i = 0; i < sequence.size(); ++i) {
    dedup.Add(keys[sequence[i]], kT0 + seconds(i), static_cast<int>(i), out);
  }
  ASSERT_EQ(out.size(), 3u);  // one first per pattern
  for (const Emitted& e : out) EXPECT_EQ(e.kind, DedupEmitKind::kFirst);
  dedup.Flush(kT0 + minutes(6), out);
  ASSERT_EQ(out.size(), 5u);  // b had no repeats: no summary
  std::map<std::string, uint64_t> totals;
  for (const Emitted& e : out) totals[e.key] += e.count;
  EXPECT_EQ(totals, (std::map<std::string, uint64_t>{{"a", 5}, {"b", 1}, {"c", 3}}));
  // At most one first and one summary per pattern per window.
  std::map<std::pair<std::string, DedupEmitKind>, int> per_kind;
  for (const Emitted& e : out) per_kind[{e.key, e.kind}]++;
  for (const auto& [k, n] : per_kind) EXPECT_EQ(n, 1) << k.first;
}

TEST(EdgeDedup, WindowRollover) {
  Dedup dedup(DedupOptions{minutes(5), 100});
  std::vector<Emitted> out;
  dedup.Add("k", kT0, 1, out);
  dedup.Add("k", kT0 + minutes(1), 2, out);
  dedup.Add("k", kT0 + minutes(4), 3, out);
  ASSERT_EQ(out.size(), 1u);
  // No Flush in between: the next occurrence after the window closes the old
  // window (summary first) and opens a new one (emitted at once).
  dedup.Add("k", kT0 + minutes(5), 4, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].kind, DedupEmitKind::kSummary);
  EXPECT_EQ(out[1].count, 2u);
  EXPECT_EQ(out[1].first_seen, kT0 + minutes(1));
  EXPECT_EQ(out[1].last_seen, kT0 + minutes(4));
  EXPECT_EQ(out[1].payload, 3);
  EXPECT_EQ(out[2].kind, DedupEmitKind::kFirst);
  EXPECT_EQ(out[2].payload, 4);
  // The new window started at T0+5m: flushing at T0+9m59s emits nothing.
  dedup.Add("k", kT0 + minutes(6), 5, out);
  dedup.Flush(kT0 + minutes(10) - seconds(1), out);
  ASSERT_EQ(out.size(), 3u);
  dedup.Flush(kT0 + minutes(10), out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[3].count, 1u);
  EXPECT_EQ(out[3].payload, 5);
  EXPECT_EQ(TotalCount(out, "k"), 5u);
}

TEST(EdgeDedup, ClockSteppingBackStaysInTheWindow) {
  Dedup dedup;
  std::vector<Emitted> out;
  dedup.Add("k", kT0, 1, out);
  dedup.Add("k", kT0 - minutes(30), 2, out);
  dedup.Add("k", kT0 + seconds(1), 3, out);
  dedup.Flush(kT0 + minutes(5), out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].count, 2u);
  EXPECT_EQ(out[1].first_seen, kT0 - minutes(30));
  EXPECT_EQ(out[1].last_seen, kT0 + seconds(1));
}

TEST(EdgeDedup, BoundedMemoryEvictsTheOldestWindow) {
  Dedup dedup(DedupOptions{minutes(5), 3});
  std::vector<Emitted> out;
  dedup.Add("a", kT0, 1, out);
  dedup.Add("a", kT0 + seconds(1), 2, out);  // a has a pending summary
  dedup.Add("b", kT0 + seconds(2), 3, out);
  dedup.Add("c", kT0 + seconds(3), 4, out);
  ASSERT_EQ(out.size(), 3u);
  dedup.Add("d", kT0 + seconds(4), 5, out);  // full: a is evicted
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[3].key, "a");
  EXPECT_EQ(out[3].kind, DedupEmitKind::kSummary);
  EXPECT_EQ(out[3].reason, SummaryReason::kEvicted);
  EXPECT_EQ(out[3].count, 1u);
  EXPECT_EQ(out[3].payload, 2);
  EXPECT_EQ(out[4].key, "d");
  EXPECT_EQ(out[4].kind, DedupEmitKind::kFirst);
  dedup.Add("e", kT0 + seconds(5), 6, out);  // b evicted, nothing pending
  EXPECT_EQ(out.size(), 6u);
  EXPECT_EQ(dedup.stats().evictions, 2u);
  EXPECT_EQ(dedup.stats().open_windows, 3u);
}

TEST(EdgeDedup, ManyDistinctPatternsStayBounded) {
  Dedup dedup(DedupOptions{minutes(5), 10000});
  std::vector<Emitted> out;
  for (int i = 0; i < 25000; ++i) {
    const std::string key = "p" + std::to_string(i);
    dedup.Add(key, kT0 + milliseconds(i), i, out);
    dedup.Add(key, kT0 + milliseconds(i), i, out);
  }
  EXPECT_EQ(dedup.stats().open_windows, 10000u);
  EXPECT_EQ(dedup.stats().evictions, 15000u);
  dedup.FlushAll(out);
  EXPECT_EQ(dedup.stats().open_windows, 0u);
  uint64_t total = 0;
  for (const Emitted& e : out) total += e.count;
  EXPECT_EQ(total, 50000u);
  EXPECT_EQ(out.size(), 50000u);  // every pattern: one first + one summary
  EXPECT_EQ(out.back().reason, SummaryReason::kFlushAll);
}

TEST(EdgeDedup, DegenerateOptionsAreClamped) {
  Dedup dedup(DedupOptions{std::chrono::nanoseconds(0), 0});
  std::vector<Emitted> out;
  dedup.Add("a", kT0, 1, out);
  dedup.Add("b", kT0, 2, out);
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(dedup.stats().open_windows, 1u);
}

}  // namespace
}  // namespace pkiwatch::agent
