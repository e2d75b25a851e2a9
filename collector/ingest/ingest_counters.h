#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace pkiwatch::ingest {

// Upper bounds (seconds) of the batch write latency histogram.
inline constexpr double kWriteLatencyBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1,
                                                  0.25,  0.5,  1,     2.5,  5};
inline constexpr size_t kWriteLatencyBucketCount =
    sizeof(kWriteLatencyBuckets) / sizeof(kWriteLatencyBuckets[0]);

// Counters for /metrics and the shutdown log line.
struct IngestCounters {
  void RecordWrite(double seconds) {
    for (size_t i = 0; i < kWriteLatencyBucketCount; ++i) {
      if (seconds <= kWriteLatencyBuckets[i]) ++write_latency_buckets[i];
    }
    ++write_latency_count;
    write_latency_micros += static_cast<uint64_t>(seconds * 1e6);
  }

  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> findings_stored{0};
  std::atomic<uint64_t> findings_duplicate{0};
  std::atomic<uint64_t> findings_rejected{0};
  std::atomic<uint64_t> write_errors{0};
  std::atomic<uint64_t> auth_failures{0};
  std::atomic<uint64_t> write_latency_buckets[kWriteLatencyBucketCount] = {};  // cumulative
  std::atomic<uint64_t> write_latency_count{0};
  std::atomic<uint64_t> write_latency_micros{0};
};

}  // namespace pkiwatch::ingest
