#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "collector/store/connection_pool.h"
#include "pkiwatch/v1/finding.pb.h"
#include "pkiwatch/v1/ingest.pb.h"

namespace pkiwatch::store {

struct AcceptedFinding {
  uint64_t seq = 0;
  v1::Finding finding;
};

struct RejectedFinding {
  uint64_t seq = 0;
  std::string reason;
};

// One agent batch after validation: what to store, what was refused.
struct NodeBatch {
  std::string node_id;
  std::vector<AcceptedFinding> accepted;  // ascending seq
  std::vector<RejectedFinding> rejected;
  uint64_t max_seq = 0;                   // highest seq in the batch, any outcome
  const v1::AgentStats* stats = nullptr;  // optional
};

struct WriteResult {
  uint64_t durable_through_seq = 0;
  uint32_t stored = 0;
  uint32_t duplicates = 0;
};

// Writes agent batches to PostgreSQL: one transaction per batch, COPY for the
// raw findings, current_state derived from the rows just written, and the
// node's pattern memberships and host counts (RefreshPatternCounters) when
// its results changed in a way that moves them. Delivery is
// at-least-once; the node's durable_through_seq high-water mark, read under a
// row lock, makes it exactly-once. Thread-safe: each call leases its own
// connection; the dimension caches are shared.
class FindingWriter {
 public:
  struct Options {
    // Keep finding_rollups_hourly up to date in the batch transaction.
    bool maintain_rollups = true;
  };
  static absl::StatusOr<std::unique_ptr<FindingWriter>> Create(ConnectionPool* pool,
                                                               Options options);
  static absl::StatusOr<std::unique_ptr<FindingWriter>> Create(ConnectionPool* pool) {
    return Create(pool, Options());
  }

  // Returns only after COMMIT succeeded; on error nothing of the batch is
  // stored and the caller must not acknowledge it.
  absl::StatusOr<WriteResult> Write(const NodeBatch& batch);

 private:
  FindingWriter(ConnectionPool* pool, Options options) : pool_(pool), options_(options) {}

  absl::StatusOr<WriteResult> WriteOnce(const NodeBatch& batch);

  // Maps dimension values to ids, inserting unknown ones in their own
  // statements (outside the batch transaction, so a rolled-back batch never
  // leaves the cache pointing at ids that do not exist).
  struct DimensionIds {
    absl::flat_hash_map<std::string, int64_t> ca, tmpl, url;
  };
  absl::Status ResolveDimensions(PgConnection& conn, const NodeBatch& batch,
                                 DimensionIds* ids);
  absl::Status ResolveErrorCodes(PgConnection& conn, const NodeBatch& batch);

  ConnectionPool* const pool_;
  const Options options_;
  absl::Mutex mu_;
  DimensionIds cache_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint32_t, bool> known_errors_ ABSL_GUARDED_BY(mu_);
};

// Keys under which dimension values are cached and looked up.
std::string CaKey(const v1::Dimensions& d);
std::string TemplateKey(const v1::Dimensions& d);

}  // namespace pkiwatch::store
