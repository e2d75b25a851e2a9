#pragma once

// The agent's durable outbox. Every finding is written here before it is
// sent, and deleted only after the collector acknowledged it as committed,
// so findings survive a killed process, a reboot and a collector outage.
//
// Storage is one SQLite file (WAL journal, synchronous=FULL: a successful
// Append or AckThrough is on disk when it returns). Each entry carries a
// per-node sequence number that starts at 1 and only grows, across deletes,
// restarts and drops; the collector deduplicates on it.
//
// The spool is bounded by entry count and by payload bytes. When an Append
// would exceed either bound, the oldest entries are dropped (the newest data
// is the most useful) and counted in a persisted dropped_total.
//
// One process owns a spool file at a time: the in-memory counters assume no
// other writer. (Sequence numbers stay unique even if that is broken, since
// each Append reads the next one inside its write transaction.)

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/core/sqlite_db.h"

namespace pkiwatch::agent {

// Thread-safe: all methods may be called concurrently (e.g. the scheduler
// appends while the uplink reads and acknowledges); they are serialized by
// an internal mutex.
class Spool {
 public:
  struct Options {
    // The SQLite file; created with mode 0600 when absent (its -wal and -shm
    // files inherit that mode). Its directory must exist.
    std::string path;
    // Bounds on the stored entries; both must be at least 1.
    uint64_t max_findings = 200000;
    // Counts payload bytes only (not SQLite's per-row and page overhead).
    uint64_t max_bytes = 256ull << 20;
  };

  struct Entry {
    uint64_t seq;
    std::string payload;
  };

  struct Stats {
    uint64_t depth;          // Entries stored.
    uint64_t bytes;          // Payload bytes stored.
    uint64_t dropped_total;  // Entries dropped by the bounds, ever.
    uint64_t next_seq;       // The seq the next appended payload gets.
  };

  // Opens or creates the spool at options.path. Errors (all name the path):
  // InvalidArgument for bad options; DataLoss for a file that is not an
  // SQLite database or is corrupt (the file is left untouched);
  // FailedPrecondition for an SQLite database that is not a spool, a spool
  // written by a newer schema, or a file that cannot be opened; other codes
  // mapped from SQLite (see SqliteToStatusCode).
  static absl::StatusOr<std::unique_ptr<Spool>> Open(Options options);

  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;
  ~Spool() = default;

  // Stores `payloads` durably in one transaction, giving each the next seq in
  // order, and returns those seqs. If the bounds would be exceeded the oldest
  // entries (possibly including some of this batch) are dropped in the same
  // transaction and counted in dropped_total. On error nothing is stored and
  // no seq is consumed. InvalidArgument if one payload alone exceeds
  // max_bytes. An empty batch returns an empty vector.
  absl::StatusOr<std::vector<uint64_t>> Append(std::vector<std::string> payloads)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Entries with seq > after_seq in ascending order: at most max_count, and
  // at most max_bytes of payload in total except that the first entry is
  // always returned when any exists. InvalidArgument if max_count is 0.
  absl::StatusOr<std::vector<Entry>> ReadAfter(uint64_t after_seq,
                                               size_t max_count,
                                               size_t max_bytes)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Deletes the entries with seq <= `seq` (the collector committed them).
  // Acknowledging beyond next_seq simply deletes everything.
  absl::Status AckThrough(uint64_t seq) ABSL_LOCKS_EXCLUDED(mu_);

  // The collector already holds everything through `seq` (e.g. the spool was
  // lost and recreated): deletes the entries with seq <= `seq` and makes
  // next_seq at least seq + 1. OutOfRange if seq + 1 does not fit SQLite's
  // signed 64-bit integers (Append likewise stops at seq 2^63 - 2).
  absl::Status EnsureSeqAbove(uint64_t seq) ABSL_LOCKS_EXCLUDED(mu_);

  // Counters kept in memory; no disk access.
  Stats stats() ABSL_LOCKS_EXCLUDED(mu_);

  const Options& options() const { return options_; }

 private:
  Spool(Options options, std::unique_ptr<SqliteDb> db)
      : options_(std::move(options)), db_(std::move(db)) {}

  // Loads next_seq, dropped_total and the counters from the file.
  absl::Status LoadState() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Deletes entries with seq <= `seq` inside the caller's transaction and
  // returns how many entries and payload bytes went.
  absl::StatusOr<std::pair<uint64_t, uint64_t>> DeleteThrough(uint64_t seq)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Prefixes "Spool::<op>(<path>): " to a failure, keeping its code.
  absl::Status Annotate(std::string_view op, const absl::Status& status) const;

  const Options options_;
  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  uint64_t depth_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_total_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
};

using SpoolPtr = std::unique_ptr<Spool>;

}  // namespace pkiwatch::agent
